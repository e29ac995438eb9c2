//! Persisted network records and the per-container network state.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// What kind of network a record is (Docker's drivers `bridge`, `host`, `null`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// A Linux bridge with NAT: the default `bridge` and every user network.
    Bridge,
    /// The host's own stack (`--network host`).
    Host,
    /// Only loopback (`--network none`).
    Null,
}

impl Driver {
    /// Docker's driver name.
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Bridge => "bridge",
            Driver::Host => "host",
            Driver::Null => "null",
        }
    }
}

/// A network as stored in `state.db` (table `networks`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkRecord {
    /// 64-hex id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Creation time, Unix ns.
    pub created: i64,
    /// Driver.
    pub driver: Driver,
    /// `bridge`, `host` and `none` come with the daemon and cannot be removed.
    pub predefined: bool,
    /// Bridge networks: the subnet.
    pub subnet: Option<Ipv4Net>,
    /// Bridge networks: the bridge's own address.
    pub gateway: Option<Ipv4Addr>,
    /// Addresses handed to containers come from here (default: the whole subnet).
    pub ip_range: Option<Ipv4Net>,
    /// Whether the user chose the subnet (inspect shows IPAM.Config either way).
    pub user_ipam: bool,
    /// No NAT, no default route, nothing forwarded to or from other interfaces.
    pub internal: bool,
    /// `--attachable` (accepted; every berth network is attachable).
    pub attachable: bool,
    /// Bridge networks: the Linux bridge's name.
    pub bridge: String,
    /// `--label`.
    pub labels: HashMap<String, String>,
    /// `--opt` (driver options).
    pub options: HashMap<String, String>,
}

impl NetworkRecord {
    /// Containers on this network find each other by name (user networks only, as Docker).
    pub fn has_dns(&self) -> bool {
        self.driver == Driver::Bridge && !self.predefined
    }
}

/// One published port as bound on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// `tcp`, `udp` or `sctp`.
    pub proto: Proto,
    /// Port in the container.
    pub container_port: u16,
    /// Host address (None: every address of the host).
    pub host_ip: Option<Ipv4Addr>,
    /// Port on the host (chosen by the kernel when the request left it open).
    pub host_port: u16,
}

/// Transport protocol of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Proto {
    /// Docker's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }

    /// `tcp`/`udp`/`sctp` (case-insensitive).
    pub fn parse(s: &str) -> Option<Proto> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Some(Proto::Tcp),
            "udp" => Some(Proto::Udp),
            "sctp" => Some(Proto::Sctp),
            _ => None,
        }
    }
}

/// A container's membership of one network: what the user asked for, and while the
/// container runs, what it got.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Endpoint {
    /// The network's id.
    pub network_id: String,
    /// Network-scoped aliases (`--network-alias`, `connect --alias`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `--ip`.
    #[serde(default)]
    pub requested_ip: Option<Ipv4Addr>,
    /// `--mac-address`.
    #[serde(default)]
    pub requested_mac: Option<String>,
    /// Set while the container runs.
    #[serde(default)]
    pub live: Option<LiveEndpoint>,
}

/// The address and interface of a running container on one network.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveEndpoint {
    /// 64-hex endpoint id.
    pub endpoint_id: String,
    /// The container's address.
    pub ip: Ipv4Addr,
    /// Prefix length of the subnet.
    pub prefix_len: u8,
    /// The network's gateway.
    pub gateway: Ipv4Addr,
    /// `02:42:…`.
    pub mac: String,
    /// The host end of the veth pair.
    pub host_veth: String,
    /// The interface name in the container (`eth0`, `eth1`, …).
    pub ifname: String,
}

/// A container's networks (by network name) and published ports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NetState {
    /// Network name → endpoint. The primary network (HostConfig.NetworkMode) is one of them.
    #[serde(default)]
    pub endpoints: BTreeMap<String, Endpoint>,
    /// Ports bound on the host while the container runs.
    #[serde(default)]
    pub ports: Vec<PublishedPort>,
    /// The container's own network namespace while it runs (a bind-mounted file under
    /// `<exec-root>/netns/`, see `network/netns.rs`); none for `host` and `container:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<std::path::PathBuf>,
}
