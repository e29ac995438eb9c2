//! Integration tests: the real `berth-shim` binary with busybox containers.
//!
//! Runs as root in the test process. Each [`TestShim`] owns a temp dir (bundle, runtime
//! root, shim dir, log), a unique container id and cgroup; dropping it kills the shim,
//! force-deletes the container and removes leftovers, even when the test failed.
#![allow(clippy::tests_outside_test_module)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use berth_shim::client;
use berth_shim::protocol::{ExitInfo, State, STDERR, STDOUT};
use berth_tests::leaks::{self, LeakScope};
use berth_tests::Bundle;
use serde_json::Value;

static N: AtomicUsize = AtomicUsize::new(0);

struct TestShim {
    tmp: tempfile::TempDir,
    id: String,
    cgroup: String,
    bundle: Bundle,
    child: Option<Child>,
}

impl TestShim {
    fn new(args: &[&str]) -> TestShim {
        berth_tests::require_root();
        let n = N.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id();
        let tmp = tempfile::Builder::new()
            .prefix("berth-shim-test")
            .tempdir()
            .expect("tempdir");
        let cgroup = format!("berth-shim-test-{pid}-{n}");
        let mut bundle = Bundle::new(&tmp.path().join("bundle"), &format!("/{cgroup}"));
        bundle.args(args);
        TestShim {
            id: format!("shimtest-{pid}-{n}"),
            cgroup,
            bundle,
            tmp,
            child: None,
        }
    }

    fn root(&self) -> PathBuf {
        self.tmp.path().join("runtime")
    }
    fn dir(&self) -> PathBuf {
        self.tmp.path().join("shim")
    }
    fn log(&self) -> PathBuf {
        self.tmp.path().join("logs/c.log")
    }

