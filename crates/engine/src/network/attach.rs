//! A container joining its networks at start and leaving them at exit.
//!
//! Start runs in three steps: [`Engine::plan_network`] (addresses from the pools, host
//! ports bound, /etc/hosts and resolv.conf written), [`Engine::take_netns`] (a ready
//! network namespace from the pool, which the OCI spec joins) and
//! [`Engine::wire_network`] (veth pairs into that namespace, port-map elements, DNS
//! names: while the shim starts, in parallel). [`Engine::release_network`] undoes all
//! of it and may run any number of times.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_network::link::VethRequest;
use berth_network::ports::Reservation;
use ipnet::Ipv4Net;

use super::manage::parse_mac;
use super::model::{LiveEndpoint, Proto, PublishedPort};
use super::{mac_string, Network, PortReleases};
use crate::container::{Container, ContainerRecord};
use crate::error::{EngineError, Result};
use crate::Engine;

impl Engine {
    /// Addresses, host ports and the container's /etc files for its next start. On
    /// error nothing stays allocated.
    pub(crate) fn plan_network(&self, c: &Container) -> Result<()> {
        self.release_network(c);
        let rec = c.record();
        let mut lives: Vec<(String, Arc<Network>, LiveEndpoint)> = Vec::new();
        let undo = |lives: &[(String, Arc<Network>, LiveEndpoint)]| {
            for (_, net, live) in lives {
                if let Some(pool) = net.pool.lock().expect("pool").as_mut() {
                    pool.release(live.ip);
                }
            }
        };
        for (index, name) in ordered_endpoints(&rec).into_iter().enumerate() {
            let endpoint_id = crate::ids::random_id();
            let ep = &rec.network.endpoints[&name];
            let net = match self.network(&ep.network_id) {
                Ok(n) => n,
                Err(_) => {
                    undo(&lives);
                    return Err(EngineError::not_found(format!("network {name} not found")));
                }
            };
            let (Some(subnet), Some(gateway)) = (net.rec.subnet, net.rec.gateway) else {
                continue;
            };
            let got = match net.pool.lock().expect("pool").as_mut() {
                Some(pool) => pool.allocate(ep.requested_ip),
                None => continue,
            };
            let ip = match got {
                Ok(ip) => ip,
                Err(e) => {
                    undo(&lives);
                    return Err(EngineError::invalid(format!("network {name}: {e}")));
                }
            };
            let live = LiveEndpoint {
                // A fresh veth name per start: the previous run's pair may still be on
                // its way out (deleted in the background, see release_network).
                host_veth: berth_network::link::host_veth_name(&endpoint_id, index),
                endpoint_id,
                ip,
                prefix_len: subnet.prefix_len(),
                gateway,
                mac: ep.requested_mac.clone().unwrap_or_else(|| mac_string(ip)),
                ifname: format!("eth{index}"),
            };
            lives.push((name, net, live));
        }
        let (ports, holds) = match lives.first() {
            Some(_) => match bind_ports(&rec, &self.port_releases) {
                Ok(p) => p,
                Err(e) => {
                    undo(&lives);
                    return Err(e);
                }
            },
            None => (Vec::new(), Vec::new()),
        };
        let primary = lives
            .first()
            .map(|(_, net, live)| (net.rec.clone(), live.ip));
        c.with(|r| {
            for (name, _, live) in &lives {
                if let Some(ep) = r.network.endpoints.get_mut(name) {
                    ep.live = Some(live.clone());
                }
            }
            r.network.ports = ports;
        });
        *c.port_holds.lock().expect("ports") = holds;
        let dir = self.config.container_dir(&rec.id);
        let hosts = self.hosts_file(&rec, primary.as_ref().map(|p| p.1));
        let resolv = self.resolv_conf(&rec, primary.as_ref().map(|p| &p.0));
        for (file, data) in [("hosts", hosts), ("resolv.conf", resolv)] {
            let path = dir.join(file);
            if let Err(e) = std::fs::write(&path, data) {
                self.release_network(c);
                return Err(EngineError::io(path.display(), e));
            }
        }
        Ok(())
    }

