//! Terminals: `process.terminal` with `--console-socket` for create and exec.

// Integration-test crates are test-only by construction; the lint targets src/.
#![allow(clippy::tests_outside_test_module)]

use std::time::Duration;

use berth_tests::console::read_until;
use berth_tests::{ConsoleSocket, Runtime};
use serde_json::json;

#[test]
fn create_with_console_socket_gives_pty() {
    let rt = Runtime::new();
    let sock = ConsoleSocket::bind(&rt.dir().join("console.sock"));
    let mut b = rt.bundle("tty");
    b.set("/process/terminal", json!(true))
        .sh("tty; stty size 2>/dev/null; echo done-$((40+2))");
    rt.create_with(&b, "tty", &["--console-socket", sock.path()])
        .assert_ok();
    let master = sock.recv_master(Duration::from_secs(10));
    rt.start("tty").assert_ok();
    let out = read_until(master, "done-42", Duration::from_secs(20));
    assert!(out.contains("/dev/pts/0"), "tty output: {out:?}");
    assert!(out.contains("done-42"), "tty output: {out:?}");
    // The pty line discipline turns \n into \r\n.
    assert!(out.contains("\r\n"), "not a terminal: {out:?}");
    rt.wait_status("tty", "stopped");
    rt.delete("tty").assert_ok();
}

#[test]
fn terminal_stdio_are_the_pty() {
    let rt = Runtime::new();
    let sock = ConsoleSocket::bind(&rt.dir().join("c.sock"));
    let mut b = rt.bundle("ttyfd");
    b.set("/process/terminal", json!(true))
        .sh("for f in 0 1 2; do readlink /proc/self/fd/$f; done; echo end");
    rt.create_with(&b, "ttyfd", &["--console-socket", sock.path()])
        .assert_ok();
    let master = sock.recv_master(Duration::from_secs(10));
    rt.start("ttyfd").assert_ok();
    let out = read_until(master, "end", Duration::from_secs(20));
    assert_eq!(out.matches("/dev/pts/0").count(), 3, "{out:?}");
}

#[test]
fn exec_tty_with_console_socket() {
    let rt = Runtime::new();
    let mut b = rt.bundle("exectty");
    b.args(&["sleep", "1000"]);
    rt.create_and_start(&b, "exectty");
    let sock = ConsoleSocket::bind(&rt.dir().join("e.sock"));
    let flags = ["--tty", "--detach", "--console-socket", sock.path()];
    rt.exec_with("exectty", &flags, &["sh", "-c", "tty; echo exec-end"])
        .assert_ok();
    let master = sock.recv_master(Duration::from_secs(10));
    let out = read_until(master, "exec-end", Duration::from_secs(20));
    assert!(out.contains("/dev/pts/"), "exec tty output: {out:?}");
    assert!(!out.contains("not a tty"), "{out:?}");
    rt.delete_force("exectty").assert_ok();
}

/// `run` in the foreground with `terminal: true` and no console socket: the runtime
/// relays the pty itself (runc does too; the default `spec` asks for a terminal).
#[test]
fn foreground_run_relays_its_own_pty() {
    let rt = Runtime::new();
    let mut b = rt.bundle("fgtty");
    b.set("/process/terminal", json!(true))
        .sh("tty; echo relayed-$((40+2)); exit 5");
    b.write_config();
    let run = rt.command(&["run", "--bundle", b.path().to_str().unwrap(), "fgtty"]);
    let line: Vec<String> = std::iter::once(run.get_program())
        .chain(run.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // script(1) gives the runtime a terminal on stdin/stdout, as a user's shell would.
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &line.join(" "), "/dev/null"]);
    let out = rt.run_command(cmd, "script-run");
    assert_eq!(out.code, 5, "exit code through the relay: {out:?}");
    assert!(out.stdout.contains("/dev/pts/0"), "no pty: {out:?}");
    assert!(out.stdout.contains("relayed-42"), "no output: {out:?}");
}

/// `exec -t` in the foreground without a console socket relays the pty too.
#[test]
fn foreground_exec_tty_relays_its_own_pty() {
    let rt = Runtime::new();
    let mut b = rt.bundle("fgexec");
    b.args(&["sleep", "1000"]);
    rt.create(&b, "fgexec").assert_ok();
    rt.start("fgexec").assert_ok();
    let exec = rt.command(&["exec", "-t", "fgexec", "sh", "-c", "tty; exit 4"]);
    let line: Vec<String> = std::iter::once(exec.get_program())
        .chain(exec.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let quoted: Vec<String> = line.iter().map(|a| format!("'{a}'")).collect();
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &quoted.join(" "), "/dev/null"]);
    let out = rt.run_command(cmd, "script-exec");
    assert_eq!(out.code, 4, "exit code through the relay: {out:?}");
    assert!(out.stdout.contains("/dev/pts/"), "no pty: {out:?}");
    rt.delete_force("fgexec").assert_ok();
}