    fn command(&self, extra: &[&str]) -> Command {
        self.bundle.write_config();
        // BERTH_SHIM_BIN runs the suite against another build (e.g. release, for PSS).
        let bin = std::env::var_os("BERTH_SHIM_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_berth-shim").into());
        let mut c = Command::new(bin);
        c.arg("--id")
            .arg(&self.id)
            .arg("--bundle")
            .arg(self.bundle.path())
            .arg("--runtime-root")
            .arg(self.root())
            .arg("--dir")
            .arg(self.dir())
            .arg("--log")
            .arg(self.log())
            .args(extra);
        c
    }

    /// Spawns the shim and returns its first stdout line.
    fn spawn(&mut self, extra: &[&str]) -> String {
        let child = self
            .command(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn berth-shim");
        self.keep(child)
    }

    /// Spawns `berth-shim --standby`, hands it the flags on stdin (NUL-separated, then
    /// EOF), and returns its first stdout line.
    fn spawn_standby(&mut self, extra: &[&str]) -> String {
        use std::io::Write as _;
        let (child, mut stdin) = self.standby_with_flags(extra, false);
        stdin.flush().unwrap();
        drop(stdin);
        self.keep(child)
    }

    /// Spawns `berth-shim --standby` and writes the flags as berthd does (with
    /// `--then-wait` last when `gated`); the caller decides what comes next on stdin.
    fn standby_with_flags(&mut self, extra: &[&str], gated: bool) -> (Child, ChildStdin) {
        use std::io::Write as _;
        use std::os::unix::ffi::OsStrExt as _;
        let cmd = self.command(extra);
        let mut child = Command::new(cmd.get_program())
            .arg("--standby")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn berth-shim --standby");
        let mut flags = Vec::new();
        for a in cmd.get_args() {
            flags.extend_from_slice(a.as_bytes());
            flags.push(0);
        }
        if gated {
            flags.extend_from_slice(b"--then-wait\0");
        }
        std::fs::create_dir_all(self.dir()).unwrap();
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&flags).expect("write flags");
        (child, stdin)
    }

    /// Keeps the spawned shim (Drop cleans up after it) and returns its first stdout line.
    fn keep(&mut self, mut child: Child) -> String {
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read ready line");
        self.child = Some(child);
        line
    }

    fn spawn_ready(&mut self, extra: &[&str]) -> i32 {
        ready_pid(&self.spawn(extra))
    }

    /// Waits for the shim process to exit; returns its exit code.
    fn shim_exit(&mut self) -> i32 {
        let child = self.child.as_mut().expect("shim spawned");
        let start = Instant::now();
        loop {
            if let Some(st) = child.try_wait().expect("try_wait") {
                self.child = None;
                return st.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "shim did not exit"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn log_entries(path: &Path) -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line {l:?}: {e}")))
            .collect()
    }

    fn scope(&self) -> LeakScope {
        LeakScope {
            dir: self.tmp.path().to_path_buf(),
            cgroup_prefix: self.cgroup.clone(),
            state_root: self.root(),
            ids: vec![self.id.clone()],
        }
    }
}

impl Drop for TestShim {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // The shim answers `wait` before it deletes the runtime container; give it
            // the moment it needs to finish and exit before killing it.
            let start = std::time::Instant::now();
            while start.elapsed() < Duration::from_secs(2) {
                if c.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        // A shim killed in the middle of its own delete may leave the state for a moment
        // longer than the forced delete takes under load: retry briefly.
        for _ in 0..50 {
            let _ = berth_runtime::Runtime::new(self.root()).delete(&self.id, true);
            if !self.root().join(&self.id).exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let found = leaks::find(&self.scope());
        leaks::cleanup(&self.scope());
        if !std::thread::panicking() {
            assert!(found.is_empty(), "leftovers: {found:#?}");
        }
    }
}

/// The init's pid from a `ready <pid>` line.
fn ready_pid(line: &str) -> i32 {
    line.strip_prefix("ready ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("expected ready line, got {line:?}"))
}

/// Reads frames until the shim closes the stream: (stdout, stderr).
fn read_frames(s: &mut impl Read) -> (String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    while let Some((stream, data)) = client::read_frame(s).expect("read frame") {
        match stream {
            STDOUT => out.extend(data),
            STDERR => err.extend(data),
            other => panic!("bad stream {other}"),
        }
    }
    (
        String::from_utf8(out).expect("utf8"),
        String::from_utf8(err).expect("utf8"),
    )
}

fn timeout_stream(s: &std::os::unix::net::UnixStream) {
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
}

#[test]
fn ready_start_and_json_log() {
    let mut t = TestShim::new(&["sh", "-c", "echo out; echo 'e\"rr' >&2"]);
    let pid = t.spawn_ready(&[]);
    assert!(pid > 0);
    assert_eq!(client::state(&t.dir()).unwrap(), State::Created(pid));
    assert_eq!(client::start(&t.dir()).unwrap(), pid);
    let exit = client::wait(&t.dir()).unwrap();
    assert_eq!((exit.code, exit.oom), (0, false));
    assert_eq!(t.shim_exit(), 0);
    assert!(!t.dir().join("shim.sock").exists());
    assert_eq!(client::read_exit_file(&t.dir()).unwrap(), Some(exit));
    let entries = TestShim::log_entries(&t.log());
    let find = |stream: &str| {
        entries
            .iter()
            .find(|e| e["stream"] == stream)
            .unwrap_or_else(|| panic!("no {stream} entry in {entries:?}"))
            .clone()
    };
    assert_eq!(find("stdout")["log"], "out\n");
    assert_eq!(find("stderr")["log"], "e\"rr\n");
    let time = find("stdout")["time"].as_str().unwrap().to_string();
    assert_eq!(time.len(), 30, "{time}");
    assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{time}");
    // The state dir is gone.
    assert!(!t.root().join(&t.id).exists());
}

#[test]
fn standby_shim_takes_its_flags_from_stdin() {
    let mut t = TestShim::new(&["sh", "-c", "echo from-standby; echo oops >&2; exit 4"]);
    let pid = ready_pid(&t.spawn_standby(&[]));
    // Its command line names no container; its working directory does.
    let shim = t.child.as_ref().unwrap().id();
    let cwd = std::fs::read_link(format!("/proc/{shim}/cwd")).unwrap();
    assert_eq!(cwd, t.dir());
    assert_eq!(client::start(&t.dir()).unwrap(), pid);
    let exit = client::wait(&t.dir()).unwrap();
    assert_eq!(exit.code, 4);
    assert_eq!(t.shim_exit(), 0);
    let logged: Vec<String> = TestShim::log_entries(&t.log())
        .iter()
        .map(|e| e["log"].as_str().unwrap().to_string())
        .collect();
    assert!(logged.contains(&"from-standby\n".to_string()), "{logged:?}");
    assert!(logged.contains(&"oops\n".to_string()), "{logged:?}");
}

/// Waits (bounded) until `path` exists.
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// berthd hands the flags before the bundle is ready: the shim sets up its socket and
/// log, creates nothing until the go byte, then starts as usual.
#[test]
fn gated_standby_sets_up_first_and_creates_on_go() {
    use std::io::Write as _;
    let mut t = TestShim::new(&["sh", "-c", "echo gated"]);
    let (child, mut stdin) = t.standby_with_flags(&[], true);
    wait_for(&t.dir().join("shim.sock"));
    wait_for(&t.log());
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        !t.root().join(&t.id).exists(),
        "the container was created before the go"
    );
    stdin.write_all(b"g").unwrap();
    let line = t.keep(child);
    drop(stdin);
    ready_pid(&line);
    client::start(&t.dir()).unwrap();
    assert_eq!(client::wait(&t.dir()).unwrap().code, 0);
    assert_eq!(t.shim_exit(), 0);
    let logged = TestShim::log_entries(&t.log());
    assert_eq!(logged[0]["log"], "gated\n");
}

/// A start given up before the go (stdin closed): the shim removes its directory and
/// the log it made, creates nothing, says nothing and exits 0.
#[test]
fn gated_standby_given_up_leaves_nothing() {
    let mut t = TestShim::new(&["true"]);
    let (child, stdin) = t.standby_with_flags(&[], true);
    wait_for(&t.dir().join("shim.sock"));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert!(!t.dir().exists(), "shim dir left behind");
    assert!(!t.log().exists(), "log left behind");
    assert!(!t.root().join(&t.id).exists(), "runtime state left behind");
}

#[test]
fn standby_shim_without_flags_exits_with_an_error_line() {
    let bin = std::env::var_os("BERTH_SHIM_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_berth-shim").into());
    let out = Command::new(bin)
        .arg("--standby")
        .stdin(Stdio::null())
        .output()
        .expect("run berth-shim --standby");
    assert_eq!(out.status.code(), Some(1));
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(line.starts_with("error missing --id"), "{line}");
}

#[test]
fn attach_before_start_gets_all_output() {
    let mut t = TestShim::new(&[
        "sh",
        "-c",
        "for i in 1 2 3; do echo out$i; echo err$i >&2; done; printf tail",
    ]);
    t.spawn_ready(&[]);
    let mut s = client::attach(&t.dir(), false, true, true).unwrap();
    timeout_stream(&s);
    let only_err = client::attach(&t.dir(), false, false, true).unwrap();
    timeout_stream(&only_err);
    client::start(&t.dir()).unwrap();
    let (out, err) = read_frames(&mut s);
    assert_eq!(out, "out1\nout2\nout3\ntail");
    assert_eq!(err, "err1\nerr2\nerr3\n");
    let (out2, err2) = read_frames(&mut &only_err);
    assert_eq!((out2.as_str(), err2.as_str()), ("", "err1\nerr2\nerr3\n"));
    assert_eq!(t.shim_exit(), 0);
    // The partial last line is its own entry without newline.
    let entries = TestShim::log_entries(&t.log());
    assert_eq!(entries.last().unwrap()["log"], "tail");
}

#[test]
fn tty_raw_output_and_resize() {
    let mut t = TestShim::new(&["sh", "-c", "stty size; echo done"]);
    t.bundle.set("/process/terminal", Value::Bool(true));
    t.spawn_ready(&["--tty"]);
    client::resize(&t.dir(), 33, 77).unwrap();
    let mut s = client::attach(&t.dir(), false, true, true).unwrap();
    timeout_stream(&s);
    client::start(&t.dir()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("33 77\r\n"), "{text:?}");
    assert!(text.contains("done"), "{text:?}");
    assert_eq!(client::wait(&t.dir()).unwrap().code, 0);
    let entries = TestShim::log_entries(&t.log());
    assert!(entries.iter().all(|e| e["stream"] == "stdout"));
    assert!(
        entries.iter().any(|e| e["log"] == "33 77\r\n"),
        "{entries:?}"
    );
}

#[test]
fn exit_code_and_wait_before_and_after() {
    let mut t = TestShim::new(&["sh", "-c", "sleep 0.3; exit 3"]);
    t.spawn_ready(&[]);
    let dir = t.dir();
    let waiter = std::thread::spawn(move || client::wait(&dir));
    std::thread::sleep(Duration::from_millis(100));
    client::start(&t.dir()).unwrap();
    let exit = waiter.join().unwrap().unwrap();
    assert_eq!((exit.code, exit.oom), (3, false));
    assert_eq!(t.shim_exit(), 0);
    // After the shim is gone, wait and state read D/exit.
    assert_eq!(client::wait(&t.dir()).unwrap(), exit);
    assert_eq!(client::state(&t.dir()).unwrap(), State::Exited(exit));
    let text = std::fs::read_to_string(t.dir().join("exit")).unwrap();
    assert!(text.starts_with("exit 3 0 "), "{text}");
}

#[test]
fn sigkill_is_137() {
    let mut t = TestShim::new(&["sleep", "100"]);
    t.spawn_ready(&[]);
    let pid = client::start(&t.dir()).unwrap();
    assert_eq!(client::state(&t.dir()).unwrap(), State::Running(pid));
    // SAFETY: plain integers; `pid` is our container's init, alive (running state).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let exit: ExitInfo = client::wait(&t.dir()).unwrap();
    assert_eq!(exit.code, 137);
    assert_eq!(t.shim_exit(), 0);
}

#[test]
fn stdin_once_reaches_cat() {
    let mut t = TestShim::new(&["cat"]);
    t.spawn_ready(&["--stdin", "--stdin-once"]);
    let mut s = client::attach(&t.dir(), true, true, true).unwrap();
    timeout_stream(&s);
    s.write_all(b"hello\n").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    client::start(&t.dir()).unwrap();
    let (out, err) = read_frames(&mut s);
    assert_eq!((out.as_str(), err.as_str()), ("hello\n", ""));
    assert_eq!(client::wait(&t.dir()).unwrap().code, 0);
    let entries = TestShim::log_entries(&t.log());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["log"], "hello\n");
}

