//! berth's nftables table on the real kernel, with real traffic: a bridge, a veth pair
//! into a network namespace standing in for a container, servers inside it, clients
//! on the host (127.0.0.1 and the bridge's gateway address) and inside namespaces.
//!
//! Each test owns its table (random name), namespaces, bridges, veths and subnets
//! (random), sends traffic only to 127.0.0.0/8 and to those addresses, removes
//! everything on drop (even on panic) and, when it passes, checks that nothing is
//! left. Host ports come from `Reservation::bind(…, 0)`, as berthd does, so they are
//! free and held while the test runs. Needs root.
#![allow(clippy::tests_outside_test_module)]

mod nft_rig;

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use berth_network::nft::{Firewall, PortMap, Proto};
use berth_network::ports::Reservation;
use nft_rig::*;

#[test]
fn apply_twice_leaves_one_copy_of_each_rule() {
    let (a, b) = (Net::new(), Net::new());
    let table = Table::new();
    let nets = [a.rules(false), b.rules(true)];
    let held = reserve(Proto::Tcp, None);
    let ports = [map(&a, Proto::Tcp, None, held.port())];
    table.apply(&nets, &ports).unwrap();
    let (once, rules) = (table.listing(), table.rule_count());
    table.apply(&nets, &ports).unwrap();
    assert_eq!(table.listing(), once);
    assert_eq!(table.rule_count(), rules);
    // guard 1, prerouting 2, output 2, postrouting 1 + 2 + 1, forward 1 + 2 (a is
    // the only open network: nothing to isolate it from).
    assert_eq!(rules, 12, "{once}");
    assert!(
        once.contains(&format!("tcp . {} : {} . 80", held.port(), a.container)),
        "{once}"
    );
    // Fewer networks: the table shrinks rather than keeping old rules (guard,
    // prerouting, output, postrouting 1 + 2, nothing to drop when forwarding).
    table.apply(&nets[..1], &[]).unwrap();
    assert_eq!(table.rule_count(), 8, "{}", table.listing());
    assert!(table.exists());
    table.finish();
    table_absent_is_fine(&Firewall::new(&format!("berth-t{:08x}", random() as u32)));
    a.finish();
    b.finish();
}

fn table_absent_is_fine(fw: &Firewall) {
    assert!(!fw.exists());
    fw.remove().unwrap();
    // Without a table no port is published: nothing to remove.
    fw.remove_ports(&[PortMap {
        proto: Proto::Tcp,
        host_ip: None,
        host_port: 1,
        container_ip: Ipv4Addr::LOCALHOST,
        container_port: 1,
    }])
    .unwrap();
}

#[test]
fn published_port_answers_on_loopback_and_gateway_until_removed() {
    let net = Net::new();
    let table = Table::new();
    table.apply(&[net.rules(false)], &[]).unwrap();
    let server = Server::tcp(&net, 80);
    let held = reserve(Proto::Tcp, None);
    let port = held.port();
    let p = map(&net, Proto::Tcp, None, port);
    assert_eq!(tcp(Ipv4Addr::LOCALHOST, port, ANSWER), Reply::Refused);

    table.add_ports(&[p]).unwrap();
    // From 127.0.0.1 the container sees the gateway (masquerade), from the gateway
    // address the gateway itself.
    assert_eq!(
        tcp(Ipv4Addr::LOCALHOST, port, ANSWER),
        Reply::Hi(net.gateway)
    );
    assert_eq!(tcp(net.gateway, port, ANSWER), Reply::Hi(net.gateway));
    // 127.0.0.1 needs route_localnet on the bridge (the caller's job).
    net.set_route_localnet(false);
    assert_eq!(tcp(Ipv4Addr::LOCALHOST, port, DROPPED), Reply::Silence);
    net.set_route_localnet(true);
    assert_eq!(
        tcp(Ipv4Addr::LOCALHOST, port, ANSWER),
        Reply::Hi(net.gateway)
    );

    table.remove_ports(&[p]).unwrap();
    assert_eq!(tcp(Ipv4Addr::LOCALHOST, port, ANSWER), Reply::Refused);
    assert_eq!(tcp(net.gateway, port, ANSWER), Reply::Refused);

    // Latency of publishing and unpublishing (one port, then two: TCP and UDP).
    for n in [1, 2] {
        let ports = [p, map(&net, Proto::Udp, None, port)];
        let (mut add, mut remove, mut both) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..100 {
            let t = Instant::now();
            table.add_ports(&ports[..n]).unwrap();
            let added = t.elapsed();
            table.remove_ports(&ports[..n]).unwrap();
            add.push(added);
            remove.push(t.elapsed() - added);
            both.push(t.elapsed());
        }
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        eprintln!(
            "{n} port(s), median of 100: add_ports {:?}, remove_ports {:?}, both {:?}",
            median(&mut add),
            median(&mut remove),
            median(&mut both)
        );
    }
    drop(server);
    table.finish();
    net.finish();
}

