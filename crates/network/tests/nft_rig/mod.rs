//! The test rig of nft.rs: bridges, veths into network namespaces standing in for
//! containers, servers inside them, clients, and a firewall table removed on drop.

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
use std::time::Duration;

use berth_network::nft::{Firewall, NetRules, PortMap, Proto};
use berth_network::ports::Reservation;
use nix::sched::{setns, CloneFlags};

/// How long a client waits before calling a connection dropped.
pub const DROPPED: Duration = Duration::from_millis(700);
/// How long a client waits for an answer that should come.
pub const ANSWER: Duration = Duration::from_secs(3);

pub fn random() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

pub fn run(args: &[&str]) -> std::process::Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap()
}

pub fn must(args: &[&str]) {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// A bridge network with one "container": a namespace whose `eth0` (10.x.y.2/24)
/// hangs off the bridge (10.x.y.1/24, the gateway), as berth's link module sets it
/// up: hairpin mode on the bridge port, `route_localnet` on the bridge.
pub struct Net {
    pub ns: String,
    pub bridge: String,
    pub veth: String,
    pub subnet: ipnet::Ipv4Net,
    pub gateway: Ipv4Addr,
    pub container: Ipv4Addr,
}

impl Net {
    pub fn new() -> Net {
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

    pub fn set_route_localnet(&self, on: bool) {
        let path = format!("/proc/sys/net/ipv4/conf/{}/route_localnet", self.bridge);
        std::fs::write(path, if on { "1" } else { "0" }).unwrap();
    }

    pub fn rules(&self, internal: bool) -> NetRules {
        NetRules {
            bridge: self.bridge.clone(),
            subnet: self.subnet,
            internal,
        }
    }

    /// Runs `f` on a thread inside the namespace (sockets it creates stay there).
    pub fn inside<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
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

    pub fn remove(&self) {
        // The veth first (it holds a reference to the namespace), then the rest.
        let _ = run(&["ip", "link", "del", &self.veth]);
        let _ = run(&["ip", "link", "del", &self.bridge]);
        let _ = run(&["ip", "netns", "del", &self.ns]);
    }

    /// Removes everything and checks that it is gone.
    pub fn finish(self) {
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
pub struct Table(pub Firewall);

impl Table {
    pub fn new() -> Table {
        Table(Firewall::new(&format!("berth-t{:08x}", random() as u32)))
    }

    pub fn finish(self) {
        self.0.remove().unwrap();
        assert!(!self.0.exists(), "table {} left", self.0.table());
    }

    /// The number of rules in the table, from `nft -j`.
    pub fn rule_count(&self) -> usize {
        let out = run(&["nft", "-j", "list", "table", "ip", self.0.table()]);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .matches("{\"rule\":")
            .count()
    }

    pub fn listing(&self) -> String {
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
pub struct Server {
    pub stop: Arc<AtomicBool>,
    pub thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn tcp(net: &Net, port: u16) -> Server {
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

    pub fn udp(net: &Net, port: u16) -> Server {
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

    pub fn serve(f: impl FnOnce(&AtomicBool) + Send + 'static) -> Server {
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
pub enum Reply {
    /// The server's answer.
    Hi(Ipv4Addr),
    /// Connection refused (nothing published: the host's reservation socket does
    /// not listen).
    Refused,
    /// No answer at all (dropped).
    Silence,
}

pub fn tcp(ip: Ipv4Addr, port: u16, wait: Duration) -> Reply {
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

pub fn udp(ip: Ipv4Addr, port: u16, wait: Duration) -> Reply {
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

pub fn parse_hi(text: &str) -> Reply {
    let ip = text
        .strip_prefix("hi ")
        .unwrap_or_else(|| panic!("reply {text:?}"));
    Reply::Hi(ip.parse().unwrap())
}

pub fn map(net: &Net, proto: Proto, host_ip: Option<Ipv4Addr>, host_port: u16) -> PortMap {
    PortMap {
        proto,
        host_ip,
        host_port,
        container_ip: net.container,
        container_port: 80,
    }
}

pub fn reserve(proto: Proto, host_ip: Option<Ipv4Addr>) -> Reservation {
    Reservation::bind(proto, host_ip, 0).unwrap()
}
