//! cgroups (v1 hybrid host): memory OOM kill, pids.max, cpu files, events --stats,
//! pause/resume, update.

// Integration-test crates are test-only by construction; the lint targets src/.
#![allow(clippy::tests_outside_test_module)]

use berth_tests::Runtime;
use serde_json::{json, Value};

fn read_cg(rt: &Runtime, ctl: &str, id: &str, file: &str) -> String {
    let p = rt.host_cgroup_dir(ctl, id).join(file);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

#[test]
fn memory_limit_oom_kills_hog() {
    let rt = Runtime::new();
    let mut b = rt.bundle("oom");
    // `tail` keeps the last (never-ending) line of /dev/zero in memory.
    b.resources("memory", json!({"limit": 32 << 20, "swap": 32 << 20}))
        .args(&["tail", "/dev/zero"]);
    let (code, _, err) = rt.run_to_completion(&b, "oom");
    assert_eq!(
        code, 137,
        "memory hog was not SIGKILLed (exit {code}): {err}"
    );
}

#[test]
fn memory_limit_is_written() {
    let rt = Runtime::new();
    let mut b = rt.bundle("memfile");
    b.resources(
        "memory",
        json!({"limit": 48 << 20, "reservation": 16 << 20}),
    )
    .args(&["sleep", "1000"]);
    rt.create(&b, "memfile").assert_ok();
    assert_eq!(
        read_cg(&rt, "memory", "memfile", "memory.limit_in_bytes"),
        (48u64 << 20).to_string()
    );
    assert_eq!(
        read_cg(&rt, "memory", "memfile", "memory.soft_limit_in_bytes"),
        (16u64 << 20).to_string()
    );
    let pid = rt.pid("memfile");
    let procs = read_cg(&rt, "memory", "memfile", "cgroup.procs");
    assert!(
        procs.lines().any(|l| l == pid.to_string()),
        "init {pid} not in cgroup: {procs}"
    );
    rt.delete_force("memfile").assert_ok();
}

#[test]
fn pids_limit_stops_fork_bomb() {
    let rt = Runtime::new();
    let mut b = rt.bundle("pids");
    b.resources("pids", json!({"limit": 10}))
        .sh("for i in $(seq 20); do sleep 2 & done; echo spawned");
    let out = rt.run(&b, "pids");
    assert!(
        out.stderr.contains("can't fork"),
        "forks were not limited:\n{out}"
    );
}

#[test]
fn cpu_shares_and_quota_files() {
    let rt = Runtime::new();
    let mut b = rt.bundle("cpu");
    b.resources(
        "cpu",
        json!({"shares": 512, "quota": 50000, "period": 100000}),
    )
    .args(&["sleep", "1000"]);
    rt.create(&b, "cpu").assert_ok();
    assert_eq!(read_cg(&rt, "cpu", "cpu", "cpu.shares"), "512");
    assert_eq!(read_cg(&rt, "cpu", "cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(read_cg(&rt, "cpu", "cpu", "cpu.cfs_period_us"), "100000");
    rt.delete_force("cpu").assert_ok();
}

#[test]
fn events_stats_reports_memory_usage() {
    let rt = Runtime::new();
    let mut b = rt.bundle("stats");
    b.args(&["sleep", "1000"]);
    rt.create_and_start(&b, "stats");
    let out = rt.cmd(&["events", "--stats", "stats"]);
    out.assert_ok();
    let v: Value =
        serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}:\n{out}"));
    assert_eq!(v["type"], "stats", "{v}");
    assert_eq!(v["id"], "stats", "{v}");
    let usage = v["data"]["memory"]["usage"]["usage"].as_u64().unwrap_or(0);
    assert!(usage > 0, "no memory usage in {v}");
    assert!(
        v["data"]["pids"]["current"].as_u64().unwrap_or(0) >= 1,
        "{v}"
    );
    rt.delete_force("stats").assert_ok();
}

#[test]
fn pause_and_resume() {
    let rt = Runtime::new();
    let mut b = rt.bundle("pause");
    b.args(&["sleep", "1000"]);
    rt.create_and_start(&b, "pause");
    rt.cmd(&["pause", "pause"]).assert_ok();
    assert_eq!(rt.status("pause"), "paused");
    assert_eq!(read_cg(&rt, "freezer", "pause", "freezer.state"), "FROZEN");
    rt.cmd(&["resume", "pause"]).assert_ok();
    assert_eq!(rt.status("pause"), "running");
    assert_eq!(read_cg(&rt, "freezer", "pause", "freezer.state"), "THAWED");
    rt.delete_force("pause").assert_ok();
}

#[test]
fn delete_force_on_paused_container() {
    let rt = Runtime::new();
    let mut b = rt.bundle("pausedel");
    b.args(&["sleep", "1000"]);
    rt.create_and_start(&b, "pausedel");
    rt.cmd(&["pause", "pausedel"]).assert_ok();
    rt.delete_force("pausedel").assert_ok();
    assert!(!rt.state_dir("pausedel").exists());
}

#[test]
fn update_memory_limit() {
    let rt = Runtime::new();
    let mut b = rt.bundle("update");
    b.resources("memory", json!({"limit": 32 << 20}))
        .args(&["sleep", "1000"]);
    rt.create_and_start(&b, "update");
    rt.cmd(&["update", "--memory", "64M", "update"]).assert_ok();
    assert_eq!(
        read_cg(&rt, "memory", "update", "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    rt.cmd(&["update", "--pids-limit", "50", "update"])
        .assert_ok();
    assert_eq!(read_cg(&rt, "pids", "update", "pids.max"), "50");
    rt.delete_force("update").assert_ok();
}

#[test]
fn cgroup_dirs_removed_after_delete() {
    let rt = Runtime::new();
    let mut b = rt.bundle("cgrm");
    b.resources("pids", json!({"limit": 20})).args(&["true"]);
    rt.run(&b, "cgrm").assert_ok();
    for ctl in ["memory", "pids", "cpu", "freezer", "devices"] {
        let d = rt.host_cgroup_dir(ctl, "cgrm");
        assert!(!d.exists(), "{} left after run", d.display());
    }
}
