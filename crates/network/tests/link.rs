//! Links on the real kernel: a bridge, a veth pair into a test namespace, traffic
//! between them, and nothing left afterwards. Each test has its own names and subnet.
#![allow(clippy::tests_outside_test_module)]

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use berth_network::link::{self, VethRequest};

/// A namespace and a bridge of this test; removed on drop.
struct Fixture {
    ns: String,
    bridge: String,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let pid = std::process::id();
        let f = Fixture {
            ns: format!("btl-{pid}-{tag}"),
            bridge: format!("btl{:x}{tag}", pid % 0xffff),
        };
        assert!(Command::new("ip")
            .args(["netns", "add", &f.ns])
            .status()
            .unwrap()
            .success());
        f
    }

    fn netns(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.ns))
    }

    fn in_ns(&self, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = link::remove_link(&self.bridge);
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

fn subnet(tag: u8) -> (ipnet::Ipv4Net, ipnet::Ipv4Net) {
    let b = (std::process::id() % 200) as u8;
    let gw = format!("10.{}.{b}.1/24", 150 + tag).parse().unwrap();
    let c = format!("10.{}.{b}.2/24", 150 + tag).parse().unwrap();
    (gw, c)
}

#[test]
fn veth_into_namespace_reaches_the_bridge() {
    let f = Fixture::new("a");
    let (gw, addr) = subnet(1);
    link::ensure_bridge(&f.bridge, gw, 1500).unwrap();
    link::ensure_bridge(&f.bridge, gw, 1500).unwrap();
    let host = format!("vbt{:x}a", std::process::id());
    let netns = f.netns();
    let req = VethRequest {
        netns: &netns,
        host_name: &host,
        bridge: &f.bridge,
        container_name: "eth0",
        address: addr,
        gateway: Some(gw.addr()),
        mac: link::mac_for(addr.addr()),
        mtu: 1500,
        hairpin: true,
    };
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = std::time::Instant::now();
        link::add_veth(&req).unwrap();
        times.push(t.elapsed());
        assert!(link::link_exists(&host));
        let a = f.in_ns(&["ip", "-o", "-4", "addr", "show", "eth0"]);
        assert!(String::from_utf8_lossy(&a.stdout).contains(&addr.to_string()));
        link::remove_link(&host).unwrap();
        assert!(!link::link_exists(&host));
    }
    times.sort();
    eprintln!("add_veth median {:?}", times[times.len() / 2]);
    link::add_veth(&req).unwrap();
    let routes = f.in_ns(&["ip", "route"]);
    assert!(String::from_utf8_lossy(&routes.stdout).contains(&format!("default via {}", gw.addr())));
    let ping = f.in_ns(&["busybox", "ping", "-c1", "-W2", &gw.addr().to_string()]);
    assert!(
        ping.status.success(),
        "{}",
        String::from_utf8_lossy(&ping.stdout)
    );
    assert_eq!(
        std::fs::read_to_string(format!("/sys/class/net/{host}/brport/hairpin_mode"))
            .unwrap()
            .trim(),
        "1"
    );
}

#[test]
fn failures_leave_nothing() {
    let f = Fixture::new("b");
    let (gw, addr) = subnet(2);
    link::ensure_bridge(&f.bridge, gw, 1500).unwrap();
    let host = format!("vbt{:x}b", std::process::id());
    let missing = PathBuf::from("/run/netns/does-not-exist-berth");
    let mut req = VethRequest {
        netns: &missing,
        host_name: &host,
        bridge: &f.bridge,
        container_name: "eth0",
        address: addr,
        gateway: None,
        mac: link::mac_for(Ipv4Addr::new(10, 0, 0, 2)),
        mtu: 1500,
        hairpin: false,
    };
    assert!(link::add_veth(&req).is_err());
    assert!(!link::link_exists(&host));
    let netns = f.netns();
    req.netns = &netns;
    req.bridge = "no-such-bridge";
    let e = link::add_veth(&req).unwrap_err();
    assert!(e.to_string().contains("no-such-bridge"), "{e}");
    assert!(!link::link_exists(&host));
    link::remove_link(&f.bridge).unwrap();
    assert!(!link::link_exists(&f.bridge));
    link::remove_link(&f.bridge).unwrap();
}
