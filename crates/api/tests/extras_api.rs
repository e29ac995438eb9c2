//! logs, top, stats, diff, export and cp against a private berthd, driven by the stock
//! `docker` CLI (and raw HTTP for what the CLI does not show).
//!
//! Needs root and the helper binaries: `cargo build -p berth-shim -p berth-runtime-cli
//! -p berth-api` first. Each test gets its own `TestBerthd` (temp dir, socket, cgroup
//! parent); its Drop removes containers, stops the daemon, unmounts and deletes what is
//! left and fails the test on leftovers (mounts, processes, cgroups).

#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration test crate: every #[test] here is outside a unit-test module by design"
)]

use std::process::Command;
use std::time::{Duration, Instant};

use berth_tests::berthd::TestBerthd;

const SCRIPT: &str = "for i in 1 2 3; do echo line$i; echo err$i >&2; done; sleep 100";

fn run_d(d: &TestBerthd, args: &[&str]) -> String {
    let mut a = vec!["run", "-d"];
    a.extend_from_slice(args);
    d.docker_ok(&a)
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn logs_separate_streams_tail_timestamps_and_follow() {
    let d = TestBerthd::start("extras-logs");
    let id = run_d(&d, &["--name", "lg", "busybox", "sh", "-c", SCRIPT]);
    wait_for("3 log lines", || {
        d.docker(&["logs", "lg"]).stdout.lines().count() == 3
    });
    let out = d.docker(&["logs", "lg"]);
    assert_eq!(out.stdout, "line1\nline2\nline3\n");
    assert_eq!(out.stderr, "err1\nerr2\nerr3\n");
    let tail = d.docker(&["logs", "--tail", "1", "lg"]);
    assert_eq!(format!("{}{}", tail.stdout, tail.stderr), "err3\n");
    let ts = d.docker_ok(&["logs", "-t", "lg"]);
    for l in ts.lines() {
        let (t, rest) = l.split_once(' ').expect("timestamp prefix");
        assert_eq!(t.len(), 30, "fixed-width RFC 3339 nano: {t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
        assert!(rest.starts_with("line"), "{l}");
    }
    // Neither stream: 400 before any byte.
    let (code, body) = d.http("GET", &format!("/containers/{id}/logs"), None);
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("you must choose at least one stream"),
        "{body}"
    );
    // Multiplexed framing on the wire for a non-tty container.
    let (code, body) = d.http(
        "GET",
        &format!("/v1.45/containers/{id}/logs?stdout=1"),
        None,
    );
    assert_eq!(code, 200);
    assert!(
        body.starts_with("\u{1}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{6}line1\n"),
        "{body:?}"
    );
    d.docker_ok(&["rm", "-f", "lg"]);

    // follow: a container that prints and exits; `logs -f` ends by itself.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "fl",
        "busybox",
        "sh",
        "-c",
        "sleep 0.5; echo a; sleep 0.5; echo b; sleep 0.5; echo c",
    ]);
    let start = Instant::now();
    let out = d.docker(&["logs", "-f", "fl"]);
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.stdout, "a\nb\nc\n");
    assert!(start.elapsed() < Duration::from_secs(30));
    // Exited container: logs still work; tty container: raw stream.
    assert_eq!(d.docker_ok(&["logs", "fl"]), "a\nb\nc");
    d.docker_ok(&[
        "run", "-d", "-t", "--name", "tt", "busybox", "sh", "-c", "echo hi",
    ]);
    wait_for("tty exit", || {
        d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "tt"]) == "exited"
    });
    assert_eq!(d.docker_ok(&["logs", "tt"]), "hi");
    d.docker_ok(&["rm", "-f", "fl", "tt"]);
}

