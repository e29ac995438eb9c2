//! Bridges and veth pairs over rtnetlink (no `ip` processes): what the container start
//! path needs, nothing more.

use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::Path;

use ipnet::Ipv4Net;

use crate::netlink::{Msg, Socket, F_ACK, F_CREATE, F_EXCL, F_REQUEST};

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const IFF_UP: u32 = 1;

/// A failed link operation: what was attempted on which link, and the kernel's answer.
#[derive(Debug, thiserror::Error)]
#[error("{op} {name}: {source}")]
pub struct LinkError {
    /// The operation (`create veth`, `add address`, …).
    pub op: &'static str,
    /// The link or namespace it concerned.
    pub name: String,
    /// The kernel's error.
    #[source]
    pub source: std::io::Error,
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, LinkError>;

fn err<'a>(op: &'static str, name: &'a str) -> impl FnOnce(std::io::Error) -> LinkError + 'a {
    move |source| LinkError {
        op,
        name: name.to_string(),
        source,
    }
}

/// `struct ifinfomsg`.
fn ifinfo(index: i32, up: bool) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = libc::AF_UNSPEC as u8;
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    if up {
        b[8..12].copy_from_slice(&IFF_UP.to_ne_bytes());
        b[12..16].copy_from_slice(&IFF_UP.to_ne_bytes());
    }
    b
}

/// The index of `name` in the calling thread's network namespace.
fn index_of(name: &str) -> std::io::Result<u32> {
    Ok(nix::net::if_::if_nametoindex(name)?)
}

/// What a container's interface on one network looks like.
#[derive(Debug, Clone)]
pub struct VethRequest<'a> {
    /// The container's network namespace (`/proc/<pid>/ns/net`).
    pub netns: &'a Path,
    /// Host end of the pair (≤ 15 bytes).
    pub host_name: &'a str,
    /// Bridge the host end joins.
    pub bridge: &'a str,
    /// Name inside the container (`eth0`, …).
    pub container_name: &'a str,
    /// Container address and prefix.
    pub address: Ipv4Net,
    /// Default route via this gateway, if any.
    pub gateway: Option<Ipv4Addr>,
    /// MAC address of the container end.
    pub mac: [u8; 6],
    /// MTU of both ends.
    pub mtu: u32,
    /// Hairpin mode on the bridge port (a container reaching itself through NAT).
    pub hairpin: bool,
}

/// Creates bridge `name` if absent, gives it `gateway` (address/prefix) and brings it up.
pub fn ensure_bridge(name: &str, gateway: Ipv4Net, mtu: u32) -> Result<()> {
    let mut s = Socket::route().map_err(err("open netlink", name))?;
    if index_of(name).is_err() {
        let mut m = Msg::new(
            RTM_NEWLINK,
            F_REQUEST | F_ACK | F_CREATE | F_EXCL,
            &ifinfo(0, true),
        );
        m.attr_str(IFLA_IFNAME, name).attr_u32(IFLA_MTU, mtu);
        m.begin(IFLA_LINKINFO)
            .attr_str(IFLA_INFO_KIND, "bridge")
            .end();
        match s.request(m) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(err("create bridge", name)(e)),
        }
    }
    let index = index_of(name).map_err(err("find bridge", name))?;
    add_address(&mut s, index, gateway).map_err(err("add address to", name))?;
    set_up(&mut s, index).map_err(err("set up", name))
}

fn set_up(s: &mut Socket, index: u32) -> std::io::Result<()> {
    s.request(Msg::new(
        RTM_NEWLINK,
        F_REQUEST | F_ACK,
        &ifinfo(index as i32, true),
    ))
}

/// Adds `addr` to link `index` (already present is fine).
fn add_address(s: &mut Socket, index: u32, addr: Ipv4Net) -> std::io::Result<()> {
    let mut fixed = [0u8; 8];
    fixed[0] = libc::AF_INET as u8;
    fixed[1] = addr.prefix_len();
    fixed[4..8].copy_from_slice(&index.to_ne_bytes());
    let mut m = Msg::new(RTM_NEWADDR, F_REQUEST | F_ACK | F_CREATE | F_EXCL, &fixed);
    m.attr(IFA_LOCAL, &addr.addr().octets())
        .attr(IFA_ADDRESS, &addr.addr().octets());
    if addr.prefix_len() < 31 {
        m.attr(IFA_BROADCAST, &addr.broadcast().octets());
    }
    match s.request(m) {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        other => other,
    }
}

/// Creates the veth pair of `req`, the container end directly inside its namespace,
/// and configures both ends. On failure the pair is deleted again.
pub fn add_veth(req: &VethRequest) -> Result<()> {
    let host = req.host_name;
    let ns = std::fs::File::open(req.netns)
        .map_err(err("open netns", &req.netns.display().to_string()))?;
    let bridge = index_of(req.bridge).map_err(err("find bridge", req.bridge))?;
    let mut s = Socket::route().map_err(err("open netlink", host))?;
    let mut m = Msg::new(
        RTM_NEWLINK,
        F_REQUEST | F_ACK | F_CREATE | F_EXCL,
        &ifinfo(0, true),
    );
    m.attr_str(IFLA_IFNAME, host)
        .attr_u32(IFLA_MTU, req.mtu)
        .attr_u32(IFLA_MASTER, bridge);
    m.begin(IFLA_LINKINFO).attr_str(IFLA_INFO_KIND, "veth");
    m.begin(IFLA_INFO_DATA).begin(VETH_INFO_PEER);
    // The peer: a `struct ifinfomsg` followed by its attributes. It cannot be created
    // up (the kernel answers ENOTCONN); it is set up from inside its namespace.
    m.raw(&ifinfo(0, false));
    m.attr_str(IFLA_IFNAME, req.container_name)
        .attr_u32(IFLA_MTU, req.mtu)
        .attr(IFLA_ADDRESS, &req.mac)
        .attr_u32(IFLA_NET_NS_FD, std::os::fd::AsRawFd::as_raw_fd(&ns) as u32);
    m.end().end().end();
    s.request(m).map_err(err("create veth", host))?;
    let configured = (|| {
        if req.hairpin {
            set_sysctl_path(&format!("/sys/class/net/{host}/brport/hairpin_mode"), "1")
                .map_err(err("set hairpin on", host))?;
        }
        configure_inside(&ns, req)
    })();
    if configured.is_err() {
        let _ = remove_link(host);
    }
    configured
}

