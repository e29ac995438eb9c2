//! Acceptance tests for the `berth` CLI against a private berthd: the core container
//! flows (run, exit codes, detached runs, logs, stop, rm, ps, exec, inspect, images) and
//! bad input, with the same expectations as the stock docker CLI.
#![allow(clippy::tests_outside_test_module)]

use berth_tests::berthd::TestBerthd;

/// `berth <args>` that must succeed; returns trimmed stdout.
fn berth_ok(d: &TestBerthd, args: &[&str]) -> String {
    let out = d.berth(args);
    assert_eq!(
        out.code(),
        0,
        "berth {args:?}: {out:?}\ndaemon log:\n{}",
        d.log()
    );
    out.stdout.trim().to_string()
}

#[test]
fn run_rm_and_exit_codes() {
    let d = TestBerthd::start("berth-run");
    let out = d.berth(&["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(out.stdout, "hi\n");
    assert_eq!(out.stderr, "");
    let out = d.berth(&["run", "--rm", "busybox", "sh", "-c", "echo e >&2; exit 3"]);
    assert_eq!(out.code(), 3, "{out:?}");
    assert_eq!(out.stderr, "e\n");
    let out = d.berth(&["run", "--rm", "busybox", "nosuchcmd"]);
    assert_eq!(out.code(), 127, "{out:?}");
    assert!(out.stderr.contains("executable file not found"), "{out:?}");
    assert_eq!(berth_ok(&d, &["ps", "-aq"]), "");
    let bin = TestBerthd::binary("berth");
    let out = d.sh(&format!(
        "echo piped | {} run --rm -i busybox cat",
        bin.display()
    ));
    assert_eq!(out.stdout, "piped\n", "{out:?}");
}

#[test]
fn run_detached_logs_stop_rm_ps() {
    let d = TestBerthd::start("berth-detached");
    let id = berth_ok(
        &d,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "busybox",
            "sh",
            "-c",
            "echo one; echo two; sleep 100",
        ],
    );
    assert_eq!(id.len(), 64, "{id}");
    let ps = berth_ok(&d, &["ps"]);
    let mut lines = ps.lines();
    let head = lines.next().expect("header");
    assert!(
        head.starts_with("CONTAINER ID") && head.contains("NAMES"),
        "{ps}"
    );
    let row = lines.next().expect("row");
    assert!(
        row.starts_with(&id[..12]) && row.trim_end().ends_with("web"),
        "{ps}"
    );
    assert!(row.contains("Up "), "{ps}");
    assert_eq!(berth_ok(&d, &["ps", "-q"]), id[..12]);
    assert_eq!(berth_ok(&d, &["ps", "--format", "{{.Names}}"]), "web");
    // logs may race the echo; poll briefly
    let mut logs = String::new();
    for _ in 0..50 {
        logs = berth_ok(&d, &["logs", "web"]);
        if logs == "one\ntwo" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(logs, "one\ntwo");
    assert_eq!(berth_ok(&d, &["logs", "--tail", "1", "web"]), "two");
    assert_eq!(berth_ok(&d, &["exec", "web", "echo", "inside"]), "inside");
    let out = d.berth(&["exec", "web", "sh", "-c", "exit 4"]);
    assert_eq!(out.code(), 4, "{out:?}");
    assert_eq!(
        berth_ok(&d, &["inspect", "-f", "{{.State.Status}}", "web"]),
        "running"
    );
    assert_eq!(berth_ok(&d, &["inspect", "-f", "{{.Name}}", "web"]), "/web");
    let out = d.berth(&["rm", "web"]);
    assert_ne!(out.code(), 0, "{out:?}");
    assert!(out.stderr.contains("container is running"), "{out:?}");
    assert_eq!(berth_ok(&d, &["stop", "-t", "1", "web"]), "web");
    assert_eq!(
        berth_ok(
            &d,
            &[
                "inspect",
                "-f",
                "{{.State.Status}} {{.State.ExitCode}}",
                "web"
            ]
        ),
        "exited 137"
    );
    assert_eq!(berth_ok(&d, &["ps", "-q"]), "");
    assert_eq!(berth_ok(&d, &["ps", "-aq"]), id[..12]);
    assert_eq!(berth_ok(&d, &["rm", "web"]), "web");
    assert_eq!(berth_ok(&d, &["ps", "-aq"]), "");
    let out = d.berth(&["inspect", "web"]);
    assert_ne!(out.code(), 0, "{out:?}");
    assert!(
        out.stderr.contains("No such object: web") || out.stderr.contains("No such container: web"),
        "{out:?}"
    );
    // wait prints the exit code
    berth_ok(
        &d,
        &["run", "-d", "--name", "w8", "busybox", "sh", "-c", "exit 6"],
    );
    assert_eq!(berth_ok(&d, &["wait", "w8"]), "6");
    berth_ok(&d, &["rm", "w8"]);
}

#[test]
fn images_and_inspect() {
    let d = TestBerthd::start("berth-images");
    let out = berth_ok(&d, &["images"]);
    let mut lines = out.lines();
    let head = lines.next().expect("header");
    assert!(
        head.starts_with("REPOSITORY") && head.contains("IMAGE ID"),
        "{out}"
    );
    let row = lines.next().expect("busybox row");
    assert!(
        row.starts_with("busybox ") && row.contains("latest"),
        "{out}"
    );
    assert_eq!(
        berth_ok(&d, &["images", "--format", "{{.Repository}}:{{.Tag}}"]),
        "busybox:latest"
    );
    let id = berth_ok(&d, &["inspect", "-f", "{{.Id}}", "busybox"]);
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(berth_ok(&d, &["images", "-q"]), id[7..19]);
    let out = d.berth(&["inspect", "nosuch"]);
    assert_ne!(out.code(), 0, "{out:?}");
}

#[test]
fn bad_input_exits_125() {
    let d = TestBerthd::start("berth-bad");
    let out = d.berth(&["run", "-p", "99999:80", "busybox", "true"]);
    assert_eq!(out.code(), 125, "{out:?}");
    assert!(out.stderr.contains("99999"), "{out:?}");
    let out = d.berth(&["run", "--restart", "bogus", "busybox", "true"]);
    assert_eq!(out.code(), 125, "{out:?}");
    let out = d.berth(&["run", "--memory", "lots", "busybox", "true"]);
    assert_eq!(out.code(), 125, "{out:?}");
    let out = d.berth(&["run", "--name", "x y", "busybox", "true"]);
    assert_eq!(out.code(), 125, "{out:?}");
    assert!(
        out.stderr.contains("Invalid container name (x y)"),
        "{out:?}"
    );
    let out = d.berth(&["run", "--rm", "nosuchimage:bad", "true"]);
    assert_ne!(out.code(), 0, "{out:?}");
    let out = d.berth(&["run", "--bogus-flag", "busybox"]);
    assert_eq!(out.code(), 125, "{out:?}");
    assert!(
        out.stderr.starts_with("unknown flag: --bogus-flag\n"),
        "{out:?}"
    );
    let out = d.berth(&["exec", "nope", "true"]);
    assert_ne!(out.code(), 0, "{out:?}");
    assert!(out.stderr.contains("No such container: nope"), "{out:?}");
    let out = d.berth(&["stop", "nope"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("No such container: nope"), "{out:?}");
    assert_eq!(berth_ok(&d, &["ps", "-aq"]), "");
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
}

#[test]
fn run_tty_exit_code() {
    let d = TestBerthd::start("berth-tty");
    let bin = TestBerthd::binary("berth");
    let out = d.sh(&format!(
        "script -qec \"{} run -it --rm busybox sh -c 'tty; exit 3'\" /dev/null",
        bin.display()
    ));
    assert_eq!(out.code(), 3, "{out:?}");
    assert!(out.stdout.contains("/dev/pts/0"), "{out:?}");
}

/// `run` without a TTY forwards the signals it gets to the container (Docker's signal
/// proxy), each as it comes, and exits with the container's code.
#[test]
fn run_forwards_signals() {
    let d = TestBerthd::start("berth-sigproxy");
    let bin = TestBerthd::binary("berth");
    let out = d.sh(&format!(
        r#"{} run --rm busybox sh -c "trap 'echo hup' HUP; trap 'echo term; exit 7' TERM; echo ready; while true; do sleep 0.1; done" > out 2>&1 &
pid=$!
wait_for() {{ for i in $(seq 200); do grep -q "$1" out && return 0; sleep 0.05; done; return 1; }}
wait_for ready || {{ echo never ready; cat out; exit 90; }}
kill -HUP $pid
wait_for hup || {{ echo HUP not forwarded; cat out; exit 91; }}
kill -TERM $pid
wait $pid
echo "rc=$?"
cat out"#,
        bin.display()
    ));
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stdout.starts_with("rc=7\n"), "{out:?}");
    assert!(out.stdout.contains("hup\nterm\n"), "{out:?}");
    assert_eq!(berth_ok(&d, &["ps", "-aq"]), "");
}
