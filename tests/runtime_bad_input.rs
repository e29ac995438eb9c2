//! Invalid configs: the runtime must fail, name the offending field or value, and leave
//! nothing behind (no state dir, cgroup dir, mount or process; `Runtime`'s drop checks).

// Integration-test crates are test-only by construction; the lint targets src/.
#![allow(clippy::tests_outside_test_module)]

use berth_tests::{Bundle, CmdOutput, Runtime};
use serde_json::json;

/// Runs `create`, asserts it failed with `needle` in its output and left no state dir
/// or cgroup dir; the mount/process part of the leak check runs when `rt` drops.
#[track_caller]
fn expect_rejected(rt: &Runtime, b: &Bundle, id: &str, needle: &str) -> CmdOutput {
    let out = rt.create(b, id);
    out.assert_failed();
    assert!(
        out.combined().contains(needle),
        "error does not name {needle:?}:\n{out}"
    );
    assert!(
        !rt.state_dir(id).exists(),
        "state dir left after failed create:\n{out}"
    );
    for ctl in ["memory", "pids", "cpu", "freezer", "devices", "unified"] {
        let d = rt.host_cgroup_dir(ctl, id);
        assert!(!d.exists(), "{} left after failed create", d.display());
    }
    out
}

#[test]
fn unknown_namespace_type() {
    let rt = Runtime::new();
    let mut b = rt.bundle("badns");
    b.namespace("bogusns", None).args(&["true"]);
    expect_rejected(&rt, &b, "badns", "bogusns");
}

#[test]
fn bind_mount_source_missing() {
    let rt = Runtime::new();
    let missing = rt.dir().join("no-such-source");
    let mut b = rt.bundle("badmount");
    b.mount(
        json!({"destination": "/data", "type": "bind", "source": missing, "options": ["rbind"]}),
    )
    .args(&["true"]);
    expect_rejected(&rt, &b, "badmount", "no-such-source");
}

#[test]
fn rootfs_missing() {
    let rt = Runtime::new();
    let mut b = rt.bundle("norootfs");
    b.set("/root/path", json!("missing-rootfs")).args(&["true"]);
    expect_rejected(&rt, &b, "norootfs", "missing-rootfs");
}

#[test]
fn uid_mapping_overlapping() {
    let rt = Runtime::new();
    let mut b = rt.bundle("overlap");
    b.namespace("user", None)
        .set(
            "/linux/uidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 1000},
                   {"containerID": 500, "hostID": 200000, "size": 1000}]),
        )
        .set(
            "/linux/gidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        )
        .args(&["true"]);
    let out = rt.create(&b, "overlap");
    out.assert_failed();
    assert!(!rt.state_dir("overlap").exists(), "{out}");
    if rt.is_berth() {
        assert!(
            out.combined().contains("uidMappings"),
            "berth must name the field:\n{out}"
        );
    }
}

#[test]
fn uid_mapping_size_zero() {
    let rt = Runtime::new();
    // runc 1.1 writes "0 100000 0" and lets the kernel fail; berth validates up front.
    if !rt.berth_only("runc accepts size 0 mappings until the kernel rejects them") {
        return;
    }
    let mut b = rt.bundle("size0");
    b.namespace("user", None)
        .set(
            "/linux/uidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 0}]),
        )
        .set(
            "/linux/gidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        )
        .args(&["true"]);
    expect_rejected(&rt, &b, "size0", "uidMappings");
}

#[test]
fn unknown_capability() {
    let rt = Runtime::new();
    let mut b = rt.bundle("badcap");
    b.caps(&["CAP_CHOWN", "CAP_FOO"]).args(&["true"]);
    if rt.is_berth() {
        expect_rejected(&rt, &b, "badcap", "CAP_FOO");
    } else {
        // runc 1.1 only warns about unknown capabilities (and still names them).
        let out = rt.run(&b, "badcap");
        assert!(out.combined().contains("CAP_FOO"), "{out}");
    }
}

#[test]
fn invalid_seccomp_action() {
    let rt = Runtime::new();
    let mut b = rt.bundle("badseccomp");
    b.set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}]}),
    )
    .args(&["true"]);
    expect_rejected(&rt, &b, "badseccomp", "SCMP_ACT_BOGUS");
}

#[test]
fn unknown_seccomp_architecture() {
    let rt = Runtime::new();
    let mut b = rt.bundle("badarch");
    b.set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_BOGUS"]}),
    )
    .args(&["true"]);
    expect_rejected(&rt, &b, "badarch", "SCMP_ARCH_BOGUS");
}

#[test]
fn unknown_rlimit_type() {
    let rt = Runtime::new();
    let mut b = rt.bundle("badrlimit");
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]),
    )
    .args(&["true"]);
    expect_rejected(&rt, &b, "badrlimit", "RLIMIT_BOGUS");
}

#[test]
fn impossible_rlimit_names_the_limit() {
    let rt = Runtime::new();
    if !rt.berth_only("runc reports 'rlimit type 7' instead of the name") {
        return;
    }
    // soft > hard can never be satisfied.
    let mut b = rt.bundle("rlimitbad");
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 4096, "hard": 1024}]),
    )
    .args(&["true"]);
    expect_rejected(&rt, &b, "rlimitbad", "RLIMIT_NOFILE");
}

#[test]
fn missing_executable() {
    let rt = Runtime::new();
    let mut b = rt.bundle("noexe");
    b.args(&["/no/such/binary"]);
    let out = rt.run(&b, "noexe");
    out.assert_failed();
    assert!(out.combined().contains("/no/such/binary"), "{out}");
    assert!(!rt.state_dir("noexe").exists(), "{out}");
}

#[test]
fn config_json_not_json() {
    let rt = Runtime::new();
    let b = rt.bundle("garbage");
    b.write_config();
    std::fs::write(b.path().join("config.json"), "{ not json").unwrap();
    rt.track("garbage");
    let out = rt.cmd(&["create", "--bundle", b.path().to_str().unwrap(), "garbage"]);
    out.assert_failed();
    if rt.is_berth() {
        // runc only prints the JSON decoder's message; berth names the file.
        assert!(out.combined().contains("config.json"), "{out}");
    }
    assert!(!rt.state_dir("garbage").exists());
}

#[test]
fn duplicate_container_id() {
    let rt = Runtime::new();
    let mut b = rt.bundle("dup");
    b.args(&["sleep", "1000"]);
    rt.create(&b, "dup").assert_ok();
    let b2 = rt.bundle("dup2");
    let out = rt.cmd(&["create", "--bundle", b2.path().to_str().unwrap(), "dup"]);
    out.assert_failed();
    assert_eq!(
        rt.status("dup"),
        "created",
        "first container disturbed:\n{out}"
    );
    rt.delete_force("dup").assert_ok();
}