#[test]
fn port_on_one_host_address_answers_only_there() {
    let net = Net::new();
    let table = Table::new();
    table.apply(&[net.rules(false)], &[]).unwrap();
    let server = Server::tcp(&net, 80);
    let on_lo = reserve(Proto::Tcp, Some(Ipv4Addr::LOCALHOST));
    let on_gw = reserve(Proto::Tcp, Some(net.gateway));
    let lo = map(&net, Proto::Tcp, Some(Ipv4Addr::LOCALHOST), on_lo.port());
    let gw = map(&net, Proto::Tcp, Some(net.gateway), on_gw.port());
    table.add_ports(&[lo, gw]).unwrap();
    assert!(table.listing().contains(&format!(
        "127.0.0.1 . tcp . {} : {} . 80",
        on_lo.port(),
        net.container
    )));
    assert_eq!(
        tcp(Ipv4Addr::LOCALHOST, lo.host_port, ANSWER),
        Reply::Hi(net.gateway)
    );
    assert_eq!(tcp(net.gateway, lo.host_port, ANSWER), Reply::Refused);
    assert_eq!(
        tcp(net.gateway, gw.host_port, ANSWER),
        Reply::Hi(net.gateway)
    );
    assert_eq!(
        tcp(Ipv4Addr::LOCALHOST, gw.host_port, ANSWER),
        Reply::Refused
    );
    table.remove_ports(&[lo, gw]).unwrap();
    assert_eq!(
        tcp(Ipv4Addr::LOCALHOST, lo.host_port, ANSWER),
        Reply::Refused
    );
    drop(server);
    table.finish();
    net.finish();
}

#[test]
fn udp_port_is_published() {
    let net = Net::new();
    let table = Table::new();
    table.apply(&[net.rules(false)], &[]).unwrap();
    let server = Server::udp(&net, 80);
    let held = reserve(Proto::Udp, None);
    let p = map(&net, Proto::Udp, None, held.port());
    table.add_ports(&[p]).unwrap();
    assert_eq!(
        udp(Ipv4Addr::LOCALHOST, p.host_port, ANSWER),
        Reply::Hi(net.gateway)
    );
    assert_eq!(
        udp(net.gateway, p.host_port, ANSWER),
        Reply::Hi(net.gateway)
    );
    // A TCP connection to the same port number is not published.
    assert_eq!(
        tcp(Ipv4Addr::LOCALHOST, p.host_port, ANSWER),
        Reply::Refused
    );
    table.remove_ports(&[p]).unwrap();
    assert_ne!(
        udp(Ipv4Addr::LOCALHOST, p.host_port, DROPPED),
        Reply::Hi(net.gateway)
    );
    drop(server);
    table.finish();
    net.finish();
}

