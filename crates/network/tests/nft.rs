//! The nftables table on the real kernel: whole-table apply is idempotent, port
//! elements go in and out over netlink, two tables never touch each other.
#![allow(clippy::tests_outside_test_module)]

use std::net::Ipv4Addr;
use std::process::Command;

use berth_network::nft::{Firewall, NetRules, PortMap, Proto};

fn listing(table: &str) -> String {
    let out = Command::new("nft")
        .args(["list", "table", "ip", table])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the table even when the test fails.
struct Guard(Firewall);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.remove();
    }
}

fn nets(bridge: &str) -> Vec<NetRules> {
    vec![
        NetRules {
            bridge: bridge.into(),
            subnet: "10.123.0.0/24".parse().unwrap(),
            internal: false,
        },
        NetRules {
            bridge: format!("{bridge}i"),
            subnet: "10.123.1.0/24".parse().unwrap(),
            internal: true,
        },
    ]
}

fn port(host_ip: Option<Ipv4Addr>, host_port: u16, proto: Proto) -> PortMap {
    PortMap {
        proto,
        host_ip,
        host_port,
        container_ip: Ipv4Addr::new(10, 123, 0, 2),
        container_port: 80,
    }
}

#[test]
fn apply_is_idempotent_and_ports_come_and_go() {
    let table = format!("berth-test-{}", std::process::id());
    let fw = Guard(Firewall::new(&table));
    let first = port(None, 18080, Proto::Tcp);
    fw.0.apply(&nets("btnft0"), &[first]).unwrap();
    let once = listing(&table);
    fw.0.apply(&nets("btnft0"), &[first]).unwrap();
    assert_eq!(
        once,
        listing(&table),
        "apply twice must give the same table"
    );
    assert_eq!(once.matches("masquerade").count(), 4, "{once}");
    assert!(once.contains("tcp . 18080 : 10.123.0.2 . 80"), "{once}");
    assert!(
        once.contains("iifname \"btnft0i\" oifname != \"btnft0i\" drop"),
        "{once}"
    );
    let more = [
        port(Some(Ipv4Addr::LOCALHOST), 18081, Proto::Tcp),
        port(None, 18082, Proto::Udp),
    ];
    let mut times = Vec::new();
    for _ in 0..50 {
        let t = std::time::Instant::now();
        fw.0.add_ports(&more).unwrap();
        fw.0.remove_ports(&more).unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    eprintln!("add+remove of 2 ports: median {:?}", times[times.len() / 2]);
    fw.0.add_ports(&more).unwrap();
    let with = listing(&table);
    assert!(
        with.contains("127.0.0.1 . tcp . 18081 : 10.123.0.2 . 80"),
        "{with}"
    );
    assert!(with.contains("udp . 18082 : 10.123.0.2 . 80"), "{with}");
    fw.0.remove_ports(&more).unwrap();
    fw.0.remove_ports(&more).unwrap();
    let without = listing(&table);
    assert!(
        !without.contains("18081") && !without.contains("18082"),
        "{without}"
    );
    assert!(without.contains("18080"), "{without}");
    // Another daemon's table is untouched by ours.
    let other_name = format!("{table}-b");
    let other = Guard(Firewall::new(&other_name));
    other.0.apply(&nets("btnft1"), &[]).unwrap();
    fw.0.remove().unwrap();
    assert!(!fw.0.exists());
    assert!(other.0.exists());
    let e = other.0.add_ports(&[port(None, 1, Proto::Tcp)]);
    assert!(e.is_ok());
    other.0.remove().unwrap();
    let gone = Firewall::new(&other_name)
        .add_ports(&[port(None, 2, Proto::Tcp)])
        .unwrap_err();
    assert!(gone.to_string().contains("publish tcp 0.0.0.0:2"), "{gone}");
}
