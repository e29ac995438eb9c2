//! Resource limits seen through the stock docker CLI: a memory hog is OOM-killed, and
//! berthd reports it the way Docker does (exit 137, `State.OOMKilled`, an `oom` event).
#![allow(clippy::tests_outside_test_module)]
use berth_tests::berthd::TestBerthd;

#[test]
fn memory_hog_is_oom_killed_and_reported() {
    let d = TestBerthd::start("oom");
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let start = now();
    // `tail` keeps the last (never-ending) line of /dev/zero in memory.
    let out = d.docker(&[
        "run",
        "--name",
        "hog",
        "-m",
        "32m",
        "--memory-swap",
        "32m",
        "busybox",
        "tail",
        "/dev/zero",
    ]);
    assert_eq!(out.code(), 137, "{out:?}");
    let state = d.docker_ok(&[
        "inspect",
        "--format",
        "{{.State.OOMKilled}} {{.State.ExitCode}}",
        "hog",
    ]);
    assert_eq!(state.trim(), "true 137");
    let events = d.docker_ok(&[
        "events",
        "--since",
        &start.to_string(),
        "--until",
        &(now() + 1).to_string(),
        "--filter",
        "container=hog",
        "--filter",
        "event=oom",
        "--format",
        "{{.Action}}",
    ]);
    assert_eq!(events.trim(), "oom");

    // A container within its limit is not marked.
    d.docker_ok(&["run", "--name", "calm", "-m", "32m", "busybox", "true"]);
    let calm = d.docker_ok(&["inspect", "--format", "{{.State.OOMKilled}}", "calm"]);
    assert_eq!(calm.trim(), "false");
    d.docker_ok(&["rm", "hog", "calm"]);
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
}