    /// Gives the container a network namespace of its own from the pool (`lo` is
    /// already up there) unless it uses the host's or another container's; returns
    /// its path for the OCI spec.
    pub(crate) fn take_netns(&self, c: &Container) -> Result<Option<PathBuf>> {
        let rec = c.record();
        let mode = rec.host_config.network_mode.as_deref().unwrap_or("bridge");
        if mode == "host" || mode.starts_with("container:") {
            return Ok(None);
        }
        let path = match self.netns_pool.get() {
            Some(pool) => pool.take()?,
            None => return Err(EngineError::internal("network namespaces are not set up")),
        };
        c.with(|r| r.network.netns = Some(path.clone()));
        Ok(Some(path))
    }

    /// Plugs the planned endpoints into the container's namespace, publishes the ports
    /// and registers the DNS names.
    pub(crate) fn wire_network(&self, c: &Container) -> Result<()> {
        let rec = c.record();
        if let Some(netns) = &rec.network.netns {
            for name in ordered_endpoints(&rec) {
                self.plug(&rec, &name, netns)?;
            }
        }
        self.relink_dns(c);
        if let (Some(fw), Some(ip)) = (&self.firewall, primary_ip(&rec)) {
            let maps = port_maps(&rec.network.ports, ip);
            if !maps.is_empty() {
                fw.add_ports(&maps)
                    .map_err(|e| EngineError::internal(format!("publish ports: {e}")))?;
            }
        }
        Ok(())
    }

    /// One endpoint's veth pair and DNS names.
    fn plug(&self, rec: &ContainerRecord, name: &str, netns: &Path) -> Result<()> {
        let ep = &rec.network.endpoints[name];
        let Some(live) = &ep.live else { return Ok(()) };
        let net = self.network(&ep.network_id)?;
        let first = ordered_endpoints(rec).first().map(String::as_str) == Some(name);
        let address = Ipv4Net::new(live.ip, live.prefix_len)
            .map_err(|e| EngineError::internal(e.to_string()))?;
        let req = VethRequest {
            netns,
            host_name: &live.host_veth,
            bridge: &net.rec.bridge,
            container_name: &live.ifname,
            address,
            gateway: (first && !net.rec.internal).then_some(live.gateway),
            mac: parse_mac(&live.mac).unwrap_or_else(|| berth_network::link::mac_for(live.ip)),
            mtu: self.mtu(),
            hairpin: true,
        };
        berth_network::link::add_veth(&req).map_err(|e| {
            EngineError::internal(format!(
                "failed to set up container networking on {}: {e}",
                net.rec.name
            ))
        })?;
        if net.rec.has_dns() {
            for n in dns_names(rec, &ep.aliases) {
                net.names.add(&n, live.ip);
            }
        }
        Ok(())
    }

