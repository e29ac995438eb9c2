//! `-p/--publish` and `--expose` parsing, as go-connections `nat.ParsePortSpec` does it.
//!
//! Runs in the CLI process; pure code. A spec is `[ip:][hostPort:]containerPort[/proto]`
//! with optional ranges (`8080-8081:80-81`), bracketed IPv6 addresses, and `ip::port`
//! for a random host port. The result feeds `Config.ExposedPorts` and
//! `HostConfig.PortBindings`.

use std::net::IpAddr;

use anyhow::{bail, Result};

/// One container port and where it is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// `80/tcp`.
    pub port: String,
    /// Host address, empty for all.
    pub host_ip: String,
    /// Host port or range, empty for a random one.
    pub host_port: String,
}

fn split_parts(raw: &str) -> (String, String, String) {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let container = parts[n - 1].to_string();
    match n {
        1 => (String::new(), String::new(), container),
        2 => (String::new(), parts[0].into(), container),
        3 => (parts[0].into(), parts[1].into(), container),
        _ => (parts[..n - 2].join(":"), parts[n - 2].into(), container),
    }
}

/// `start[-end]` as u16 bounds.
pub fn parse_port_range(s: &str) -> Option<(u16, u16)> {
    if s.is_empty() {
        return None;
    }
    match s.split_once('-') {
        None => {
            let p = s.parse().ok()?;
            Some((p, p))
        }
        Some((a, b)) => {
            let (a, b): (u16, u16) = (a.parse().ok()?, b.parse().ok()?);
            (b >= a).then_some((a, b))
        }
    }
}

fn split_proto(s: &str) -> (String, String) {
    match s.split_once('/') {
        Some((p, "")) => ("tcp".into(), p.into()),
        Some((p, proto)) => (proto.to_string(), p.into()),
        None => ("tcp".into(), s.into()),
    }
}

/// Parses one `-p` spec into mappings (one per container port of a range).
pub fn parse_port_spec(raw: &str) -> Result<Vec<PortMapping>> {
    let (mut ip, host_port, container) = split_parts(raw);
    let (proto, container) = split_proto(&container);
    if ip.starts_with('[') && ip.ends_with(']') {
        ip = ip[1..ip.len() - 1].to_string();
    }
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        bail!("invalid IP address: {ip}");
    }
    if container.is_empty() {
        bail!("no port specified: {raw}<empty>");
    }
    let Some((start, end)) = parse_port_range(&container) else {
        bail!("invalid containerPort: {container}");
    };
    let (mut hstart, mut hend) = (0u16, 0u16);
    if !host_port.is_empty() {
        let Some(r) = parse_port_range(&host_port) else {
            bail!("invalid hostPort: {host_port}");
        };
        (hstart, hend) = r;
    }
    if !host_port.is_empty() && (end - start) != (hend - hstart) && end != start {
        bail!("invalid ranges specified for container and host Ports: {container} and {host_port}");
    }
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        bail!("invalid proto: {proto}");
    }
    let mut out = Vec::new();
    for i in 0..=(end - start) {
        let port = format!("{}/{proto}", start + i);
        let host = if host_port.is_empty() {
            String::new()
        } else if end == start && hend > hstart {
            format!("{hstart}-{hend}")
        } else {
            (hstart + i).to_string()
        };
        out.push(PortMapping {
            port,
            host_ip: ip.clone(),
            host_port: host,
        });
    }
    Ok(out)
}

/// `published=8080,target=80[,protocol=udp]` in the `8080:80/udp` notation (docker/cli
/// `convertToStandardNotation`); a spec without `=` passes through.
pub fn standard_notation(spec: &str) -> Result<String> {
    if !spec.contains('=') {
        return Ok(spec.to_string());
    }
    let (mut published, mut target, mut protocol) = ("", "", "tcp");
    for param in spec.split(',') {
        match param.split_once('=') {
            Some(("published", v)) => published = v,
            Some(("target", v)) => target = v,
            Some(("protocol", v)) => protocol = v,
            Some((k, _)) if !k.is_empty() => {}
            _ => bail!("invalid publish opts format (should be name=value but got '{param}')"),
        }
    }
    Ok(format!("{published}:{target}/{protocol}"))
}

/// Parses `--expose 80[-81][/proto]` into `80/tcp` keys.
pub fn parse_expose(raw: &str) -> Result<Vec<String>> {
    if raw.contains(':') {
        bail!("invalid port format for --expose: {raw}");
    }
    let (proto, port) = split_proto(raw);
    let Some((start, end)) = parse_port_range(&port) else {
        bail!("invalid range format for --expose: {raw}");
    };
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> (String, String, String) {
        let m = parse_port_spec(s).unwrap();
        assert_eq!(m.len(), 1);
        (
            m[0].port.clone(),
            m[0].host_ip.clone(),
            m[0].host_port.clone(),
        )
    }

    #[test]
    fn valid_specs() {
        assert_eq!(one("80"), ("80/tcp".into(), "".into(), "".into()));
        assert_eq!(
            one("8080:80/tcp"),
            ("80/tcp".into(), "".into(), "8080".into())
        );
        assert_eq!(
            one("127.0.0.1::80"),
            ("80/tcp".into(), "127.0.0.1".into(), "".into())
        );
        assert_eq!(
            one("[::1]:53:53/udp"),
            ("53/udp".into(), "::1".into(), "53".into())
        );
        assert_eq!(
            one("8000-8010:80"),
            ("80/tcp".into(), "".into(), "8000-8010".into())
        );
        let r = parse_port_spec("8080-8081:80-81").unwrap();
        assert_eq!(r[1].port, "81/tcp");
        assert_eq!(r[1].host_port, "8081");
    }

    #[test]
    fn invalid_specs() {
        let e = |s: &str| parse_port_spec(s).unwrap_err().to_string();
        assert_eq!(e("99999:80"), "invalid hostPort: 99999");
        assert_eq!(e("80:99999"), "invalid containerPort: 99999");
        assert_eq!(e("1.2.3:80:80"), "invalid IP address: 1.2.3");
        assert_eq!(e("80/xyz"), "invalid proto: xyz");
        assert!(e("8080-8082:80-81").starts_with("invalid ranges"));
        assert!(e("8080:").starts_with("no port specified"));
    }

    #[test]
    fn expose() {
        assert_eq!(parse_expose("80-81/udp").unwrap(), vec!["80/udp", "81/udp"]);
        assert!(parse_expose("x").is_err());
        assert_eq!(
            parse_expose("80:80").unwrap_err().to_string(),
            "invalid port format for --expose: 80:80"
        );
    }

    #[test]
    fn long_publish_syntax() {
        assert_eq!(
            standard_notation("published=8080,target=80").unwrap(),
            "8080:80/tcp"
        );
        assert_eq!(
            standard_notation("target=53,published=5353,protocol=udp").unwrap(),
            "5353:53/udp"
        );
        assert_eq!(standard_notation("8080:80").unwrap(), "8080:80");
        assert_eq!(
            standard_notation("target=80,x").unwrap_err().to_string(),
            "invalid publish opts format (should be name=value but got 'x')"
        );
    }
}
