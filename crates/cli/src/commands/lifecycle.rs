//! Container lifecycle verbs without streams: `stop`, `restart`, `kill`, `rm`, `wait`,
//! `pause`, `unpause`, `rename`, `update`, `container prune`.
//!
//! Runs in the CLI process. Multi-target verbs echo each target as given on success and
//! print `Error response from daemon: …` per failure, exiting 1 if any failed.

use std::io::{self, BufRead, Write};

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use super::for_each;
use crate::client::{enc, query, Client};
use crate::format::units::{human_size, ram_in_bytes};
use crate::opts::values;

/// `stop`/`restart` flags.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "time",
        visible_alias = "timeout",
        allow_hyphen_values = true
    )]
    pub time: Option<i64>,
    /// Signal to send to the container
    #[arg(short = 's', long)]
    pub signal: Option<String>,
    /// CONTAINER...
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `kill` flags.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long)]
    pub signal: Option<String>,
    /// CONTAINER...
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `rm` flags.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Remove the specified link
    #[arg(short = 'l', long)]
    pub link: bool,
    /// CONTAINER...
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// A list of containers.
#[derive(Debug, Args)]
pub struct IdsArgs {
    /// CONTAINER...
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `rename` arguments.
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// CONTAINER
    pub container: String,
    /// NEW_NAME
    pub new_name: String,
}

/// `update` flags.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Memory soft limit
    #[arg(long)]
    pub memory_reservation: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long)]
    pub restart: Option<String>,
    /// CONTAINER...
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `prune` flags.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long)]
    pub filter: Vec<String>,
}

/// `berth stop` / `berth restart`.
pub fn stop(c: &Client, a: StopArgs, verb: &str) -> Result<()> {
    let mut q = Vec::new();
    if let Some(t) = a.time {
        q.push(("t", t.to_string()));
    }
    if let Some(s) = &a.signal {
        q.push(("signal", s.clone()));
    }
    let q = query(&q);
    for_each(&a.containers, |id| {
        c.request(
            "POST",
            &format!("/containers/{}/{verb}{q}", enc(id)),
            &[],
            None,
        )?
        .discard()?;
        println!("{id}");
        Ok(())
    })
}

/// `berth kill`.
pub fn kill(c: &Client, a: KillArgs) -> Result<()> {
    let q = match &a.signal {
        Some(s) => query(&[("signal", s.clone())]),
        None => String::new(),
    };
    for_each(&a.containers, |id| {
        c.request(
            "POST",
            &format!("/containers/{}/kill{q}", enc(id)),
            &[],
            None,
        )?
        .discard()?;
        println!("{id}");
        Ok(())
    })
}

/// `berth rm`.
pub fn rm(c: &Client, a: RmArgs) -> Result<()> {
    let q = format!(
        "?force={}&v={}&link={}",
        u8::from(a.force),
        u8::from(a.volumes),
        u8::from(a.link)
    );
    for_each(&a.containers, |id| {
        c.request("DELETE", &format!("/containers/{}{q}", enc(id)), &[], None)?
            .discard()?;
        println!("{id}");
        Ok(())
    })
}

/// `berth wait`.
pub fn wait(c: &Client, a: IdsArgs) -> Result<()> {
    for_each(&a.containers, |id| {
        let v: Value = c
            .request("POST", &format!("/containers/{}/wait", enc(id)), &[], None)?
            .json()?;
        if let Some(m) = v
            .pointer("/Error/Message")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
        {
            anyhow::bail!("{m}");
        }
        println!(
            "{}",
            v.get("StatusCode").and_then(Value::as_i64).unwrap_or(0)
        );
        Ok(())
    })
}

/// `berth pause` / `berth unpause`.
pub fn simple(c: &Client, a: IdsArgs, verb: &str) -> Result<()> {
    for_each(&a.containers, |id| {
        c.request(
            "POST",
            &format!("/containers/{}/{verb}", enc(id)),
            &[],
            None,
        )?
        .discard()?;
        println!("{id}");
        Ok(())
    })
}

