//! Teardown and leak checks for a `TestDocker`, run from its `Drop`.
//!
//! Runs in the test process. `teardown` removes all containers, stops both daemons, then
//! records as leaks any process in the test's cgroup parent or referring to its temp dir,
//! any cgroup below the parent and any mount under the temp dir. It then cleans up by
//! force (thaw, SIGKILL, lazy unmount, rmdir, remove the temp dir), copies the daemon logs
//! to `target/docker-test-logs/` when the test failed or leaked, and reports whatever the
//! forced cleanup could not remove.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread;
use std::time::Duration;

use super::daemon::stop_child;
use super::TestDocker;

/// Mount points at or below `dir` from /proc/self/mountinfo, deepest first.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    let mut found: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(crate::procfs::unescape(m)))
        .filter(|m| m.starts_with(dir))
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    found.dedup();
    found
}

/// Every cgroup directory of the hierarchies mounted at /sys/fs/cgroup named `name` at
/// their top level (v2: one dir; v1: one per controller), whether or not it exists.
fn cgroup_roots(name: &str) -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    if base.join("cgroup.controllers").is_file() {
        return vec![base.join(name)];
    }
    let mut roots = Vec::new();
    for entry in fs::read_dir(base).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.join("cgroup.procs").is_file() {
            roots.push(p.join(name));
        }
    }
    roots
}

/// All directories at or below `dir`, deepest first.
fn dirs_deepest_first(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if !d.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(entry.path());
            }
        }
        out.push(d);
    }
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out
}

/// Pids of processes in any cgroup at or below the given roots.
fn pids_in_cgroups(roots: &[PathBuf]) -> Vec<i32> {
    let mut pids = Vec::new();
    for root in roots {
        for d in dirs_deepest_first(root) {
            let procs = fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
            pids.extend(procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Pids (other than ours) whose command line, cwd or executable mentions `dir`.
fn pids_referring_to(dir: &Path) -> Vec<(i32, String)> {
    let needle = dir.to_string_lossy().into_owned();
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if u32::try_from(pid).ok() == Some(me) {
            continue;
        }
        let p = entry.path();
        let cmdline = fs::read(p.join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let cwd = fs::read_link(p.join("cwd")).unwrap_or_default();
        let exe = fs::read_link(p.join("exe")).unwrap_or_default();
        if cmdline.contains(&needle) || cwd.starts_with(dir) || exe.starts_with(dir) {
            found.push((pid, cmdline.trim().to_string()));
        }
    }
    found
}

/// Sends `sig` to `pid`, ignoring errors.
pub(super) fn kill(pid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a stale pid only
    // yields ESRCH, which we ignore.
    unsafe { libc::kill(pid, sig) };
}

/// `umount2(path, MNT_DETACH)`; true on success.
fn lazy_unmount(path: &Path) -> bool {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL in path");
    // SAFETY: `c` is a NUL-terminated string that lives across the call; umount2 only reads it.
    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) == 0 }
}

/// The last `lines` lines of the file at `path` (or the read error).
fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_else(|e| format!("<{}: {e}>", path.display()));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl TestDocker {
    /// Stops everything and returns the leaks found before forced cleanup.
    pub(super) fn teardown(&mut self) -> Vec<String> {
        let mut leaks = Vec::new();
        if self.daemons_alive() && self.sock.exists() {
            let ids = self
                .docker_cmd(&["ps", "-aq"])
                .stdout(Stdio::piped())
                .output();
            if let Ok(ids) = ids {
                let ids = String::from_utf8_lossy(&ids.stdout)
                    .split_whitespace()
                    .map(String::from)
                    .collect::<Vec<_>>();
                if !ids.is_empty() {
                    let mut args = vec!["rm", "-f"];
                    args.extend(ids.iter().map(String::as_str));
                    let mut cmd = self.docker_cmd(&args);
                    let _ = cmd.status();
                }
            }
        }
        if let Some(dockerd) = self.dockerd.as_mut() {
            stop_child(dockerd, Duration::from_secs(30));
        }
        stop_child(&mut self.containerd, Duration::from_secs(15));

        // What the runtime (or the daemons) left behind after an orderly shutdown.
        let roots = cgroup_roots(&self.cgroup_parent);
        for pid in pids_in_cgroups(&roots) {
            leaks.push(format!(
                "process {pid} still in cgroup {}",
                self.cgroup_parent
            ));
        }
        for root in &roots {
            for d in dirs_deepest_first(root) {
                if d != *root {
                    leaks.push(format!("cgroup {} left behind", d.display()));
                }
            }
        }
        for (pid, cmd) in pids_referring_to(&self.dir) {
            leaks.push(format!(
                "process {pid} ({cmd}) refers to {}",
                self.dir.display()
            ));
        }
        for m in mounts_under(&self.dir) {
            leaks.push(format!("mount {} left behind", m.display()));
        }

        // Forced cleanup: thaw, kill, unmount, rmdir, remove.
        for root in &roots {
            for d in dirs_deepest_first(root) {
                let _ = fs::write(d.join("freezer.state"), "THAWED");
                let _ = fs::write(d.join("cgroup.freeze"), "0");
            }
        }
        for _ in 0..50 {
            let mut pids: Vec<i32> = pids_in_cgroups(&roots);
            pids.extend(pids_referring_to(&self.dir).into_iter().map(|(p, _)| p));
            if pids.is_empty() {
                break;
            }
            pids.iter().for_each(|&p| kill(p, libc::SIGKILL));
            thread::sleep(Duration::from_millis(100));
        }
        for m in mounts_under(&self.dir) {
            lazy_unmount(&m);
        }
        for root in &roots {
            for d in dirs_deepest_first(root) {
                let _ = fs::remove_dir(&d);
            }
        }
        let mut logs_dir = None;
        if thread::panicking() || !leaks.is_empty() {
            for log in ["dockerd.log", "containerd.log"] {
                eprintln!(
                    "===== last lines of {log} =====\n{}",
                    tail(&self.dir.join(log), 80)
                );
            }
            // Keep the logs of a failed run next to the target dir for CI artefacts.
            let keep = crate::select::target_dir()
                .join("docker-test-logs")
                .join(self.dir.file_name().unwrap_or_default());
            if fs::create_dir_all(&keep).is_ok() {
                for log in ["dockerd.log", "containerd.log"] {
                    let _ = fs::copy(self.dir.join(log), keep.join(log));
                }
                logs_dir = Some(keep);
            }
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            leaks.push(format!("remove {}: {e}", self.dir.display()));
        }

        // After forced cleanup nothing may remain.
        if !mounts_under(&self.dir).is_empty()
            || !pids_referring_to(&self.dir).is_empty()
            || roots.iter().any(|r| r.exists())
        {
            leaks.push(format!(
                "forced cleanup of {} incomplete",
                self.dir.display()
            ));
        }
        if let Some(keep) = logs_dir {
            eprintln!("daemon logs kept in {}", keep.display());
        }
        leaks
    }
}
