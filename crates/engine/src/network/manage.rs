//! `network create/rm/prune/connect/disconnect` and the network part of container create.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use bollard_stubs::models::{EndpointSettings, HostConfig, NetworkingConfig};
use ipnet::Ipv4Net;

use super::model::{Driver, Endpoint, NetState, NetworkRecord};
use super::Network;
use crate::container::Container;
use crate::error::{EngineError, ErrorKind, Result};
use crate::store::Table;
use crate::Engine;

/// The body of `POST /networks/create`.
pub type NetworkCreate = bollard_stubs::models::NetworkCreateRequest;

/// Names the bridge driver accepts as `--opt`/`-o` (moby bridge driver options); others
/// are stored and shown, as Docker does.
const BRIDGE_NAME_OPT: &str = "com.docker.network.bridge.name";

impl Engine {
    /// Creates a user-defined bridge network; returns its id.
    pub async fn create_network(&self, req: NetworkCreate) -> Result<String> {
        let rec = self.new_network_record(req)?;
        self.make_bridge(&rec)?;
        let net = match Network::new(rec.clone()) {
            Ok(n) => Arc::new(n),
            Err(e) => {
                let _ = berth_network::link::remove_link(&rec.bridge);
                return Err(e);
            }
        };
        self.networks.write().expect("networks").push(net.clone());
        let undo = |engine: &Engine| {
            engine
                .networks
                .write()
                .expect("networks")
                .retain(|n| n.rec.id != rec.id);
            let _ = berth_network::link::remove_link(&rec.bridge);
        };
        if let Err(e) = self.sync_firewall() {
            undo(self);
            let _ = self.sync_firewall();
            return Err(e);
        }
        if let Err(e) = self.start_dns(&net).await {
            undo(self);
            let _ = self.sync_firewall();
            return Err(e);
        }
        self.persist_network(&rec)?;
        self.network_event(&rec, "create", &[]);
        Ok(rec.id)
    }

