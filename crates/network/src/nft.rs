//! berth's nftables table: NAT for bridge networks, DNAT maps for published ports,
//! isolation between networks.
//!
//! The rule set changes only when networks change and is written whole with one
//! `nft -f -` transaction (create, delete, recreate: atomic and idempotent). Published
//! ports are elements of two maps, added and removed over netlink in one nf_tables
//! batch each, so a container start never runs a process and never rewrites rules.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;

use crate::netlink::{Msg, Socket, F_ACK, F_CREATE, F_REQUEST};

/// Transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Proto {
    fn number(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::Sctp => 132,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

/// One bridge network's rules.
#[derive(Debug, Clone)]
pub struct NetRules {
    /// The bridge.
    pub bridge: String,
    /// Its subnet.
    pub subnet: Ipv4Net,
    /// No NAT and no forwarding to or from other interfaces.
    pub internal: bool,
}

/// One published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMap {
    /// Protocol.
    pub proto: Proto,
    /// Host address (None: every local address).
    pub host_ip: Option<Ipv4Addr>,
    /// Host port.
    pub host_port: u16,
    /// Container address.
    pub container_ip: Ipv4Addr,
    /// Container port.
    pub container_port: u16,
}

/// A failed firewall change.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    /// `nft -f` refused the rule set.
    #[error("nft: {0}")]
    Nft(String),
    /// A netlink request failed.
    #[error("{op}: {source}")]
    Netlink {
        /// What was attempted.
        op: String,
        /// The kernel's answer.
        #[source]
        source: std::io::Error,
    },
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, NftError>;

/// A table of IPv4 rules owned by one daemon.
#[derive(Debug, Clone)]
pub struct Firewall {
    table: String,
}

const MAP_ANY: &str = "ports_any";
const MAP_ADDR: &str = "ports_addr";

