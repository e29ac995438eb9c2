//! `inspect` (containers, images, networks, volumes; `-f` templates), `top`, `diff` and
//! `port`.
//!
//! Runs in the CLI process. `inspect` without `--type` tries container, image, network
//! and volume in that order, as Docker does; JSON output is indented by four spaces.

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use serde_json::Value;

use crate::client::{enc, query, Client};
use crate::error::{exit_code, exit_with, is_not_found};
use crate::format::natsort::natural_cmp;
use crate::format::ports::join_host_port;
use crate::format::{render_one, table};

/// `inspect` flags.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long)]
    pub size: bool,
    /// Return JSON for specified type
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// NAME|ID...
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// A single container argument.
#[derive(Debug, Args)]
pub struct OneArg {
    /// CONTAINER
    pub container: String,
}

/// `top` arguments.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// CONTAINER
    pub container: String,
    /// [ps OPTIONS]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// `port` arguments.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// CONTAINER
    pub container: String,
    /// PRIVATE_PORT[/PROTO]
    pub port: Option<String>,
}

fn fetch(c: &Client, kind: &str, name: &str, size: bool) -> Result<Value> {
    let n = enc(name);
    let path = match kind {
        "container" => format!("/containers/{n}/json{}", if size { "?size=1" } else { "" }),
        "image" => format!("/images/{}/json", super::transfer::enc_name(name)),
        "network" => format!("/networks/{n}"),
        "volume" => format!("/volumes/{n}"),
        other => anyhow::bail!("\"{other}\" is not a valid value for --type"),
    };
    c.get_json(&path)
}

fn find(c: &Client, kind: Option<&str>, name: &str, size: bool) -> Result<Value> {
    if let Some(k) = kind {
        return match fetch(c, k, name, size) {
            Err(e) if is_not_found(&e) => Err(anyhow::anyhow!("No such {k}: {name}")),
            r => r,
        };
    }
    for k in ["container", "image", "network", "volume"] {
        match fetch(c, k, name, size) {
            Err(e) if is_not_found(&e) => continue,
            r => return r,
        }
    }
    Err(anyhow::anyhow!("No such object: {name}"))
}

/// JSON indented by four spaces, like Go's `json.MarshalIndent(v, "", "    ")`.
pub fn pretty(v: &Value) -> Result<String> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser)?;
    Ok(String::from_utf8(out)?)
}

/// `berth inspect` (and `container inspect` / `image inspect` with a fixed type).
pub fn inspect(c: &Client, a: InspectArgs, fixed: Option<&str>) -> Result<()> {
    let kind = fixed.or(a.kind.as_deref());
    let mut found = Vec::new();
    let mut failed = false;
    for name in &a.names {
        match find(c, kind, name, a.size) {
            Ok(v) => found.push(v),
            Err(e) => {
                failed = true;
                eprintln!("Error: {e}");
            }
        }
    }
    match &a.format {
        Some(f) => {
            for v in &found {
                println!("{}", render_one(f, v)?);
            }
        }
        None => println!("{}", pretty(&Value::Array(found))?),
    }
    if failed {
        return Err(exit_code(1));
    }
    Ok(())
}

