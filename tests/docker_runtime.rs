//! Acceptance test: Docker's own `dockerd` drives `berth-runtime` as an OCI runtime.
//!
//! The harness (`berth_tests::docker::TestDocker`) starts a private `containerd` and
//! `dockerd` per test with berth registered as the `berth` runtime, imports the busybox
//! fixture as `busybox:latest` and drives the stock `docker` CLI; its `Drop` cleans up and
//! fails the test if the runtime leaked mounts, cgroups or processes.

#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration test crate: every #[test] here is outside a unit-test module by design"
)]

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use berth_tests::docker::TestDocker;

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
