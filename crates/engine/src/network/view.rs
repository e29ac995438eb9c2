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
            "SandboxKey": if rec.state.status.is_alive() && rec.state.pid > 0 {
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

    /// `NetworkSettings` of a `ps` row: only `Networks`.
    pub(crate) fn network_summary_json(&self, rec: &ContainerRecord) -> Value {
        let mut nets = Map::new();
        let mode = rec.host_config.network_mode.as_deref().unwrap_or("bridge");
        if rec.network.endpoints.is_empty() && matches!(mode, "host" | "none") {
            nets.insert(mode.to_string(), json!({"NetworkID": ""}));
        }
        for (name, ep) in &rec.network.endpoints {
            nets.insert(name.clone(), endpoint_json(&ep.network_id, ep));
        }
        json!({ "Networks": nets })
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

/// Docker's EndpointSettings.
fn endpoint_json(network_id: &str, ep: &Endpoint) -> Value {
    let live = ep.live.as_ref();
    json!({
        "IPAMConfig": ep.requested_ip.map(|ip| json!({"IPv4Address": ip.to_string()})),
        "Links": null,
        "Aliases": if ep.aliases.is_empty() { Value::Null } else { json!(ep.aliases) },
        "MacAddress": live.map(|l| l.mac.clone()).unwrap_or_default(),
        "DriverOpts": null,
        "NetworkID": network_id,
        "EndpointID": live.map(|l| l.endpoint_id.clone()).unwrap_or_default(),
        "Gateway": live.map(|l| l.gateway.to_string()).unwrap_or_default(),
        "IPAddress": live.map(|l| l.ip.to_string()).unwrap_or_default(),
        "IPPrefixLen": live.map(|l| l.prefix_len).unwrap_or(0),
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": null,
    })
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
pub(crate) fn ports_summary(rec: &ContainerRecord) -> Value {
    let mut out = Vec::new();
    let mut published = std::collections::HashSet::new();
    for p in &rec.network.ports {
        published.insert(format!("{}/{}", p.container_port, p.proto.as_str()));
        out.push(json!({
            "IP": p.host_ip.map(|i| i.to_string()).unwrap_or_else(|| "0.0.0.0".into()),
            "PrivatePort": p.container_port,
            "PublicPort": p.host_port,
            "Type": p.proto.as_str(),
        }));
    }
    for key in rec.config.exposed_ports.iter().flatten().map(|(k, _)| k) {
        if published.contains(key) {
            continue;
        }
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        if let Ok(port) = port.parse::<u16>() {
            out.push(json!({"PrivatePort": port, "Type": proto}));
        }
    }
    Value::Array(out)
}