impl Firewall {
    /// The table `ip <table>`.
    pub fn new(table: &str) -> Firewall {
        Firewall {
            table: table.to_string(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Replaces the whole table in one transaction.
    pub fn apply(&self, nets: &[NetRules], ports: &[PortMap]) -> Result<()> {
        let script = format!(
            "table ip {t} {{}}\ndelete table ip {t}\n{}",
            ruleset(&self.table, nets, ports),
            t = self.table
        );
        run_nft(&script)
    }

    /// Deletes the table (absent is fine).
    pub fn remove(&self) -> Result<()> {
        run_nft(&format!(
            "table ip {t} {{}}\ndelete table ip {t}\n",
            t = self.table
        ))
    }

    /// Whether the table exists.
    pub fn exists(&self) -> bool {
        Command::new("nft")
            .args(["list", "table", "ip", &self.table])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Adds DNAT elements for `ports`, all or none.
    pub fn add_ports(&self, ports: &[PortMap]) -> Result<()> {
        self.set_elements(NFT_MSG_NEWSETELEM, ports)
    }

    /// Removes the DNAT elements of `ports` (absent ones are ignored).
    pub fn remove_ports(&self, ports: &[PortMap]) -> Result<()> {
        for p in ports {
            match self.set_elements(NFT_MSG_DELSETELEM, std::slice::from_ref(p)) {
                Err(NftError::Netlink { source, .. })
                    if source.raw_os_error() == Some(libc::ENOENT) => {}
                other => other?,
            }
        }
        Ok(())
    }

    fn set_elements(&self, msg_type: u16, ports: &[PortMap]) -> Result<()> {
        if ports.is_empty() {
            return Ok(());
        }
        let what = if msg_type == NFT_MSG_NEWSETELEM {
            "publish"
        } else {
            "unpublish"
        };
        let describe = || {
            ports
                .iter()
                .map(|p| {
                    format!(
                        "{} {}:{}",
                        p.proto.name(),
                        p.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                        p.host_port
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut msgs = vec![batch_marker(NFNL_MSG_BATCH_BEGIN)];
        for (map, group) in [
            (
                MAP_ANY,
                ports
                    .iter()
                    .filter(|p| p.host_ip.is_none())
                    .collect::<Vec<_>>(),
            ),
            (
                MAP_ADDR,
                ports.iter().filter(|p| p.host_ip.is_some()).collect(),
            ),
        ] {
            if group.is_empty() {
                continue;
            }
            let flags = if msg_type == NFT_MSG_NEWSETELEM {
                F_REQUEST | F_ACK | F_CREATE
            } else {
                F_REQUEST | F_ACK
            };
            let mut m = Msg::new(
                (NFNL_SUBSYS_NFTABLES << 8) | msg_type,
                flags,
                &nfgenmsg(libc::NFPROTO_IPV4 as u8, 0),
            );
            m.attr_str(NFTA_SET_ELEM_LIST_TABLE, &self.table)
                .attr_str(NFTA_SET_ELEM_LIST_SET, map);
            m.begin(NFTA_SET_ELEM_LIST_ELEMENTS);
            for p in group {
                m.begin(NFTA_LIST_ELEM);
                m.begin(NFTA_SET_ELEM_KEY)
                    .attr(NFTA_DATA_VALUE, &key_bytes(p))
                    .end();
                if msg_type == NFT_MSG_NEWSETELEM {
                    m.begin(NFTA_SET_ELEM_DATA)
                        .attr(NFTA_DATA_VALUE, &data_bytes(p))
                        .end();
                }
                m.end();
            }
            m.end();
            msgs.push(m);
        }
        msgs.push(batch_marker(NFNL_MSG_BATCH_END));
        let mut s = Socket::netfilter().map_err(|source| NftError::Netlink {
            op: "open netfilter socket".into(),
            source,
        })?;
        s.batch(msgs).map_err(|source| NftError::Netlink {
            op: format!("{what} {} in table {}", describe(), self.table),
            source,
        })
    }
}

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 16;
const NFNL_MSG_BATCH_END: u16 = 17;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;

/// `struct nfgenmsg`: family, version, resource id (big-endian).
fn nfgenmsg(family: u8, res_id: u16) -> [u8; 4] {
    let r = res_id.to_be_bytes();
    [family, 0, r[0], r[1]]
}

fn batch_marker(typ: u16) -> Msg {
    Msg::new(
        typ,
        F_REQUEST,
        &nfgenmsg(libc::AF_UNSPEC as u8, NFNL_SUBSYS_NFTABLES),
    )
}

/// A map key: each part of a concatenation padded to 4 bytes.
fn key_bytes(p: &PortMap) -> Vec<u8> {
    let mut k = Vec::with_capacity(12);
    if let Some(ip) = p.host_ip {
        k.extend_from_slice(&ip.octets());
    }
    k.extend_from_slice(&[p.proto.number(), 0, 0, 0]);
    let port = p.host_port.to_be_bytes();
    k.extend_from_slice(&[port[0], port[1], 0, 0]);
    k
}

fn data_bytes(p: &PortMap) -> Vec<u8> {
    let mut d = p.container_ip.octets().to_vec();
    let port = p.container_port.to_be_bytes();
    d.extend_from_slice(&[port[0], port[1], 0, 0]);
    d
}

fn run_nft(script: &str) -> Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NftError::Nft(format!("cannot run nft (install nftables): {e}")))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(script.as_bytes())
        .map_err(|e| NftError::Nft(e.to_string()))?;
    let out = child
        .wait_with_output()
        .map_err(|e| NftError::Nft(e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NftError::Nft(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table's text.
pub fn ruleset(table: &str, nets: &[NetRules], ports: &[PortMap]) -> String {
    let element = |p: &PortMap| {
        let key = match p.host_ip {
            Some(ip) => format!("{ip} . {} . {}", p.proto.name(), p.host_port),
            None => format!("{} . {}", p.proto.name(), p.host_port),
        };
        format!("{key} : {} . {}", p.container_ip, p.container_port)
    };
    let elements = |any: bool| {
        let list: Vec<String> = ports
            .iter()
            .filter(|p| p.host_ip.is_none() == any)
            .map(element)
            .collect();
        if list.is_empty() {
            String::new()
        } else {
            format!("\t\telements = {{ {} }}\n", list.join(", "))
        }
    };
    let bridges: Vec<&str> = nets.iter().map(|n| n.bridge.as_str()).collect();
    let mut out = format!("table ip {table} {{\n");
    out.push_str(&format!(
        "\tmap {MAP_ANY} {{\n\t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n{}\t}}\n",
        elements(true)
    ));
    out.push_str(&format!(
        "\tmap {MAP_ADDR} {{\n\t\ttype ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service\n{}\t}}\n",
        elements(false)
    ));
    let dnat = "\t\tmeta l4proto { tcp, udp, sctp } fib daddr type local dnat ip to meta l4proto . th dport map @ports_any\n\
                \t\tmeta l4proto { tcp, udp, sctp } dnat ip to ip daddr . meta l4proto . th dport map @ports_addr\n";
    out.push_str(&format!(
        "\tchain prerouting {{\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n{dnat}\t}}\n"
    ));
    out.push_str(&format!(
        "\tchain output {{\n\t\ttype nat hook output priority -100; policy accept;\n{dnat}\t}}\n"
    ));
    out.push_str(
        "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n",
    );
    if !bridges.is_empty() {
        // Published ports reached from the host's loopback (needs route_localnet on the
        // bridge) and hairpin connections: the container must answer through the host.
        out.push_str(&format!(
            "\t\tip saddr 127.0.0.0/8 oifname {{ {} }} masquerade\n",
            quoted(&bridges)
        ));
    }
    for n in nets {
        // Hairpin and container-to-published-port on one bridge: no iifname here, it
        // is empty when br_netfilter runs the hook from the bridge.
        out.push_str(&format!(
            "\t\toifname \"{b}\" ip saddr {s} ct status dnat masquerade\n",
            b = n.bridge,
            s = n.subnet
        ));
        if !n.internal {
            out.push_str(&format!(
                "\t\tip saddr {} oifname != \"{}\" masquerade\n",
                n.subnet, n.bridge
            ));
        }
    }
    out.push_str("\t}\n");
    out.push_str(
        "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n",
    );
    for n in nets {
        let others: Vec<&str> = bridges.iter().copied().filter(|b| *b != n.bridge).collect();
        if n.internal {
            out.push_str(&format!(
                "\t\tiifname \"{b}\" oifname != \"{b}\" drop\n",
                b = n.bridge
            ));
            out.push_str(&format!(
                "\t\toifname \"{b}\" iifname != \"{b}\" drop\n",
                b = n.bridge
            ));
        } else if !others.is_empty() {
            out.push_str(&format!(
                "\t\tiifname \"{}\" oifname {{ {} }} drop\n",
                n.bridge,
                quoted(&others)
            ));
        }
    }
    out.push_str("\t}\n}\n");
    out
}
