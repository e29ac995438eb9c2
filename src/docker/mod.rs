//! A private `containerd` + `dockerd` pair for acceptance tests that drive the stock
//! `docker` CLI against berth registered as an OCI runtime.
//!
//! Runs in the test process. `TestDocker::start` creates a temp dir under /tmp (data root,
//! exec root, sockets, pidfile, logs, CLI config), starts containerd and dockerd in it with
//! `--add-runtime berth=<binary>` and a per-test `--cgroup-parent`, and imports the busybox
//! fixture as `busybox:latest` (offline, no registry). The daemon gets its own containerd
//! because dockerd 20.10 silently reuses the system one when
//! `/run/containerd/containerd.sock` exists, which would mix our containers into the system
//! daemon's `moby` namespace.
//!
//! The runtime registered as `berth` is, in order: `$BERTH_DOCKER_TEST_RUNTIME`,
//! `$BERTH_TEST_RUNTIME` (a path or a name in `PATH`, e.g. `runc` to check this harness
//! against the reference), or `target/<profile>/berth-runtime`. `$BERTH_DOCKER_CLI`
//! overrides the `docker` client binary.
//!
//! `TestDocker` owns the temp dir, both daemons and the cgroup parent; its `Drop` cleans
//! them all up: it removes containers, stops dockerd and containerd, kills anything left in
//! the cgroup parent or referring to the temp dir, unmounts what is left under it and
//! removes it, dumps the daemon logs if the test failed, and then fails the test if the
//! runtime leaked mounts, cgroups or processes.
//!
//! `daemon` starts and stops the daemons; `cleanup` does the teardown and leak checks.

mod cleanup;
mod daemon;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// Deadline for one docker CLI command; a hung runtime fails the test instead of the suite.
const CMD_TIMEOUT: Duration = Duration::from_secs(90);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Output of one finished command.
#[derive(Debug)]
pub struct Out {
    /// How the command ended.
    pub status: ExitStatus,
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
}

impl Out {
    /// Exit code, or -1 if the command was killed by a signal.
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
}

/// Runs `cmd` with stdin from /dev/null and output captured in files under `dir`,
/// killing it after `timeout`.
pub(crate) fn run_with_deadline(mut cmd: Command, dir: &Path, timeout: Duration) -> Out {
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

/// A private containerd + dockerd pair under one temp dir; see the module docs.
#[derive(Debug)]
pub struct TestDocker {
    dir: PathBuf,
    sock: PathBuf,
    cgroup_parent: String,
    containerd: Child,
    dockerd: Option<Child>,
}

impl TestDocker {
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

    /// Runs a docker command with a deadline and returns how it ended.
    pub fn docker(&self, args: &[&str]) -> Out {
        run_with_deadline(self.docker_cmd(args), &self.dir, CMD_TIMEOUT)
    }

    /// Runs a docker command that must succeed and returns its stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
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
    pub fn docker_tty(&self, args: &str) -> Out {
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

    /// `docker inspect --format <format> <id>`, trimmed.
    pub fn inspect(&self, id: &str, format: &str) -> String {
        self.docker_ok(&["inspect", "--format", format, id])
            .trim()
            .to_string()
    }

    /// Memory, CPU and pids limits of a running container read from the host's cgroupfs.
    pub fn host_limits(&self, id: &str) -> BTreeMap<String, String> {
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
