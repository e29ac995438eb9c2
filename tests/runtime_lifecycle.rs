//! Lifecycle: create/start/state/kill/delete, list, ps, kill --all, delete --force, exec.

// Integration-test crates are test-only by construction; the lint targets src/.
#![allow(clippy::tests_outside_test_module)]

use std::time::Duration;

use berth_tests::command::wait_for;
use berth_tests::Runtime;
use serde_json::{json, Value};

fn alive(pid: i32) -> bool {
    // Zombies count as dead.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[test]
fn create_start_kill_delete() {
    let rt = Runtime::new();
    let mut b = rt.bundle("life");
    b.sh("touch /ran; exec sleep 1000");
    rt.create(&b, "life").assert_ok();
    let st = rt.state("life");
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], "life", "{st}");
    let pid = st["pid"].as_i64().expect("pid in created state") as i32;
    assert!(pid > 0 && alive(pid), "{st}");
    let bundle = st["bundle"].as_str().unwrap_or_default();
    assert_eq!(
        std::fs::canonicalize(bundle).unwrap(),
        std::fs::canonicalize(b.path()).unwrap()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(!b.rootfs().join("ran").exists(), "process ran before start");

    rt.start("life").assert_ok();
    assert_eq!(rt.status("life"), "running");
    wait_for(Duration::from_secs(10), || {
        b.rootfs().join("ran").exists().then_some(())
    })
    .expect("process did not run after start");
    assert_eq!(rt.pid("life"), pid, "init pid changed across start");

    rt.kill("life", "KILL").assert_ok();
    rt.wait_status("life", "stopped");
    assert!(!alive(pid));
    rt.delete("life").assert_ok();
    assert!(
        !rt.state_dir("life").exists(),
        "state dir left after delete"
    );
    assert!(rt.try_state("life").is_none(), "state works after delete");
}

#[test]
fn start_twice_fails_and_delete_running_without_force_fails() {
    let rt = Runtime::new();
    let mut b = rt.bundle("twice");
    b.args(&["sleep", "1000"]);
    rt.create_and_start(&b, "twice");
    rt.start("twice").assert_failed();
    rt.delete("twice").assert_failed();
    assert_eq!(rt.status("twice"), "running");
    rt.delete_force("twice").assert_ok();
}

#[test]
fn kill_signal_name_and_number() {
    let rt = Runtime::new();
    let mut b = rt.bundle("sig");
    b.sh("trap 'echo got-usr1' USR1; trap 'exit 3' TERM; while true; do sleep 0.1; done");
    rt.create_and_start(&b, "sig");
    std::thread::sleep(Duration::from_millis(300));
    rt.kill("sig", "SIGUSR1").assert_ok();
    wait_for(Duration::from_secs(10), || {
        rt.container_output("sig")
            .0
            .contains("got-usr1")
            .then_some(())
    })
    .expect("USR1 not delivered");
    rt.kill("sig", "15").assert_ok();
    rt.wait_status("sig", "stopped");
    rt.delete("sig").assert_ok();
}

#[test]
fn list_shows_containers() {
    let rt = Runtime::new();
    let mut b = rt.bundle("listed");
    b.args(&["sleep", "1000"]);
    rt.create(&b, "listed").assert_ok();
    let out = rt.cmd(&["list"]);
    out.assert_ok();
    assert!(
        out.stdout.lines().any(|l| l.starts_with("listed ")),
        "{out}"
    );
    let out = rt.cmd(&["list", "--format", "json"]);
    out.assert_ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let c = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "listed")
        .expect("listed in json");
    assert_eq!(c["status"], "created");
    rt.delete_force("listed").assert_ok();
}

#[test]
fn ps_lists_container_processes() {
    let rt = Runtime::new();
    let mut b = rt.bundle("ps");
    b.args(&["sleep", "1000"]);
    rt.create_and_start(&b, "ps");
    let pid = rt.pid("ps");
    let out = rt.cmd(&["ps", "--format", "json", "ps"]);
    out.assert_ok();
    let pids: Vec<i64> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(pids, [pid as i64], "{out}");
    rt.delete_force("ps").assert_ok();
}

#[test]
fn kill_all_stops_every_process() {
    let rt = Runtime::new();
    let mut b = rt.bundle("killall");
    b.sh("sleep 1000 & sleep 1000 & wait");
    rt.create_and_start(&b, "killall");
    rt.exec_with("killall", &["--detach"], &["sleep", "1000"])
        .assert_ok();
    let procs = rt.host_cgroup_dir("pids", "killall").join("cgroup.procs");
    wait_for(Duration::from_secs(10), || {
        (std::fs::read_to_string(&procs).ok()?.lines().count() >= 4).then_some(())
    })
    .expect("4 processes in the container");
    rt.cmd(&["kill", "--all", "killall", "KILL"]).assert_ok();
    rt.wait_status("killall", "stopped");
    wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&procs)
            .map(|s| s.trim().is_empty())
            .unwrap_or(true)
            .then_some(())
    })
    .expect("processes left after kill --all");
    rt.delete("killall").assert_ok();
}