#[test]
fn container_reaches_its_own_published_port() {
    let net = Net::new();
    let table = Table::new();
    table.apply(&[net.rules(false)], &[]).unwrap();
    let server = Server::tcp(&net, 80);
    let held = reserve(Proto::Tcp, None);
    let p = map(&net, Proto::Tcp, None, held.port());
    table.add_ports(&[p]).unwrap();
    // Hairpin: out of the bridge port and back in; the container must see the
    // gateway as the peer, or its reply would skip the host's NAT.
    let got = net.inside(|| tcp(net.gateway, p.host_port, ANSWER));
    assert_eq!(got, Reply::Hi(net.gateway));

    // With br_netfilter, DNAT happens while bridging and the frame goes back out of
    // the port it came in: the bridge port needs hairpin mode (the link module's job).
    // Without br_netfilter the packet is routed and hairpin mode does not matter.
    let br_netfilter = std::fs::read_to_string("/proc/sys/net/bridge/bridge-nf-call-iptables")
        .is_ok_and(|v| v.trim() == "1");
    must(&[
        "ip",
        "link",
        "set",
        &net.veth,
        "type",
        "bridge_slave",
        "hairpin",
        "off",
    ]);
    let got = net.inside(|| tcp(net.gateway, p.host_port, DROPPED));
    must(&[
        "ip",
        "link",
        "set",
        &net.veth,
        "type",
        "bridge_slave",
        "hairpin",
        "on",
    ]);
    if br_netfilter {
        assert_eq!(got, Reply::Silence, "br_netfilter on, hairpin mode off");
    } else {
        assert_eq!(
            got,
            Reply::Hi(net.gateway),
            "br_netfilter off, hairpin mode off"
        );
    }

    // The same port on an address that is not the host's is not diverted: the
    // container sends to a "remote" 10.x.y.99 (a static neighbour entry pointing at
    // the bridge, so the host routes it; nothing answers there).
    let remote = Ipv4Addr::from(u32::from(net.subnet.network()) + 99);
    let mac = std::fs::read_to_string(format!("/sys/class/net/{}/address", net.bridge)).unwrap();
    let (remote_s, mac) = (remote.to_string(), mac.trim().to_string());
    must(&[
        "ip", "-n", &net.ns, "neigh", "add", &remote_s, "lladdr", &mac, "dev", "eth0",
    ]);
    let got = net.inside(|| tcp(remote, p.host_port, DROPPED));
    assert_ne!(
        got,
        Reply::Hi(net.gateway),
        "traffic to {remote} was diverted"
    );
    drop(server);
    table.finish();
    net.finish();
}

#[test]
fn networks_are_isolated_and_internal_networks_closed() {
    let (a, b) = (Net::new(), Net::new());
    let server_a = Server::tcp(&a, 80);
    let server_b = Server::tcp(&b, 80);
    let table = Table::new();
    // Without berth's table the host routes between the two networks.
    table.apply(&[], &[]).unwrap();
    assert_eq!(
        a.inside(|| tcp(b.container, 80, ANSWER)),
        Reply::Hi(a.container)
    );

    let held = reserve(Proto::Tcp, None);
    let pb = map(&b, Proto::Tcp, None, held.port());
    table
        .apply(&[a.rules(false), b.rules(false)], &[pb])
        .unwrap();
    assert_eq!(a.inside(|| tcp(b.container, 80, DROPPED)), Reply::Silence);
    assert_eq!(b.inside(|| tcp(a.container, 80, DROPPED)), Reply::Silence);
    // A published port stays reachable from another network (through its own
    // gateway), masqueraded to b's gateway.
    assert_eq!(
        a.inside(|| tcp(a.gateway, pb.host_port, ANSWER)),
        Reply::Hi(b.gateway)
    );

    // a internal: nothing leaves it, nothing reaches it, published ports included.
    table
        .apply(&[a.rules(true), b.rules(false)], &[pb])
        .unwrap();
    assert_eq!(a.inside(|| tcp(b.container, 80, DROPPED)), Reply::Silence);
    assert_eq!(b.inside(|| tcp(a.container, 80, DROPPED)), Reply::Silence);
    assert_eq!(
        a.inside(|| tcp(a.gateway, pb.host_port, DROPPED)),
        Reply::Silence
    );
    // Its own bridge still works, and the host still reaches b's port.
    assert_eq!(tcp(a.container, 80, ANSWER), Reply::Hi(a.gateway));
    assert_eq!(
        tcp(Ipv4Addr::LOCALHOST, pb.host_port, ANSWER),
        Reply::Hi(b.gateway)
    );
    drop((server_a, server_b));
    table.finish();
    a.finish();
    b.finish();
}

