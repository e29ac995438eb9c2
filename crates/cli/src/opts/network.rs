//! Network attachments: `--network` (plain or `name=…,alias=…,ip=…` syntax) with the
//! endpoint flags of `run`/`create` (`--ip`, `--ip6`, `--network-alias`, `--link`,
//! `--link-local-ip`, `--mac-address`) and of `network connect`, turned into the
//! `EndpointSettings` objects of `NetworkingConfig.EndpointsConfig`.
//!
//! Runs in the CLI process; pure code following docker/cli `opts/network.go` and
//! `parseNetworkOpts` in `cli/command/container/opts.go`, with Docker's error texts.
//! One deliberate difference: without `--network` and without endpoint flags docker/cli
//! sends an all-empty `{"default": {…}}` endpoint; berth sends no endpoint (the daemon
//! attaches the default network either way).

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use serde_json::{json, Map, Value};

/// One network to attach to and the endpoint options for it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Network name or id (`default`, `bridge`, `host`, `none`, `container:x`, or a
    /// user-defined network).
    pub target: String,
    /// Network-scoped aliases.
    pub aliases: Vec<String>,
    /// Driver options (`driver-opt=k=v`).
    pub driver_opts: BTreeMap<String, String>,
    /// `container[:alias]` links.
    pub links: Vec<String>,
    /// Requested IPv4 address.
    pub ipv4: String,
    /// Requested IPv6 address.
    pub ipv6: String,
    /// Link-local addresses.
    pub link_local_ips: Vec<String>,
    /// Requested MAC address.
    pub mac: String,
    /// Gateway priority.
    pub gw_priority: i64,
}

/// The error of a rejected flag value, worded like pflag's.
pub fn flag_error(flag: &str, value: &str, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("invalid argument \"{value}\" for \"{flag}\" flag: {e}")
}

/// True when `mode` names a user-defined network (not `default`, `bridge`, `host`,
/// `none` or `container:…`), like Docker's `NetworkMode.IsUserDefined` on Linux.
pub fn is_user_defined(mode: &str) -> bool {
    let container = mode.split_once(':').is_some_and(|(k, _)| k == "container");
    !matches!(mode, "default" | "bridge" | "host" | "none") && !container
}

/// Go's `regexp.MatchString(`\w+=\w+(,\w+=\w+)*`, v)`: some `=` between word chars.
fn is_long_syntax(v: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = v.as_bytes();
    (1..b.len().saturating_sub(1)).any(|i| b[i] == b'=' && word(b[i - 1]) && word(b[i + 1]))
}

/// The fields of one CSV record (Go's `encoding/csv` with default settings).
pub fn csv_fields(line: &str) -> Result<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => {
                        bail!("parse error on line 1: extraneous or missing \" in quoted-field")
                    }
                }
            }
            if !matches!(chars.peek(), None | Some(',')) {
                bail!("parse error on line 1: extraneous or missing \" in quoted-field");
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '"' {
                    bail!("parse error on line 1: bare \" in non-quoted-field");
                }
                field.push(c);
                chars.next();
            }
        }
        fields.push(field);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

/// `k=v` of a `driver-opt` (lowercased, trimmed, as docker/cli does).
fn parse_driver_opt(v: &str) -> Result<(String, String)> {
    let lower = v.to_lowercase();
    match lower.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => bail!("invalid key value pair format in driver options"),
    }
}

/// Parses one `--network` value: a plain name, or the `name=…,alias=…,ip=…,ip6=…,
/// mac-address=…,link-local-ip=…,driver-opt=k=v,gw-priority=N` syntax. Like docker/cli
/// the long syntax lowercases every field, values included.
pub fn parse_network_flag(value: &str) -> Result<Attachment> {
    let err = |e: anyhow::Error| flag_error("--network", value, e);
    if !is_long_syntax(value) {
        return Ok(Attachment {
            target: value.to_string(),
            ..Default::default()
        });
    }
    let mut a = Attachment::default();
    for field in csv_fields(value).map_err(err)? {
        let lower = field.to_lowercase();
        let Some((key, val)) = lower.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(err(anyhow!("invalid field {field}")));
        };
        let (key, val) = (key.trim(), val.trim().to_string());
        match key {
            "name" => a.target = val,
            "alias" => a.aliases.push(val),
            "ip" => a.ipv4 = val,
            "ip6" => a.ipv6 = val,
            "mac-address" => a.mac = val,
            "link-local-ip" => a.link_local_ips.push(val),
            "driver-opt" => {
                let (k, v) = parse_driver_opt(&val).map_err(err)?;
                a.driver_opts.insert(k, v);
            }
            "gw-priority" => {
                a.gw_priority = val.parse().map_err(|e: std::num::ParseIntError| {
                    let why = match e.kind() {
                        std::num::IntErrorKind::PosOverflow
                        | std::num::IntErrorKind::NegOverflow => "value out of range",
                        _ => "invalid syntax",
                    };
                    err(anyhow!("invalid gw-priority ({val}): {why}"))
                })?;
            }
            _ => return Err(err(anyhow!("invalid field key {key}"))),
        }
    }
    if a.target.is_empty() {
        return Err(err(anyhow!("network name/id is not specified")));
    }
    Ok(a)
}