    /// Validates a create request and picks what the user left open.
    fn new_network_record(&self, req: NetworkCreate) -> Result<NetworkRecord> {
        let name = req.name.trim().to_string();
        if name.is_empty() || !crate::ids::valid_name(&name) {
            return Err(EngineError::invalid(format!(
                "invalid network name \"{name}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if self.all_networks().iter().any(|n| n.rec.name == name) {
            return Err(EngineError::conflict(format!(
                "network with name {name} already exists"
            )));
        }
        match req.driver.as_deref().unwrap_or("") {
            "" | "bridge" => {}
            d @ ("host" | "null") => {
                return Err(EngineError::new(
                    ErrorKind::Forbidden,
                    format!("only one instance of \"{d}\" network is allowed"),
                ))
            }
            d => {
                return Err(EngineError::not_found(format!(
                    "plugin \"{d}\" not found: berth supports only the bridge driver"
                )))
            }
        }
        if req.enable_ipv6.unwrap_or(false) {
            return Err(EngineError::invalid(
                "IPv6 networks are not supported by berth yet (EnableIPv6)",
            ));
        }
        let ipam = req.ipam.clone().unwrap_or_default();
        if let Some(d) = ipam
            .driver
            .as_deref()
            .filter(|d| !d.is_empty() && *d != "default")
        {
            return Err(EngineError::not_found(format!(
                "plugin \"{d}\" not found: berth supports only the default IPAM driver"
            )));
        }
        let configs = ipam.config.unwrap_or_default();
        let mut v4 = Vec::new();
        for cfg in &configs {
            let Some(subnet) = cfg.subnet.as_deref().filter(|s| !s.is_empty()) else {
                if cfg.ip_range.is_some() || cfg.gateway.is_some() {
                    return Err(EngineError::invalid(
                        "invalid pool request: a subnet is required with ip-range or gateway",
                    ));
                }
                continue;
            };
            if subnet.contains(':') {
                return Err(EngineError::invalid(format!(
                    "IPv6 subnets are not supported by berth yet: {subnet}"
                )));
            }
            v4.push(cfg.clone());
        }
        if v4.len() > 1 {
            return Err(EngineError::invalid(
                "berth bridge networks take one IPv4 subnet",
            ));
        }
        let taken: Vec<Ipv4Net> = self
            .all_networks()
            .iter()
            .filter_map(|n| n.rec.subnet)
            .collect();
        let (subnet, ip_range, gateway, user_ipam) = match v4.first() {
            Some(cfg) => {
                let s = cfg.subnet.as_deref().unwrap_or_default();
                let subnet: Ipv4Net = s
                    .parse()
                    .map_err(|_| EngineError::invalid(format!("invalid CIDR address: {s}")))?;
                let subnet = subnet.trunc();
                if taken
                    .iter()
                    .any(|t| berth_network::ipam::overlaps(*t, subnet))
                {
                    return Err(EngineError::new(
                        ErrorKind::Forbidden,
                        "Pool overlaps with other one on this address space",
                    ));
                }
                let range =
                    match cfg.ip_range.as_deref().filter(|r| !r.is_empty()) {
                        Some(r) => Some(r.parse::<Ipv4Net>().map_err(|_| {
                            EngineError::invalid(format!("invalid CIDR address: {r}"))
                        })?),
                        None => None,
                    };
                let gw = match cfg.gateway.as_deref().filter(|g| !g.is_empty()) {
                    Some(g) => Some(g.parse::<Ipv4Addr>().map_err(|_| {
                        EngineError::invalid(format!("invalid gateway address: {g}"))
                    })?),
                    None => None,
                };
                (subnet, range, gw, true)
            }
            None => {
                let mut avoid = taken.clone();
                avoid.extend(berth_network::link::host_ipv4_routes());
                let subnet = self.pick_pool_subnet(&avoid).ok_or_else(|| {
                    EngineError::new(
                        ErrorKind::Forbidden,
                        "all predefined address pools have been fully subnetted",
                    )
                })?;
                (subnet, None, None, false)
            }
        };
        // Pool::new checks range and gateway against the subnet, with Docker's texts.
        let pool = berth_network::ipam::Pool::new(subnet, ip_range, gateway)
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        let id = crate::ids::random_id();
        let options = req.options.clone().unwrap_or_default();
        let bridge = match options.get(BRIDGE_NAME_OPT).filter(|b| !b.is_empty()) {
            Some(b) => {
                if b.len() > 15
                    || !b
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
                {
                    return Err(EngineError::invalid(format!(
                        "invalid bridge name {b:?}: at most 15 of [a-zA-Z0-9_.-]"
                    )));
                }
                if self.all_networks().iter().any(|n| &n.rec.bridge == b)
                    || berth_network::link::link_exists(b)
                {
                    return Err(EngineError::conflict(format!(
                        "bridge name {b} is already in use"
                    )));
                }
                b.clone()
            }
            None => format!("br-{}", &id[..12]),
        };
        Ok(NetworkRecord {
            id,
            name,
            created: crate::time::now_nanos(),
            driver: Driver::Bridge,
            predefined: false,
            subnet: Some(subnet),
            gateway: Some(pool.gateway()),
            ip_range,
            user_ipam,
            internal: req.internal.unwrap_or(false),
            attachable: req.attachable.unwrap_or(false),
            bridge,
            labels: req.labels.clone().unwrap_or_default(),
            options,
        })
    }

    /// The first free subnet of `--default-address-pools` (Docker's pools by default).
    fn pick_pool_subnet(&self, avoid: &[Ipv4Net]) -> Option<Ipv4Net> {
        if self.config.net.address_pools.is_empty() {
            return berth_network::ipam::pick_subnet(avoid);
        }
        for (base, size) in &self.config.net.address_pools {
            if let Ok(subnets) = base.subnets(*size) {
                for s in subnets {
                    if !avoid.iter().any(|a| berth_network::ipam::overlaps(*a, s)) {
                        return Some(s);
                    }
                }
            }
        }
        None
    }

    /// `DELETE /networks/{id}`.
    pub fn remove_network(&self, name_or_id: &str) -> Result<()> {
        let net = self.network(name_or_id)?;
        if net.rec.predefined {
            return Err(EngineError::new(
                ErrorKind::Forbidden,
                format!(
                    "{} is a pre-defined network and cannot be removed",
                    net.rec.name
                ),
            ));
        }
        if !self.live_endpoints(&net).is_empty() {
            return Err(EngineError::new(
                ErrorKind::Forbidden,
                format!(
                    "error while removing network: network {} id {} has active endpoints",
                    net.rec.name, net.rec.id
                ),
            ));
        }
        net.dns.lock().expect("dns").take();
        self.networks
            .write()
            .expect("networks")
            .retain(|n| n.rec.id != net.rec.id);
        let fw = self.sync_firewall();
        let _ = berth_network::link::remove_link(&net.rec.bridge);
        self.store.delete_in(Table::Networks, &net.rec.id)?;
        self.network_event(&net.rec, "destroy", &[]);
        fw
    }

    /// `POST /networks/prune`: user networks no running container uses.
    pub fn prune_networks(&self, keep: impl Fn(&NetworkRecord) -> bool) -> Result<Vec<String>> {
        let mut deleted = Vec::new();
        for net in self.all_networks() {
            if net.rec.predefined || keep(&net.rec) || !self.live_endpoints(&net).is_empty() {
                continue;
            }
            if self.remove_network(&net.rec.id).is_ok() {
                deleted.push(net.rec.name.clone());
            }
        }
        Ok(deleted)
    }

    /// Running containers with an address on `net`.
    pub(crate) fn live_endpoints(&self, net: &Network) -> Vec<Arc<Container>> {
        self.all_containers()
            .into_iter()
            .filter(|c| {
                c.with(|r| {
                    r.network
                        .endpoints
                        .values()
                        .any(|e| e.network_id == net.rec.id && e.live.is_some())
                })
            })
            .collect()
    }

    /// `POST /networks/{id}/connect`.
    pub async fn connect_network(
        &self,
        network: &str,
        container: &str,
        settings: Option<EndpointSettings>,
    ) -> Result<()> {
        let net = self.network(network)?;
        let c = self.container(container)?;
        let _op = c.op.lock().await;
        let rec = c.record();
        let mode = rec.host_config.network_mode.as_deref().unwrap_or("bridge");
        if mode == "host" || mode.starts_with("container:") || net.rec.driver == Driver::Host {
            return Err(EngineError::new(
                ErrorKind::Forbidden,
                "container cannot be disconnected from host network or connected to host network",
            ));
        }
        if mode == "none" || net.rec.driver == Driver::Null {
            return Err(EngineError::new(
                ErrorKind::Forbidden,
                "container cannot be connected to multiple networks with one of the networks in private (none) mode",
            ));
        }
        if rec.network.endpoints.contains_key(&net.rec.name) {
            return Err(EngineError::new(
                ErrorKind::Forbidden,
                format!(
                    "endpoint with name {} already exists in network {}",
                    rec.name, net.rec.name
                ),
            ));
        }
        let ep = endpoint_from(&net, settings.as_ref())?;
        c.with(|r| r.network.endpoints.insert(net.rec.name.clone(), ep.clone()));
        if rec.state.status.is_alive() {
            if let Err(e) = self.attach_endpoint_live(&c, &net.rec.name, rec.state.pid) {
                c.with(|r| r.network.endpoints.remove(&net.rec.name));
                return Err(e);
            }
        }
        self.persist_container(&c)?;
        self.network_event(&net.rec, "connect", &[("container", c.id.clone())]);
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn disconnect_network(
        &self,
        network: &str,
        container: &str,
        force: bool,
    ) -> Result<()> {
        let net = self.network(network)?;
        let c = match self.container(container) {
            Ok(c) => c,
            Err(e) if force => {
                let _ = e;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let _op = c.op.lock().await;
        let rec = c.record();
        if net.rec.driver == Driver::Host {
            return Err(EngineError::new(
                ErrorKind::Forbidden,
                "container cannot be disconnected from host network or connected to host network",
            ));
        }
        let Some(ep) = rec.network.endpoints.get(&net.rec.name).cloned() else {
            return Err(EngineError::new(
                ErrorKind::Forbidden,
                format!(
                    "container {} is not connected to network {}",
                    rec.id, net.rec.name
                ),
            ));
        };
        if let Some(live) = &ep.live {
            self.detach_endpoint(&net, &c, live, false);
        }
        c.with(|r| r.network.endpoints.remove(&net.rec.name));
        self.persist_container(&c)?;
        self.network_event(&net.rec, "disconnect", &[("container", c.id.clone())]);
        Ok(())
    }

    /// The endpoints a new container asks for: its network mode's network plus
    /// `NetworkingConfig.EndpointsConfig`, checked the way Docker checks them.
    pub(crate) fn plan_endpoints(
        &self,
        host: &HostConfig,
        networking: Option<&NetworkingConfig>,
    ) -> Result<NetState> {
        let mode = host.network_mode.as_deref().unwrap_or("bridge");
        let mode = if mode.is_empty() || mode == "default" {
            "bridge"
        } else {
            mode
        };
        let configs = networking
            .and_then(|n| n.endpoints_config.clone())
            .unwrap_or_default();
        let mut state = NetState::default();
        if mode == "host" || mode == "none" || mode.starts_with("container:") {
            return Ok(state);
        }
        // Not 404: the docker CLI answers a 404 from create by pulling the image.
        let as_invalid = |e: EngineError| match e.kind {
            ErrorKind::NotFound => EngineError::invalid(e.message),
            _ => e,
        };
        let primary = self.network(mode).map_err(as_invalid)?;
        let mut wanted: BTreeMap<String, (Arc<Network>, Option<EndpointSettings>)> =
            BTreeMap::new();
        wanted.insert(primary.rec.name.clone(), (primary.clone(), None));
        for (name, settings) in configs {
            // The stock CLI sends an (often empty) endpoint named `default` for the
            // network mode's network (moby maps it the same way).
            let net = if name == "default" {
                primary.clone()
            } else {
                self.network(&name).map_err(as_invalid)?
            };
            if net.rec.driver != Driver::Bridge {
                return Err(EngineError::invalid(format!(
                    "container cannot be connected to network {} and {}",
                    primary.rec.name, net.rec.name
                )));
            }
            wanted.insert(net.rec.name.clone(), (net, Some(settings)));
        }
        for (name, (net, settings)) in wanted {
            state
                .endpoints
                .insert(name, endpoint_from(&net, settings.as_ref())?);
        }
        Ok(state)
    }

    /// Publishes a network event (`create`, `destroy`, `connect`, `disconnect`).
    pub(crate) fn network_event(
        &self,
        rec: &NetworkRecord,
        action: &str,
        extra: &[(&str, String)],
    ) {
        let mut attrs = BTreeMap::new();
        attrs.insert("name".to_string(), rec.name.clone());
        attrs.insert("type".to_string(), rec.driver.as_str().to_string());
        for (k, v) in extra {
            attrs.insert((*k).to_string(), v.clone());
        }
        self.events
            .publish("network", action, rec.id.clone(), attrs);
    }
}

/// An endpoint request checked against its network (Docker's texts).
fn endpoint_from(net: &Network, settings: Option<&EndpointSettings>) -> Result<Endpoint> {
    let mut ep = Endpoint {
        network_id: net.rec.id.clone(),
        ..Default::default()
    };
    let Some(s) = settings else {
        return Ok(ep);
    };
    let user_net = !net.rec.predefined;
    let requested = s
        .ipam_config
        .as_ref()
        .and_then(|c| c.ipv4_address.as_deref())
        .filter(|a| !a.is_empty());
    if let Some(ip) = requested {
        if !user_net {
            return Err(EngineError::invalid(
                "user specified IP address is supported on user defined networks only",
            ));
        }
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|_| EngineError::invalid(format!("invalid IPv4 address: {ip}")))?;
        // The ip-range limits automatic addresses only; a chosen one may be anywhere in
        // the subnet (as Docker).
        if !net.rec.subnet.is_some_and(|s| s.contains(&ip)) {
            return Err(EngineError::invalid(format!(
                "no configured subnet or ip-range contain the IP address {ip}"
            )));
        }
        ep.requested_ip = Some(ip);
    }
    let aliases: Vec<String> = s.aliases.clone().unwrap_or_default();
    if !aliases.is_empty() && !user_net {
        return Err(EngineError::invalid(
            "network-scoped alias is supported only for containers in user defined networks",
        ));
    }
    ep.aliases = aliases;
    ep.requested_mac = s.mac_address.clone().filter(|m| !m.is_empty());
    if let Some(mac) = &ep.requested_mac {
        if parse_mac(mac).is_none() {
            return Err(EngineError::invalid(format!("invalid MAC address: {mac}")));
        }
    }
    Ok(ep)
}

/// `aa:bb:cc:dd:ee:ff`.
pub(crate) fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in out.iter_mut() {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}