#[test]
fn two_tables_do_not_interfere() {
    let (a, b) = (Net::new(), Net::new());
    let (ta, tb) = (Table::new(), Table::new());
    let servers = (Server::tcp(&a, 80), Server::tcp(&b, 80));
    let (ha, hb) = (reserve(Proto::Tcp, None), reserve(Proto::Tcp, None));
    let pa = map(&a, Proto::Tcp, None, ha.port());
    let pb = map(&b, Proto::Tcp, None, hb.port());
    ta.apply(&[a.rules(false)], &[]).unwrap();
    tb.apply(&[b.rules(false)], &[]).unwrap();
    ta.add_ports(&[pa]).unwrap();
    tb.add_ports(&[pb]).unwrap();
    assert!(!tb.listing().contains(&a.container.to_string()));
    assert_eq!(
        tcp(Ipv4Addr::LOCALHOST, pa.host_port, ANSWER),
        Reply::Hi(a.gateway)
    );
    assert_eq!(
        tcp(Ipv4Addr::LOCALHOST, pb.host_port, ANSWER),
        Reply::Hi(b.gateway)
    );
    // Removing a's port through b's table changes nothing.
    tb.remove_ports(&[pa]).unwrap();
    assert_eq!(
        tcp(Ipv4Addr::LOCALHOST, pa.host_port, ANSWER),
        Reply::Hi(a.gateway)
    );
    // Re-applying or deleting one table leaves the other alone.
    ta.apply(&[a.rules(false)], &[]).unwrap();
    assert_eq!(
        tcp(Ipv4Addr::LOCALHOST, pb.host_port, ANSWER),
        Reply::Hi(b.gateway)
    );
    ta.0.remove().unwrap();
    assert!(tb.exists());
    assert_eq!(
        tcp(Ipv4Addr::LOCALHOST, pb.host_port, ANSWER),
        Reply::Hi(b.gateway)
    );
    drop(servers);
    ta.finish();
    tb.finish();
    a.finish();
    b.finish();
}

#[test]
fn containers_cannot_reach_host_loopback() {
    let net = Net::new();
    let table = Table::new();
    // A host service on a loopback address of this test, and a route to it from
    // the container through the gateway (which route_localnet on the bridge allows).
    let r = random();
    let lo = Ipv4Addr::new(127, 64 + (r % 64) as u8, (r >> 8) as u8, 1);
    let service = TcpListener::bind((lo, 0)).unwrap();
    let port = service.local_addr().unwrap().port();
    service.set_nonblocking(true).unwrap();
    let prefix = format!("{}/32", lo);
    let gw = net.gateway.to_string();
    must(&[
        "ip",
        "netns",
        "exec",
        &net.ns,
        "sysctl",
        "-qw",
        "net.ipv4.conf.all.route_localnet=1",
    ]);
    must(&[
        "ip",
        "netns",
        "exec",
        &net.ns,
        "sysctl",
        "-qw",
        "net.ipv4.conf.eth0.route_localnet=1",
    ]);
    must(&["ip", "-n", &net.ns, "route", "add", &prefix, "via", &gw]);
    let reached = |wait| {
        let connected = net.inside(|| {
            TcpStream::connect_timeout(&SocketAddrV4::new(lo, port).into(), wait).is_ok()
        });
        let accepted = service.accept().is_ok();
        connected || accepted
    };
    assert!(
        reached(ANSWER),
        "the test's path to the host loopback does not work"
    );
    table.apply(&[net.rules(false)], &[]).unwrap();
    assert!(!reached(DROPPED), "a container reached the host's {lo}");
    table.finish();
    net.finish();
}

