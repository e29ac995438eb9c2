//! Bridges and veth pairs over rtnetlink, synchronously and without spawning processes:
//! what the container start path needs (rtnetlink(7), veth(4)).
//!
//! Runs in berthd, in the host's network namespace; work inside a container's namespace
//! goes through sockets opened there by a short-lived helper thread ([`netns`]), so the
//! calling thread never changes namespace. Sockets live for one call. Links are owned by
//! the caller: [`add_veth`] removes what it created when it fails, otherwise the engine
//! removes the pair with [`remove_link`]. IPv6 and bridge options other than MTU and
//! hairpin are left out.

mod msg;
mod netns;
mod routes;

use std::fmt;
use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::Path;

use ipnet::Ipv4Net;
use nix::errno::Errno;

use crate::netlink::Socket;

/// The step of a link operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Opening a netlink (or ioctl) socket.
    OpenNetlink,
    /// Opening the container's namespace file.
    OpenNetns,
    /// Joining the container's namespace from the helper thread.
    EnterNetns,
    /// Looking up the bridge's index.
    FindBridge,
    /// Creating the bridge.
    CreateBridge,
    /// Creating the veth pair.
    CreateVeth,
    /// Setting hairpin mode on the bridge port.
    SetHairpin,
    /// Looking up a link's index.
    FindLink,
    /// Setting a link up.
    SetUp,
    /// Adding an address to a link.
    AddAddress,
    /// Adding the default route.
    AddRoute,
    /// Deleting a link.
    DeleteLink,
    /// Writing a sysctl.
    WriteSysctl,
    /// Creating a named network namespace.
    CreateNetns,
    /// Bind-mounting a new namespace onto its file.
    MountNetns,
    /// Unmounting or deleting a named namespace.
    UnmountNetns,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::OpenNetlink => "open netlink socket for",
            Step::OpenNetns => "open netns",
            Step::EnterNetns => "enter netns",
            Step::FindBridge => "find bridge",
            Step::CreateBridge => "create bridge",
            Step::CreateVeth => "create veth",
            Step::SetHairpin => "set hairpin on",
            Step::FindLink => "find link",
            Step::SetUp => "set up",
            Step::AddAddress => "add address to",
            Step::AddRoute => "add default route on",
            Step::DeleteLink => "delete link",
            Step::WriteSysctl => "write sysctl",
            Step::CreateNetns => "create netns",
            Step::MountNetns => "mount netns",
            Step::UnmountNetns => "remove netns",
        })
    }
}

/// A failed link operation: the step, the link (or namespace, or sysctl) it concerned,
/// and the kernel's answer, e.g. `create veth veth1a2b3c4d500: File exists`.
#[derive(Debug, thiserror::Error)]
#[error("{step} {name}: {}{}", reason(.source), cleanup_note(.cleanup))]
pub struct LinkError {
    /// What was attempted.
    pub step: Step,
    /// The link, namespace or sysctl it concerned.
    pub name: String,
    /// The kernel's error.
    #[source]
    pub source: io::Error,
    /// Set when removing the half-made veth pair after the failure failed too.
    pub cleanup: Option<io::Error>,
}

impl LinkError {
    fn new(step: Step, name: &str, source: io::Error) -> LinkError {
        LinkError {
            step,
            name: name.to_string(),
            source,
            cleanup: None,
        }
    }

    /// The errno of the kernel's answer, if it was one (`EEXIST`: name taken).
    pub fn errno(&self) -> Option<i32> {
        self.source.raw_os_error()
    }
}

/// The kernel's text for an errno ("File exists"), without std's "(os error 17)".
fn reason(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

fn cleanup_note(cleanup: &Option<io::Error>) -> String {
    cleanup
        .as_ref()
        .map(|e| format!(" (and removing the veth pair failed: {})", reason(e)))
        .unwrap_or_default()
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, LinkError>;

fn at<'a>(step: Step, name: &'a str) -> impl FnOnce(io::Error) -> LinkError + 'a {
    move |e| LinkError::new(step, name, e)
}

/// The index of `name` in the calling thread's network namespace.
fn index_of(name: &str) -> io::Result<u32> {
    Ok(nix::net::if_::if_nametoindex(name)?)
}

fn is_errno(e: &io::Error, errno: Errno) -> bool {
    e.raw_os_error() == Some(errno as i32)
}

/// One interface of a container on a bridge network.
#[derive(Debug, Clone)]
pub struct VethRequest<'a> {
    /// The container's network namespace (`/proc/<pid>/ns/net` of its init, or a
    /// bind mount of it).
    pub netns: &'a Path,
    /// Host end of the pair (at most 15 bytes), e.g. from [`host_veth_name`].
    pub host_name: &'a str,
    /// Bridge the host end joins.
    pub bridge: &'a str,
    /// Name inside the container (`eth0`, `eth1`, …).
    pub container_name: &'a str,
    /// Container address and prefix length.
    pub address: Ipv4Net,
    /// Default route via this gateway, if any (only the first network gets one).
    pub gateway: Option<Ipv4Addr>,
    /// MAC address of the container end (see [`mac_for`]).
    pub mac: [u8; 6],
    /// MTU of both ends.
    pub mtu: u32,
    /// Hairpin mode on the bridge port, so that a container reaches itself through a
    /// published port (hairpin NAT).
    pub hairpin: bool,
}

