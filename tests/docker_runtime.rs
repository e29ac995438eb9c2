//! Acceptance test: Docker's own `dockerd` drives `berth-runtime` as an OCI runtime.
//!
//! Each test starts a private `containerd` and `dockerd` under its own temp dir (data root,
//! exec root, sockets, pidfile, logs, CLI config) with `--add-runtime berth=<binary>`,
//! imports the busybox fixture as `busybox:latest` (offline, no registry), and drives the
//! stock `docker` CLI. The daemon gets its own containerd because dockerd 20.10 silently
//! reuses the system one when `/run/containerd/containerd.sock` exists, which would mix our
//! containers into the system daemon's `moby` namespace.
//!
//! The runtime registered as `berth` is, in order: `$BERTH_DOCKER_TEST_RUNTIME`,
//! `$BERTH_TEST_RUNTIME` (a path or a name in `PATH`, e.g. `runc` to check this harness
//! against the reference), or `target/<profile>/berth-runtime`.
//!
//! `TestDocker`'s `Drop` removes containers, stops dockerd and containerd, kills anything
//! left in the test's cgroup parent or referring to the temp dir, unmounts what is left
//! under it and removes it, dumps the daemon logs if the test failed, and then fails the
//! test if the runtime leaked mounts, cgroups or processes.

#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration test crate: every #[test] here is outside a unit-test module by design"
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Deadline for one docker CLI command; a hung runtime fails the test instead of the suite.
const CMD_TIMEOUT: Duration = Duration::from_secs(90);
/// Deadline for dockerd (and containerd) to answer after start.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// PATH baked into the imported image (a plain `docker import` has no ENV at all).
const IMAGE_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Prints the container's own cgroup limits on cgroup v1 and v2 in one format.
const CGROUP_PROBE: &str = r#"
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  echo "memory=$(cat /sys/fs/cgroup/memory.max)"
  echo "cpu=$(cat /sys/fs/cgroup/cpu.max)"
  echo "pids=$(cat /sys/fs/cgroup/pids.max)"
else
  echo "memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
  echo "cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
  echo "pids=$(cat /sys/fs/cgroup/pids/pids.max)"
fi
"#;
/// `--memory 64m --cpus 0.5 --pids-limit 20` as the kernel reports them.
const RESOURCE_FLAGS: [&str; 6] = ["--memory", "64m", "--cpus", "0.5", "--pids-limit", "20"];

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Output of one finished command.
#[derive(Debug)]
struct Out {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Out {
    fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
}

/// Runs `cmd` with stdin from /dev/null and output captured in files under `dir`,
/// killing it after `timeout`.
fn run_with_deadline(mut cmd: Command, dir: &Path, timeout: Duration) -> Out {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let (out_path, err_path) = (
        dir.join(format!("cmd{n}.out")),
        dir.join(format!("cmd{n}.err")),
    );
    let desc = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).expect("create stdout file"))
        .stderr(fs::File::create(&err_path).expect("create stderr file"));
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for command") {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{desc} did not finish within {timeout:?}\nstdout: {}\nstderr: {}",
                fs::read_to_string(&out_path).unwrap_or_default(),
                fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    let out = Out {
        status,
        stdout: fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
    };
    let _ = fs::remove_file(out_path);
    let _ = fs::remove_file(err_path);
    out
}

/// The runtime binary registered as `berth` in the private dockerd.
fn runtime_under_test() -> PathBuf {
    match std::env::var("BERTH_DOCKER_TEST_RUNTIME") {
        Ok(v) if !v.is_empty() => {
            let bin = if v.contains('/') {
                PathBuf::from(&v)
            } else {
                find_in_path(&v)
                    .unwrap_or_else(|| panic!("BERTH_DOCKER_TEST_RUNTIME={v}: not in PATH"))
            };
            assert!(
                bin.is_file(),
                "BERTH_DOCKER_TEST_RUNTIME={v}: {} missing",
                bin.display()
            );
            bin
        }
        _ => berth_tests::select::runtime_binary().0,
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Mount points at or below `dir` from /proc/self/mountinfo, deepest first.
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    let mut found: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_mountinfo(m)))
        .filter(|m| m.starts_with(dir))
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    found.dedup();
    found
}

/// Decodes mountinfo's octal escapes (`\040` for a space and so on).
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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

fn kill(pid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours; a stale pid only
    // yields ESRCH, which we ignore.
    unsafe { libc::kill(pid, sig) };
}

fn lazy_unmount(path: &Path) -> bool {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL in path");
    // SAFETY: `c` is a NUL-terminated string that lives across the call; umount2 only reads it.
    unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) == 0 }
}