    /// `network connect` on a running container: plan and plug one endpoint.
    pub(crate) fn attach_endpoint_live(&self, c: &Container, name: &str, pid: i64) -> Result<()> {
        let rec = c.record();
        let ep = rec.network.endpoints[name].clone();
        let net = self.network(&ep.network_id)?;
        let (Some(subnet), Some(gateway)) = (net.rec.subnet, net.rec.gateway) else {
            return Ok(());
        };
        let index = rec
            .network
            .endpoints
            .values()
            .filter_map(|e| e.live.as_ref())
            .filter_map(|l| l.ifname.strip_prefix("eth")?.parse::<usize>().ok())
            .max()
            .map_or(0, |m| m + 1);
        let ip = net
            .pool
            .lock()
            .expect("pool")
            .as_mut()
            .ok_or_else(|| EngineError::internal("network without a pool"))?
            .allocate(ep.requested_ip)
            .map_err(|e| EngineError::invalid(format!("network {name}: {e}")))?;
        let endpoint_id = crate::ids::random_id();
        let live = LiveEndpoint {
            host_veth: berth_network::link::host_veth_name(&endpoint_id, index),
            endpoint_id,
            ip,
            prefix_len: subnet.prefix_len(),
            gateway,
            mac: ep.requested_mac.clone().unwrap_or_else(|| mac_string(ip)),
            ifname: format!("eth{index}"),
        };
        c.with(|r| {
            if let Some(e) = r.network.endpoints.get_mut(name) {
                e.live = Some(live.clone());
            }
        });
        let netns = rec
            .network
            .netns
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("/proc/{pid}/ns/net")));
        if let Err(e) = self.plug(&c.record(), name, &netns) {
            self.detach_endpoint(&net, c, &live, false);
            return Err(e);
        }
        self.relink_dns(c);
        Ok(())
    }

    /// Unplugs one endpoint: DNS names, address, veth. With `background`, the veth is
    /// deleted off the caller's path (a veth deletion waits for an RCU grace period,
    /// milliseconds that `run --rm` would otherwise wait for).
    pub(crate) fn detach_endpoint(
        &self,
        net: &Network,
        c: &Container,
        live: &LiveEndpoint,
        background: bool,
    ) {
        net.names.remove_ip(live.ip);
        if let Some(pool) = net.pool.lock().expect("pool").as_mut() {
            pool.release(live.ip);
        }
        remove_veth(&live.host_veth, background);
        c.with(|r| {
            for e in r.network.endpoints.values_mut() {
                if e.live
                    .as_ref()
                    .is_some_and(|l| l.endpoint_id == live.endpoint_id)
                {
                    e.live = None;
                }
            }
        });
        self.relink_dns(c);
    }

    /// Lets the container resolve the names of every user network it is on, whichever
    /// network's DNS server it asks.
    fn relink_dns(&self, c: &Container) {
        let rec = c.record();
        let live: Vec<(std::sync::Arc<Network>, Ipv4Addr)> = rec
            .network
            .endpoints
            .values()
            .filter_map(|e| Some((self.network(&e.network_id).ok()?, e.live.as_ref()?.ip)))
            .filter(|(n, _)| n.rec.has_dns())
            .collect();
        for (net, ip) in &live {
            let others = live
                .iter()
                .filter(|(o, _)| o.rec.id != net.rec.id)
                .map(|(o, _)| o.names.clone())
                .collect();
            net.names.set_links(*ip, others);
        }
    }

    /// Leaves every network: port elements and host ports, DNS names, addresses, veths
    /// (deleted in the background).
    pub(crate) fn release_network(&self, c: &Container) {
        let rec = c.record();
        let holds = std::mem::take(&mut *c.port_holds.lock().expect("ports"));
        if let (Some(fw), Some(ip)) = (&self.firewall, primary_ip(&rec)) {
            let maps = port_maps(&rec.network.ports, ip);
            if !maps.is_empty() {
                // Deleting set elements waits for an RCU grace period (10-20 ms): done in
                // the background, holding the host ports until the elements are gone so
                // no new container can publish them meanwhile (bind_ports waits).
                let (fw, releases) = (fw.clone(), self.port_releases.clone());
                releases.begin();
                let work = move || {
                    let _ = fw.remove_ports(&maps);
                    drop(holds);
                    releases.end();
                };
                if let Err(e) = std::thread::Builder::new()
                    .name("unpublish".into())
                    .spawn(work)
                {
                    eprintln!("berthd: unpublish thread: {e}");
                }
            }
        }
        for ep in rec.network.endpoints.values() {
            let Some(live) = &ep.live else { continue };
            match self.network(&ep.network_id) {
                Ok(net) => self.detach_endpoint(&net, c, live, true),
                Err(_) => remove_veth(&live.host_veth, true),
            }
        }
        let netns = c.with(|r| {
            r.network.ports.clear();
            for e in r.network.endpoints.values_mut() {
                e.live = None;
            }
            r.network.netns.take()
        });
        if let Some(path) = netns {
            // The kernel frees the namespace, and the container ends of its veths, once
            // the container's processes are gone too.
            let work = move || {
                let _ = berth_network::link::remove_netns(&path);
            };
            if let Err(e) = std::thread::Builder::new()
                .name("netns-remove".into())
                .spawn(work)
            {
                eprintln!("berthd: netns removal thread: {e}");
            }
        }
    }

    /// After a daemon restart: take back the addresses, host ports and DNS names of a
    /// container that kept running (its veths and namespace never went away).
    pub(crate) fn restore_network(&self, c: &Container) {
        let rec = c.record();
        for ep in rec.network.endpoints.values() {
            let (Some(live), Ok(net)) = (&ep.live, self.network(&ep.network_id)) else {
                continue;
            };
            if let Some(pool) = net.pool.lock().expect("pool").as_mut() {
                let _ = pool.reserve(live.ip);
            }
            if net.rec.has_dns() {
                for n in dns_names(&rec, &ep.aliases) {
                    net.names.add(&n, live.ip);
                }
            }
        }
        self.relink_dns(c);
        let mut holds = Vec::new();
        for p in &rec.network.ports {
            match Reservation::bind(nft_proto(p.proto), p.host_ip, p.host_port) {
                Ok(r) => holds.push(r),
                Err(e) => eprintln!("berthd: container {}: {e}", rec.id),
            }
        }
        *c.port_holds.lock().expect("ports") = holds;
    }

    /// Docker's /etc/hosts: loopback, the IPv6 names, the container's own address and
    /// hostname, then `--add-host` entries (`host-gateway` is the default bridge's
    /// gateway).
    fn hosts_file(&self, rec: &ContainerRecord, ip: Option<Ipv4Addr>) -> String {
        let mut out = String::from(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
        );
        for h in rec.host_config.extra_hosts.iter().flatten() {
            let Some((name, addr)) = h.split_once('=').or_else(|| h.split_once(':')) else {
                continue;
            };
            let addr = if addr == "host-gateway" {
                self.host_gateway()
                    .map(|g| g.to_string())
                    .unwrap_or_default()
            } else {
                addr.trim_matches(|c| c == '[' || c == ']').to_string()
            };
            out.push_str(&format!("{addr}\t{name}\n"));
        }
        if let Some(ip) = ip {
            out.push_str(&format!("{ip}\t{}\n", rec.hostname()));
        }
        out
    }

    /// The default bridge's gateway (`host-gateway` in `--add-host`).
    pub(crate) fn host_gateway(&self) -> Option<Ipv4Addr> {
        self.network("bridge").ok().and_then(|n| n.rec.gateway)
    }

    /// resolv.conf: on a user network the embedded DNS (the gateway), else the host's
    /// servers; `--dns-search`/`--dns-option` as given.
    fn resolv_conf(&self, rec: &ContainerRecord, primary: Option<&super::NetworkRecord>) -> String {
        let base = crate::container::resolv_conf(&rec.host_config);
        match primary.filter(|n| n.has_dns()).and_then(|n| n.gateway) {
            Some(gw) => {
                let mut out = format!("nameserver {gw}\n");
                for line in base.lines().filter(|l| !l.starts_with("nameserver")) {
                    out.push_str(line);
                    out.push('\n');
                }
                out
            }
            None => base,
        }
    }
}