#[test]
fn top_stats_and_diff() {
    let d = TestBerthd::start("extras-top");
    run_d(
        &d,
        &[
            "--name",
            "tp",
            "busybox",
            "sh",
            "-c",
            "touch /tmp/new; rm /bin/true; sleep 100",
        ],
    );
    wait_for("changes", || {
        d.docker_ok(&["diff", "tp"]).contains("/tmp/new")
    });
    let top = d.docker_ok(&["top", "tp"]);
    assert!(
        top.lines()
            .next()
            .is_some_and(|h| h.contains("PID") && h.contains("CMD")),
        "{top}"
    );
    assert!(top.contains("sleep 100"), "{top}");
    assert!(
        !top.contains("berthd"),
        "host processes leaked into top: {top}"
    );
    let top = d.docker_ok(&["top", "tp", "-o", "pid,comm"]);
    assert!(top.contains("sleep"), "{top}");

    let stats = d.docker_ok(&["stats", "--no-stream", "tp"]);
    let mut lines = stats.lines();
    let head = lines.next().expect("header");
    assert!(
        head.contains("CPU %") && head.contains("MEM USAGE / LIMIT"),
        "{stats}"
    );
    let row = lines.next().expect("row");
    assert!(
        row.contains("tp") && row.contains('%') && row.contains("iB"),
        "{stats}"
    );
    assert!(!row.contains("--"), "stats missing values: {stats}");
    let (code, body) = d.http("GET", "/containers/tp/stats?stream=0", None);
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("stats json");
    assert!(
        v["cpu_stats"]["system_cpu_usage"].as_u64().unwrap_or(0) > 0,
        "{body}"
    );
    assert!(
        v["precpu_stats"]["system_cpu_usage"].as_u64().unwrap_or(0) > 0,
        "{body}"
    );
    assert!(
        v["memory_stats"]["usage"].as_u64().unwrap_or(0) > 0,
        "{body}"
    );
    assert_eq!(v["name"], "/tp");

    let diff = d.docker_ok(&["diff", "tp"]);
    assert!(diff.lines().any(|l| l == "A /tmp/new"), "{diff}");
    assert!(diff.lines().any(|l| l == "D /bin/true"), "{diff}");
    assert!(diff.lines().any(|l| l == "C /tmp"), "{diff}");

    d.docker_ok(&["stop", "-t", "0", "tp"]);
    let out = d.docker(&["top", "tp"]);
    assert_ne!(out.code(), 0);
    assert!(out.stderr.contains("is not running"), "{}", out.stderr);
    let (code, body) = d.http("GET", "/containers/tp/stats?stream=0", None);
    assert_eq!(code, 200, "{body}");
    // Diff of a stopped container still works.
    assert!(d.docker_ok(&["diff", "tp"]).contains("A /tmp/new"));
    d.docker_ok(&["rm", "-f", "tp"]);
}