/// Creates bridge `name` if absent (MTU `mtu`, MAC [`mac_for`] the gateway), adds
/// `gateway` (the bridge's address and the network's prefix length) if missing, and
/// sets it up. Idempotent, and safe against a concurrent call for the same bridge.
pub fn ensure_bridge(name: &str, gateway: Ipv4Net, mtu: u32) -> Result<()> {
    let mut s = Socket::route().map_err(at(Step::OpenNetlink, name))?;
    if index_of(name).is_err() {
        match s.request(msg::new_bridge(name, mtu, mac_for(gateway.addr()))) {
            Err(e) if !is_errno(&e, Errno::EEXIST) => {
                return Err(LinkError::new(Step::CreateBridge, name, e))
            }
            _ => {}
        }
    }
    let index = index_of(name).map_err(at(Step::FindBridge, name))?;
    match s.request(msg::add_address(index, gateway)) {
        Err(e) if !is_errno(&e, Errno::EEXIST) => {
            return Err(LinkError::new(Step::AddAddress, name, e))
        }
        _ => {}
    }
    s.request(msg::set_up(index)).map_err(at(Step::SetUp, name))
}

/// Creates the veth pair of `req` with the container end made directly inside the
/// container's namespace (`IFLA_NET_NS_FD`), then configures the host end (bridge
/// port, MTU, up, hairpin) and, inside the namespace, the container end (name, MAC,
/// MTU, address, up), `lo` (up) and the default route. If any step after creation
/// fails, the pair is deleted again; if creation fails nothing was made (an existing
/// link of the same name is left alone).
pub fn add_veth(req: &VethRequest) -> Result<()> {
    let where_ = req.netns.display().to_string();
    let ns = File::open(req.netns).map_err(at(Step::OpenNetns, &where_))?;
    let bridge = index_of(req.bridge).map_err(at(Step::FindBridge, req.bridge))?;
    let pair = format!("{}/{}", req.host_name, req.container_name);
    // The helper thread enters the namespace while this one creates the pair.
    let (inside, host) = netns::open_while(ns.as_fd(), &where_, || {
        let mut s = Socket::route().map_err(at(Step::OpenNetlink, req.host_name))?;
        let veth = msg::Veth {
            host: req.host_name,
            master: bridge,
            peer: req.container_name,
            peer_mac: req.mac,
            netns: ns.as_fd(),
            mtu: req.mtu,
        };
        s.request(msg::new_veth(&veth))
            .map_err(at(Step::CreateVeth, &pair))?;
        Ok(s)
    });
    let mut host = host?;
    let configured = (|| {
        if req.hairpin {
            host.request(msg::set_hairpin(req.host_name, true))
                .map_err(at(Step::SetHairpin, req.host_name))?;
        }
        configure_container_end(&mut inside?, req, &where_)
    })();
    if let Err(mut e) = configured {
        if let Err(c) = host.request(msg::delete_link(req.host_name)) {
            e.cleanup = Some(c);
        }
        return Err(e);
    }
    Ok(())
}

/// Inside the container's namespace: `lo` up, the container end up with its address,
/// and the default route, sent as one batch. Errors name the link and `netns`.
fn configure_container_end(
    inside: &mut netns::Inside,
    req: &VethRequest,
    netns: &str,
) -> Result<()> {
    let name = &format!("{} in {netns}", req.container_name);
    let index = inside
        .index_of(req.container_name)
        .map_err(at(Step::FindLink, name))?;
    let mut steps = vec![
        (
            Step::SetUp,
            format!("lo in {netns}"),
            msg::set_up_by_name("lo"),
        ),
        (Step::SetUp, name.to_string(), msg::set_up(index)),
        (
            Step::AddAddress,
            name.to_string(),
            msg::add_address(index, req.address),
        ),
    ];
    if let Some(gw) = req.gateway {
        let route = msg::add_default_route(gw, index);
        steps.push((Step::AddRoute, format!("{name} via {gw}"), route));
    }
    let (what, msgs): (Vec<_>, Vec<_>) = steps.into_iter().map(|(s, n, m)| ((s, n), m)).unzip();
    inside.route.requests(msgs).map_err(|(i, e)| {
        let (step, name) = &what[i];
        LinkError::new(*step, name, e)
    })
}

/// Sets `lo` up inside the namespace `netns` (a container with its own namespace but
/// no network endpoint; [`add_veth`] does this itself).
pub fn loopback_up(netns: &Path) -> Result<()> {
    let where_ = netns.display().to_string();
    let ns = File::open(netns).map_err(at(Step::OpenNetns, &where_))?;
    let (inside, ()) = netns::open_while(ns.as_fd(), &where_, || ());
    inside?
        .route
        .request(msg::set_up_by_name("lo"))
        .map_err(at(Step::SetUp, &format!("lo in {where_}")))
}