#[test]
fn delete_force_running_container() {
    let rt = Runtime::new();
    let mut b = rt.bundle("force");
    b.args(&["sleep", "1000"]);
    rt.create_and_start(&b, "force");
    let pid = rt.pid("force");
    rt.delete_force("force").assert_ok();
    assert!(!rt.state_dir("force").exists());
    wait_for(Duration::from_secs(5), || (!alive(pid)).then_some(())).expect("init still alive");
}

#[test]
fn delete_force_created_container() {
    let rt = Runtime::new();
    let mut b = rt.bundle("forcec");
    b.args(&["sleep", "1000"]);
    rt.create(&b, "forcec").assert_ok();
    rt.delete_force("forcec").assert_ok();
    assert!(!rt.state_dir("forcec").exists());
}

#[test]
fn exec_shares_namespaces_env_cwd_user_and_exit_code() {
    let rt = Runtime::new();
    let mut b = rt.bundle("exec");
    b.args(&["sleep", "1000"]);
    rt.create_and_start(&b, "exec");
    let out = rt.exec(
        "exec",
        &["sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; hostname"],
    );
    out.assert_ok();
    assert_eq!(out.stdout, "sleep 1000 \nberth-test\n", "{out}");
    let script = "echo \"$FOO|$(pwd)\"";
    let out = rt.exec_with(
        "exec",
        &["--env", "FOO=bar baz", "--cwd", "/tmp"],
        &["sh", "-c", script],
    );
    assert_eq!(out.stdout, "bar baz|/tmp\n", "{out}");
    let out = rt.exec_with("exec", &["--user", "1000:1000"], &["id", "-u"]);
    assert_eq!(out.stdout.trim(), "1000", "{out}");
    let out = rt.exec("exec", &["sh", "-c", "exit 7"]);
    assert_eq!(out.code, 7, "{out}");
    rt.delete_force("exec").assert_ok();
}

#[test]
fn exec_process_json() {
    let rt = Runtime::new();
    let mut b = rt.bundle("execjson");
    b.args(&["sleep", "1000"]);
    rt.create_and_start(&b, "execjson");
    let mut process = b.config["process"].clone();
    process["args"] = json!(["sh", "-c", "echo $MODE; id -u"]);
    process["env"] = json!(["PATH=/bin:/usr/bin", "MODE=from-json"]);
    process["user"] = json!({"uid": 1000, "gid": 1000});
    let path = rt.dir().join("process.json");
    std::fs::write(&path, process.to_string()).unwrap();
    let out = rt.exec_with("execjson", &["--process", path.to_str().unwrap()], &[]);
    out.assert_ok();
    assert_eq!(out.stdout, "from-json\n1000\n", "{out}");
    rt.delete_force("execjson").assert_ok();
}

#[test]
fn exec_detach_with_pid_file() {
    let rt = Runtime::new();
    let mut b = rt.bundle("execd");
    b.args(&["sleep", "1000"]);
    rt.create_and_start(&b, "execd");
    let pidfile = rt.dir().join("exec.pid");
    let flags = ["--detach", "--pid-file", pidfile.to_str().unwrap()];
    rt.exec_with("execd", &flags, &["sleep", "999"]).assert_ok();
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(pid));
    let init = rt.pid("execd");
    for ns in ["pid", "mnt", "net", "ipc", "uts"] {
        let a = std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
        let b = std::fs::read_link(format!("/proc/{init}/ns/{ns}")).unwrap();
        assert_eq!(a, b, "exec'd process not in the container's {ns} namespace");
    }
    let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmd, "sleep\0999\0");
    rt.delete_force("execd").assert_ok();
    wait_for(Duration::from_secs(5), || (!alive(pid)).then_some(()))
        .expect("exec'd process survived");
}

#[test]
fn run_detach_and_pid_file() {
    let rt = Runtime::new();
    let mut b = rt.bundle("rund");
    b.args(&["sleep", "1000"]);
    b.write_config();
    rt.track("rund");
    let pidfile = rt.dir().join("run.pid");
    let bp = b.path().to_str().unwrap();
    rt.cmd(&[
        "run",
        "--detach",
        "--bundle",
        bp,
        "--pid-file",
        pidfile.to_str().unwrap(),
        "rund",
    ])
    .assert_ok();
    assert_eq!(rt.status("rund"), "running");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, rt.pid("rund"));
    rt.delete_force("rund").assert_ok();
}

#[test]
fn leak_check_reports_and_cleans_untracked_container() {
    let rt = Runtime::new();
    let mut b = rt.bundle("leaky");
    b.args(&["sleep", "1000"]);
    b.write_config();
    // Started behind the helper's back, so drop will not force-delete it.
    let bp = b.path().to_str().unwrap().to_string();
    rt.cmd(&["run", "--detach", "--bundle", &bp, "leaky"])
        .assert_ok();
    let pid = rt.pid("leaky");
    let cg = rt.host_cgroup_dir("pids", "leaky");
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(rt)));
    let err = res.expect_err("leak check did not notice a running container");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains(&format!("process {pid}")), "{msg}");
    assert!(msg.contains("cgroup dir"), "{msg}");
    wait_for(Duration::from_secs(5), || (!alive(pid)).then_some(())).expect("not cleaned up");
    assert!(!cg.exists(), "cgroup not cleaned up");
}
