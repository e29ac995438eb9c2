//! `stats`: per-container CPU, memory, network, block I/O and pids, computed from
//! `GET /containers/{id}/stats` as docker/cli does (CPU delta over system delta times
//! online CPUs; memory minus inactive file cache).
//!
//! Runs in the CLI process. One thread per container; `--no-stream` takes one sample
//! each and prints once, otherwise the table is redrawn every second until interrupted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use crate::client::{enc, Client};
use crate::format::units::{bytes_size, human_size_prec};
use crate::format::{render_list, short_id};

/// `stats` flags.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// CONTAINER...
    pub containers: Vec<String>,
}

const HEADERS: [(&str, &str); 9] = [
    ("Container", "CONTAINER"),
    ("ID", "CONTAINER ID"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET I/O"),
    ("BlockIO", "BLOCK I/O"),
    ("PIDs", "PIDS"),
];

fn f(v: &Value, path: &str) -> f64 {
    v.pointer(path).and_then(Value::as_f64).unwrap_or(0.0)
}

/// One stats sample as a Docker formatter row.
pub fn row(container: &str, s: &Value, trunc: bool) -> Value {
    let id = s["id"].as_str().unwrap_or(container);
    let cpu_delta =
        f(s, "/cpu_stats/cpu_usage/total_usage") - f(s, "/precpu_stats/cpu_usage/total_usage");
    let sys_delta = f(s, "/cpu_stats/system_cpu_usage") - f(s, "/precpu_stats/system_cpu_usage");
    let mut online = f(s, "/cpu_stats/online_cpus");
    if online == 0.0 {
        #[allow(clippy::cast_precision_loss, reason = "CPU counts are small")]
        let n = s
            .pointer("/cpu_stats/cpu_usage/percpu_usage")
            .and_then(Value::as_array)
            .map_or(0, Vec::len) as f64;
        online = n;
    }
    let cpu = if sys_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / sys_delta * online * 100.0
    } else {
        0.0
    };
    let usage = f(s, "/memory_stats/usage");
    let cache = match s.pointer("/memory_stats/stats/total_inactive_file") {
        Some(v) => v.as_f64().unwrap_or(0.0),
        None => f(s, "/memory_stats/stats/inactive_file"),
    };
    let mem = if cache < usage { usage - cache } else { usage };
    let limit = f(s, "/memory_stats/limit");
    let mem_pct = if limit > 0.0 {
        mem / limit * 100.0
    } else {
        0.0
    };
    let (mut rx, mut tx) = (0.0, 0.0);
    for n in s["networks"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        rx += f(n, "/rx_bytes");
        tx += f(n, "/tx_bytes");
    }
    let (mut rd, mut wr) = (0.0, 0.0);
    for e in s
        .pointer("/blkio_stats/io_service_bytes_recursive")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match e["op"].as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => rd += f(e, "/value"),
            Some("write") => wr += f(e, "/value"),
            _ => {}
        }
    }
    let h = |x: f64| human_size_prec(x, 3);
    json!({
        "Container": container,
        "ID": if trunc { short_id(id) } else { id.to_string() },
        "Name": s["name"].as_str().unwrap_or("").trim_start_matches('/'),
        "CPUPerc": format!("{cpu:.2}%"),
        "MemUsage": format!("{} / {}", bytes_size(mem), bytes_size(limit)),
        "MemPerc": format!("{mem_pct:.2}%"),
        "NetIO": format!("{} / {}", h(rx), h(tx)),
        "BlockIO": format!("{} / {}", h(rd), h(wr)),
        "PIDs": s.pointer("/pids_stats/current").and_then(Value::as_u64).unwrap_or(0).to_string(),
    })
}

fn targets(c: &Client, a: &StatsArgs) -> Result<Vec<String>> {
    if !a.containers.is_empty() {
        return Ok(a.containers.clone());
    }
    let list: Vec<Value> = c.get_json(if a.all {
        "/containers/json?all=1"
    } else {
        "/containers/json"
    })?;
    Ok(list
        .iter()
        .filter_map(|x| x["Id"].as_str().map(str::to_string))
        .collect())
}

/// `berth stats`.
pub fn stats(c: &Client, a: StatsArgs) -> Result<()> {
    let names = targets(c, &a)?;
    let default = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
    let trunc = !a.no_trunc;
    if a.no_stream {
        let results: Vec<Result<Value>> = thread::scope(|sc| {
            let handles: Vec<_> = names
                .iter()
                .map(|n| {
                    sc.spawn(move || -> Result<Value> {
                        let s: Value =
                            c.get_json(&format!("/containers/{}/stats?stream=0", enc(n)))?;
                        Ok(row(n, &s, trunc))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("stats thread panicked")))
                })
                .collect()
        });
        let mut rows = Vec::new();
        for r in results {
            rows.push(r?);
        }
        print!(
            "{}",
            render_list(a.format.as_deref(), default, &HEADERS, &rows)?
        );
        return Ok(());
    }
    let latest: Arc<Mutex<BTreeMap<usize, Value>>> = Arc::default();
    for (i, n) in names.iter().enumerate() {
        let (c, n, latest) = (c.clone(), n.clone(), latest.clone());
        thread::spawn(move || {
            let Ok(resp) = c.request(
                "GET",
                &format!("/containers/{}/stats?stream=1", enc(&n)),
                &[],
                None,
            ) else {
                return;
            };
            let _ = crate::client::json_lines(resp.body, |s| {
                if let Ok(mut m) = latest.lock() {
                    m.insert(i, row(&n, &s, trunc));
                }
                Ok(true)
            });
        });
    }
    loop {
        thread::sleep(Duration::from_secs(1));
        let rows: Vec<Value> = latest
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        print!(
            "\x1b[2J\x1b[H{}",
            render_list(a.format.as_deref(), default, &HEADERS, &rows)?
        );
        std::io::Write::flush(&mut std::io::stdout())?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_like_docker() {
        let s = json!({
            "id": "0123456789abcdef", "name": "/web",
            "cpu_stats": {"cpu_usage": {"total_usage": 200}, "system_cpu_usage": 2000, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
            "memory_stats": {"usage": 3_145_728, "limit": 1_073_741_824, "stats": {"total_inactive_file": 1_048_576}},
            "networks": {"eth0": {"rx_bytes": 1000, "tx_bytes": 2000}},
            "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 4096}, {"op": "Write", "value": 0}]},
            "pids_stats": {"current": 3}
        });
        let r = row("web", &s, true);
        assert_eq!(r["CPUPerc"], "20.00%");
        assert_eq!(r["MemUsage"], "2MiB / 1GiB");
        assert_eq!(r["MemPerc"], "0.20%");
        assert_eq!(r["NetIO"], "1kB / 2kB");
        assert_eq!(r["BlockIO"], "4.1kB / 0B");
        assert_eq!(r["PIDs"], "3");
        assert_eq!(r["Name"], "web");
        assert_eq!(r["ID"], "0123456789ab");
    }
}
