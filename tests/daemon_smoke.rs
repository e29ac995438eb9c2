//! Smoke: the stock docker CLI runs a container through berthd.
#![allow(clippy::tests_outside_test_module)]
use berth_tests::berthd::TestBerthd;

#[test]
fn docker_run_rm_echo() {
    let d = TestBerthd::start("smoke");
    let out = d.docker(&["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!(out.code(), 0, "{out:?}\n{}", d.log());
    assert_eq!(out.stdout, "hi\n");
}

/// After a start berthd keeps one `berth-shim --standby` for the next start, and lets
/// it go when no start comes for a while (an idle daemon keeps no extra process).
#[test]
fn standby_shim_lives_only_while_starts_come() {
    let d = TestBerthd::start("standby");
    let standbys = || -> Vec<u32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                cmd.windows(9).any(|w| w == b"--standby")
                    && status.contains(&format!("PPid:\t{}\n", d.pid()))
            })
            .collect()
    };
    assert!(standbys().is_empty(), "no standby before the first start");
    let out = d.docker(&["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!(out.stdout, "hi\n", "{out:?}");
    assert_eq!(standbys().len(), 1, "one standby after a start");
    // The next start takes it (and a new one is made).
    let first = standbys();
    d.docker_ok(&["run", "--rm", "busybox", "true"]);
    let second = standbys();
    assert_eq!(second.len(), 1);
    assert_ne!(first, second, "the standby was used");
    let start = std::time::Instant::now();
    while !standbys().is_empty() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(15),
            "standby kept on an idle daemon"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `--pid host` needs the shim to re-execute itself from a sealed binary; a standby
/// shim, whose flags came on stdin, re-executes with them on its command line.
#[test]
fn host_pid_namespace_runs() {
    let d = TestBerthd::start("hostpid");
    // Run twice: the first start uses a fresh shim, the second the standby.
    for _ in 0..2 {
        let out = d.docker(&[
            "run",
            "--rm",
            "--pid",
            "host",
            "busybox",
            "sh",
            "-c",
            "test -d /proc/1 && cat /proc/1/comm",
        ]);
        assert_eq!(out.code(), 0, "{out:?}");
        assert!(!out.stdout.trim().is_empty(), "{out:?}");
    }
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
}

/// For debugging by hand: `cargo test --test daemon_smoke manual -- --ignored`; the
/// daemon lives until /tmp/berthd-manual.stop exists.
#[test]
#[ignore]
fn manual() {
    let d = TestBerthd::start("manual");
    std::fs::write("/tmp/berthd-manual.sock", d.sock.to_str().unwrap()).unwrap();
    while !std::path::Path::new("/tmp/berthd-manual.stop").exists() {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = std::fs::remove_file("/tmp/berthd-manual.stop");
}