/// Go's `net.ParseMAC`: 6, 8 or 20 octets as `xx:xx…`, `xx-xx…` or `xxxx.xxxx…`.
pub fn valid_mac(s: &str) -> bool {
    let hex = |g: &str, n: usize| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit());
    let (sep, width) = if s.contains(':') {
        (':', 2)
    } else if s.contains('-') {
        ('-', 2)
    } else {
        ('.', 4)
    };
    let groups: Vec<&str> = s.split(sep).collect();
    let octets = groups.len() * width / 2;
    s.len() >= 14 && matches!(octets, 6 | 8 | 20) && groups.iter().all(|g| hex(g, width))
}

/// docker/cli's `applyContainerOptions`: moves the container-wide endpoint flags in
/// `flags` onto the first `--network`, refusing to mix them with per-network values.
fn apply_container_flags(n: &mut Attachment, flags: &Attachment) -> Result<()> {
    let conflict = |what: &str| anyhow!("conflicting options: cannot specify both {what}");
    if !n.aliases.is_empty() && !flags.aliases.is_empty() {
        return Err(conflict("--network-alias and per-network alias"));
    }
    if !n.links.is_empty() && !flags.links.is_empty() {
        return Err(conflict("--link and per-network links"));
    }
    if !n.ipv4.is_empty() && !flags.ipv4.is_empty() {
        return Err(conflict("--ip and per-network IPv4 address"));
    }
    if !n.ipv6.is_empty() && !flags.ipv6.is_empty() {
        return Err(conflict("--ip6 and per-network IPv6 address"));
    }
    if !n.mac.is_empty() && !flags.mac.is_empty() {
        return Err(conflict("--mac-address and per-network MAC address"));
    }
    if !n.link_local_ips.is_empty() && !flags.link_local_ips.is_empty() {
        return Err(conflict(
            "--link-local-ip and per-network link-local IP addresses",
        ));
    }
    if !flags.aliases.is_empty() {
        n.aliases.clone_from(&flags.aliases);
    }
    // On a user-defined network `--link` is an endpoint alias; on the default bridge it
    // is a legacy link (HostConfig.Links only).
    if is_user_defined(&n.target) && !flags.links.is_empty() {
        n.links.clone_from(&flags.links);
    }
    for (dst, src) in [(&mut n.ipv4, &flags.ipv4), (&mut n.ipv6, &flags.ipv6)] {
        if !src.is_empty() {
            dst.clone_from(src);
        }
    }
    if !flags.mac.is_empty() {
        n.mac.clone_from(&flags.mac);
    }
    if !flags.link_local_ips.is_empty() {
        n.link_local_ips.clone_from(&flags.link_local_ips);
    }
    Ok(())
}

/// An `EndpointSettings` object with every field Docker's client sends.
pub fn settings_json(
    ipam: Value,
    links: Value,
    aliases: Value,
    mac: &str,
    driver_opts: Value,
    gw_priority: i64,
) -> Value {
    json!({
        "IPAMConfig": ipam, "Links": links, "Aliases": aliases, "MacAddress": mac,
        "DriverOpts": driver_opts, "GwPriority": gw_priority,
        "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": null,
    })
}

/// The `EndpointIPAMConfig` object (every field omitted when empty).
pub fn ipam_json(ipv4: &str, ipv6: &str, link_local: &[String]) -> Value {
    let mut m = Map::new();
    if !ipv4.is_empty() {
        m.insert("IPv4Address".into(), json!(ipv4));
    }
    if !ipv6.is_empty() {
        m.insert("IPv6Address".into(), json!(ipv6));
    }
    if !link_local.is_empty() {
        m.insert("LinkLocalIPs".into(), json!(link_local));
    }
    Value::Object(m)
}

/// A list as JSON, `null` when empty (a Go nil slice).
fn list_or_null(l: &[String]) -> Value {
    if l.is_empty() {
        Value::Null
    } else {
        json!(l)
    }
}

impl Attachment {
    /// True when nothing but the target is set (Docker omits such an endpoint).
    fn is_plain(&self) -> bool {
        *self
            == Attachment {
                target: self.target.clone(),
                ..Default::default()
            }
    }

