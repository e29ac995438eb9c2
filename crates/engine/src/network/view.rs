//! Networks and container network settings as the Docker API shows them.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::attach::ordered_endpoints;
use super::model::{Endpoint, NetworkRecord};
use super::Network;
use crate::container::ContainerRecord;
use crate::error::{EngineError, Result};
use crate::time::rfc3339;
use crate::Engine;

impl Engine {
    /// `GET /networks/{id}`.
    pub fn inspect_network(&self, name_or_id: &str) -> Result<Value> {
        let net = self.network(name_or_id)?;
        let mut v = network_json(&net.rec);
        let mut containers = Map::new();
        for c in self.live_endpoints(&net) {
            let rec = c.record();
            for ep in rec.network.endpoints.values() {
                let Some(live) = ep.live.as_ref().filter(|_| ep.network_id == net.rec.id) else {
                    continue;
                };
                containers.insert(
                    rec.id.clone(),
                    json!({
                        "Name": rec.name,
                        "EndpointID": live.endpoint_id,
                        "MacAddress": live.mac,
                        "IPv4Address": format!("{}/{}", live.ip, live.prefix_len),
                        "IPv6Address": "",
                    }),
                );
            }
        }
        v["Containers"] = Value::Object(containers);
        Ok(v)
    }

    /// `GET /networks` with Docker's filters (name, id, label, driver, type, dangling).
    pub fn list_networks(&self, filters: &HashMap<String, Vec<String>>) -> Result<Vec<Value>> {
        for key in filters.keys() {
            if !["name", "id", "label", "driver", "type", "dangling", "scope"]
                .contains(&key.as_str())
            {
                return Err(EngineError::invalid(format!("invalid filter '{key}'")));
            }
        }
        if let Some(t) = filters
            .get("type")
            .into_iter()
            .flatten()
            .find(|t| *t != "custom" && *t != "builtin")
        {
            return Err(EngineError::invalid(format!(
                "invalid filter: 'type'='{t}'"
            )));
        }
        let mut out = Vec::new();
        for net in self.all_networks() {
            if self.network_matches(&net, filters)? {
                let mut v = network_json(&net.rec);
                v["Containers"] = json!({});
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Whether `net` passes every filter (values of one key are alternatives).
    pub(crate) fn network_matches(
        &self,
        net: &Network,
        filters: &HashMap<String, Vec<String>>,
    ) -> Result<bool> {
        let rec = &net.rec;
        for (key, values) in filters {
            if values.is_empty() {
                continue;
            }
            let any = |f: &dyn Fn(&str) -> bool| values.iter().any(|v| f(v));
            let ok = match key.as_str() {
                "name" => any(&|v| rec.name.contains(v)),
                "id" => any(&|v| rec.id.starts_with(v)),
                "driver" => any(&|v| rec.driver.as_str() == v),
                "scope" => any(&|v| v == "local"),
                "type" => any(&|v| (v == "builtin") == rec.predefined),
                "label" => any(&|v| match v.split_once('=') {
                    Some((k, want)) => rec.labels.get(k).is_some_and(|have| have == want),
                    None => rec.labels.contains_key(v),
                }),
                "dangling" => {
                    let mut want = None;
                    for v in values {
                        want = Some(match v.as_str() {
                            "true" | "1" => true,
                            "false" | "0" => false,
                            _ => {
                                return Err(EngineError::invalid(format!(
                                    "invalid filter 'dangling={v}'"
                                )))
                            }
                        });
                    }
                    let dangling = !rec.predefined && self.live_endpoints(net).is_empty();
                    want.is_none_or(|w| w == dangling)
                }
                _ => true,
            };
            if !ok {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// `NetworkSettings` of container inspect.
    pub(crate) fn network_settings_json(&self, rec: &ContainerRecord) -> Value {
        let order = ordered_endpoints(rec);
        let primary = order
            .first()
            .and_then(|n| rec.network.endpoints.get(n))
            .and_then(|e| e.live.as_ref());
        let mut nets = Map::new();
        let mode = rec.host_config.network_mode.as_deref().unwrap_or("bridge");
        if rec.network.endpoints.is_empty() && matches!(mode, "host" | "none") {
            if let Ok(net) = self.network(mode) {
                nets.insert(
                    mode.to_string(),
                    endpoint_json(&net.rec.id, &Endpoint::default()),
                );
            }
        }
        for (name, ep) in &rec.network.endpoints {
            nets.insert(name.clone(), endpoint_json(&ep.network_id, ep));
        }
        let on_bridge = order.first().is_some_and(|n| n == "bridge");
        let pick = |f: &dyn Fn(&super::model::LiveEndpoint) -> Value, empty: Value| match primary {
            Some(l) if on_bridge => f(l),
            _ => empty,
        };
        json!({
            "Bridge": "",
            "SandboxID": if rec.state.status.is_alive() { rec.id.clone() } else { String::new() },
            "SandboxKey": if let Some(path) = rec.network.netns.as_ref().filter(|_| rec.state.status.is_alive()) {
                path.display().to_string()
            } else if rec.state.status.is_alive() && rec.state.pid > 0 {
                format!("/proc/{}/ns/net", rec.state.pid)
            } else {
                String::new()
            },
            "HairpinMode": false,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": ports_json(rec),
            "SecondaryIPAddresses": null,
            "SecondaryIPv6Addresses": null,
            "EndpointID": pick(&|l| json!(l.endpoint_id), json!("")),
            "Gateway": pick(&|l| json!(l.gateway.to_string()), json!("")),
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": pick(&|l| json!(l.ip.to_string()), json!("")),
            "IPPrefixLen": pick(&|l| json!(l.prefix_len), json!(0)),
            "IPv6Gateway": "",
            "MacAddress": pick(&|l| json!(l.mac), json!("")),
            "Networks": nets,
        })
    }
}

/// One network's JSON, `Containers` left to the caller.
fn network_json(rec: &NetworkRecord) -> Value {
    let config: Vec<Value> = match (rec.subnet, rec.gateway) {
        (Some(subnet), Some(gw)) => {
            let mut c = json!({"Subnet": subnet.to_string(), "Gateway": gw.to_string()});
            if let Some(r) = rec.ip_range {
                c["IPRange"] = json!(r.to_string());
            }
            vec![c]
        }
        _ => Vec::new(),
    };
    json!({
        "Name": rec.name,
        "Id": rec.id,
        "Created": rfc3339(rec.created),
        "Scope": "local",
        "Driver": rec.driver.as_str(),
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Options": if rec.predefined { Value::Null } else { json!({}) }, "Config": config},
        "Internal": rec.internal,
        "Attachable": rec.attachable,
        "Ingress": false,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": false,
        "Containers": {},
        "Options": rec.options,
        "Labels": rec.labels,
    })
}

/// Docker's EndpointSettings, typed so `ps` rows serialise without building maps.
#[derive(Debug, serde::Serialize)]
pub struct EndpointView {
    #[serde(rename = "IPAMConfig")]
    ipam_config: Option<Value>,
    #[serde(rename = "Links")]
    links: Option<()>,
    #[serde(rename = "Aliases")]
    aliases: Option<Vec<String>>,
    #[serde(rename = "MacAddress")]
    mac_address: String,
    #[serde(rename = "DriverOpts")]
    driver_opts: Option<()>,
    #[serde(rename = "NetworkID")]
    network_id: String,
    #[serde(rename = "EndpointID")]
    endpoint_id: String,
    #[serde(rename = "Gateway")]
    gateway: String,
    #[serde(rename = "IPAddress")]
    ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    ip_prefix_len: u8,
    #[serde(rename = "IPv6Gateway")]
    ipv6_gateway: &'static str,
    #[serde(rename = "GlobalIPv6Address")]
    global_ipv6_address: &'static str,
    #[serde(rename = "GlobalIPv6PrefixLen")]
    global_ipv6_prefix_len: u8,
    #[serde(rename = "DNSNames")]
    dns_names: Option<()>,
}

impl EndpointView {
    /// The view of `ep` on the network `network_id`.
    pub(crate) fn of(network_id: &str, ep: &Endpoint) -> EndpointView {
        let live = ep.live.as_ref();
        EndpointView {
            ipam_config: ep
                .requested_ip
                .map(|ip| json!({"IPv4Address": ip.to_string()})),
            links: None,
            aliases: (!ep.aliases.is_empty()).then(|| ep.aliases.clone()),
            mac_address: live.map(|l| l.mac.clone()).unwrap_or_default(),
            driver_opts: None,
            network_id: network_id.to_string(),
            endpoint_id: live.map(|l| l.endpoint_id.clone()).unwrap_or_default(),
            gateway: live.map(|l| l.gateway.to_string()).unwrap_or_default(),
            ip_address: live.map(|l| l.ip.to_string()).unwrap_or_default(),
            ip_prefix_len: live.map(|l| l.prefix_len).unwrap_or(0),
            ipv6_gateway: "",
            global_ipv6_address: "",
            global_ipv6_prefix_len: 0,
            dns_names: None,
        }
    }
}

fn endpoint_json(network_id: &str, ep: &Endpoint) -> Value {
    serde_json::to_value(EndpointView::of(network_id, ep)).unwrap_or(Value::Null)
}

/// One entry of a `ps` row's `Ports`.
#[derive(Debug, serde::Serialize)]
pub struct PortSummary {
    #[serde(rename = "IP", skip_serializing_if = "Option::is_none")]
    ip: Option<String>,
    #[serde(rename = "PrivatePort")]
    private_port: u16,
    #[serde(rename = "PublicPort", skip_serializing_if = "Option::is_none")]
    public_port: Option<u16>,
    #[serde(rename = "Type")]
    typ: String,
}

/// `NetworkSettings.Ports`: published ports with their host bindings, exposed ones
/// without as `null`.
fn ports_json(rec: &ContainerRecord) -> Value {
    let mut out = Map::new();
    for key in rec.config.exposed_ports.iter().flatten().map(|(k, _)| k) {
        out.insert(key.clone(), Value::Null);
    }
    for p in &rec.network.ports {
        let key = format!("{}/{}", p.container_port, p.proto.as_str());
        let entry = json!({
            "HostIp": p.host_ip.map(|i| i.to_string()).unwrap_or_else(|| "0.0.0.0".into()),
            "HostPort": p.host_port.to_string(),
        });
        match out.get_mut(&key) {
            Some(Value::Array(list)) => list.push(entry),
            _ => {
                out.insert(key, json!([entry]));
            }
        }
    }
    Value::Object(out)
}

/// `Ports` of a `ps` row.
pub(crate) fn ports_summary(rec: &ContainerRecord) -> Vec<PortSummary> {
    let mut out = Vec::new();
    let mut published = std::collections::HashSet::new();
    for p in &rec.network.ports {
        published.insert(format!("{}/{}", p.container_port, p.proto.as_str()));
        out.push(PortSummary {
            ip: Some(
                p.host_ip
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "0.0.0.0".into()),
            ),
            private_port: p.container_port,
            public_port: Some(p.host_port),
            typ: p.proto.as_str().to_string(),
        });
    }
    for key in rec.config.exposed_ports.iter().flatten().map(|(k, _)| k) {
        if published.contains(key) {
            continue;
        }
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        if let Ok(port) = port.parse::<u16>() {
            out.push(PortSummary {
                ip: None,
                private_port: port,
                public_port: None,
                typ: proto.to_string(),
            });
        }
    }
    out
}

/// The `Networks` of a `ps` row.
pub(crate) fn networks_summary(
    engine: &Engine,
    rec: &ContainerRecord,
) -> std::collections::BTreeMap<String, EndpointView> {
    let mut nets = std::collections::BTreeMap::new();
    let mode = rec.host_config.network_mode.as_deref().unwrap_or("bridge");
    if rec.network.endpoints.is_empty() && matches!(mode, "host" | "none") {
        let id = engine
            .network(mode)
            .map(|n| n.rec.id.clone())
            .unwrap_or_default();
        nets.insert(
            mode.to_string(),
            EndpointView::of(&id, &Endpoint::default()),
        );
    }
    for (name, ep) in &rec.network.endpoints {
        nets.insert(name.clone(), EndpointView::of(&ep.network_id, ep));
    }
    nets
}