/// `berth rename`.
pub fn rename(c: &Client, a: RenameArgs) -> Result<()> {
    let name = a.new_name.trim();
    if name.is_empty() {
        anyhow::bail!("Error: neither old nor new names may be empty");
    }
    c.request(
        "POST",
        &format!(
            "/containers/{}/rename?name={}",
            enc(&a.container),
            enc(name)
        ),
        &[],
        None,
    )?
    .discard()
}

/// `berth update`.
pub fn update(c: &Client, a: UpdateArgs) -> Result<()> {
    let mut body = json!({});
    if let Some(v) = &a.cpus {
        body["NanoCpus"] = json!(values::parse_cpus(v)?);
    }
    if let Some(v) = a.cpu_shares {
        body["CpuShares"] = json!(v);
    }
    if let Some(v) = &a.cpuset_cpus {
        body["CpusetCpus"] = json!(v);
    }
    if let Some(v) = &a.memory {
        body["Memory"] = json!(ram_in_bytes(v)?);
    }
    if let Some(v) = &a.memory_reservation {
        body["MemoryReservation"] = json!(ram_in_bytes(v)?);
    }
    if let Some(v) = &a.memory_swap {
        body["MemorySwap"] = json!(if v == "-1" { -1 } else { ram_in_bytes(v)? });
    }
    if let Some(v) = a.pids_limit {
        body["PidsLimit"] = json!(v);
    }
    if let Some(v) = &a.restart {
        body["RestartPolicy"] = values::parse_restart(v)?;
    }
    for_each(&a.containers, |id| {
        let v: Value = c
            .post(&format!("/containers/{}/update", enc(id)), Some(&body))?
            .json()?;
        if let Some(ws) = v.get("Warnings").and_then(Value::as_array) {
            for w in ws.iter().filter_map(Value::as_str) {
                eprintln!("WARNING: {w}");
            }
        }
        println!("{id}");
        Ok(())
    })
}

/// Asks `[y/N]` on stderr; true on y/yes.
pub fn confirm(warning: &str) -> Result<bool> {
    print!("{warning}\nAre you sure you want to continue? [y/N] ");
    io::stdout().flush()?;
    let mut s = String::new();
    io::stdin().lock().read_line(&mut s)?;
    Ok(matches!(s.trim().to_lowercase().as_str(), "y" | "yes"))
}

/// Sends a prune request and prints the deleted items; returns the space reclaimed.
pub fn prune_request(
    c: &Client,
    path: &str,
    filters: &[String],
    list_key: &str,
    title: &str,
) -> Result<u64> {
    let q = match values::filters_json(filters)? {
        Some(f) => query(&[("filters", f)]),
        None => String::new(),
    };
    let v: Value = c
        .request("POST", &format!("{path}{q}"), &[], None)?
        .json()?;
    print_deleted(&v, list_key, title);
    Ok(v.get("SpaceReclaimed").and_then(Value::as_u64).unwrap_or(0))
}

/// Prints `Deleted …:` and the list under `key` (strings, or image delete records).
pub fn print_deleted(v: &Value, key: &str, title: &str) {
    let Some(items) = v
        .get(key)
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return;
    };
    println!("{title}:");
    for it in items {
        match it {
            Value::String(s) => println!("{s}"),
            Value::Object(m) => {
                for (k, v) in m {
                    println!("{k}: {}", v.as_str().unwrap_or_default());
                }
            }
            _ => {}
        }
    }
    println!();
}

/// `berth container prune`.
pub fn prune(c: &Client, a: PruneArgs) -> Result<()> {
    if !a.force && !confirm("WARNING! This will remove all stopped containers.")? {
        return Ok(());
    }
    let space = prune_request(
        c,
        "/containers/prune",
        &a.filter,
        "ContainersDeleted",
        "Deleted Containers",
    )?;
    #[allow(clippy::cast_precision_loss, reason = "display only")]
    let space = space as f64;
    println!("Total reclaimed space: {}", human_size(space));
    Ok(())
}