fn tar_list(file: &std::path::Path) -> String {
    let out = Command::new("tar")
        .arg("tf")
        .arg(file)
        .output()
        .expect("tar");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn export_and_cp_both_ways() {
    let d = TestBerthd::start("extras-cp");
    run_d(&d, &[
        "--name", "cp", "busybox", "sh", "-c",
        "echo secret-inside > /etc/inside; ln -s /etc /escape; mkdir -p /data/sub; echo x > /data/sub/f; sleep 100",
    ]);
    wait_for("setup", || {
        d.docker(&["exec", "cp", "test", "-e", "/data/sub/f"])
            .code()
            == 0
    });
    let work = d.dir.join("work");
    std::fs::create_dir_all(&work).expect("mkdir work");

    // export (running container).
    let tar = work.join("export.tar");
    d.docker_ok(&["export", "-o", tar.to_str().expect("utf8"), "cp"]);
    let list = tar_list(&tar);
    assert!(list.lines().any(|l| l == "bin/busybox"), "{list}");
    assert!(list.lines().any(|l| l == "etc/inside"), "{list}");

    // cp out: a file, a directory.
    let out_file = work.join("inside");
    d.docker_ok(&["cp", "cp:/etc/inside", out_file.to_str().expect("utf8")]);
    assert_eq!(
        std::fs::read_to_string(&out_file).expect("read"),
        "secret-inside\n"
    );
    let out_dir = work.join("data");
    d.docker_ok(&["cp", "cp:/data", out_dir.to_str().expect("utf8")]);
    assert_eq!(
        std::fs::read_to_string(out_dir.join("sub/f")).expect("read"),
        "x\n"
    );

    // A symlink to /etc: copied as a link, and following it gives the container's /etc.
    let esc = work.join("escape");
    d.docker_ok(&["cp", "cp:/escape", esc.to_str().expect("utf8")]);
    assert_eq!(
        std::fs::read_link(&esc).expect("a symlink"),
        std::path::Path::new("/etc")
    );
    let esc_dir = work.join("escape-dir");
    d.docker_ok(&["cp", "-L", "cp:/escape", esc_dir.to_str().expect("utf8")]);
    assert!(
        esc_dir.join("inside").is_file(),
        "-L must copy the container's /etc"
    );
    let through = work.join("through");
    d.docker_ok(&["cp", "cp:/escape/inside", through.to_str().expect("utf8")]);
    assert_eq!(
        std::fs::read_to_string(&through).expect("read"),
        "secret-inside\n"
    );
    // A path only the host has must not be found through the link.
    let host_file = std::fs::read_dir("/etc")
        .expect("read /etc")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| {
            d.docker(&["exec", "cp", "test", "-e", &format!("/etc/{n}")])
                .code()
                != 0
                && std::path::Path::new("/etc").join(n).is_file()
        })
        .expect("a host-only file in /etc");
    let out = d.docker(&[
        "cp",
        &format!("cp:/escape/{host_file}"),
        work.join("nope").to_str().expect("utf8"),
    ]);
    assert_ne!(
        out.code(),
        0,
        "read the host's /etc/{host_file} through the link"
    );
    assert!(
        out.stderr.contains("Could not find the file"),
        "{}",
        out.stderr
    );
    assert!(!work.join("nope").exists());

    // cp in: a file and a directory; then check inside.
    let src_file = work.join("hello.txt");
    std::fs::write(&src_file, "hello\n").expect("write");
    d.docker_ok(&["cp", src_file.to_str().expect("utf8"), "cp:/tmp/"]);
    assert_eq!(
        d.docker_ok(&["exec", "cp", "cat", "/tmp/hello.txt"]),
        "hello"
    );
    let src_dir = work.join("tree");
    std::fs::create_dir_all(src_dir.join("a/b")).expect("mkdir");
    std::fs::write(src_dir.join("a/b/c"), "deep\n").expect("write");
    d.docker_ok(&["cp", src_dir.to_str().expect("utf8"), "cp:/tmp/"]);
    assert_eq!(
        d.docker_ok(&["exec", "cp", "cat", "/tmp/tree/a/b/c"]),
        "deep"
    );
    // Into a path through the symlink lands in the container's /etc.
    d.docker_ok(&["cp", src_file.to_str().expect("utf8"), "cp:/escape/"]);
    assert_eq!(
        d.docker_ok(&["exec", "cp", "cat", "/etc/hello.txt"]),
        "hello"
    );
    assert!(
        std::fs::read_to_string("/etc/hello.txt").map_or(true, |s| s != "hello\n"),
        "cp wrote into the host's /etc"
    );
    // Missing destination directory.
    let out = d.docker(&["cp", src_file.to_str().expect("utf8"), "cp:/no/such/dir/"]);
    assert_ne!(out.code(), 0);

    // Stopped container: cp and export mount the rootfs temporarily.
    d.docker_ok(&["stop", "-t", "0", "cp"]);
    let stopped = work.join("stopped-inside");
    d.docker_ok(&["cp", "cp:/etc/inside", stopped.to_str().expect("utf8")]);
    assert_eq!(
        std::fs::read_to_string(&stopped).expect("read"),
        "secret-inside\n"
    );
    d.docker_ok(&["cp", src_file.to_str().expect("utf8"), "cp:/root/"]);
    let tar2 = work.join("export2.tar");
    d.docker_ok(&["export", "-o", tar2.to_str().expect("utf8"), "cp"]);
    let list = tar_list(&tar2);
    assert!(list.lines().any(|l| l == "root/hello.txt"), "{list}");
    let merged = d.dir.join("data/containers");
    let mounted: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .filter(|l| l.contains(merged.to_str().expect("utf8")))
        .map(str::to_string)
        .collect();
    assert!(mounted.is_empty(), "rootfs left mounted: {mounted:?}");
    d.docker_ok(&["start", "cp"]);
    assert_eq!(
        d.docker_ok(&["exec", "cp", "cat", "/root/hello.txt"]),
        "hello"
    );
    d.docker_ok(&["rm", "-f", "cp"]);
}
