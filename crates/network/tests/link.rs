//! `link` against the real kernel (run as root). Each test owns a network namespace
//! (`berthtest-<hex>`), bridges `bt<hex><n>`, veths `vt<hex><n>` and a random /24 in
//! 10.0.0.0/8 that overlaps no host route, so tests run in parallel. The [`Fixture`]
//! removes all of it on drop, even when the test fails, and then checks that nothing
//! is left. Traffic goes only to addresses the test created.
#![allow(clippy::tests_outside_test_module)]

use std::io::Read;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use berth_network::link::{self, Step, VethRequest};
use ipnet::Ipv4Net;

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("read /dev/urandom");
    u32::from_ne_bytes(b)
}

fn run(cmd: &[&str]) -> Output {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    out
}

fn ok(cmd: &[&str]) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The namespace, names and subnet of one test; everything removed on drop.
struct Fixture {
    tag: String,
    ns: String,
    bridges: Vec<String>,
}

impl Fixture {
    fn new() -> Fixture {
        assert!(
            nix::unistd::geteuid().is_root(),
            "link tests need root (netlink, netns)"
        );
        let tag = format!("{:06x}", random_u32() & 0xff_ffff);
        let f = Fixture {
            ns: format!("berthtest-{tag}"),
            tag,
            bridges: Vec::new(),
        };
        ok(&["ip", "netns", "add", &f.ns]);
        f
    }