/// Creates a network namespace with `lo` up, kept alive at `path` (a new file) by a
/// bind mount, as `ip netns add` does; for [`VethRequest::netns`] and the runtime's
/// namespace path. Nothing is left when it fails.
pub fn create_netns(path: &Path) -> Result<()> {
    netns::create_named(path)
}

/// Unmounts and deletes a namespace made by [`create_netns`]. Absent is fine.
pub fn remove_netns(path: &Path) -> Result<()> {
    netns::remove_named(path)
}

/// Deletes link `name` (one end of a veth pair deletes both); absent is fine.
pub fn remove_link(name: &str) -> Result<()> {
    let mut s = Socket::route().map_err(at(Step::OpenNetlink, name))?;
    match s.request(msg::delete_link(name)) {
        Err(e) if is_errno(&e, Errno::ENODEV) => Ok(()),
        other => other.map_err(at(Step::DeleteLink, name)),
    }
}

/// Whether a link called `name` exists in the calling thread's namespace.
pub fn link_exists(name: &str) -> bool {
    index_of(name).is_ok()
}

/// Names of the links (in the calling thread's namespace) that start with `prefix`,
/// sorted; for leak checks and reconciliation after a restart.
pub fn links_with_prefix(prefix: &str) -> Vec<String> {
    let mut out: Vec<String> = nix::net::if_::if_nameindex()
        .map(|all| {
            all.iter()
                .map(|i| i.name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// MTU of the interface of the host's IPv4 default route (the one with the lowest
/// metric); 1500 without one.
pub fn default_route_mtu() -> u32 {
    let routes = routes::read();
    routes::default_dev(&routes)
        .and_then(|dev| std::fs::read_to_string(format!("/sys/class/net/{dev}/mtu")).ok())
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or(1500)
}

/// Destination prefixes of the main routing table, default routes left out: subnets a
/// new network must not overlap.
pub fn host_ipv4_routes() -> Vec<Ipv4Net> {
    routes::read()
        .into_iter()
        .map(|r| r.dst)
        .filter(|d| d.prefix_len() > 0)
        .collect()
}

/// Writes `value` to `/proc/sys/<path>`, e.g. `net/ipv4/conf/br-1a2b/route_localnet`.
/// `path` is relative with `/` separators; `..` is refused.
pub fn set_sysctl(path: &str, value: &str) -> Result<()> {
    if path.starts_with('/') || path.split('/').any(|c| c.is_empty() || c == "..") {
        let e = io::Error::new(io::ErrorKind::InvalidInput, "not a sysctl path");
        return Err(LinkError::new(Step::WriteSysctl, path, e));
    }
    std::fs::write(format!("/proc/sys/{path}"), value).map_err(at(Step::WriteSysctl, path))
}

/// Docker's MAC address for an IPv4 address: `02:42:` (locally administered, unicast)
/// followed by the four address bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// Host end name of an endpoint's `index`-th interface: `veth`, the first 9 ASCII
/// alphanumerics of `id` (berth passes a random endpoint id, fresh for each start, so a
/// pair still being deleted never blocks the next one) and `index` modulo 256 as two hex
/// digits: 15 bytes, the kernel's limit. The same inputs give the same name.
pub fn host_veth_name(id: &str, index: usize) -> String {
    let id: String = id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(9)
        .collect();
    format!("veth{id}{:02x}", index % 256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_macs() {
        assert_eq!(host_veth_name("0123456789abcdef", 0), "veth01234567800");
        assert_eq!(host_veth_name("0123456789abcdef", 17), "veth01234567811");
        assert_eq!(host_veth_name("0123456789abcdef", 256), "veth01234567800");
        assert_eq!(host_veth_name("ab", 1), "vethab01");
        assert!(host_veth_name("ééé/x:ÿ0123456789", 255).len() <= 15);
        assert_eq!(
            mac_for(Ipv4Addr::new(172, 17, 0, 2)),
            [0x02, 0x42, 172, 17, 0, 2]
        );
    }

    #[test]
    fn errors_name_the_step_and_the_link() {
        let e = LinkError::new(
            Step::CreateVeth,
            "veth1a2b3c4d500/eth0",
            io::Error::from_raw_os_error(Errno::EEXIST as i32),
        );
        assert_eq!(
            e.to_string(),
            "create veth veth1a2b3c4d500/eth0: File exists"
        );
        assert_eq!(e.errno(), Some(Errno::EEXIST as i32));
    }

    #[test]
    fn sysctl_paths_stay_under_proc_sys() {
        for bad in ["/etc/passwd", "net/../../etc/x", "", "net//x"] {
            let e = set_sysctl(bad, "1").unwrap_err();
            assert_eq!(e.step, Step::WriteSysctl);
            assert_eq!(e.source.kind(), io::ErrorKind::InvalidInput);
        }
    }
}
