//! Root filesystem: pivot_root, read-only root, default mounts and their options, bind
//! mounts, device nodes and /dev symlinks, masked and read-only paths, propagation.

// Integration-test crates are test-only by construction; the lint targets src/.
#![allow(clippy::tests_outside_test_module)]

use std::os::unix::fs::MetadataExt;

use berth_tests::procfs::{host_mounts, parse_mountinfo, MountInfo};
use berth_tests::Runtime;
use serde_json::json;

fn mount_at<'a>(mounts: &'a [MountInfo], mp: &str) -> &'a MountInfo {
    mounts
        .iter()
        .rev()
        .find(|m| m.mount_point == mp)
        .unwrap_or_else(|| panic!("no mount at {mp} in {mounts:#?}"))
}

#[test]
fn pivot_root_hides_host_paths() {
    let rt = Runtime::new();
    let mut b = rt.bundle("pivot");
    let host_dir = rt.dir().to_str().unwrap().to_string();
    b.sh(&format!(
        "stat -c %i /; ls -d /work {host_dir} 2>/dev/null | wc -l; cut -d' ' -f5 /proc/self/mountinfo"
    ));
    let out = rt.run(&b, "pivot");
    out.assert_ok();
    let mut lines = out.stdout.lines();
    let ino: u64 = lines.next().unwrap().parse().unwrap();
    assert_eq!(
        ino,
        std::fs::metadata(b.rootfs()).unwrap().ino(),
        "/ is not the bundle rootfs"
    );
    assert_eq!(lines.next(), Some("0"), "host paths visible inside:\n{out}");
    for mp in lines {
        assert!(
            !mp.starts_with(&host_dir) && !mp.starts_with("/work"),
            "host mount point {mp}"
        );
    }
}

#[test]
fn readonly_root_rejects_writes() {
    let rt = Runtime::new();
    let mut b = rt.bundle("rootro");
    b.set("/root/readonly", json!(true))
        .sh("touch /newfile; echo rc=$?; touch /tmp/x; echo rc=$?");
    let out = rt.run(&b, "rootro");
    assert!(
        out.stdout.starts_with("rc=1\n"),
        "write to / succeeded:\n{out}"
    );
    assert!(out.stderr.contains("Read-only file system"), "{out}");
    assert!(!b.rootfs().join("newfile").exists());
}

#[test]
fn default_mounts_have_expected_types_and_options() {
    let rt = Runtime::new();
    let mut b = rt.bundle("mounts");
    b.sh("cat /proc/self/mountinfo");
    let out = rt.run(&b, "mounts");
    out.assert_ok();
    let m = parse_mountinfo(&out.stdout);
    let expect: &[(&str, &str, &[&str])] = &[
        ("/proc", "proc", &[]),
        ("/dev", "tmpfs", &["nosuid", "mode=755"]),
        (
            "/dev/pts",
            "devpts",
            &["nosuid", "noexec", "ptmxmode=666", "mode=620", "gid=5"],
        ),
        ("/dev/shm", "tmpfs", &["nosuid", "nodev", "noexec"]),
        ("/dev/mqueue", "mqueue", &["nosuid", "nodev", "noexec"]),
        ("/sys", "sysfs", &["ro", "nosuid", "nodev", "noexec"]),
    ];
    for (mp, fstype, opts) in expect {
        let e = mount_at(&m, mp);
        assert_eq!(e.fstype, *fstype, "{mp}: {e:?}");
        for o in *opts {
            assert!(e.has_opt(o), "{mp} lacks option {o}: {e:?}");
        }
    }
    // cgroup v1 hybrid: per-controller mounts (or one cgroup2) below /sys/fs/cgroup, ro.
    let cg: Vec<_> = m
        .iter()
        .filter(|e| e.mount_point.starts_with("/sys/fs/cgroup"))
        .collect();
    assert!(
        cg.iter()
            .any(|e| e.fstype == "cgroup" || e.fstype == "cgroup2"),
        "{cg:#?}"
    );
    for e in cg.iter().filter(|e| e.fstype.starts_with("cgroup")) {
        assert!(
            e.mount_opts.iter().any(|o| o == "ro"),
            "cgroup mount not ro: {e:?}"
        );
    }
}

#[test]
fn bind_mount_ro_option() {
    let rt = Runtime::new();
    let src = rt.dir().join("data");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("hello"), "from host\n").unwrap();
    let mut b = rt.bundle("bindro");
    b.mount(
        json!({"destination": "/data", "type": "bind", "source": src, "options": ["rbind", "ro"]}),
    )
    .sh("cat /data/hello; touch /data/new; echo rc=$?");
    let out = rt.run(&b, "bindro");
    assert_eq!(out.stdout, "from host\nrc=1\n", "{out}");
    assert!(out.stderr.contains("Read-only file system"), "{out}");
    assert!(!src.join("new").exists());
}