    fn netns(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.ns))
    }

    /// A bridge name of this test (removed on drop).
    fn bridge(&mut self, n: u8) -> String {
        let name = format!("bt{}{n}", self.tag);
        self.bridges.push(name.clone());
        name
    }

    /// A host veth name of this test (removed on drop by prefix).
    fn veth(&self, n: u8) -> String {
        format!("vt{}{n}", self.tag)
    }

    /// A random /24 in 10.0.0.0/8 overlapping no route of the host (other tests'
    /// bridges included).
    fn subnet(&self) -> Ipv4Net {
        let routes = link::host_ipv4_routes();
        loop {
            let r = random_u32().to_ne_bytes();
            let net = Ipv4Net::new(Ipv4Addr::new(10, r[0], r[1], 0), 24).unwrap();
            if !routes
                .iter()
                .any(|t| berth_network::ipam::overlaps(*t, net))
            {
                return net;
            }
        }
    }

    fn in_ns(&self, cmd: &[&str]) -> Output {
        let mut all = vec!["ip", "netns", "exec", &self.ns];
        all.extend_from_slice(cmd);
        run(&all)
    }

    fn in_ns_ok(&self, cmd: &[&str]) -> String {
        let out = self.in_ns(cmd);
        assert!(
            out.status.success(),
            "{cmd:?} in {} failed: {}{}",
            self.ns,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Whether link `name` exists inside the namespace.
    fn ns_has(&self, name: &str) -> bool {
        self.in_ns(&["ip", "link", "show", "dev", name])
            .status
            .success()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let veths = link::links_with_prefix(&format!("vt{}", self.tag));
        for v in &veths {
            let _ = link::remove_link(v);
        }
        for b in &self.bridges {
            let _ = link::remove_link(b);
        }
        let _ = run(&["ip", "netns", "del", &self.ns]);
        if std::thread::panicking() {
            return;
        }
        let left: Vec<String> = link::links_with_prefix(&format!("vt{}", self.tag))
            .into_iter()
            .chain(link::links_with_prefix(&format!("bt{}", self.tag)))
            .collect();
        assert!(left.is_empty(), "links left behind: {left:?}");
        assert!(!self.netns().exists(), "netns {} left behind", self.ns);
    }
}

fn sysfs(link: &str, file: &str) -> String {
    std::fs::read_to_string(format!("/sys/class/net/{link}/{file}"))
        .unwrap_or_else(|e| panic!("read {link}/{file}: {e}"))
        .trim()
        .to_string()
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn is_up(flags_hex: &str) -> bool {
    u32::from_str_radix(flags_hex.trim_start_matches("0x"), 16).unwrap() & 1 == 1
}

#[test]
fn ensure_bridge_is_idempotent() {
    let mut f = Fixture::new();
    let br = f.bridge(0);
    let subnet = f.subnet();
    let gw = Ipv4Net::new(subnet.hosts().next().unwrap(), 24).unwrap();
    link::ensure_bridge(&br, gw, 1450).unwrap();
    link::ensure_bridge(&br, gw, 1450).unwrap();
    assert!(link::link_exists(&br));
    assert!(std::path::Path::new(&format!("/sys/class/net/{br}/bridge")).exists());
    assert_eq!(sysfs(&br, "mtu"), "1450");
    assert_eq!(sysfs(&br, "address"), mac_text(link::mac_for(gw.addr())));
    assert!(is_up(&sysfs(&br, "flags")));
    let addrs = ok(&["ip", "-o", "-4", "addr", "show", "dev", &br]);
    assert_eq!(addrs.matches(&format!("inet {gw} ")).count(), 1, "{addrs}");
    assert!(link::host_ipv4_routes().contains(&subnet));
    assert!(link::links_with_prefix(&format!("bt{}", f.tag)).contains(&br));
    link::set_sysctl(&format!("net/ipv4/conf/{br}/route_localnet"), "1").unwrap();
    assert_eq!(
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{br}/route_localnet"))
            .unwrap()
            .trim(),
        "1"
    );
    link::remove_link(&br).unwrap();
    assert!(!link::link_exists(&br));
    link::remove_link(&br).unwrap();
}

#[test]
fn veth_into_namespace_reaches_the_gateway() {
    let mut f = Fixture::new();
    let br = f.bridge(0);
    let subnet = f.subnet();
    let mut hosts = subnet.hosts();
    let gw = hosts.next().unwrap();
    let addr = Ipv4Net::new(hosts.next().unwrap(), 24).unwrap();
    link::ensure_bridge(&br, Ipv4Net::new(gw, 24).unwrap(), 1500).unwrap();
    let host = f.veth(0);
    let netns = f.netns();
    let req = VethRequest {
        netns: &netns,
        host_name: &host,
        bridge: &br,
        container_name: "eth0",
        address: addr,
        gateway: Some(gw),
        mac: link::mac_for(addr.addr()),
        mtu: 1500,
        hairpin: true,
    };
    link::add_veth(&req).unwrap();

    // Host end: bridge port, up, hairpin, one queue.
    assert!(link::link_exists(&host));
    let master = std::fs::read_link(format!("/sys/class/net/{host}/master")).unwrap();
    assert_eq!(master.file_name().unwrap().to_str(), Some(br.as_str()));
    assert!(is_up(&sysfs(&host, "flags")));
    assert_eq!(sysfs(&host, "mtu"), "1500");
    assert_eq!(sysfs(&host, "brport/hairpin_mode"), "1");
    let queues = std::fs::read_dir(format!("/sys/class/net/{host}/queues")).unwrap();
    assert_eq!(queues.count(), 2, "one rx and one tx queue");

    // Container end, loopback and route, read back inside the namespace.
    let link_eth0 = f.in_ns_ok(&["ip", "-o", "link", "show", "dev", "eth0"]);
    assert!(link_eth0.contains(",UP"), "{link_eth0}");
    assert!(link_eth0.contains("mtu 1500 "), "{link_eth0}");
    assert!(link_eth0.contains(&mac_text(req.mac)), "{link_eth0}");
    let addr_eth0 = f.in_ns_ok(&["ip", "-o", "-4", "addr", "show", "dev", "eth0"]);
    assert!(addr_eth0.contains(&format!("inet {addr} brd {} ", subnet.broadcast())));
    let lo = f.in_ns_ok(&["ip", "-o", "link", "show", "dev", "lo"]);
    assert!(lo.contains(",UP"), "{lo}");
    let routes = f.in_ns_ok(&["ip", "-4", "route", "show", "default"]);
    assert!(
        routes.contains(&format!("default via {gw} dev eth0")),
        "{routes}"
    );
    f.in_ns_ok(&["busybox", "ping", "-c1", "-W1", &gw.to_string()]);

    // The calling thread never left the host namespace.
    assert!(link::link_exists(&br));
    assert!(!link::link_exists("eth0") || f.ns_has("eth0"));

    link::remove_link(&host).unwrap();
    assert!(!link::link_exists(&host));
    assert!(!f.ns_has("eth0"), "deleting the host end deletes the pair");
}

#[test]
fn loopback_up_in_a_namespace_without_endpoints() {
    let f = Fixture::new();
    let before = f.in_ns_ok(&["ip", "-o", "link", "show", "dev", "lo"]);
    assert!(!before.contains(",UP"), "{before}");
    link::loopback_up(&f.netns()).unwrap();
    let after = f.in_ns_ok(&["ip", "-o", "link", "show", "dev", "lo"]);
    assert!(after.contains(",UP"), "{after}");
    f.in_ns_ok(&["busybox", "ping", "-c1", "-W1", "127.0.0.1"]);
    let missing = PathBuf::from(format!("/run/netns/berthtest-missing-{}", f.tag));
    assert_eq!(
        link::loopback_up(&missing).unwrap_err().step,
        Step::OpenNetns
    );
}

#[test]
fn named_namespaces_come_with_loopback_up_and_go_without_a_trace() {
    let f = Fixture::new();
    let name = format!("{}n", f.ns);
    let path = PathBuf::from(format!("/run/netns/{name}"));
    link::create_netns(&path).unwrap();
    let guard = scopeguard(&path);
    let exec = |cmd: &[&str]| {
        let mut all = vec!["ip", "netns", "exec", &name];
        all.extend_from_slice(cmd);
        ok(&all)
    };
    let links = exec(&["ip", "-o", "link", "show"]);
    assert_eq!(links.lines().count(), 1, "only lo: {links}");
    assert!(links.contains("lo: <LOOPBACK,UP"), "{links}");
    exec(&["busybox", "ping", "-c1", "-W1", "127.0.0.1"]);
    // The namespace is not the host's: a link made there is not seen here.
    exec(&[
        "ip", "link", "add", "dummy9", "type", "veth", "peer", "name", "dummy9p",
    ]);
    assert!(!link::link_exists("dummy9"));

    // A taken path is refused and the namespace there is untouched.
    assert_eq!(
        link::create_netns(&path).unwrap_err().step,
        link::Step::CreateNetns
    );
    assert!(exec(&["ip", "-o", "link", "show"]).contains("dummy9"));

    link::remove_netns(&path).unwrap();
    assert!(!path.exists());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&name), "netns mount left behind");
    link::remove_netns(&path).unwrap();
    drop(guard);

    let nowhere = PathBuf::from(format!("/run/netns/missing-{}/ns", f.tag));
    assert_eq!(
        link::create_netns(&nowhere).unwrap_err().step,
        link::Step::CreateNetns
    );
    assert!(!nowhere.exists());
}