#[test]
fn close_stdin_request() {
    let mut t = TestShim::new(&["cat"]);
    t.spawn_ready(&["--stdin"]);
    let mut s = client::attach(&t.dir(), true, true, false).unwrap();
    timeout_stream(&s);
    client::start(&t.dir()).unwrap();
    s.write_all(b"abc\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    client::close_stdin(&t.dir()).unwrap();
    assert_eq!(client::wait(&t.dir()).unwrap().code, 0);
    let (out, _) = read_frames(&mut s);
    assert_eq!(out, "abc\n");
}

#[test]
fn log_rotation() {
    let mut t = TestShim::new(&[
        "sh",
        "-c",
        "i=0; while [ $i -lt 50 ]; do i=$((i+1)); echo line $i; done",
    ]);
    t.spawn_ready(&["--log-max-size", "300", "--log-max-file", "3"]);
    client::start(&t.dir()).unwrap();
    assert_eq!(client::wait(&t.dir()).unwrap().code, 0);
    let log = t.log();
    let numbered = |i: u32| PathBuf::from(format!("{}.{i}", log.display()));
    for p in [log.clone(), numbered(1), numbered(2)] {
        let len = std::fs::metadata(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .len();
        assert!(len > 0 && len <= 300, "{}: {len}", p.display());
    }
    assert!(!numbered(3).exists());
    let last = TestShim::log_entries(&log);
    assert_eq!(last.last().unwrap()["log"], "line 50\n");
    let older = TestShim::log_entries(&numbered(1));
    let n = |v: &Value| {
        v["log"]
            .as_str()
            .unwrap()
            .trim()
            .trim_start_matches("line ")
            .parse::<u32>()
            .unwrap()
    };
    assert_eq!(n(older.last().unwrap()) + 1, n(&last[0]));
}

#[test]
fn survives_its_parent() {
    let t = TestShim::new(&["sh", "-c", "echo orphan"]);
    let ready = t.tmp.path().join("ready.txt");
    let cmd = t.command(&[]);
    let mut argv = vec![cmd.get_program().to_os_string()];
    argv.extend(cmd.get_args().map(|a| a.to_os_string()));
    // An intermediate shell starts the shim in the background and exits at once.
    let status = Command::new("sh")
        .arg("-c")
        .arg("\"$@\" >\"$R\" 2>/dev/null </dev/null & exit 0")
        .arg("sh")
        .args(&argv)
        .env("R", &ready)
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    while !std::fs::read_to_string(&ready)
        .unwrap_or_default()
        .contains('\n')
    {
        assert!(start.elapsed() < Duration::from_secs(20), "no ready line");
        std::thread::sleep(Duration::from_millis(10));
    }
    let line = std::fs::read_to_string(&ready).unwrap();
    assert!(line.starts_with("ready "), "{line}");
    let shim_pid: i32 = std::fs::read_to_string(t.dir().join("shim.pid"))
        .unwrap()
        .parse()
        .unwrap();
    let status = std::fs::read_to_string(format!("/proc/{shim_pid}/status")).unwrap();
    let ppid = berth_tests::procfs::status_field(&status, "PPid")
        .unwrap_or("0")
        .trim()
        .to_string();
    assert_ne!(ppid, std::process::id().to_string());
    client::start(&t.dir()).unwrap();
    assert_eq!(client::wait(&t.dir()).unwrap().code, 0);
    let entries = TestShim::log_entries(&t.log());
    assert_eq!(entries[0]["log"], "orphan\n");
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{shim_pid}")).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "shim still alive"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn assert_clean_failure(t: &mut TestShim, line: &str) {
    assert!(line.starts_with("error "), "{line}");
    assert_eq!(t.shim_exit(), 1);
    assert!(!t.root().join(&t.id).exists(), "state dir left");
    assert!(!t.dir().join("shim.sock").exists(), "socket left");
    for h in leaks::cgroup_hierarchies() {
        assert!(
            !h.join(&t.cgroup).exists(),
            "cgroup left in {}",
            h.display()
        );
    }
}

#[test]
fn missing_bundle_is_an_error() {
    let t = TestShim::new(&["true"]);
    t.bundle.write_config();
    let mut cmd = t.command(&[]);
    std::fs::remove_file(t.bundle.path().join("config.json")).unwrap();
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let line = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(line.starts_with("error "), "{line}");
    assert_eq!(out.status.code(), Some(1));
    assert!(!t.root().join(&t.id).exists());
    assert!(!t.dir().join("shim.sock").exists());
}

#[test]
fn invalid_config_is_an_error() {
    let mut t = TestShim::new(&["true"]);
    t.bundle
        .set("/process/rlimits/0/type", Value::from("RLIMIT_BOGUS"));
    let line = t.spawn(&[]);
    assert_clean_failure(&mut t, &line);
}

#[test]
fn failing_exec_is_an_error() {
    // Fails late, inside the init (after the cgroup exists): still nothing left.
    let mut t = TestShim::new(&["/no/such/binary"]);
    let line = t.spawn(&[]);
    assert_clean_failure(&mut t, &line);
}

#[test]
fn idle_shim_pss() {
    let mut t = TestShim::new(&["sleep", "100"]);
    t.spawn_ready(&[]);
    client::start(&t.dir()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pid = t.child.as_ref().unwrap().id();
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
    let pss: u64 = rollup
        .lines()
        .find(|l| l.starts_with("Pss:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    eprintln!("idle shim PSS: {pss} kB");
    if let Some(cmd) = std::env::var_os("BERTH_SHIM_PSS_HOOK") {
        let _ = Command::new(cmd).arg(pid.to_string()).status();
    }
    // Debug builds are much larger than release; this only catches runaway growth.
    assert!(pss < 4096, "idle shim PSS {pss} kB");
}
