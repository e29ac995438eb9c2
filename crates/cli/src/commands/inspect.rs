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
use crate::error::{exit_code, is_not_found};
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

/// `berth port`.
pub fn port(c: &Client, a: PortArgs) -> Result<()> {
    let v: Value = c.get_json(&format!("/containers/{}/json", enc(&a.container)))?;
    let ports = v["NetworkSettings"]["Ports"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let fmt_binding = |b: &Value| {
        let ip = b["HostIp"].as_str().unwrap_or("");
        let ip = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        format!("{ip}:{}", b["HostPort"].as_str().unwrap_or(""))
    };
    if let Some(p) = &a.port {
        let key = if p.contains('/') {
            p.clone()
        } else {
            format!("{p}/tcp")
        };
        let bindings = ports
            .get(&key)
            .and_then(Value::as_array)
            .filter(|b| !b.is_empty());
        let Some(bindings) = bindings else {
            anyhow::bail!("No public port '{key}' published for {}", a.container);
        };
        for b in bindings {
            println!("{}", fmt_binding(b));
        }
        return Ok(());
    }
    let mut keys: Vec<&String> = ports.keys().collect();
    keys.sort();
    for k in keys {
        for b in ports[k].as_array().into_iter().flatten() {
            println!("{k} -> {}", fmt_binding(b));
        }
    }
    Ok(())
}