/// Removes the namespace at `path` when dropped (also when the test panics).
fn scopeguard(path: &std::path::Path) -> impl Drop + '_ {
    struct Guard<'a>(&'a std::path::Path);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            let _ = link::remove_netns(self.0);
        }
    }
    Guard(path)
}

#[test]
fn second_interface_without_gateway() {
    let mut f = Fixture::new();
    let netns = f.netns();
    let (br0, br1) = (f.bridge(0), f.bridge(1));
    let (s0, s1) = (f.subnet(), f.subnet());
    let gw = |s: Ipv4Net| Ipv4Net::new(s.hosts().next().unwrap(), 24).unwrap();
    let ip = |s: Ipv4Net| Ipv4Net::new(s.hosts().nth(1).unwrap(), 24).unwrap();
    link::ensure_bridge(&br0, gw(s0), 1400).unwrap();
    link::ensure_bridge(&br1, gw(s1), 1400).unwrap();
    let (h0, h1) = (f.veth(0), f.veth(1));
    for (i, (host, br, s)) in [(&h0, &br0, s0), (&h1, &br1, s1)].into_iter().enumerate() {
        let name = format!("eth{i}");
        link::add_veth(&VethRequest {
            netns: &netns,
            host_name: host,
            bridge: br,
            container_name: &name,
            address: ip(s),
            gateway: (i == 0).then(|| gw(s).addr()),
            mac: link::mac_for(ip(s).addr()),
            mtu: 1400,
            hairpin: false,
        })
        .unwrap();
    }
    assert_eq!(sysfs(&h1, "brport/hairpin_mode"), "0");
    let eth1 = f.in_ns_ok(&["ip", "-o", "link", "show", "dev", "eth1"]);
    assert!(eth1.contains("mtu 1400 "), "{eth1}");
    let routes = f.in_ns_ok(&["ip", "-4", "route", "show", "default"]);
    assert_eq!(routes.lines().count(), 1, "{routes}");
    f.in_ns_ok(&["busybox", "ping", "-c1", "-W1", &gw(s1).addr().to_string()]);
}

