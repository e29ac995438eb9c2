//! `network create` address flags (`--subnet`, `--ip-range`, `--gateway`,
//! `--aux-address`, `--ipam-driver`, `--ipam-opt`) consolidated into the request's
//! `IPAM` object, with docker/cli's client-side checks (`createIPAMConfig`).
//!
//! Runs in the CLI process; pure code. Each range, gateway and auxiliary address is
//! attached to the subnet that contains it; the texts of the errors are Docker's. Unlike
//! docker/cli (which iterates a Go map) the `Config` list keeps the `--subnet` order.

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::{anyhow, bail, Result};
use serde_json::{json, Map, Value};

/// The IPAM flags of `network create`, as given.
#[derive(Debug, Default, Clone)]
pub struct IpamOpts {
    /// `--ipam-driver`.
    pub driver: String,
    /// `--subnet`.
    pub subnets: Vec<String>,
    /// `--ip-range`.
    pub ip_ranges: Vec<String>,
    /// `--gateway`.
    pub gateways: Vec<String>,
    /// `--aux-address name=ip`.
    pub aux_addresses: Vec<String>,
    /// `--ipam-opt k=v`.
    pub driver_opts: Vec<String>,
}

/// A parsed CIDR: the network address (host bits cleared) and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    net: IpAddr,
    prefix: u8,
}

/// The address of `a.b.c.d/n` (host bits kept) and its network, like Go's
/// `net.ParseCIDR`; the error text is Go's.
fn parse_cidr(s: &str) -> Result<(IpAddr, Cidr)> {
    let err = || anyhow!("invalid CIDR address: {s}");
    let (ip, bits) = s.split_once('/').ok_or_else(err)?;
    let ip: IpAddr = ip.parse().map_err(|_| err())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = bits
        .parse()
        .ok()
        .filter(|p| *p <= max && !bits.starts_with('+'))
        .ok_or_else(err)?;
    let net = match ip {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    };
    Ok((ip, Cidr { net, prefix }))
}

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        // Go compares IPv4-mapped IPv6 addresses as IPv4.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(a) & mask == u32::from(n)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(n)
            }
            _ => false,
        }
    }
}

/// docker/cli's `subnetMatches`: does `subnet` contain the address (or CIDR) `data`?
fn subnet_matches(subnet: &str, data: &str) -> Result<bool> {
    let (_, net) = parse_cidr(subnet).map_err(|e| anyhow!("invalid subnet: {e}"))?;
    let ip = if data.contains('/') {
        Some(parse_cidr(data)?.0)
    } else {
        data.parse::<IpAddr>().ok()
    };
    Ok(ip.is_some_and(|ip| net.contains(ip)))
}

/// One subnet's entry of `IPAM.Config` while it is being filled.
#[derive(Debug, Default)]
struct Pool {
    subnet: String,
    ip_range: String,
    gateway: String,
    aux: BTreeMap<String, String>,
}

impl Pool {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("Subnet".into(), json!(self.subnet));
        if !self.ip_range.is_empty() {
            m.insert("IPRange".into(), json!(self.ip_range));
        }
        if !self.gateway.is_empty() {
            m.insert("Gateway".into(), json!(self.gateway));
        }
        if !self.aux.is_empty() {
            m.insert("AuxiliaryAddresses".into(), json!(self.aux));
        }
        Value::Object(m)
    }
}

/// Indexes of the pools whose subnet contains `data` (an address or a CIDR).
fn matching_pools(pools: &[Pool], data: &str) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for (i, p) in pools.iter().enumerate() {
        if subnet_matches(&p.subnet, data)? {
            out.push(i);
        }
    }
    Ok(out)
}