    /// docker/cli's `parseNetworkAttachmentOpt`: the endpoint settings for `run`/`create`.
    fn endpoint(&self) -> Result<Value> {
        if self.target.trim().is_empty() {
            bail!("no name set for network");
        }
        if !is_user_defined(&self.target) {
            if !self.aliases.is_empty() {
                bail!("network-scoped aliases are only supported for user-defined networks");
            }
            if !self.links.is_empty() {
                bail!("links are only supported for user-defined networks");
            }
        }
        if !self.mac.is_empty() && !valid_mac(self.mac.trim()) {
            bail!("{} is not a valid mac address", self.mac);
        }
        let has_ip =
            !self.ipv4.is_empty() || !self.ipv6.is_empty() || !self.link_local_ips.is_empty();
        let ipam = if has_ip {
            ipam_json(&self.ipv4, &self.ipv6, &self.link_local_ips)
        } else {
            Value::Null
        };
        let driver_opts = if self.driver_opts.is_empty() {
            Value::Null
        } else {
            json!(self.driver_opts)
        };
        Ok(settings_json(
            ipam,
            list_or_null(&self.links),
            list_or_null(&self.aliases),
            &self.mac,
            driver_opts,
            self.gw_priority,
        ))
    }
}

/// `NetworkingConfig.EndpointsConfig` for the `--network` values and the container-wide
/// endpoint flags in `flags` (docker/cli `parseNetworkOpts`).
pub fn endpoints_config(networks: &[Attachment], flags: &Attachment) -> Result<Map<String, Value>> {
    let mut endpoints = Map::new();
    if networks.is_empty() {
        let mut n = Attachment {
            target: "default".into(),
            ..Default::default()
        };
        apply_container_flags(&mut n, flags)?;
        let ep = n.endpoint()?;
        if !n.is_plain() {
            endpoints.insert(n.target, ep);
        }
        return Ok(endpoints);
    }
    let (mut user, mut builtin) = (false, false);
    for (i, n) in networks.iter().enumerate() {
        if is_user_defined(&n.target) {
            user = true;
        } else {
            builtin = true;
        }
        let mut n = n.clone();
        if i == 0 {
            apply_container_flags(&mut n, flags)?;
        }
        let ep = n.endpoint()?;
        if endpoints.contains_key(&n.target) {
            bail!("network {:?} is specified multiple times", n.target);
        }
        // A single network without options gets no endpoint (the daemon makes one).
        if i == 0 && networks.len() == 1 && n.is_plain() {
            continue;
        }
        endpoints.insert(n.target, ep);
    }
    if user && builtin {
        bail!("conflicting options: cannot attach both user-defined and non-user-defined network-modes");
    }
    Ok(endpoints)
}

/// Puts the MAC address where the daemon's API version wants it: per endpoint from API
/// 1.44 on (the legacy `Config.MacAddress` is dropped, as docker/cli does), else only in
/// `Config.MacAddress` (docker/cli refuses instead; older daemons take the legacy field),
/// dropping a `default` endpoint that existed only for the MAC.
pub fn place_mac_address(body: &mut Value, per_endpoint: bool) {
    if per_endpoint {
        if let Some(m) = body.as_object_mut() {
            m.remove("MacAddress");
        }
        return;
    }
    let Some(eps) = body
        .pointer_mut("/NetworkingConfig/EndpointsConfig")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for ep in eps.values_mut() {
        ep["MacAddress"] = json!("");
    }
    let only_mac = |ep: &Value| {
        ["IPAMConfig", "Links", "Aliases", "DriverOpts"]
            .iter()
            .all(|k| ep[*k].is_null())
            && ep["GwPriority"] == 0
    };
    if eps.get("default").is_some_and(only_mac) {
        eps.remove("default");
    }
}

/// `network connect --driver-opt k=v` values (docker/cli `convertDriverOpt`).
pub fn connect_driver_opts(opts: &[String]) -> Result<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for o in opts {
        match o.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                m.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => bail!("invalid key/value pair format in driver options"),
        }
    }
    Ok(m)
}

/// Checks a `--link` value (`name[:alias]`, docker/cli `ParseLink`).
pub fn validate_link(v: &str) -> Result<()> {
    if v.is_empty() {
        bail!("empty string specified for links");
    }
    if v.split(':').count() > 2 {
        bail!("bad format for links: {v}");
    }
    Ok(())
}

/// A `--dns-search` domain as docker/cli accepts and normalizes it (`.` or a domain,
/// trailing dot dropped).
pub fn dns_search_domain(v: &str) -> Result<String> {
    let v = v.trim_matches(' ');
    if v == "." {
        return Ok(v.to_string());
    }
    let invalid = || anyhow!("{v} is not a valid domain");
    if !v.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(invalid());
    }
    let name = v.trim_end();
    let name = name.strip_suffix('.').unwrap_or(name);
    // Each label: alphanumerics with inner hyphens (docker's regexp also lets a label
    // start with ':', a typo for a non-capturing group that we keep).
    let label_ok = |l: &str| {
        let l = l.strip_prefix(':').unwrap_or(l);
        let b = l.as_bytes();
        !b.is_empty()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
    };
    if name.len() < 255 && name.split('.').all(label_ok) {
        Ok(name.to_string())
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests;
