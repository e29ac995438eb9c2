//! Finds and cleans up what a test's containers left behind on the host.
//!
//! Runs in the test process after the runtime's `delete --force`. A leftover is: a mount
//! whose mount point is under the test's temp dir, a cgroup directory below the test's
//! cgroup prefix in any mounted hierarchy, a process rooted or working under the temp dir
//! or living in the test's cgroups, or a state directory under `--root`. The empty
//! prefix directory itself is not a leak (runc leaves intermediate cgroup dirs too);
//! `cleanup` removes it along with everything else.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::command::wait_for;
use crate::procfs::host_mounts;

/// What one test owns on the host.
#[derive(Debug, Clone)]
pub struct LeakScope {
    /// The test's temp dir (bundles, state root, logs).
    pub dir: PathBuf,
    /// First cgroupsPath component used by the test.
    pub cgroup_prefix: String,
    /// The runtime `--root`.
    pub state_root: PathBuf,
    /// Container ids the test created.
    pub ids: Vec<String>,
}

/// Mount points of every mounted cgroup/cgroup2 hierarchy.
pub fn cgroup_hierarchies() -> Vec<PathBuf> {
    host_mounts()
        .into_iter()
        .filter(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
        .map(|m| PathBuf::from(m.mount_point))
        .collect()
}

fn subdirs_deepest_first(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                subdirs_deepest_first(&e.path(), out);
                out.push(e.path());
            }
        }
    }
}

fn mounts_under(dir: &Path) -> Vec<String> {
    let d = dir.to_string_lossy().to_string();
    host_mounts()
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|mp| mp.starts_with(&d))
        .collect()
}

fn leaked_processes(scope: &LeakScope) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let dir = scope.dir.to_string_lossy().to_string();
    let cg = format!("/{}/", scope.cgroup_prefix);
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let p = e.path();
        let comm = fs::read_to_string(p.join("comm"))
            .unwrap_or_default()
            .trim()
            .to_string();
        for what in ["root", "cwd"] {
            if let Ok(target) = fs::read_link(p.join(what)) {
                if target.to_string_lossy().starts_with(&dir) {
                    found.push((pid, format!("{comm}: {what} -> {}", target.display())));
                }
            }
        }
        let cgroups = fs::read_to_string(p.join("cgroup")).unwrap_or_default();
        if cgroups.contains(&cg) {
            found.push((
                pid,
                format!(
                    "{comm}: in cgroup {}",
                    cgroups.lines().find(|l| l.contains(&cg)).unwrap_or("")
                ),
            ));
        }
    }
    found
}

/// Lists leftovers (empty when clean). Killed processes and their cgroups take a moment
/// to disappear, so this retries for up to three seconds before reporting.
pub fn find(scope: &LeakScope) -> Vec<String> {
    let mut last = Vec::new();
    let clean = wait_for(Duration::from_secs(3), || {
        last = find_once(scope);
        last.is_empty().then_some(())
    });
    if clean.is_some() {
        Vec::new()
    } else {
        last
    }
}

fn find_once(scope: &LeakScope) -> Vec<String> {
    let mut out = Vec::new();
    for mp in mounts_under(&scope.dir) {
        out.push(format!("mount {mp}"));
    }
    for (pid, why) in leaked_processes(scope) {
        out.push(format!("process {pid} ({why})"));
    }
    for h in cgroup_hierarchies() {
        let mut dirs = Vec::new();
        subdirs_deepest_first(&h.join(&scope.cgroup_prefix), &mut dirs);
        for d in dirs {
            out.push(format!("cgroup dir {}", d.display()));
        }
    }
    for id in &scope.ids {
        let sd = scope.state_root.join(id);
        if sd.exists() {
            out.push(format!("state dir {}", sd.display()));
        }
    }
    out
}

/// Removes leftovers: kills processes, lazily unmounts, thaws and removes cgroup dirs
/// (including the prefix dir). Best effort; never panics.
pub fn cleanup(scope: &LeakScope) {
    for h in cgroup_hierarchies() {
        let base = h.join(&scope.cgroup_prefix);
        if base.exists() {
            let mut dirs = Vec::new();
            subdirs_deepest_first(&base, &mut dirs);
            dirs.push(base.clone());
            for d in &dirs {
                let _ = fs::write(d.join("freezer.state"), "THAWED");
                let _ = fs::write(d.join("cgroup.freeze"), "0");
            }
        }
    }
    let procs = leaked_processes(scope);
    for (pid, _) in &procs {
        // SAFETY: kill takes plain integers; signalling a pid that already exited is
        // harmless (ESRCH), and these pids were just seen inside this test's scope.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    if !procs.is_empty() {
        wait_for(Duration::from_secs(5), || {
            leaked_processes(scope).is_empty().then_some(())
        });
    }
    let mut mps = mounts_under(&scope.dir);
    mps.reverse();
    for mp in mps {
        if let Ok(c) = std::ffi::CString::new(mp) {
            // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
    for h in cgroup_hierarchies() {
        let base = h.join(&scope.cgroup_prefix);
        if base.exists() {
            let mut dirs = Vec::new();
            subdirs_deepest_first(&base, &mut dirs);
            dirs.push(base);
            for d in dirs {
                let _ = wait_for(Duration::from_secs(2), || fs::remove_dir(&d).ok());
            }
        }
    }
}