#[test]
fn failures_leave_nothing_behind() {
    let mut f = Fixture::new();
    let br = f.bridge(0);
    let subnet = f.subnet();
    let gw = subnet.hosts().next().unwrap();
    let addr = Ipv4Net::new(subnet.hosts().nth(1).unwrap(), 24).unwrap();
    link::ensure_bridge(&br, Ipv4Net::new(gw, 24).unwrap(), 1500).unwrap();
    let host = f.veth(0);
    let netns = f.netns();
    let good = VethRequest {
        netns: &netns,
        host_name: &host,
        bridge: &br,
        container_name: "eth0",
        address: addr,
        gateway: Some(gw),
        mac: link::mac_for(addr.addr()),
        mtu: 1500,
        hairpin: true,
    };
    let left_behind = |what: &str| {
        assert!(!link::link_exists(&host), "{what}: host end left behind");
        assert!(!f.ns_has("eth0"), "{what}: container end left behind");
    };

    let missing = PathBuf::from(format!("/run/netns/berthtest-missing-{}", f.tag));
    let e = link::add_veth(&VethRequest {
        netns: &missing,
        ..good.clone()
    })
    .unwrap_err();
    assert_eq!(e.step, Step::OpenNetns);
    assert!(
        e.to_string().contains(&missing.display().to_string()),
        "{e}"
    );
    left_behind("missing netns");

    let not_a_netns = tempfile::NamedTempFile::new().unwrap();
    let e = link::add_veth(&VethRequest {
        netns: not_a_netns.path(),
        ..good.clone()
    })
    .unwrap_err();
    assert_eq!(e.step, Step::CreateVeth, "{e}");
    left_behind("not a netns");

    let no_bridge = format!("bt{}9", f.tag);
    let e = link::add_veth(&VethRequest {
        bridge: &no_bridge,
        ..good.clone()
    })
    .unwrap_err();
    assert_eq!(e.step, Step::FindBridge);
    assert!(e.to_string().contains(&no_bridge), "{e}");
    left_behind("missing bridge");

    // Fails after the pair exists (the gateway is unreachable from the address):
    // the pair is deleted again.
    let e = link::add_veth(&VethRequest {
        gateway: Some(Ipv4Addr::new(192, 0, 2, 1)),
        ..good.clone()
    })
    .unwrap_err();
    assert_eq!(e.step, Step::AddRoute, "{e}");
    assert!(e.cleanup.is_none(), "{e}");
    assert!(e.to_string().contains("eth0"), "{e}");
    left_behind("unreachable gateway");

    // A name that is taken: the existing link is not ours and stays.
    link::add_veth(&good).unwrap();
    let e = link::add_veth(&good).unwrap_err();
    assert_eq!(e.step, Step::CreateVeth);
    assert_eq!(e.errno(), Some(nix::errno::Errno::EEXIST as i32));
    assert!(e.to_string().contains("File exists"), "{e}");
    assert!(link::link_exists(&host) && f.ns_has("eth0"));
    // The container name is taken inside the namespace: nothing new is made.
    let other = f.veth(1);
    let e = link::add_veth(&VethRequest {
        host_name: &other,
        ..good.clone()
    })
    .unwrap_err();
    assert_eq!(e.step, Step::CreateVeth);
    assert!(!link::link_exists(&other));
    link::remove_link(&host).unwrap();
    left_behind("after removal");
}

