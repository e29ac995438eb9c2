//! rtnetlink requests (rtnetlink(7), `linux/if_link.h`, `linux/veth.h`): pure builders of
//! the few messages the parent module sends. Every request asks for an ACK so that the
//! kernel's answer (0 or -errno) comes back on the same socket.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, BorrowedFd};

use ipnet::Ipv4Net;

use crate::netlink::{Msg, F_ACK, F_CREATE, F_EXCL, F_REQUEST};

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;

const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const IFF_UP: u32 = 1;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_NUM_TX_QUEUES: u16 = 31;
const IFLA_NUM_RX_QUEUES: u16 = 32;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_INFO_SLAVE_DATA: u16 = 5;
const VETH_INFO_PEER: u16 = 1;
const IFLA_BRPORT_MODE: u16 = 4;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;

const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RTN_UNICAST: u8 = 1;

/// `struct ifinfomsg` for link `index` (0: chosen by name), set up if `up`.
fn ifinfo(index: u32, up: bool) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[0] = AF_UNSPEC;
    b[4..8].copy_from_slice(&index.to_ne_bytes());
    if up {
        b[8..12].copy_from_slice(&IFF_UP.to_ne_bytes());
        b[12..16].copy_from_slice(&IFF_UP.to_ne_bytes());
    }
    b
}

/// Creates bridge `name`, up, with a fixed MAC (so the bridge does not take on the
/// lowest MAC of its ports, which would change as containers come and go).
pub(super) fn new_bridge(name: &str, mtu: u32, mac: [u8; 6]) -> Msg {
    let mut m = Msg::new(
        RTM_NEWLINK,
        F_REQUEST | F_ACK | F_CREATE | F_EXCL,
        &ifinfo(0, true),
    );
    m.attr_str(IFLA_IFNAME, name)
        .attr_u32(IFLA_MTU, mtu)
        .attr(IFLA_ADDRESS, &mac);
    m.begin(IFLA_LINKINFO)
        .attr_str(IFLA_INFO_KIND, "bridge")
        .end();
    m
}

/// What [`new_veth`] creates.
pub(super) struct Veth<'a> {
    /// Host end: created up, enslaved to `master`.
    pub host: &'a str,
    /// Bridge index.
    pub master: u32,
    /// Container end, created directly in `netns` (down: a veth end cannot come up
    /// before its peer exists, the kernel answers ENOTCONN).
    pub peer: &'a str,
    pub peer_mac: [u8; 6],
    pub netns: BorrowedFd<'a>,
    pub mtu: u32,
}

/// Creates a veth pair. Each end gets one rx and one tx queue: by default the kernel
/// allocates one of each per possible CPU, with their sysfs entries, although only one
/// is used (measured here: 64 queues per end add about 0.7 ms to a pair's creation).
pub(super) fn new_veth(v: &Veth) -> Msg {
    let mut m = Msg::new(
        RTM_NEWLINK,
        F_REQUEST | F_ACK | F_CREATE | F_EXCL,
        &ifinfo(0, true),
    );
    m.attr_str(IFLA_IFNAME, v.host)
        .attr_u32(IFLA_MTU, v.mtu)
        .attr_u32(IFLA_MASTER, v.master)
        .attr_u32(IFLA_NUM_TX_QUEUES, 1)
        .attr_u32(IFLA_NUM_RX_QUEUES, 1);
    m.begin(IFLA_LINKINFO).attr_str(IFLA_INFO_KIND, "veth");
    m.begin(IFLA_INFO_DATA).begin(VETH_INFO_PEER);
    // The peer: its own `struct ifinfomsg`, then its attributes.
    m.raw(&ifinfo(0, false));
    let fd = u32::try_from(v.netns.as_raw_fd()).expect("an open fd is not negative");
    m.attr_str(IFLA_IFNAME, v.peer)
        .attr_u32(IFLA_MTU, v.mtu)
        .attr(IFLA_ADDRESS, &v.peer_mac)
        .attr_u32(IFLA_NET_NS_FD, fd)
        .attr_u32(IFLA_NUM_TX_QUEUES, 1)
        .attr_u32(IFLA_NUM_RX_QUEUES, 1);
    m.end().end().end();
    m
}

/// Sets hairpin mode of bridge port `name` (`IFLA_BRPORT_MODE`, the netlink form of
/// `/sys/class/net/<name>/brport/hairpin_mode`).
pub(super) fn set_hairpin(name: &str, on: bool) -> Msg {
    let mut m = Msg::new(RTM_NEWLINK, F_REQUEST | F_ACK, &ifinfo(0, false));
    m.attr_str(IFLA_IFNAME, name);
    m.begin(IFLA_LINKINFO)
        .begin(IFLA_INFO_SLAVE_DATA)
        .attr(IFLA_BRPORT_MODE, &[u8::from(on)])
        .end()
        .end();
    m
}

/// Sets link `index` up.
pub(super) fn set_up(index: u32) -> Msg {
    Msg::new(RTM_NEWLINK, F_REQUEST | F_ACK, &ifinfo(index, true))
}

/// Sets link `name` up.
pub(super) fn set_up_by_name(name: &str) -> Msg {
    let mut m = Msg::new(RTM_NEWLINK, F_REQUEST | F_ACK, &ifinfo(0, true));
    m.attr_str(IFLA_IFNAME, name);
    m
}

/// Deletes link `name` (for a veth: both ends).
pub(super) fn delete_link(name: &str) -> Msg {
    let mut m = Msg::new(RTM_DELLINK, F_REQUEST | F_ACK, &ifinfo(0, false));
    m.attr_str(IFLA_IFNAME, name);
    m
}

/// Adds `addr` (address and prefix) to link `index`; EEXIST if it is there already.
pub(super) fn add_address(index: u32, addr: Ipv4Net) -> Msg {
    // `struct ifaddrmsg`: family, prefix length, flags, scope, index.
    let mut fixed = [0u8; 8];
    fixed[0] = AF_INET;
    fixed[1] = addr.prefix_len();
    fixed[4..8].copy_from_slice(&index.to_ne_bytes());
    let mut m = Msg::new(RTM_NEWADDR, F_REQUEST | F_ACK | F_CREATE | F_EXCL, &fixed);
    m.attr(IFA_LOCAL, &addr.addr().octets())
        .attr(IFA_ADDRESS, &addr.addr().octets());
    if addr.prefix_len() < 31 {
        m.attr(IFA_BROADCAST, &addr.broadcast().octets());
    }
    m
}

/// Adds the IPv4 default route via `gateway` on link `index` to the main table.
pub(super) fn add_default_route(gateway: Ipv4Addr, index: u32) -> Msg {
    // `struct rtmsg`: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
    let mut fixed = [0u8; 12];
    fixed[0] = AF_INET;
    fixed[4] = RT_TABLE_MAIN;
    fixed[5] = RTPROT_BOOT;
    fixed[6] = RT_SCOPE_UNIVERSE;
    fixed[7] = RTN_UNICAST;
    let mut m = Msg::new(RTM_NEWROUTE, F_REQUEST | F_ACK | F_CREATE | F_EXCL, &fixed);
    m.attr(RTA_GATEWAY, &gateway.octets())
        .attr_u32(RTA_OIF, index);
    m
}