/// `berth top`.
pub fn top(c: &Client, a: TopArgs) -> Result<()> {
    let q = if a.ps_args.is_empty() {
        String::new()
    } else {
        query(&[("ps_args", a.ps_args.join(" "))])
    };
    let v: Value = c.get_json(&format!("/containers/{}/top{q}", enc(&a.container)))?;
    let cells = |row: &Value| -> String {
        row.as_array()
            .map(|r| {
                r.iter()
                    .map(|c| c.as_str().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .unwrap_or_default()
    };
    let mut text = cells(&v["Titles"]);
    for p in v["Processes"].as_array().into_iter().flatten() {
        text.push('\n');
        text.push_str(&cells(p));
    }
    println!("{}", table::align(&text, 20, 3));
    Ok(())
}

/// `berth diff`.
pub fn diff(c: &Client, a: OneArg) -> Result<()> {
    let v: Value = c.get_json(&format!("/containers/{}/changes", enc(&a.container)))?;
    for ch in v.as_array().into_iter().flatten() {
        let kind = match ch["Kind"].as_i64() {
            Some(0) => "C",
            Some(1) => "A",
            Some(2) => "D",
            _ => "?",
        };
        println!("{kind} {}", ch["Path"].as_str().unwrap_or_default());
    }
    Ok(())
}

/// `berth port`: `80/tcp -> 0.0.0.0:8080` lines in natural order, or the host addresses
/// of one port (docker/cli `cli/command/container/port.go`).
pub fn port(c: &Client, a: PortArgs) -> Result<()> {
    let v: Value = c.get_json(&format!("/containers/{}/json", enc(&a.container)))?;
    let out = port_lines(&v["NetworkSettings"]["Ports"], &a)?;
    if !out.is_empty() {
        println!("{}", out.join("\n"));
    }
    Ok(())
}

/// The lines `port` prints for a container's `NetworkSettings.Ports`.
fn port_lines(ports: &Value, a: &PortArgs) -> Result<Vec<String>> {
    let binding = |b: &Value| {
        join_host_port(
            b["HostIp"].as_str().unwrap_or_default(),
            b["HostPort"].as_str().unwrap_or_default(),
        )
    };
    let mut out = Vec::new();
    if let Some(p) = &a.port {
        let (num, proto) = p.split_once('/').unwrap_or((p, ""));
        let proto = if proto.is_empty() { "tcp" } else { proto };
        // Go's ParseUint: digits only (no sign), at most 65535.
        let parsed = num.parse::<u16>().map_err(|e| *e.kind());
        if parsed.is_err() || num.starts_with('+') {
            let why = if parsed == Err(std::num::IntErrorKind::PosOverflow) {
                "value out of range"
            } else {
                "invalid syntax"
            };
            return Err(exit_with(
                1,
                format!("Error: invalid port ({num}): strconv.ParseUint: parsing {num:?}: {why}"),
            ));
        }
        let bindings = ports[format!("{num}/{proto}")]
            .as_array()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| {
                exit_with(
                    1,
                    format!("Error: No public port '{p}' published for {}", a.container),
                )
            })?;
        out.extend(bindings.iter().map(binding));
    } else if let Some(m) = ports.as_object() {
        for (k, list) in m {
            for b in list.as_array().into_iter().flatten() {
                out.push(format!("{k} -> {}", binding(b)));
            }
        }
    }
    out.sort_by(|x, y| natural_cmp(x, y));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(port: Option<&str>) -> PortArgs {
        PortArgs {
            container: "web".into(),
            port: port.map(str::to_string),
        }
    }

    #[test]
    fn port_output_like_docker() {
        // The same answer docker 28.2.2 `port` rendered against a canned daemon.
        let ports = json!({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"},
                                      {"HostIp": "::", "HostPort": "8080"}],
                           "9/tcp": [{"HostIp": "0.0.0.0", "HostPort": "9"}], "443/tcp": null,
                           "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "53"}],
                           "100/tcp": [{"HostIp": "", "HostPort": "100"}]});
        assert_eq!(
            port_lines(&ports, &args(None)).unwrap(),
            [
                "9/tcp -> 0.0.0.0:9",
                "53/udp -> 127.0.0.1:53",
                "80/tcp -> 0.0.0.0:8080",
                "80/tcp -> [::]:8080",
                "100/tcp -> :100"
            ]
        );
        assert_eq!(
            port_lines(&ports, &args(Some("80"))).unwrap(),
            ["0.0.0.0:8080", "[::]:8080"]
        );
        assert_eq!(
            port_lines(&ports, &args(Some("53/udp"))).unwrap(),
            ["127.0.0.1:53"]
        );
        let err = |p: &str| port_lines(&ports, &args(Some(p))).unwrap_err().to_string();
        assert_eq!(err("443"), "Error: No public port '443' published for web");
        assert_eq!(
            err("81/tcp"),
            "Error: No public port '81/tcp' published for web"
        );
        assert_eq!(
            err("x"),
            "Error: invalid port (x): strconv.ParseUint: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            err("70000"),
            "Error: invalid port (70000): strconv.ParseUint: parsing \"70000\": value out of range"
        );
        assert!(port_lines(&Value::Null, &args(None)).unwrap().is_empty());
    }
}