fn remove_veth(name: &str, background: bool) {
    if background {
        let name = name.to_string();
        let spawned = std::thread::Builder::new()
            .name("veth-delete".into())
            .spawn(move || {
                let _ = berth_network::link::remove_link(&name);
            });
        if spawned.is_ok() {
            return;
        }
    }
    let _ = berth_network::link::remove_link(name);
}

/// The primary network (the network mode's) first, then the rest by name.
pub(crate) fn ordered_endpoints(rec: &ContainerRecord) -> Vec<String> {
    let mode = rec.host_config.network_mode.as_deref().unwrap_or("bridge");
    let mut names: Vec<String> = rec.network.endpoints.keys().cloned().collect();
    if let Some(pos) = names
        .iter()
        .position(|n| n == mode || rec.network.endpoints[n].network_id.starts_with(mode))
    {
        let primary = names.remove(pos);
        names.insert(0, primary);
    }
    names
}

/// The address of the primary endpoint while running.
pub(crate) fn primary_ip(rec: &ContainerRecord) -> Option<Ipv4Addr> {
    ordered_endpoints(rec)
        .first()
        .and_then(|n| rec.network.endpoints[n].live.as_ref())
        .map(|l| l.ip)
}

/// Names a container answers to on a user network: its name, the short id, aliases.
fn dns_names(rec: &ContainerRecord, aliases: &[String]) -> Vec<String> {
    let mut names = vec![rec.name.clone(), rec.id[..12].to_string()];
    names.extend(aliases.iter().cloned());
    names
}

fn nft_proto(p: Proto) -> berth_network::nft::Proto {
    match p {
        Proto::Tcp => berth_network::nft::Proto::Tcp,
        Proto::Udp => berth_network::nft::Proto::Udp,
        Proto::Sctp => berth_network::nft::Proto::Sctp,
    }
}

