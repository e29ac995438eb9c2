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
