//! Container networking for berth: bridges and veth pairs over netlink ([`link`]),
//! address management ([`ipam`]), NAT and published ports in berth's own nftables
//! table ([`nft`], [`ports`]), and the embedded DNS server of user networks ([`dns`]).
//!
//! Nothing on a container's start path runs a process: links, addresses, routes and
//! port-map elements go through netlink. Only whole-table rule changes (daemon start,
//! network create/remove) use `nft -f`.

pub mod dns;
pub mod ipam;
pub mod link;
mod netlink;
pub mod nft;
pub mod ports;
