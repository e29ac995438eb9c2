//! Acceptance test: the `berth` CLI against Docker's own `dockerd` (API 1.41).
//!
//! `berth_tests::docker::TestDocker` starts a private containerd + dockerd with
//! `busybox:latest` imported; the built `berth` binary is pointed at its socket with
//! `-H unix://…` and must behave like the `docker` CLI: output, exit codes, errors. The
//! harness has no public socket accessor, so the path is read from its `Debug` output
//! (`sock: "…/docker.sock"`).

#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration test crate: every #[test] here is outside a unit-test module by design"
)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use berth_tests::docker::TestDocker;

/// Deadline for one CLI invocation.
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// The daemon socket of a `TestDocker`, from its `Debug` representation.
fn socket_of(d: &TestDocker) -> String {
    let dbg = format!("{d:?}");
    let start = dbg.find("sock: \"").expect("TestDocker Debug shows sock") + 7;
    let end = dbg[start..].find('"').expect("closing quote") + start;
    let sock = dbg[start..end].to_string();
    assert!(Path::new(&sock).exists(), "socket {sock} missing");
    sock
}

/// Runs `berth -H unix://<sock> args…` with optional stdin and a deadline.
fn berth_in(sock: &str, args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("-H")
        .arg(format!("unix://{sock}"))
        .args(args)
        .env_remove("BERTH_HOST")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn berth");
    if let Some(input) = stdin {
        let mut w = child.stdin.take().expect("stdin pipe");
        let input = input.to_vec();
        thread::spawn(move || {
            let _ = w.write_all(&input);
        });
    }
    let mut so = child.stdout.take().expect("stdout pipe");
    let mut se = child.stderr.take().expect("stderr pipe");
    let t_out = thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t_err = thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait berth") {
            break st;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("berth {args:?} timed out");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Out {
        code: status.code().unwrap_or(-1),
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

fn ok(sock: &str, args: &[&str]) -> String {
    let o = berth_in(sock, args, None);
    assert_eq!(o.code, 0, "berth {args:?} failed: {}{}", o.stdout, o.stderr);
    o.stdout
}

#[test]
fn no_daemon_message() {
    let o = berth_in("/nonexistent/berth.sock", &["ps"], None);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.stderr.trim(),
        "Cannot connect to the berth daemon at unix:///nonexistent/berth.sock. Is berthd running? Start it with: sudo berthd"
    );
}

#[test]
fn cli_against_dockerd() {
    let d = TestDocker::start("cli");
    let sock = socket_of(&d);
    let s = sock.as_str();

    // run: output, exit code, stdin.
    let o = berth_in(s, &["run", "--rm", "busybox", "echo", "hi"], None);
    assert_eq!((o.code, o.stdout.as_str()), (0, "hi\n"), "{}", o.stderr);
    let o = berth_in(s, &["run", "--rm", "busybox", "sh", "-c", "exit 3"], None);
    assert_eq!(o.code, 3, "{}", o.stderr);
    let o = berth_in(
        s,
        &["run", "-i", "--rm", "busybox", "cat"],
        Some(b"from stdin\n"),
    );
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (0, "from stdin\n"),
        "{}",
        o.stderr
    );
    let o = berth_in(
        s,
        &[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo out; echo err >&2",
        ],
        None,
    );
    assert_eq!((o.stdout.as_str(), o.stderr.as_str()), ("out\n", "err\n"));
    let o = berth_in(s, &["run", "--rm", "busybox", "no-such-binary"], None);
    assert_eq!(o.code, 127, "{}", o.stderr);

    // run -d, logs, ps, exec, inspect, top, stats, cp.
    let id = ok(
        s,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "-e",
            "GREETING=hello",
            "busybox",
            "sh",
            "-c",
            "echo started; exec sleep 1000",
        ],
    );
    let id = id.trim();
    assert!(
        id.len() == 64 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "id {id:?}"
    );
    let start = Instant::now();
    while !ok(s, &["logs", "web"]).contains("started") {
        assert!(start.elapsed() < Duration::from_secs(20), "no log output");
        thread::sleep(Duration::from_millis(100));
    }
    assert!(ok(s, &["ps", "-a", "--format", "{{.Names}}"])
        .lines()
        .any(|l| l == "web"));
    let table = ok(s, &["ps"]);
    assert!(table.starts_with("CONTAINER ID   IMAGE"), "{table}");
    assert!(ok(s, &["ps", "-q"]).contains(&id[..12]));
    let o = berth_in(
        s,
        &["exec", "web", "sh", "-c", "echo $GREETING; exit 4"],
        None,
    );
    assert_eq!((o.code, o.stdout.as_str()), (4, "hello\n"), "{}", o.stderr);
    assert_eq!(
        ok(s, &["inspect", "-f", "{{.State.Status}}", "web"]).trim(),
        "running"
    );
    assert_eq!(
        ok(s, &["inspect", "-f", "{{json .Config.Cmd}}", id]).trim(),
        r#"["sh","-c","echo started; exec sleep 1000"]"#
    );
    let images = ok(s, &["images"]);
    assert!(images.starts_with("REPOSITORY"), "{images}");
    assert!(
        images
            .lines()
            .any(|l| l.starts_with("busybox") && l.contains("latest")),
        "{images}"
    );
    assert!(ok(s, &["top", "web"]).contains("sleep 1000"));
    let stats = ok(s, &["stats", "--no-stream", "web"]);
    assert!(
        stats.starts_with("CONTAINER ID") && stats.contains("web"),
        "{stats}"
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("in.txt");
    std::fs::write(&src, "copied in\n").expect("write src");
    ok(s, &["cp", src.to_str().expect("utf8"), "web:/tmp/in.txt"]);
    assert_eq!(ok(s, &["exec", "web", "cat", "/tmp/in.txt"]), "copied in\n");
    let back = tmp.path().join("back.txt");
    ok(s, &["cp", "web:/tmp/in.txt", back.to_str().expect("utf8")]);
    assert_eq!(
        std::fs::read_to_string(&back).expect("read back"),
        "copied in\n"
    );
    ok(s, &["cp", "web:/etc", tmp.path().to_str().expect("utf8")]);
    assert!(tmp.path().join("etc/hostname").is_file());

    assert_eq!(ok(s, &["stop", "-t", "1", "web"]).trim(), "web");
    assert_eq!(
        ok(s, &["inspect", "-f", "{{.State.Status}}", "web"]).trim(),
        "exited"
    );
    assert_eq!(ok(s, &["rm", "web"]).trim(), "web");

    // wait returns the exit code.
    let id = ok(
        s,
        &["run", "-d", "busybox", "sh", "-c", "sleep 0.2; exit 5"],
    );
    assert_eq!(ok(s, &["wait", id.trim()]).trim(), "5");
    ok(s, &["rm", id.trim()]);

    // Bad input.
    let o = berth_in(s, &["run", "-p", "99999:80", "busybox", "true"], None);
    assert_eq!(o.code, 125);
    assert!(o.stderr.contains("invalid hostPort: 99999"), "{}", o.stderr);
    let o = berth_in(s, &["logs", "nosuch"], None);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("No such container: nosuch"),
        "{}",
        o.stderr
    );
    let o = berth_in(s, &["stop", "nosuch"], None);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.stderr.trim(),
        "Error response from daemon: No such container: nosuch"
    );
    let o = berth_in(s, &["run", "--bogus-flag", "busybox"], None);
    assert_eq!(o.code, 125);
}