#[test]
fn add_ports_is_all_or_nothing_and_names_the_refused_port() {
    let net = Net::new();
    let table = Table::new();
    table.apply(&[net.rules(false)], &[]).unwrap();
    let (h1, h2) = (reserve(Proto::Tcp, None), reserve(Proto::Tcp, None));
    let p1 = map(&net, Proto::Tcp, None, h1.port());
    let p2 = map(&net, Proto::Tcp, None, h2.port());
    table.add_ports(&[p1]).unwrap();
    // The same element again is fine.
    table.add_ports(&[p1]).unwrap();
    // The same host port to another target is refused, and p2 is not added either.
    let elsewhere = PortMap {
        container_port: 81,
        ..p1
    };
    let e = table.add_ports(&[p2, elsewhere]).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "publish tcp 0.0.0.0:{} to {}:81 in table ip {}: File exists",
            p1.host_port,
            net.container,
            table.table()
        )
    );
    let listing = table.listing();
    assert!(
        !listing.contains(&format!("tcp . {} :", p2.host_port)),
        "{listing}"
    );
    assert!(listing.contains(&format!("tcp . {} : {} . 80", p1.host_port, net.container)));
    table.finish();
    // No table: the error names the port and the table.
    let e = table_gone_error(&net, p1);
    assert!(e.ends_with("No such file or directory"), "{e}");
    net.finish();
}

fn table_gone_error(net: &Net, p: PortMap) -> String {
    let fw = Firewall::new(&format!("berth-t{:08x}", random() as u32));
    let e = fw.add_ports(&[p]).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "publish tcp 0.0.0.0:{} to {}:80 in table ip {}",
            p.host_port,
            net.container,
            fw.table()
        )),
        "{e}"
    );
    e
}

#[test]
fn remove_ports_skips_absent_ports() {
    let net = Net::new();
    let table = Table::new();
    table.apply(&[net.rules(false)], &[]).unwrap();
    let held: Vec<Reservation> = (0..4).map(|_| reserve(Proto::Tcp, None)).collect();
    let ports: Vec<PortMap> = held
        .iter()
        .map(|h| map(&net, Proto::Tcp, None, h.port()))
        .collect();
    table.add_ports(&ports[..2]).unwrap();
    // Absent ones before, between and after the present ones.
    let mixed = [ports[2], ports[0], ports[3], ports[1], ports[2]];
    table.remove_ports(&mixed).unwrap();
    assert!(!table.listing().contains("elements"), "{}", table.listing());
    table.remove_ports(&ports).unwrap();
    table.remove_ports(&[]).unwrap();
    table.add_ports(&[]).unwrap();
    table.finish();
    net.finish();
}

#[test]
fn thousands_of_ports_in_one_batch() {
    let net = Net::new();
    let table = Table::new();
    table.apply(&[net.rules(false)], &[]).unwrap();
    // Elements only, no traffic; on a loopback address of this test, so that no
    // other program's traffic is diverted meanwhile.
    let r = random();
    let lo = Ipv4Addr::new(127, 64 + (r % 64) as u8, (r >> 8) as u8, 1);
    let ports: Vec<PortMap> = (20000..25000)
        .map(|port| map(&net, Proto::Udp, Some(lo), port))
        .collect();
    let t = Instant::now();
    table.add_ports(&ports).unwrap();
    let added = t.elapsed();
    let elements = |t: &Table| {
        t.listing()
            .matches(&format!(": {} . 80", net.container))
            .count()
    };
    assert_eq!(elements(&table), ports.len());
    // One refused element among thousands: nothing added, the culprit named.
    let clash = PortMap {
        container_port: 99,
        ..ports[4321]
    };
    let mut more: Vec<PortMap> = (25000..28000)
        .map(|port| map(&net, Proto::Udp, Some(lo), port))
        .collect();
    more.push(clash);
    let e = table.add_ports(&more).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("{lo}:{} to", clash.host_port)),
        "{e}"
    );
    assert_eq!(elements(&table), ports.len());
    let t = Instant::now();
    table.remove_ports(&ports).unwrap();
    eprintln!(
        "{} ports: add_ports {:?}, remove_ports {:?}",
        ports.len(),
        added,
        t.elapsed()
    );
    assert!(!table.listing().contains("elements"));
    // Thousands of absent ports: thousands of ENOENT answers in one go.
    let t = Instant::now();
    table.remove_ports(&ports).unwrap();
    eprintln!(
        "{} absent ports: remove_ports {:?}",
        ports.len(),
        t.elapsed()
    );
    table.finish();
    net.finish();
}