/// Address, loopback and default route inside the container's namespace, from a
/// short-lived thread that joins it (the caller's thread never changes namespace).
fn configure_inside(ns: &std::fs::File, req: &VethRequest) -> Result<()> {
    let name = req.container_name.to_string();
    std::thread::scope(|scope| {
        scope
            .spawn(|| -> Result<()> {
                nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| err("enter netns of", &name)(e.into()))?;
                let mut s = Socket::route().map_err(err("open netlink in", &name))?;
                set_up(&mut s, 1).map_err(err("set up", "lo"))?;
                let index = index_of(&name).map_err(err("find", &name))?;
                set_up(&mut s, index).map_err(err("set up", &name))?;
                add_address(&mut s, index, req.address).map_err(err("add address to", &name))?;
                if let Some(gw) = req.gateway {
                    let mut fixed = [0u8; 12];
                    fixed[0] = libc::AF_INET as u8;
                    fixed[4] = libc::RT_TABLE_MAIN;
                    fixed[5] = libc::RTPROT_BOOT;
                    fixed[6] = libc::RT_SCOPE_UNIVERSE;
                    fixed[7] = libc::RTN_UNICAST;
                    let mut m =
                        Msg::new(RTM_NEWROUTE, F_REQUEST | F_ACK | F_CREATE | F_EXCL, &fixed);
                    m.attr(RTA_GATEWAY, &gw.octets()).attr_u32(RTA_OIF, index);
                    s.request(m)
                        .map_err(err("add default route via", &gw.to_string()))?;
                }
                Ok(())
            })
            .join()
            .unwrap_or_else(|_| {
                Err(err("configure", &name)(std::io::Error::other(
                    "thread panicked",
                )))
            })
    })
}

/// Deletes link `name`; absent is fine (deleting one end of a veth deletes both).
pub fn remove_link(name: &str) -> Result<()> {
    let mut s = Socket::route().map_err(err("open netlink", name))?;
    let mut m = Msg::new(RTM_DELLINK, F_REQUEST | F_ACK, &ifinfo(0, false));
    m.attr_str(IFLA_IFNAME, name);
    match s.request(m) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENODEV) | Some(libc::ENOENT)) => Ok(()),
        other => other.map_err(err("delete link", name)),
    }
}

/// Whether a link called `name` exists in this namespace.
pub fn link_exists(name: &str) -> bool {
    index_of(name).is_ok()
}

/// Links whose name starts with `prefix`.
pub fn links_with_prefix(prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    out.sort();
    out
}

/// `/proc/net/route` rows: (interface, destination, mask).
fn routes() -> Vec<(String, Ipv4Addr, Ipv4Addr)> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let hex = |s: &str| {
        u32::from_str_radix(s, 16)
            .ok()
            .map(|v| Ipv4Addr::from(v.to_le_bytes()))
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.first()?.to_string(), hex(f.get(1)?)?, hex(f.get(7)?)?))
        })
        .collect()
}

/// MTU of the interface of the host's IPv4 default route; 1500 without one.
pub fn default_route_mtu() -> u32 {
    routes()
        .into_iter()
        .find(|(_, dst, mask)| dst.is_unspecified() && mask.is_unspecified())
        .and_then(|(dev, _, _)| std::fs::read_to_string(format!("/sys/class/net/{dev}/mtu")).ok())
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(1500)
}

/// Destinations of the host's IPv4 routes (default route left out).
pub fn host_ipv4_routes() -> Vec<Ipv4Net> {
    routes()
        .into_iter()
        .filter(|(_, _, mask)| !mask.is_unspecified())
        .filter_map(|(_, dst, mask)| Ipv4Net::with_netmask(dst, mask).ok())
        .collect()
}

fn set_sysctl_path(path: &str, value: &str) -> std::io::Result<()> {
    std::fs::write(path, value)
}

/// Writes `/proc/sys/<path>` (e.g. `net/ipv4/conf/berth0/route_localnet`).
pub fn set_sysctl(path: &str, value: &str) -> Result<()> {
    set_sysctl_path(&format!("/proc/sys/{path}"), value).map_err(err("write sysctl", path))
}

/// Docker's MAC scheme: `02:42:` and the four address bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// Host end name of an endpoint's `index`-th interface: `veth`, 9 hex of the (random,
/// per start) endpoint id and the index: 15 bytes at most.
pub fn host_veth_name(endpoint_id: &str, index: usize) -> String {
    let id: String = endpoint_id.chars().take(9).collect();
    format!("veth{id}{}", index.min(99))
}
