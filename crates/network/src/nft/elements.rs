//! Published ports as elements of the table's two DNAT maps, encoded for nf_tables
//! (`NFT_MSG_NEWSETELEM` / `NFT_MSG_DELSETELEM`). Pure: builds messages, sends none.
//!
//! Each component of a concatenated key or value sits in its own 32-bit register, so
//! it is padded to 4 bytes: `ipv4_addr` (4, network order), `inet_proto` (1 + 3
//! padding), `inet_service` (2, network order, + 2 padding). The maps are declared by
//! [`super::ruleset`]; the byte layout here must match their `type` lines.

use super::nfnl::Msg;
use super::PortMap;

/// `NFT_MSG_NEWSETELEM`.
const NFT_MSG_NEWSETELEM: u16 = 12;
/// `NFT_MSG_DELSETELEM`.
const NFT_MSG_DELSETELEM: u16 = 14;
/// `NFTA_SET_ELEM_LIST_*`.
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
/// `NFTA_LIST_ELEM`.
const NFTA_LIST_ELEM: u16 = 1;
/// `NFTA_SET_ELEM_KEY` / `_DATA`.
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
/// `NFTA_DATA_VALUE`.
const NFTA_DATA_VALUE: u16 = 1;

/// Map of ports published on every host address: `inet_proto . inet_service`.
pub(super) const MAP_ANY: &str = "ports_any";
/// Map of ports published on one host address: `ipv4_addr . inet_proto . inet_service`.
pub(super) const MAP_ADDR: &str = "ports_addr";

/// Adding or deleting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// `NFT_MSG_NEWSETELEM` without `NLM_F_EXCL`: an identical element is kept, an
    /// element with the same key and another target is refused with `EEXIST`.
    Add,
    /// `NFT_MSG_DELSETELEM`: an absent element is refused with `ENOENT`.
    Delete,
}

/// The map that holds `p`.
pub(super) fn map_of(p: &PortMap) -> &'static str {
    if p.host_ip.is_some() {
        MAP_ADDR
    } else {
        MAP_ANY
    }
}

/// The key of `p`: `[host address .] protocol . host port`.
pub(super) fn key_of(p: &PortMap) -> Vec<u8> {
    let mut k = Vec::with_capacity(12);
    if let Some(ip) = p.host_ip {
        k.extend_from_slice(&ip.octets());
    }
    k.extend_from_slice(&[p.proto.number(), 0, 0, 0]);
    k.extend_from_slice(&padded_port(p.host_port));
    k
}

/// The value of `p`: container address . container port.
pub(super) fn data_of(p: &PortMap) -> [u8; 8] {
    let mut d = [0u8; 8];
    d[..4].copy_from_slice(&p.container_ip.octets());
    d[4..].copy_from_slice(&padded_port(p.container_port));
    d
}

fn padded_port(port: u16) -> [u8; 4] {
    let [hi, lo] = port.to_be_bytes();
    [hi, lo, 0, 0]
}

/// One message changing the element of `p` in `table`.
pub(super) fn element_msg(change: Change, table: &str, p: &PortMap) -> Msg {
    let typ = match change {
        Change::Add => NFT_MSG_NEWSETELEM,
        Change::Delete => NFT_MSG_DELSETELEM,
    };
    let mut m = Msg::new(typ);
    m.attr_str(NFTA_SET_ELEM_LIST_TABLE, table)
        .attr_str(NFTA_SET_ELEM_LIST_SET, map_of(p))
        .begin(NFTA_SET_ELEM_LIST_ELEMENTS)
        .begin(NFTA_LIST_ELEM)
        .begin(NFTA_SET_ELEM_KEY)
        .attr(NFTA_DATA_VALUE, &key_of(p))
        .end();
    if change == Change::Add {
        m.begin(NFTA_SET_ELEM_DATA)
            .attr(NFTA_DATA_VALUE, &data_of(p))
            .end();
    }
    m.end().end();
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nft::Proto;
    use std::net::Ipv4Addr;

    fn port(host_ip: Option<Ipv4Addr>) -> PortMap {
        PortMap {
            proto: Proto::Udp,
            host_ip,
            host_port: 8080,
            container_ip: Ipv4Addr::new(10, 1, 2, 3),
            container_port: 53,
        }
    }

    #[test]
    fn keys_pad_every_component_to_four_bytes() {
        assert_eq!(key_of(&port(None)), [17, 0, 0, 0, 0x1f, 0x90, 0, 0]);
        assert_eq!(
            key_of(&port(Some(Ipv4Addr::LOCALHOST))),
            [127, 0, 0, 1, 17, 0, 0, 0, 0x1f, 0x90, 0, 0]
        );
        assert_eq!(data_of(&port(None)), [10, 1, 2, 3, 0, 53, 0, 0]);
    }

    #[test]
    fn each_port_goes_to_the_map_of_its_key() {
        assert_eq!(map_of(&port(None)), MAP_ANY);
        assert_eq!(map_of(&port(Some(Ipv4Addr::LOCALHOST))), MAP_ADDR);
    }
}
