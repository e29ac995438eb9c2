//! Networks as the Docker API shows them: the predefined `bridge`, `host` and `none`,
//! and user-defined bridge networks with their own subnet, NAT and embedded DNS.
//!
//! The kernel work (bridges, veth pairs, nftables, DNS sockets) lives in `berth-network`;
//! this module keeps the records, the address pools and the per-container endpoints,
//! and decides when each piece is made or undone.

mod attach;
mod firewall;
mod manage;
pub mod model;
pub(crate) mod netns;
mod view;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use berth_network::dns::{DnsServer, Records};
use berth_network::ipam::Pool;

pub use manage::NetworkCreate;
pub use model::{Driver, Endpoint, NetState, NetworkRecord, Proto, PublishedPort};
pub(crate) use view::{networks_summary, ports_summary};
pub use view::{EndpointView, PortSummary};

use crate::error::{EngineError, Result};
use crate::store::Table;
use crate::Engine;

/// A network and its live parts.
pub struct Network {
    /// The stored record (never changes after create).
    pub rec: NetworkRecord,
    /// Bridge networks: the address pool.
    pub(crate) pool: Mutex<Option<Pool>>,
    /// Names the embedded DNS answers (user networks).
    pub(crate) names: Arc<Records>,
    /// The embedded DNS server (user networks; listening on the gateway, port 53).
    pub(crate) dns: Mutex<Option<DnsServer>>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("name", &self.rec.name)
            .finish()
    }
}

impl Network {
    fn new(rec: NetworkRecord) -> Result<Network> {
        let pool = match (rec.driver, rec.subnet) {
            (Driver::Bridge, Some(subnet)) => Some(
                Pool::new(subnet, rec.ip_range, rec.gateway)
                    .map_err(|e| EngineError::invalid(e.to_string()))?,
            ),
            _ => None,
        };
        Ok(Network {
            rec,
            pool: Mutex::new(pool),
            names: Records::new(),
            dns: Mutex::new(None),
        })
    }
}

/// Published ports being withdrawn in the background (see `release_network`).
#[derive(Debug, Default)]
pub(crate) struct PortReleases {
    pending: Mutex<usize>,
    idle: std::sync::Condvar,
}

impl PortReleases {
    fn begin(&self) {
        *self.pending.lock().expect("releases") += 1;
    }

    fn end(&self) {
        let mut n = self.pending.lock().expect("releases");
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.idle.notify_all();
        }
    }

    /// Waits (at most 2 s) until no release is running; whether any was.
    fn wait_idle(&self) -> bool {
        let n = self.pending.lock().expect("releases");
        if *n == 0 {
            return false;
        }
        let _ = self
            .idle
            .wait_timeout_while(n, std::time::Duration::from_secs(2), |n| *n > 0);
        true
    }
}