/// The `IPAM` object of `POST /networks/create` (docker/cli `createIPAMConfig`).
pub fn ipam_config(o: &IpamOpts) -> Result<Value> {
    if o.subnets.len() < o.ip_ranges.len() || o.subnets.len() < o.gateways.len() {
        bail!("every ip-range or gateway must have a corresponding subnet");
    }
    let mut pools: Vec<Pool> = Vec::new();
    for s in &o.subnets {
        for p in &pools {
            if subnet_matches(s, &p.subnet)? || subnet_matches(&p.subnet, s)? {
                bail!("multiple overlapping subnet configuration is not supported");
            }
        }
        pools.push(Pool {
            subnet: s.clone(),
            ..Default::default()
        });
    }
    for r in &o.ip_ranges {
        parse_cidr(r)?;
        let hits = matching_pools(&pools, r)?;
        if hits.is_empty() {
            bail!("no matching subnet for range {r}");
        }
        for i in hits {
            let p = &mut pools[i];
            if !p.ip_range.is_empty() {
                bail!(
                    "cannot configure multiple ranges ({r}, {}) on the same subnet ({})",
                    p.ip_range,
                    p.subnet
                );
            }
            p.ip_range = r.clone();
        }
    }
    for g in &o.gateways {
        let hits = matching_pools(&pools, g)?;
        if hits.is_empty() {
            bail!("no matching subnet for gateway {g}");
        }
        for i in hits {
            let p = &mut pools[i];
            if !p.gateway.is_empty() {
                bail!(
                    "cannot configure multiple gateways ({g}, {}) for the same subnet ({})",
                    p.gateway,
                    p.subnet
                );
            }
            p.gateway = g.clone();
        }
    }
    let mut aux = BTreeMap::new();
    for a in &o.aux_addresses {
        let (k, v) = a.split_once('=').unwrap_or((a, ""));
        aux.insert(k.to_string(), v.to_string());
    }
    for (k, a) in aux {
        let hits = matching_pools(&pools, &a)?;
        if hits.is_empty() {
            bail!("no matching subnet for aux-address {a}");
        }
        for i in hits {
            pools[i].aux.insert(k.clone(), a.clone());
        }
    }
    Ok(json!({
        "Driver": o.driver,
        "Config": pools.iter().map(Pool::to_json).collect::<Vec<_>>(),
        "Options": super::values::kv_map(&o.driver_opts),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipam(subnets: &[&str], ranges: &[&str], gateways: &[&str]) -> Result<Value> {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        ipam_config(&IpamOpts {
            driver: "default".into(),
            subnets: v(subnets),
            ip_ranges: v(ranges),
            gateways: v(gateways),
            ..Default::default()
        })
    }

    fn err(subnets: &[&str], ranges: &[&str], gateways: &[&str]) -> String {
        ipam(subnets, ranges, gateways).unwrap_err().to_string()
    }

    #[test]
    fn consolidates_per_subnet() {
        let v = ipam(
            &["10.1.0.0/24", "fd00:1::/64"],
            &["10.1.0.128/25"],
            &["fd00:1::1", "10.1.0.1"],
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"Driver": "default", "Options": {}, "Config": [
                {"Subnet": "10.1.0.0/24", "IPRange": "10.1.0.128/25", "Gateway": "10.1.0.1"},
                {"Subnet": "fd00:1::/64", "Gateway": "fd00:1::1"}]})
        );
        assert_eq!(
            ipam(&[], &[], &[]).unwrap(),
            json!({"Driver": "default", "Options": {}, "Config": []})
        );
        let v = ipam_config(&IpamOpts {
            driver: "default".into(),
            subnets: vec!["10.1.0.0/24".into()],
            aux_addresses: vec!["host1=10.1.0.5".into()],
            driver_opts: vec!["x=y".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            v["Config"][0]["AuxiliaryAddresses"],
            json!({"host1": "10.1.0.5"})
        );
        assert_eq!(v["Options"], json!({"x": "y"}));
    }

    #[test]
    fn docker_error_texts() {
        assert_eq!(
            err(&[], &[], &["10.1.0.1"]),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            err(&["10.1.0.0/24"], &["10.1.0.0/25", "10.1.0.128/25"], &[]),
            "every ip-range or gateway must have a corresponding subnet"
        );
        assert_eq!(
            err(&["10.1.0.0/24"], &[], &["10.2.0.1"]),
            "no matching subnet for gateway 10.2.0.1"
        );
        assert_eq!(
            err(&["10.1.0.0/24"], &["10.2.0.0/25"], &[]),
            "no matching subnet for range 10.2.0.0/25"
        );
        assert_eq!(
            err(&["10.1.0.0/24"], &["bogus"], &[]),
            "invalid CIDR address: bogus"
        );
        assert_eq!(
            err(&["10.1.0.0/24", "10.1.0.0/16"], &[], &[]),
            "multiple overlapping subnet configuration is not supported"
        );
        assert_eq!(
            err(&["bogus", "10.1.0.0/16"], &[], &[]),
            "invalid subnet: invalid CIDR address: bogus"
        );
        assert_eq!(
            err(&["10.1.0.0/24", "10.2.0.0/24"], &[], &["10.1.0.1", "10.1.0.2"]),
            "cannot configure multiple gateways (10.1.0.2, 10.1.0.1) for the same subnet (10.1.0.0/24)"
        );
        assert_eq!(
            err(&["10.1.0.0/24", "10.2.0.0/24"], &["10.1.0.0/25", "10.1.0.0/26"], &[]),
            "cannot configure multiple ranges (10.1.0.0/26, 10.1.0.0/25) on the same subnet (10.1.0.0/24)"
        );
        // A single subnet is not parsed by the client; the daemon reports it.
        assert!(ipam(&["bogus"], &[], &[]).is_ok());
    }

    #[test]
    fn cidr_parsing() {
        let (ip, net) = parse_cidr("10.1.2.3/16").unwrap();
        assert_eq!(ip.to_string(), "10.1.2.3");
        assert_eq!(net.net.to_string(), "10.1.0.0");
        assert!(parse_cidr("10.1.0.0/33").is_err());
        assert!(parse_cidr("10.1.0.0").is_err());
        assert!(subnet_matches("10.0.0.0/8", "::ffff:10.1.1.1").unwrap());
        assert!(!subnet_matches("10.0.0.0/8", "fd00::1").unwrap());
        assert!(subnet_matches("0.0.0.0/0", "1.2.3.4").unwrap());
        assert!(!subnet_matches("10.0.0.0/8", "not-an-ip").unwrap());
    }
}