#[test]
fn bind_mount_rw_is_shared_with_host() {
    let rt = Runtime::new();
    let src = rt.dir().join("rw");
    std::fs::create_dir(&src).unwrap();
    let mut b = rt.bundle("bindrw");
    b.mount(
        json!({"destination": "/rw", "type": "bind", "source": src, "options": ["rbind", "rw"]}),
    )
    .sh("echo inside > /rw/file");
    rt.run(&b, "bindrw").assert_ok();
    assert_eq!(
        std::fs::read_to_string(src.join("file")).unwrap(),
        "inside\n"
    );
}

#[test]
fn default_device_nodes() {
    let rt = Runtime::new();
    let mut b = rt.bundle("devs");
    b.sh(
        "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T' /dev/$d; done; \
          echo x > /dev/null && head -c 4 /dev/zero | wc -c",
    );
    let out = rt.run(&b, "devs");
    out.assert_ok();
    let want = [
        "/dev/null character special file 1:3",
        "/dev/zero character special file 1:5",
        "/dev/full character special file 1:7",
        "/dev/random character special file 1:8",
        "/dev/urandom character special file 1:9",
        "/dev/tty character special file 5:0",
        "4",
    ];
    assert_eq!(out.stdout.lines().collect::<Vec<_>>(), want, "{out}");
}

#[test]
fn dev_symlinks() {
    let rt = Runtime::new();
    let mut b = rt.bundle("devlinks");
    b.sh("for l in fd stdin stdout stderr ptmx; do echo $l $(readlink /dev/$l); done");
    let out = rt.run(&b, "devlinks");
    out.assert_ok();
    let want = [
        "fd /proc/self/fd",
        "stdin /proc/self/fd/0",
        "stdout /proc/self/fd/1",
        "stderr /proc/self/fd/2",
        "ptmx pts/ptmx",
    ];
    assert_eq!(out.stdout.lines().collect::<Vec<_>>(), want, "{out}");
}

#[test]
fn masked_paths_are_empty() {
    let rt = Runtime::new();
    let mut b = rt.bundle("masked");
    // /proc/kcore does not exist on every kernel; /proc/timer_list and /proc/keys do.
    b.sh("cat /proc/timer_list /proc/keys | wc -c; ls -A /sys/firmware | wc -l; touch /sys/firmware/x; echo rc=$?; \
          cat /proc/self/mountinfo");
    let out = rt.run(&b, "masked");
    let mut lines = out.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("0"),
        "masked /proc files readable:\n{out}"
    );
    assert_eq!(lines.next(), Some("0"), "/sys/firmware not empty:\n{out}");
    assert_eq!(lines.next(), Some("rc=1"), "/sys/firmware writable:\n{out}");
    let m = parse_mountinfo(&out.stdout);
    let fw = mount_at(&m, "/sys/firmware");
    assert_eq!(fw.fstype, "tmpfs", "{fw:?}");
    assert!(fw.mount_opts.iter().any(|o| o == "ro"), "{fw:?}");
}

#[test]
fn readonly_paths_reject_writes() {
    let rt = Runtime::new();
    let mut b = rt.bundle("ropaths");
    b.sh("echo 1 > /proc/sys/kernel/shm_rmid_forced; echo rc=$?; echo 1 > /proc/sysrq-trigger; echo rc=$?");
    let out = rt.run(&b, "ropaths");
    assert_eq!(out.stdout, "rc=1\nrc=1\n", "{out}");
    assert!(out.stderr.contains("Read-only file system"), "{out}");
}

#[test]
fn private_rootfs_propagation_keeps_mounts_inside() {
    let rt = Runtime::new();
    let mut b = rt.bundle("propag");
    let mut caps: Vec<&str> = berth_tests::spec::DOCKER_DEFAULT_CAPS.to_vec();
    caps.push("CAP_SYS_ADMIN");
    b.caps(&caps)
        .set("/linux/rootfsPropagation", json!("private"))
        .sh("mount -t tmpfs inside /mnt && touch /mnt/marker && cat /proc/self/mountinfo");
    let out = rt.run(&b, "propag");
    out.assert_ok();
    let m = parse_mountinfo(&out.stdout);
    let root = m.iter().find(|e| e.mount_point == "/").expect("root mount");
    assert!(
        root.optional.iter().all(|o| !o.starts_with("shared:")),
        "rootfs is shared: {root:?}"
    );
    assert_eq!(mount_at(&m, "/mnt").fstype, "tmpfs");
    assert!(
        !b.rootfs().join("mnt/marker").exists(),
        "tmpfs mounted inside is visible on the host"
    );
    let d = rt.dir().to_str().unwrap().to_string();
    assert!(host_mounts().iter().all(|m| !m.mount_point.starts_with(&d)));
}
