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

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use berth_network::nft::{Firewall, NetRules, PortMap, Proto};
use berth_network::ports::Reservation;
use nix::sched::{setns, CloneFlags};

/// How long a client waits before calling a connection dropped.
const DROPPED: Duration = Duration::from_millis(700);
/// How long a client waits for an answer that should come.
const ANSWER: Duration = Duration::from_secs(3);

fn random() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap()
}

fn must(args: &[&str]) {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// A bridge network with one "container": a namespace whose `eth0` (10.x.y.2/24)
/// hangs off the bridge (10.x.y.1/24, the gateway), as berth's link module sets it
/// up: hairpin mode on the bridge port, `route_localnet` on the bridge.
struct Net {
    ns: String,
    bridge: String,
    veth: String,
    subnet: ipnet::Ipv4Net,
    gateway: Ipv4Addr,
    container: Ipv4Addr,
}

impl Net {
    fn new() -> Net {
        let tag = format!("{:08x}", random() as u32);
        let (a, b) = loop {
            let r = random();
            let (a, b) = (64 + (r % 64) as u8, (r >> 8) as u8);
            let prefix = format!("10.{a}.{b}.");
            let routes = run(&["ip", "-4", "-o", "route", "show", "table", "all"]);
            let addrs = run(&["ip", "-4", "-o", "addr"]);
            let taken = [routes.stdout, addrs.stdout]
                .iter()
                .any(|o| String::from_utf8_lossy(o).contains(&prefix));
            if !taken {
                break (a, b);
            }
        };
        let net = Net {
            ns: format!("bt-{tag}"),
            bridge: format!("bt{tag}"),
            veth: format!("bt{tag}h"),
            subnet: format!("10.{a}.{b}.0/24").parse().unwrap(),
            gateway: Ipv4Addr::new(10, a, b, 1),
            container: Ipv4Addr::new(10, a, b, 2),
        };
        let (ns, br, veth) = (&net.ns, &net.bridge, &net.veth);
        let gw = format!("{}/24", net.gateway);
        let ip = format!("{}/24", net.container);
        must(&["ip", "netns", "add", ns]);
        must(&["ip", "link", "add", br, "type", "bridge"]);
        must(&["ip", "addr", "add", &gw, "dev", br]);
        must(&["ip", "link", "set", br, "up"]);
        must(&[
            "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns,
        ]);
        must(&["ip", "link", "set", veth, "master", br, "up"]);
        must(&[
            "ip",
            "link",
            "set",
            veth,
            "type",
            "bridge_slave",
            "hairpin",
            "on",
        ]);
        must(&["ip", "-n", ns, "addr", "add", &ip, "dev", "eth0"]);
        must(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
        must(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        let gw = net.gateway.to_string();
        must(&["ip", "-n", ns, "route", "add", "default", "via", &gw]);
        net.set_route_localnet(true);
        net
    }

    fn set_route_localnet(&self, on: bool) {
        let path = format!("/proc/sys/net/ipv4/conf/{}/route_localnet", self.bridge);
        std::fs::write(path, if on { "1" } else { "0" }).unwrap();
    }

    fn rules(&self, internal: bool) -> NetRules {
        NetRules {
            bridge: self.bridge.clone(),
            subnet: self.subnet,
            internal,
        }
    }

    /// Runs `f` on a thread inside the namespace (sockets it creates stay there).
    fn inside<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let ns = File::open(format!("/run/netns/{}", self.ns)).unwrap();
        std::thread::scope(|s| {
            s.spawn(move || {
                setns(&ns, CloneFlags::CLONE_NEWNET).unwrap();
                f()
            })
            .join()
            .unwrap()
        })
    }

    fn remove(&self) {
        // The veth first (it holds a reference to the namespace), then the rest.
        let _ = run(&["ip", "link", "del", &self.veth]);
        let _ = run(&["ip", "link", "del", &self.bridge]);
        let _ = run(&["ip", "netns", "del", &self.ns]);
    }

    /// Removes everything and checks that it is gone.
    fn finish(self) {
        self.remove();
        assert!(!link_exists(&self.bridge), "bridge {} left", self.bridge);
        assert!(!link_exists(&self.veth), "veth {} left", self.veth);
        assert!(
            !Path::new("/run/netns").join(&self.ns).exists(),
            "netns {} left",
            self.ns
        );
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A table of this test, deleted on drop.
struct Table(Firewall);

impl Table {
    fn new() -> Table {
        Table(Firewall::new(&format!("berth-t{:08x}", random() as u32)))
    }

    fn finish(self) {
        self.0.remove().unwrap();
        assert!(!self.0.exists(), "table {} left", self.0.table());
    }

    /// The number of rules in the table, from `nft -j`.
    fn rule_count(&self) -> usize {
        let out = run(&["nft", "-j", "list", "table", "ip", self.0.table()]);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .matches("{\"rule\":")
            .count()
    }

    fn listing(&self) -> String {
        let out = run(&["nft", "list", "table", "ip", self.0.table()]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl std::ops::Deref for Table {
    type Target = Firewall;
    fn deref(&self) -> &Firewall {
        &self.0
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        let _ = self.0.remove();
    }
}

/// A server inside a namespace that answers every TCP connection or UDP datagram
/// with "hi <peer address>", until dropped.
struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn tcp(net: &Net, port: u16) -> Server {
        let listener = net.inside(|| TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).unwrap());
        listener.set_nonblocking(true).unwrap();
        Server::serve(move |stop| {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, peer)) => {
                        let _ = s.write_all(format!("hi {}", peer.ip()).as_bytes());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        })
    }

    fn udp(net: &Net, port: u16) -> Server {
        let socket = net.inside(|| UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)).unwrap());
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        Server::serve(move |stop| {
            let mut buf = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((_, peer)) = socket.recv_from(&mut buf) {
                    let _ = socket.send_to(format!("hi {}", peer.ip()).as_bytes(), peer);
                }
            }
        })
    }

    fn serve(f: impl FnOnce(&AtomicBool) + Send + 'static) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        Server {
            stop,
            thread: Some(std::thread::spawn(move || f(&flag))),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a client got.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    /// The server's answer.
    Hi(Ipv4Addr),
    /// Connection refused (nothing published: the host's reservation socket does
    /// not listen).
    Refused,
    /// No answer at all (dropped).
    Silence,
}

fn tcp(ip: Ipv4Addr, port: u16, wait: Duration) -> Reply {
    match TcpStream::connect_timeout(&SocketAddrV4::new(ip, port).into(), wait) {
        Ok(mut s) => {
            s.set_read_timeout(Some(ANSWER)).unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap();
            parse_hi(&text)
        }
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Reply::Refused,
        Err(e) if e.kind() == ErrorKind::TimedOut => Reply::Silence,
        Err(e) => panic!("connect {ip}:{port}: {e}"),
    }
}

fn udp(ip: Ipv4Addr, port: u16, wait: Duration) -> Reply {
    let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.send_to(b"hello", (ip, port)).unwrap();
    let mut buf = [0u8; 64];
    match s.recv(&mut buf) {
        Ok(n) => parse_hi(&String::from_utf8_lossy(&buf[..n])),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Reply::Refused,
        Err(_) => Reply::Silence,
    }
}

fn parse_hi(text: &str) -> Reply {
    let ip = text
        .strip_prefix("hi ")
        .unwrap_or_else(|| panic!("reply {text:?}"));
    Reply::Hi(ip.parse().unwrap())
}

fn map(net: &Net, proto: Proto, host_ip: Option<Ipv4Addr>, host_port: u16) -> PortMap {
    PortMap {
        proto,
        host_ip,
        host_port,
        container_ip: net.container,
        container_port: 80,
    }
}

fn reserve(proto: Proto, host_ip: Option<Ipv4Addr>) -> Reservation {
    Reservation::bind(proto, host_ip, 0).unwrap()
}

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