/// The DNAT elements of `ports` towards `ip`.
pub(crate) fn port_maps(ports: &[PublishedPort], ip: Ipv4Addr) -> Vec<berth_network::nft::PortMap> {
    ports
        .iter()
        .map(|p| berth_network::nft::PortMap {
            proto: nft_proto(p.proto),
            host_ip: p.host_ip,
            host_port: p.host_port,
            container_ip: ip,
            container_port: p.container_port,
        })
        .collect()
}

/// `80/tcp` → (80, tcp).
fn parse_port_key(key: &str) -> Option<(u16, Proto)> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    Some((port.parse().ok()?, Proto::parse(proto)?))
}

/// Binds every published port (`PortBindings`, and with `-P` every exposed port
/// without one), returning what was bound and the sockets that hold the ports.
fn bind_ports(
    rec: &ContainerRecord,
    releases: &PortReleases,
) -> Result<(Vec<PublishedPort>, Vec<Reservation>)> {
    let mut wanted: Vec<(u16, Proto, Option<Ipv4Addr>, u16, u16)> = Vec::new();
    let bindings = rec.host_config.port_bindings.clone().unwrap_or_default();
    let mut keys: Vec<&String> = bindings.keys().collect();
    keys.sort();
    for key in keys {
        let (port, proto) = parse_port_key(key)
            .ok_or_else(|| EngineError::invalid(format!("invalid port specification: {key:?}")))?;
        for b in bindings[key].iter().flatten() {
            let host_ip = match b.host_ip.as_deref().unwrap_or("") {
                "" | "0.0.0.0" => None,
                ip => match ip.parse::<std::net::IpAddr>() {
                    Ok(std::net::IpAddr::V4(v4)) => Some(v4),
                    // IPv6 host addresses: berth networks are IPv4-only for now.
                    Ok(std::net::IpAddr::V6(_)) => continue,
                    Err(_) => {
                        return Err(EngineError::invalid(format!(
                            "invalid host IP address for port {key}: {ip}"
                        )))
                    }
                },
            };
            let hp = b.host_port.as_deref().unwrap_or("");
            let (lo, hi) = match hp.split_once('-') {
                Some((a, b)) => (a.parse().unwrap_or(0), b.parse().unwrap_or(0)),
                None => {
                    let p = hp.parse().unwrap_or(0);
                    (p, p)
                }
            };
            wanted.push((port, proto, host_ip, lo, hi));
        }
    }
    if rec.host_config.publish_all_ports.unwrap_or(false) {
        let mut exposed: Vec<&String> = rec
            .config
            .exposed_ports
            .iter()
            .flatten()
            .map(|(k, _)| k)
            .collect();
        exposed.sort();
        for key in exposed {
            if bindings
                .get(key)
                .is_some_and(|b| b.as_ref().is_some_and(|v| !v.is_empty()))
            {
                continue;
            }
            if let Some((port, proto)) = parse_port_key(key) {
                wanted.push((port, proto, None, 0, 0));
            }
        }
    }
    let mut ports = Vec::new();
    let mut holds = Vec::new();
    for (port, proto, host_ip, lo, hi) in wanted {
        let mut last_err = None;
        let mut bound = None;
        for attempt in 0..2 {
            for candidate in lo..=hi.max(lo) {
                match Reservation::bind(nft_proto(proto), host_ip, candidate) {
                    Ok(r) => {
                        bound = Some(r);
                        break;
                    }
                    Err(e) => last_err = Some(e),
                }
            }
            // A container that just exited may still hold the port while its DNAT
            // elements go: wait for that once, then try again.
            if bound.is_some() || attempt == 1 || !releases.wait_idle() {
                break;
            }
        }
        let Some(r) = bound else {
            let e = last_err.map(|e| e.to_string()).unwrap_or_default();
            return Err(EngineError::internal(format!(
                "driver failed programming external connectivity on endpoint {} ({}): {e}",
                rec.name, rec.id
            )));
        };
        ports.push(PublishedPort {
            proto,
            container_port: port,
            host_ip,
            host_port: r.port(),
        });
        holds.push(r);
    }
    Ok((ports, holds))
}