#[test]
fn host_routes_and_default_mtu_match_ip() {
    let default = ok(&["ip", "-4", "-o", "route", "show", "default"]);
    let dev = default
        .lines()
        .min_by_key(|l| {
            l.split_whitespace()
                .skip_while(|w| *w != "metric")
                .nth(1)
                .and_then(|m| m.parse::<u32>().ok())
                .unwrap_or(0)
        })
        .and_then(|l| {
            l.split_whitespace()
                .skip_while(|w| *w != "dev")
                .nth(1)
                .map(str::to_string)
        });
    let want = dev.map_or(1500, |d| sysfs(&d, "mtu").parse().unwrap());
    assert_eq!(link::default_route_mtu(), want);
    let listed = ok(&["ip", "-4", "-o", "route", "show", "table", "main"]);
    for r in link::host_ipv4_routes() {
        let text = if r.prefix_len() == 32 {
            r.addr().to_string()
        } else {
            r.to_string()
        };
        assert!(
            listed
                .lines()
                .any(|l| l.split_whitespace().any(|w| w == text)),
            "{r} not in {listed}"
        );
    }
}

/// Prints the medians; no assertion on time (shared CI machines).
#[test]
fn add_veth_and_ensure_bridge_timing() {
    let mut f = Fixture::new();
    let br = f.bridge(0);
    let subnet = f.subnet();
    let gw = Ipv4Net::new(subnet.hosts().next().unwrap(), 24).unwrap();
    let addr = Ipv4Net::new(subnet.hosts().nth(1).unwrap(), 24).unwrap();
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };

    // A new name each time: re-creating a name just deleted waits for the kernel to
    // finish releasing the old device, which a real network create never does.
    let mut create = Vec::new();
    for n in 10..20 {
        let fresh = f.bridge(n);
        let t = Instant::now();
        link::ensure_bridge(&fresh, gw, 1500).unwrap();
        create.push(t.elapsed());
        link::remove_link(&fresh).unwrap();
    }
    link::ensure_bridge(&br, gw, 1500).unwrap();
    let existing: Vec<Duration> = (0..50)
        .map(|_| {
            let t = Instant::now();
            link::ensure_bridge(&br, gw, 1500).unwrap();
            t.elapsed()
        })
        .collect();

    // A fresh host name each time, as the engine does (one endpoint id per start).
    let netns = f.netns();
    let mut add = Vec::new();
    let mut remove = Vec::new();
    for n in 10..60 {
        let host = f.veth(n);
        let req = VethRequest {
            netns: &netns,
            host_name: &host,
            bridge: &br,
            container_name: "eth0",
            address: addr,
            gateway: Some(gw.addr()),
            mac: link::mac_for(addr.addr()),
            mtu: 1500,
            hairpin: true,
        };
        let t = Instant::now();
        link::add_veth(&req).unwrap();
        add.push(t.elapsed());
        let t = Instant::now();
        link::remove_link(&host).unwrap();
        remove.push(t.elapsed());
    }
    eprintln!(
        "timing: add_veth median {:?} (min {:?}); remove_link median {:?}; \
         ensure_bridge new median {:?}, existing median {:?}",
        median(add.clone()),
        add.iter().min().unwrap(),
        median(remove),
        median(create),
        median(existing),
    );
}
