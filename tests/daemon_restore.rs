//! Acceptance tests for live restore: containers keep running while berthd is SIGKILLed
//! and restarted, their logs have no gap, a container that exits while the daemon is down
//! is reported with its exit code afterwards, and restored containers can be stopped.
#![allow(clippy::tests_outside_test_module)]

use std::thread::sleep;
use std::time::Duration;

use berth_tests::berthd::TestBerthd;

fn inspect(d: &TestBerthd, name: &str, format: &str) -> String {
    d.docker_ok(&["inspect", "-f", format, name])
}

#[test]
fn running_container_survives_daemon_kill() {
    let mut d = TestBerthd::start("restore-run");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "ticker",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do echo $i; i=$((i+1)); sleep 0.05; done",
    ]);
    sleep(Duration::from_millis(500));
    let pid = inspect(&d, "ticker", "{{.State.Pid}}");
    d.kill_daemon();
    sleep(Duration::from_secs(1));
    d.restart_daemon();
    assert_eq!(inspect(&d, "ticker", "{{.State.Status}}"), "running");
    assert_eq!(inspect(&d, "ticker", "{{.State.Pid}}"), pid, "pid changed");
    sleep(Duration::from_millis(500));
    let logs = d.docker_ok(&["logs", "ticker"]);
    let nums: Vec<u64> = logs
        .lines()
        .map(|l| {
            l.parse()
                .unwrap_or_else(|_| panic!("bad log line {l:?} in {logs}"))
        })
        .collect();
    assert!(nums.len() > 25, "too few lines: {}", nums.len());
    for (i, n) in nums.iter().enumerate() {
        assert_eq!(*n, i as u64, "gap or duplicate at line {i}: {logs}");
    }
    // the restored container is followable, stoppable and removable
    let out = d.docker_ok(&["logs", "--tail", "1", "ticker"]);
    assert!(out.parse::<u64>().is_ok(), "{out}");
    assert_eq!(d.docker_ok(&["exec", "ticker", "echo", "hi"]), "hi");
    d.docker_ok(&["stop", "-t", "1", "ticker"]);
    assert_eq!(inspect(&d, "ticker", "{{.State.Status}}"), "exited");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} still alive"
    );
    d.docker_ok(&["rm", "ticker"]);
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
}

#[test]
fn container_exiting_while_daemon_down_is_reported() {
    let mut d = TestBerthd::start("restore-exit");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "quitter",
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 7",
    ]);
    d.docker_ok(&["run", "-d", "--name", "stayer", "busybox", "sleep", "100"]);
    d.kill_daemon();
    sleep(Duration::from_secs(2));
    d.restart_daemon();
    assert_eq!(
        inspect(
            &d,
            "quitter",
            "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}"
        ),
        "exited 7 false"
    );
    assert_eq!(d.docker_ok(&["wait", "quitter"]), "7");
    assert_eq!(inspect(&d, "stayer", "{{.State.Status}}"), "running");
    let ps = d.docker_ok(&["ps", "--format", "{{.Names}}"]);
    assert_eq!(ps, "stayer");
    d.docker_ok(&["stop", "-t", "0", "stayer"]);
    assert_eq!(
        inspect(&d, "stayer", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
    d.docker_ok(&["rm", "quitter", "stayer"]);
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
}

#[test]
fn restored_container_wait_and_restart_policy() {
    let mut d = TestBerthd::start("restore-wait");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "later",
        "busybox",
        "sh",
        "-c",
        "sleep 3; exit 5",
    ]);
    d.docker_ok(&[
        "run",
        "-d",
        "--restart",
        "always",
        "--name",
        "always",
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 1",
    ]);
    d.kill_daemon();
    sleep(Duration::from_millis(300));
    d.restart_daemon();
    // a wait issued after the restore sees the exit that happens later
    assert_eq!(d.docker_ok(&["wait", "later"]), "5");
    // the restart policy keeps working for a restored container
    let mut n = 0;
    for _ in 0..100 {
        n = inspect(&d, "always", "{{.RestartCount}}")
            .parse()
            .unwrap_or(0);
        if n >= 2 {
            break;
        }
        sleep(Duration::from_millis(100));
    }
    assert!(n >= 2, "RestartCount after restore: {n}");
    d.docker_ok(&["rm", "-f", "later", "always"]);
}

/// Sets a stored container record back to `created` (berthd must be down), as when
/// berthd was killed after a start but before its store committed the change.
fn rewind_to_created(d: &TestBerthd, name: &str) {
    let store = berth_engine::store::Store::open(&d.dir.join("data/state.db")).expect("open store");
    let mut found = false;
    for (id, bytes) in store.all().expect("records") {
        let mut rec: serde_json::Value = serde_json::from_slice(&bytes).expect("record JSON");
        if rec["name"] != name {
            continue;
        }
        rec["state"]["status"] = "created".into();
        rec["state"]["pid"] = 0.into();
        rec["state"]["started_at"] = 0.into();
        rec["has_been_started"] = false.into();
        store
            .put(&id, &serde_json::to_vec(&rec).expect("encode"))
            .expect("put");
        found = true;
    }
    store.flush();
    assert!(found, "no record named {name}");
}

/// A start whose record change was lost (berthd killed before the background commit):
/// the shim's word wins at restore, for a container still running and for one that
/// exited meanwhile.
#[test]
fn start_not_yet_committed_is_recovered_from_the_shim() {
    let mut d = TestBerthd::start("restore-uncommitted");
    d.docker_ok(&["run", "-d", "--name", "late", "busybox", "sleep", "100"]);
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "brief",
        "busybox",
        "sh",
        "-c",
        "sleep 1; exit 3",
    ]);
    d.kill_daemon();
    rewind_to_created(&d, "late");
    rewind_to_created(&d, "brief");
    sleep(Duration::from_secs(2));
    d.restart_daemon();
    assert_eq!(inspect(&d, "late", "{{.State.Status}}"), "running");
    assert_ne!(inspect(&d, "late", "{{.State.Pid}}"), "0");
    assert_eq!(
        inspect(&d, "brief", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 3"
    );
    d.docker_ok(&["stop", "-t", "0", "late"]);
    assert_eq!(
        inspect(&d, "late", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
    d.docker_ok(&["rm", "late", "brief"]);
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
}

/// A removal whose record deletion was lost (berthd killed after `rm` moved the
/// container's directory away): the record is dropped at restore and the name is free.
#[test]
fn removal_not_yet_committed_is_finished_at_restore() {
    let mut d = TestBerthd::start("restore-removed");
    let id = d.docker_ok(&["create", "--name", "gone", "busybox", "true"]);
    d.kill_daemon();
    std::fs::remove_dir_all(d.dir.join("data/containers").join(&id)).expect("remove dir");
    d.restart_daemon();
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
    d.docker_ok(&["create", "--name", "gone", "busybox", "true"]);
    d.docker_ok(&["rm", "gone"]);
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
}
