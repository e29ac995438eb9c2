//! `network ls` and `network inspect`: Docker's table and `--format` fields for the
//! list, and the daemon's JSON re-indented without reordering it for inspect.
//!
//! Runs in the CLI process. `ls` sorts by name in natural order like docker/cli;
//! `inspect` prints what it found, then the errors for what it did not (exit 1).

use anyhow::{anyhow, Result};
use clap::Args;
use serde_json::{json, Value};

use super::{error_text, trim_id};
use crate::client::{query, Client};
use crate::error::{exit_with, ConnectError};
use crate::format::natsort::natural_cmp;
use crate::format::template::Template;
use crate::format::units::{go_time_string, parse_rfc3339};
use crate::format::{rawjson, render_list, render_one, short_id};
use crate::opts::values::filters_json;

/// `network ls` flags.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short = 'f', long)]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display network IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `network inspect` flags.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long)]
    pub format: Option<String>,
    /// Verbose output for diagnostics
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// NETWORK...
    #[arg(required = true, value_name = "NETWORK")]
    pub names: Vec<String>,
}

/// Go's `time.Time.String()` in UTC for an RFC 3339 timestamp (`CreatedAt`).
fn created_at(s: &str) -> String {
    let Some(t) = parse_rfc3339(s) else {
        return s.to_string();
    };
    #[allow(clippy::cast_possible_truncation, reason = "whole seconds of a date")]
    let secs = t.floor() as i64;
    let base = go_time_string(secs);
    // Go prints the fraction without trailing zeros: `… 12:00:00.5 +0000 UTC`.
    let frac = s
        .get(19..)
        .and_then(|r| r.strip_prefix('.'))
        .map(|r| r.split(|c: char| !c.is_ascii_digit()).next().unwrap_or(""))
        .map(|d| d.trim_end_matches('0'))
        .filter(|d| !d.is_empty());
    match frac {
        Some(d) => base.replacen(" +0000", &format!(".{d} +0000"), 1),
        None => base,
    }
}

/// One `GET /networks` entry as a Docker formatter row (docker/cli `networkContext`).
pub fn row(n: &Value, trunc: bool) -> Value {
    let id = n["Id"].as_str().unwrap_or_default();
    let mut labels: Vec<String> = n["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    let flag = |k: &str| n[k].as_bool().unwrap_or(false).to_string();
    json!({
        "ID": if trunc { short_id(id) } else { id.to_string() },
        "Name": n["Name"].as_str().unwrap_or_default(),
        "Driver": n["Driver"].as_str().unwrap_or_default(),
        "Scope": n["Scope"].as_str().unwrap_or_default(),
        "IPv4": flag("EnableIPv4"),
        "IPv6": flag("EnableIPv6"),
        "Internal": flag("Internal"),
        "Labels": labels.join(","),
        "CreatedAt": created_at(n["Created"].as_str().unwrap_or_default()),
    })
}

const HEADERS: [(&str, &str); 9] = [
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("Scope", "SCOPE"),
    ("IPv4", "IPV4"),
    ("IPv6", "IPV6"),
    ("Internal", "INTERNAL"),
    ("Labels", "LABELS"),
    ("CreatedAt", "CREATED AT"),
];

/// The text `network ls` prints for the daemon's list.
pub fn render_ls(list: &mut [Value], a: &LsArgs) -> Result<String> {
    list.sort_by(|x, y| {
        natural_cmp(
            x["Name"].as_str().unwrap_or_default(),
            y["Name"].as_str().unwrap_or_default(),
        )
    });
    let rows: Vec<Value> = list.iter().map(|n| row(n, !a.no_trunc)).collect();
    let table = a.format.as_deref().is_none_or(|f| f.trim() == "table");
    let format = if table && a.quiet {
        Some("{{.ID}}")
    } else {
        a.format.as_deref()
    };
    let default = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
    render_list(format, default, &HEADERS, &rows)
}

/// `berth network ls`.
pub fn ls(c: &Client, a: LsArgs) -> Result<()> {
    let q = match filters_json(&a.filter)? {
        Some(f) => query(&[("filters", f)]),
        None => String::new(),
    };
    let mut list: Vec<Value> = c.get_json(&format!("/networks{q}"))?;
    print!("{}", render_ls(&mut list, &a)?);
    Ok(())
}

/// What `network inspect` prints for the raw objects found (docker/cli's inspector):
/// the array re-indented by four spaces, compact for `json`, or one template result per
/// network.
pub fn render_inspect(raws: &[Vec<u8>], format: Option<&str>) -> Result<String> {
    let array = || {
        let mut all = b"[".to_vec();
        for (i, r) in raws.iter().enumerate() {
            if i > 0 {
                all.push(b',');
            }
            all.extend_from_slice(r);
        }
        all.push(b']');
        all
    };
    match format.filter(|f| !f.is_empty()) {
        None => Ok(format!("{}\n", rawjson::indent(&array(), "    "))),
        Some("json") => Ok(format!("{}\n", rawjson::compact(&array()))),
        Some(f) => {
            Template::parse(f)
                .map_err(|e| exit_with(64, format!("template parsing error: {e:#}")))?;
            let mut out = String::new();
            for r in raws {
                let v: Value = serde_json::from_slice(r)
                    .map_err(|e| anyhow!("unable to read inspect data: {e}"))?;
                out.push_str(&render_one(f, &v)?);
                out.push('\n');
            }
            if out.is_empty() {
                out.push('\n');
            }
            Ok(out)
        }
    }
}

/// `berth network inspect`.
pub fn inspect(c: &Client, a: InspectArgs) -> Result<()> {
    let q = if a.verbose { "?verbose=true" } else { "" };
    let (mut raws, mut errors) = (Vec::new(), Vec::new());
    for name in &a.names {
        let got = trim_id("network", name)
            .and_then(|id| c.request("GET", &format!("/networks/{id}{q}"), &[], None))
            .and_then(|r| r.bytes());
        match got {
            Ok(b) => raws.push(b),
            Err(e) if e.downcast_ref::<ConnectError>().is_some() => return Err(e),
            Err(e) => errors.push(error_text(&e)),
        }
    }
    print!("{}", render_inspect(&raws, a.format.as_deref())?);
    if !errors.is_empty() {
        return Err(exit_with(1, errors.join("\n")));
    }
    Ok(())
}