/// Waits for `child` to exit, SIGKILLing it after `grace`.
fn stop_child(child: &mut Child, grace: Duration) {
    let Ok(pid) = i32::try_from(child.id()) else {
        return;
    };
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    kill(pid, libc::SIGTERM);
    let start = Instant::now();
    while start.elapsed() < grace {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    eprintln!("pid {pid} ignored SIGTERM for {grace:?}; sending SIGKILL");
    let _ = child.kill();
    let _ = child.wait();
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_else(|e| format!("<{}: {e}>", path.display()));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A private containerd + dockerd pair under one temp dir; see the module docs.
struct TestDocker {
    dir: PathBuf,
    sock: PathBuf,
    cgroup_parent: String,
    containerd: Child,
    dockerd: Option<Child>,
}

impl TestDocker {
    /// Starts containerd and dockerd and imports the busybox fixture as `busybox:latest`.
    fn start(name: &str) -> Self {
        berth_tests::require_root();
        let runtime = runtime_under_test();
        let dir = tempfile::Builder::new()
            .prefix(&format!("berth-docker-{name}-"))
            .tempdir_in("/tmp")
            .expect("create temp dir")
            .keep();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let cgroup_parent = format!("berth-docker-test-{}-{n}", std::process::id());
        let containerd_sock = dir.join("containerd/containerd.sock");
        fs::create_dir_all(dir.join("containerd")).expect("mkdir containerd");
        fs::create_dir_all(dir.join("cli")).expect("mkdir cli config");
        fs::write(
            dir.join("containerd/config.toml"),
            format!(
                "version = 2\nroot = \"{d}/containerd/root\"\nstate = \"{d}/containerd/state\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{s}\"\n[ttrpc]\n  address = \"{s}.ttrpc\"\n\
                 [debug]\n  level = \"debug\"\n",
                d = dir.display(),
                s = containerd_sock.display()
            ),
        )
        .expect("write containerd config");
        // An empty config file keeps the host's /etc/docker/daemon.json out of the test.
        fs::write(dir.join("daemon.json"), "{}\n").expect("write daemon.json");

        let containerd = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("containerd/config.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("containerd.log")).expect("containerd log"))
            .spawn()
            .expect("spawn containerd (apt-get install containerd)");
        // The guard exists before anything can fail, so a failed start still cleans up.
        let mut td = TestDocker {
            sock: dir.join("docker.sock"),
            dir,
            cgroup_parent,
            containerd,
            dockerd: None,
        };
        td.wait_for("containerd socket", |_| containerd_sock.exists());

        let dir = td.dir.clone();
        let log = fs::File::create(dir.join("dockerd.log")).expect("dockerd log");
        let dockerd = Command::new("dockerd")
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("-H")
            .arg(format!("unix://{}", td.sock.display()))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .arg("--containerd")
            .arg(&containerd_sock)
            .args(["--bridge", "none", "--iptables=false", "--ip6tables=false"])
            .args([
                "--ip-masq=false",
                "--exec-opt",
                "native.cgroupdriver=cgroupfs",
            ])
            .arg("--cgroup-parent")
            .arg(format!("/{}", td.cgroup_parent))
            .arg("--add-runtime")
            .arg(format!("berth={}", runtime.display()))
            .args(["--log-level", "debug"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("spawn dockerd (apt-get install docker.io)");
        td.dockerd = Some(dockerd);
        td.wait_for("dockerd API", |td| {
            td.sock.exists()
                && td
                    .docker_cmd(&["version", "--format", "{{.Server.Version}}"])
                    .status()
                    .is_ok_and(|s| s.success())
        });

        let runtimes = td.docker_ok(&["info", "--format", "{{json .Runtimes}}"]);
        assert!(
            runtimes.contains(&runtime.display().to_string()),
            "berth runtime not registered: {runtimes}"
        );
        td.import_busybox();
        td
    }

    /// False once containerd or (if started) dockerd has exited.
    fn daemons_alive(&mut self) -> bool {
        let containerd = self.containerd.try_wait().ok().flatten().is_none();
        let dockerd = match self.dockerd.as_mut() {
            Some(c) => c.try_wait().ok().flatten().is_none(),
            None => true,
        };
        containerd && dockerd
    }

    fn wait_for(&mut self, what: &str, mut ready: impl FnMut(&mut Self) -> bool) {
        let start = Instant::now();
        while !ready(self) {
            assert!(
                self.daemons_alive(),
                "{what}: a daemon exited during start-up; see its log below"
            );
            assert!(
                start.elapsed() < START_TIMEOUT,
                "{what} not ready within {START_TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// A `docker` CLI command aimed at this daemon with an isolated client config.
    fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut cmd =
            Command::new(std::env::var("BERTH_DOCKER_CLI").unwrap_or_else(|_| "docker".into()));
        cmd.env("DOCKER_HOST", format!("unix://{}", self.sock.display()))
            .env("DOCKER_CONFIG", self.dir.join("cli"))
            .env_remove("DOCKER_CONTEXT")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    fn docker(&self, args: &[&str]) -> Out {
        run_with_deadline(self.docker_cmd(args), &self.dir, CMD_TIMEOUT)
    }

    /// Runs a docker command that must succeed and returns its stdout.
    fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed ({}): {}{}",
            out.status,
            out.stdout,
            out.stderr
        );
        out.stdout
    }

    /// Runs `docker <args>` on a fresh pty (util-linux `script`), for `-it` commands.
    fn docker_tty(&self, args: &str) -> Out {
        let mut cmd = Command::new("script");
        cmd.args([
            "-q",
            "-e",
            "-f",
            "-c",
            &format!("docker {args}"),
            "/dev/null",
        ])
        .env("DOCKER_HOST", format!("unix://{}", self.sock.display()))
        .env("DOCKER_CONFIG", self.dir.join("cli"));
        if let Ok(cli) = std::env::var("BERTH_DOCKER_CLI") {
            cmd.env(
                "PATH",
                format!(
                    "{}:{}",
                    Path::new(&cli).parent().unwrap_or(Path::new("/")).display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            );
        }
        run_with_deadline(cmd, &self.dir, CMD_TIMEOUT)
    }

    fn inspect(&self, id: &str, format: &str) -> String {
        self.docker_ok(&["inspect", "--format", format, id])
            .trim()
            .to_string()
    }

    fn import_busybox(&self) {
        let rootfs = berth_tests::busybox_rootfs();
        let tar = self.dir.join("busybox.tar");
        let out = run_with_deadline(
            {
                let mut c = Command::new("tar");
                c.arg("-C").arg(&rootfs).arg("-cf").arg(&tar).arg(".");
                c
            },
            &self.dir,
            CMD_TIMEOUT,
        );
        assert!(out.status.success(), "tar busybox rootfs: {}", out.stderr);
        let change = format!("ENV {IMAGE_PATH}");
        self.docker_ok(&[
            "import",
            "--change",
            &change,
            &tar.to_string_lossy(),
            "busybox:latest",
        ]);
        let _ = fs::remove_file(tar);
    }

    /// Memory, CPU and pids limits of a running container read from the host's cgroupfs.
    fn host_limits(&self, id: &str) -> BTreeMap<String, String> {
        let base = Path::new("/sys/fs/cgroup");
        let read = |ctrl: &str, file: &str| {
            let p = base
                .join(ctrl)
                .join(&self.cgroup_parent)
                .join(id)
                .join(file);
            let v = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            v.trim().to_string()
        };
        let (memory, cpu, pids) = if base.join("cgroup.controllers").is_file() {
            (
                read("", "memory.max"),
                read("", "cpu.max"),
                read("", "pids.max"),
            )
        } else {
            let quota = read("cpu", "cpu.cfs_quota_us");
            let period = read("cpu", "cpu.cfs_period_us");
            let memory = read("memory", "memory.limit_in_bytes");
            (
                memory,
                format!("{quota} {period}"),
                read("pids", "pids.max"),
            )
        };
        [("memory", memory), ("cpu", cpu), ("pids", pids)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    /// Stops everything and returns the leaks found before forced cleanup.
    fn teardown(&mut self) -> Vec<String> {
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
            let keep = berth_tests::select::target_dir()
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

impl Drop for TestDocker {
    fn drop(&mut self) {
        let leaks = self.teardown();
        if leaks.is_empty() {
            return;
        }
        let msg = format!("leaks after the test:\n  {}", leaks.join("\n  "));
        if thread::panicking() {
            eprintln!("{msg}");
        } else {
            panic!("{msg}");
        }
    }
}

#[test]
fn run_echo_exit_code_and_tty() {
    let d = TestDocker::start("run");

    let out = d.docker(&["run", "--rm", "--runtime", "berth", "busybox", "echo", "hi"]);
    assert_eq!(
        (out.code(), out.stdout.as_str()),
        (0, "hi\n"),
        "docker run echo: {}",
        out.stderr
    );

    let out = d.docker(&[
        "run",
        "--rm",
        "--runtime",
        "berth",
        "busybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(
        out.code(),
        3,
        "exit code not propagated: {}{}",
        out.stdout,
        out.stderr
    );

    let out = d.docker_tty("run -it --rm --runtime berth busybox sh -c 'tty; echo ok'");
    assert_eq!(
        out.code(),
        0,
        "docker run -it: {}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("/dev/pts/") && out.stdout.contains("ok"),
        "no tty in container: {:?}",
        out.stdout
    );

    let out = d.docker_tty("run -it --rm --runtime berth busybox sh -c 'exit 4'");
    assert_eq!(
        out.code(),
        4,
        "docker run -it exit code: {}{}",
        out.stdout,
        out.stderr
    );

    assert_eq!(
        d.docker_ok(&["ps", "-aq"]),
        "",
        "--rm containers left behind"
    );
}

#[test]
fn detached_exec_pause_stop() {
    let d = TestDocker::start("detached");
    let script = "trap 'echo got-term; exit 0' TERM; echo started; while :; do sleep 0.1; done";
    let id = d
        .docker_ok(&[
            "run",
            "-d",
            "--runtime",
            "berth",
            "busybox",
            "sh",
            "-c",
            script,
        ])
        .trim()
        .to_string();
    assert_eq!(
        d.inspect(&id, "{{.State.Running}} {{.HostConfig.Runtime}}"),
        "true berth"
    );
    let start = Instant::now();
    while !d.docker_ok(&["logs", &id]).contains("started") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "detached container printed nothing"
        );
        thread::sleep(Duration::from_millis(100));
    }

    let out = d.docker(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo in-exec; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert_eq!(out.code(), 0, "docker exec: {}", out.stderr);
    assert!(
        out.stdout.starts_with("in-exec\nsh -c trap"),
        "exec ran outside the container: {:?}",
        out.stdout
    );
    let out = d.docker(&["exec", &id, "sh", "-c", "exit 5"]);
    assert_eq!(out.code(), 5, "docker exec exit code: {}", out.stderr);
    let out = d.docker_tty(&format!("exec -it {id} sh -c 'tty; echo ok'"));
    assert_eq!(
        out.code(),
        0,
        "docker exec -it: {}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("/dev/pts/") && out.stdout.contains("ok"),
        "no tty in exec: {:?}",
        out.stdout
    );

    d.docker_ok(&["pause", &id]);
    assert_eq!(
        d.inspect(&id, "{{.State.Paused}} {{.State.Status}}"),
        "true paused"
    );
    d.docker_ok(&["unpause", &id]);
    assert_eq!(
        d.inspect(&id, "{{.State.Paused}} {{.State.Status}}"),
        "false running"
    );
    assert_eq!(
        d.docker_ok(&["exec", &id, "echo", "alive"]),
        "alive\n",
        "container dead after unpause"
    );

    // SIGTERM reaches the container's init, which exits long before the 20 s timeout.
    let start = Instant::now();
    d.docker_ok(&["stop", "-t", "20", &id]);
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(15),
        "docker stop took {took:?}: SIGTERM not delivered?"
    );
    assert_eq!(
        d.inspect(
            &id,
            "{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}"
        ),
        "exited false 0"
    );
    assert!(d.docker_ok(&["logs", &id]).contains("got-term"));
    d.docker_ok(&["rm", &id]);

    // An init that ignores SIGTERM is SIGKILLed after the timeout.
    let id = d
        .docker_ok(&[
            "run",
            "-d",
            "--runtime",
            "berth",
            "busybox",
            "sleep",
            "1000",
        ])
        .trim()
        .to_string();
    let start = Instant::now();
    d.docker_ok(&["stop", "-t", "1", &id]);
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(15),
        "docker stop -t 1 took {took:?}"
    );
    assert_eq!(
        d.inspect(&id, "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
    d.docker_ok(&["rm", &id]);
}

/// Limits seen inside the container and on the host, for one runtime.
fn limits_with(
    d: &TestDocker,
    runtime: &str,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut args = vec!["run", "--rm", "--runtime", runtime];
    args.extend(RESOURCE_FLAGS);
    args.extend(["busybox", "sh", "-c", CGROUP_PROBE]);
    let inside = d
        .docker_ok(&args)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect();

    let mut args = vec!["run", "-d", "--runtime", runtime];
    args.extend(RESOURCE_FLAGS);
    args.extend(["busybox", "sleep", "1000"]);
    let id = d.docker_ok(&args).trim().to_string();
    let host = d.host_limits(&id);
    d.docker_ok(&["rm", "-f", &id]);
    (inside, host)
}

#[test]
fn resource_limits_match_runc() {
    let d = TestDocker::start("limits");
    let berth = limits_with(&d, "berth");
    let runc = limits_with(&d, "runc");
    // cgroup v1 prints "quota period" from two files; v2's cpu.max has the same shape.
    let expected: BTreeMap<String, String> = [
        ("memory", "67108864"),
        ("cpu", "50000 100000"),
        ("pids", "20"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(runc.0, expected, "runc inside view (harness check)");
    assert_eq!(runc.1, expected, "runc host view (harness check)");
    assert_eq!(
        berth.0, runc.0,
        "limits inside the container differ from runc"
    );
    assert_eq!(berth.1, runc.1, "limits on the host differ from runc");
}