impl Engine {
    /// The network named `name_or_id`: exact id, exact name, then a unique id prefix.
    pub fn network(&self, name_or_id: &str) -> Result<Arc<Network>> {
        let nets = self.networks.read().expect("networks");
        if let Some(n) = nets.iter().find(|n| n.rec.id == name_or_id) {
            return Ok(n.clone());
        }
        if let Some(n) = nets.iter().find(|n| n.rec.name == name_or_id) {
            return Ok(n.clone());
        }
        if !name_or_id.is_empty() && name_or_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            let hits: Vec<_> = nets
                .iter()
                .filter(|n| n.rec.id.starts_with(name_or_id))
                .collect();
            match hits.len() {
                1 => return Ok(hits[0].clone()),
                0 => {}
                n => {
                    return Err(EngineError::invalid(format!(
                        "network {name_or_id} is ambiguous ({n} matches found based on ID prefix)"
                    )))
                }
            }
        }
        Err(EngineError::not_found(format!(
            "network {name_or_id} not found"
        )))
    }

    /// Every network, in creation order.
    pub fn all_networks(&self) -> Vec<Arc<Network>> {
        self.networks.read().expect("networks").clone()
    }

    /// Loads network records, adds the predefined ones and makes every bridge.
    pub(crate) fn open_networks(&self) -> Result<()> {
        let mut recs = Vec::new();
        for (id, bytes) in self.store.all_in(Table::Networks)? {
            match serde_json::from_slice::<NetworkRecord>(&bytes) {
                Ok(rec) => recs.push(rec),
                Err(e) => eprintln!("berthd: skipping unreadable network {id}: {e}"),
            }
        }
        recs.sort_by_key(|r| r.created);
        let default =
            self.default_bridge_record(recs.iter().find(|r| r.predefined && r.name == "bridge"))?;
        let host = predefined("host", Driver::Host, &recs);
        let none = predefined("none", Driver::Null, &recs);
        recs.retain(|r| !r.predefined);
        let mut all = vec![default, host, none];
        all.extend(recs);
        let mut nets = Vec::new();
        for rec in all {
            self.persist_network(&rec)?;
            if rec.driver == Driver::Bridge {
                self.make_bridge(&rec)?;
            }
            nets.push(Arc::new(Network::new(rec)?));
        }
        *self.networks.write().expect("networks") = nets;
        Ok(())
    }

    /// The default bridge: `--bip` if given, else the stored subnet, else the first
    /// default pool that overlaps none of the host's routes.
    fn default_bridge_record(&self, stored: Option<&NetworkRecord>) -> Result<NetworkRecord> {
        let cfg = &self.config.net;
        let (subnet, gateway) = match (cfg.bip, stored.and_then(|s| s.subnet.zip(s.gateway))) {
            (Some(bip), _) => (bip.trunc(), bip.addr()),
            (None, Some((subnet, gw))) if stored.is_some_and(|s| s.bridge == cfg.bridge) => {
                (subnet, gw)
            }
            _ => {
                let taken = berth_network::link::host_ipv4_routes();
                let subnet = berth_network::ipam::pick_subnet(&taken).ok_or_else(|| {
                    EngineError::internal(
                        "no free subnet for the default bridge: pass --bip (e.g. --bip 172.30.0.1/16)",
                    )
                })?;
                let gw = subnet.hosts().next().unwrap_or(subnet.network());
                (subnet, gw)
            }
        };
        Ok(NetworkRecord {
            id: stored
                .map(|s| s.id.clone())
                .unwrap_or_else(crate::ids::random_id),
            name: "bridge".into(),
            created: stored
                .map(|s| s.created)
                .unwrap_or_else(crate::time::now_nanos),
            driver: Driver::Bridge,
            predefined: true,
            subnet: Some(subnet),
            gateway: Some(gateway),
            ip_range: None,
            user_ipam: false,
            internal: false,
            attachable: false,
            bridge: cfg.bridge.clone(),
            labels: Default::default(),
            options: [
                ("com.docker.network.bridge.default_bridge", "true"),
                ("com.docker.network.bridge.enable_icc", "true"),
                ("com.docker.network.bridge.enable_ip_masquerade", "true"),
                ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
                ("com.docker.network.bridge.name", cfg.bridge.as_str()),
                ("com.docker.network.driver.mtu", &self.mtu().to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        })
    }

    /// Creates (or finds) the Linux bridge of `rec`, up, with its gateway address.
    fn make_bridge(&self, rec: &NetworkRecord) -> Result<()> {
        let (Some(subnet), Some(gw)) = (rec.subnet, rec.gateway) else {
            return Ok(());
        };
        let cidr = ipnet::Ipv4Net::new(gw, subnet.prefix_len())
            .map_err(|e| EngineError::internal(e.to_string()))?;
        berth_network::link::ensure_bridge(&rec.bridge, cidr, self.mtu())
            .map_err(|e| EngineError::internal(format!("create bridge {}: {e}", rec.bridge)))?;
        // Published ports answer on 127.0.0.1: DNAT to a container needs the bridge to
        // route loopback-sourced packets (masqueraded on the way out).
        let _ = berth_network::link::set_sysctl(
            &format!("net/ipv4/conf/{}/route_localnet", rec.bridge),
            "1",
        );
        Ok(())
    }

    /// Container interface MTU: `--mtu`, else the host's default route's.
    pub(crate) fn mtu(&self) -> u32 {
        self.config
            .net
            .mtu
            .unwrap_or_else(berth_network::link::default_route_mtu)
    }

    pub(crate) fn persist_network(&self, rec: &NetworkRecord) -> Result<()> {
        let bytes = serde_json::to_vec(rec)
            .map_err(|e| EngineError::internal(format!("encode network: {e}")))?;
        self.store.put_in(Table::Networks, &rec.id, &bytes)
    }

    /// Removes namespace files no running container owns (a crash's leftovers) and
    /// starts making namespaces ahead of time.
    pub(crate) fn open_netns_pool(&self) -> Result<()> {
        let keep = self
            .all_containers()
            .iter()
            .filter_map(|c| c.with(|r| r.network.netns.clone()))
            .collect();
        let pool = netns::NetnsPool::open(&self.config.exec_root.join("netns"), &keep)?;
        let _ = self.netns_pool.set(pool);
        Ok(())
    }

    /// Starts the embedded DNS server of every user network.
    pub(crate) async fn start_dns_servers(&self) {
        for net in self.all_networks() {
            if let Err(e) = self.start_dns(&net).await {
                eprintln!("berthd: {e}");
            }
        }
    }

    /// The embedded DNS server of a user network, on its gateway, port 53.
    pub(crate) async fn start_dns(&self, net: &Network) -> Result<()> {
        let Some(gw) = net.rec.gateway.filter(|_| net.rec.has_dns()) else {
            return Ok(());
        };
        let bind = SocketAddr::new(IpAddr::V4(gw), 53);
        let server = DnsServer::start(bind, net.names.clone(), self.upstream_resolvers())
            .await
            .map_err(|e| EngineError::internal(format!("DNS for network {}: {e}", net.rec.name)))?;
        *net.dns.lock().expect("dns") = Some(server);
        Ok(())
    }

    /// Where the embedded DNS forwards names it does not know: `--dns`, else the host's
    /// resolv.conf nameservers (loopback ones too: berthd runs in the host's stack).
    fn upstream_resolvers(&self) -> Vec<SocketAddr> {
        let mut servers: Vec<IpAddr> = self.config.net.dns.clone();
        if servers.is_empty() {
            let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
            servers = conf
                .lines()
                .filter_map(|l| l.trim().strip_prefix("nameserver"))
                .filter_map(|ip| ip.trim().parse().ok())
                .collect();
        }
        servers
            .into_iter()
            .map(|ip| SocketAddr::new(ip, 53))
            .collect()
    }

    /// On clean shutdown with no container running: delete berth's nftables table and
    /// bridges, so a stopped berthd leaves nothing in the host's network stack. With
    /// running containers (live restore) everything stays.
    pub async fn shutdown_network(&self) {
        for net in self.all_networks() {
            net.dns.lock().expect("dns").take();
        }
        if let Some(pool) = self.netns_pool.get() {
            pool.shutdown();
        }
        let any_alive = self
            .all_containers()
            .iter()
            .any(|c| c.with(|r| r.state.status.is_alive()));
        if any_alive {
            return;
        }
        if let Some(fw) = &self.firewall {
            let _ = fw.remove();
        }
        for net in self.all_networks() {
            if net.rec.driver == Driver::Bridge {
                let _ = berth_network::link::remove_link(&net.rec.bridge);
            }
        }
    }
}

/// The stored record of a predefined `host`/`none` network, or a new one.
fn predefined(name: &str, driver: Driver, stored: &[NetworkRecord]) -> NetworkRecord {
    if let Some(rec) = stored.iter().find(|r| r.predefined && r.name == name) {
        return rec.clone();
    }
    NetworkRecord {
        id: crate::ids::random_id(),
        name: name.into(),
        created: crate::time::now_nanos(),
        driver,
        predefined: true,
        subnet: None,
        gateway: None,
        ip_range: None,
        user_ipam: false,
        internal: false,
        attachable: false,
        bridge: String::new(),
        labels: Default::default(),
        options: Default::default(),
    }
}

/// `02:42:` + the address, Docker's MAC scheme.
pub(crate) fn mac_string(ip: Ipv4Addr) -> String {
    let m = berth_network::link::mac_for(ip);
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
