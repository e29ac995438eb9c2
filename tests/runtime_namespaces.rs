//! Namespaces: pid, uts, ipc, net, cgroup, user (with id mappings), joining a netns.

// Integration-test crates are test-only by construction; the lint targets src/.
#![allow(clippy::tests_outside_test_module)]

use berth_tests::netns::NetNs;
use berth_tests::procfs::status_field;
use berth_tests::Runtime;
use serde_json::json;

#[test]
fn pid_namespace_makes_init_pid_1() {
    let rt = Runtime::new();
    let mut b = rt.bundle("pidns");
    b.sh("echo $$; cut -d' ' -f1 /proc/self/stat; ls /proc | grep -c '^[0-9]'");
    let out = rt.run(&b, "pidns");
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "1", "shell is not pid 1:\n{out}");
    // `cut` is a child of pid 1; only a handful of pids are visible.
    let n: u32 = lines[2].trim().parse().unwrap();
    assert!(
        n <= 4,
        "host processes visible in the pid namespace:\n{out}"
    );
}

#[test]
fn uts_hostname() {
    let rt = Runtime::new();
    let mut b = rt.bundle("uts");
    b.set("/hostname", json!("box-one")).sh("hostname");
    let out = rt.run(&b, "uts");
    out.assert_ok();
    assert_eq!(out.stdout, "box-one\n", "{out}");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_ne!(host.trim(), "box-one", "hostname leaked to the host");
}

#[test]
fn uts_domainname() {
    let rt = Runtime::new();
    // runc 1.1 ignores `domainname` (support arrived in runc 1.2); berth must set it.
    if !rt.berth_only("runc 1.1 does not implement domainname") {
        return;
    }
    let mut b = rt.bundle("domain");
    b.set("/hostname", json!("box-two"))
        .set("/domainname", json!("example.test"))
        .sh("hostname; cat /proc/sys/kernel/domainname");
    let out = rt.run(&b, "domain");
    out.assert_ok();
    assert_eq!(out.stdout, "box-two\nexample.test\n", "{out}");
}

fn host_ns(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn new_uts_ipc_net_cgroup_namespaces() {
    let rt = Runtime::new();
    let mut b = rt.bundle("nsids");
    b.sh("for n in uts ipc net cgroup mnt pid; do readlink /proc/self/ns/$n; done");
    let out = rt.run(&b, "nsids");
    out.assert_ok();
    for (line, kind) in out
        .stdout
        .lines()
        .zip(["uts", "ipc", "net", "cgroup", "mnt", "pid"])
    {
        assert_ne!(
            line,
            host_ns(kind),
            "container shares the host {kind} namespace"
        );
    }
    assert_eq!(out.stdout.lines().count(), 6, "{out}");
}

#[test]
fn network_namespace_has_only_loopback() {
    let rt = Runtime::new();
    let mut b = rt.bundle("netns");
    b.sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
    let out = rt.run(&b, "netns");
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "lo", "{out}");
}

#[test]
fn cgroup_namespace_shows_root() {
    let rt = Runtime::new();
    let mut b = rt.bundle("cgns");
    b.sh("cat /proc/self/cgroup");
    let out = rt.run(&b, "cgns");
    out.assert_ok();
    for line in out.stdout.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap();
        assert_eq!(path, "/", "cgroup path not virtualised: {line}\n{out}");
    }
}

#[test]
fn without_pid_namespace_host_pids_visible() {
    let rt = Runtime::new();
    let mut b = rt.bundle("hostpid");
    b.without_namespace("pid").sh("echo $$");
    let out = rt.run(&b, "hostpid");
    out.assert_ok();
    assert_ne!(out.stdout.trim(), "1", "{out}");
}

#[test]
fn user_namespace_with_id_mappings() {
    let rt = Runtime::new();
    let mut b = rt.bundle("userns");
    b.namespace("user", None)
        .set(
            "/linux/uidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        )
        .set(
            "/linux/gidMappings",
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]),
        )
        .sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; exec sleep 1000");
    rt.create(&b, "userns").assert_ok();
    rt.start("userns").assert_ok();
    let pid = rt.pid("userns");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uids: Vec<&str> = status_field(&status, "Uid")
        .unwrap()
        .split_whitespace()
        .collect();
    let gids: Vec<&str> = status_field(&status, "Gid")
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(uids, ["100000"; 4], "host-side uid of container root");
    assert_eq!(gids, ["100000"; 4], "host-side gid of container root");
    let ns = std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap();
    assert_ne!(ns.to_string_lossy(), host_ns("user"));
    let out = berth_tests::command::wait_for(std::time::Duration::from_secs(10), || {
        let (o, _) = rt.container_output("userns");
        (o.lines().count() >= 3).then_some(o)
    })
    .expect("container printed its maps");
    let maps: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(maps[0], ["0", "100000", "65536"], "{out}");
    assert_eq!(maps[1], ["0", "100000", "65536"], "{out}");
    assert_eq!(maps[2], ["0"], "{out}");
    rt.delete_force("userns").assert_ok();
}

#[test]
fn join_existing_network_namespace_by_path() {
    let rt = Runtime::new();
    let ns = NetNs::add(rt.token());
    let mut b = rt.bundle("joinnet");
    b.namespace("network", Some(ns.path().to_str().unwrap()))
        .sh("readlink /proc/self/ns/net");
    let out = rt.run(&b, "joinnet");
    out.assert_ok();
    assert_eq!(out.stdout.trim(), format!("net:[{}]", ns.inode()), "{out}");
    drop(rt);
}
