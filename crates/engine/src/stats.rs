//! `docker stats`: one sample of a container's cgroup counters plus the host's CPU time,
//! turned into Docker's `StatsResponse` JSON (moby `api/types/container/stats.go`,
//! `daemon/stats_unix.go`).
//!
//! Runs in berthd on a blocking thread (cgroup and /proc reads). The CLI's CPU % is
//! `Δcontainer / Δsystem × online_cpus`, so `system_cpu_usage` is the sum of the first
//! seven `cpu` fields of /proc/stat in ns, as moby's `getSystemCPUUsage`, and every
//! sample carries the previous one as `precpu_stats`.

use berth_cgroups::Stats;
use serde_json::{json, Value};

use crate::container::Container;
use crate::error::{EngineError, Result};
use crate::Engine;

/// One reading.
#[derive(Debug, Clone)]
pub struct StatsSample {
    /// When it was taken, Unix ns.
    pub read: i64,
    /// The cgroup counters.
    pub cgroup: Stats,
    /// Host CPU time, ns.
    pub system_cpu: u64,
    /// CPUs online.
    pub online_cpus: u32,
}

/// (Σ of the first seven `cpu` fields × 1e9 / clk_tck, number of `cpuN` lines).
pub fn parse_proc_stat(text: &str, clk_tck: u64) -> Option<(u64, u32)> {
    let mut total = None;
    let mut cpus = 0u32;
    for line in text.lines() {
        let mut f = line.split_ascii_whitespace();
        match f.next() {
            Some("cpu") => {
                let ticks: Vec<u64> = f.take(7).filter_map(|v| v.parse().ok()).collect();
                if ticks.len() < 7 {
                    return None;
                }
                let sum: u64 = ticks.iter().sum();
                total = Some((sum as u128 * 1_000_000_000 / u128::from(clk_tck.max(1))) as u64);
            }
            Some(k) if k.starts_with("cpu") => cpus += 1,
            _ => {}
        }
    }
    Some((total?, cpus))
}

fn clk_tck() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(100)
}

/// The host's memory in bytes (`MemTotal` of /proc/meminfo).
pub fn machine_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_ascii_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

impl Engine {
    /// A sample of a running container; `None` when it is not running (or its cgroup
    /// is gone because it just exited).
    pub fn stats_sample(&self, c: &Container) -> Result<Option<StatsSample>> {
        if !c.record().state.status.is_alive() {
            return Ok(None);
        }
        let cgroup = match self.runtime().stats(&c.id) {
            Ok(s) => s,
            Err(_) if !c.record().state.status.is_alive() => return Ok(None),
            Err(e) => return Err(EngineError::internal(format!("stats of {}: {e}", c.id))),
        };
        let text = std::fs::read_to_string("/proc/stat")
            .map_err(|e| EngineError::io("read /proc/stat", e))?;
        let (system_cpu, online_cpus) = parse_proc_stat(&text, clk_tck())
            .ok_or_else(|| EngineError::internal("unexpected /proc/stat format"))?;
        Ok(Some(StatsSample {
            read: crate::time::now_nanos(),
            cgroup,
            system_cpu,
            online_cpus,
        }))
    }
}

fn time_or_zero(ns: Option<i64>) -> String {
    match ns {
        Some(n) => crate::time::rfc3339(n),
        None => crate::time::ZERO.to_string(),
    }
}

fn cpu_json(s: Option<&StatsSample>) -> Value {
    let Some(s) = s else {
        return json!({
            "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        });
    };
    let u = &s.cgroup.cpu.usage;
    let t = &s.cgroup.cpu.throttling;
    let mut usage = json!({
        "total_usage": u.total,
        "usage_in_kernelmode": u.kernel,
        "usage_in_usermode": u.user,
    });
    if !u.percpu.is_empty() {
        usage["percpu_usage"] = json!(u.percpu);
    }
    json!({
        "cpu_usage": usage,
        "system_cpu_usage": s.system_cpu,
        "online_cpus": s.online_cpus,
        "throttling_data": {
            "periods": t.periods,
            "throttled_periods": t.throttled_periods,
            "throttled_time": t.throttled_time,
        },
    })
}

fn blkio_json(s: Option<&StatsSample>) -> Value {
    let entries = |v: &[berth_cgroups::BlkioEntry]| -> Value {
        if v.is_empty() {
            return Value::Null;
        }
        Value::Array(
            v.iter()
                .map(|e| json!({"major": e.major, "minor": e.minor, "op": e.op, "value": e.value}))
                .collect(),
        )
    };
    let (bytes, ops) = match s {
        Some(s) => (
            entries(&s.cgroup.blkio.io_service_bytes_recursive),
            entries(&s.cgroup.blkio.io_serviced_recursive),
        ),
        None => (Value::Null, Value::Null),
    };
    json!({
        "io_service_bytes_recursive": bytes,
        "io_serviced_recursive": ops,
        "io_queue_recursive": null,
        "io_service_time_recursive": null,
        "io_wait_time_recursive": null,
        "io_merged_recursive": null,
        "io_time_recursive": null,
        "sectors_recursive": null,
    })
}

fn memory_json(s: Option<&StatsSample>, machine: u64) -> Value {
    let Some(s) = s else {
        return json!({});
    };
    let m = &s.cgroup.memory;
    let mut limit = m.usage.limit;
    if limit == 0 || (machine > 0 && limit > machine) {
        limit = machine;
    }
    let mut v = json!({
        "usage": m.usage.usage,
        "stats": m.raw,
        "limit": limit,
    });
    if m.usage.max > 0 {
        v["max_usage"] = json!(m.usage.max);
        v["failcnt"] = json!(m.usage.failcnt);
    }
    v
}

/// Docker's stats object for `cur` with `prev` as `precpu_stats`. `None` samples give
/// Docker's zeroed answer for a stopped container.
pub fn stats_json(
    name: &str,
    id: &str,
    cur: Option<&StatsSample>,
    prev: Option<&StatsSample>,
    machine_memory: u64,
) -> Value {
    let pids = match cur {
        Some(s) => {
            let mut p = json!({"current": s.cgroup.pids.current});
            if s.cgroup.pids.limit > 0 {
                p["limit"] = json!(s.cgroup.pids.limit);
            }
            p
        }
        None => json!({}),
    };
    json!({
        "name": format!("/{name}"),
        "id": id,
        "read": time_or_zero(cur.map(|s| s.read)),
        "preread": time_or_zero(prev.map(|s| s.read)),
        "pids_stats": pids,
        "blkio_stats": blkio_json(cur),
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu_json(cur),
        "precpu_stats": cpu_json(prev),
        "memory_stats": memory_json(cur, machine_memory),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_sums_seven_fields() {
        let text = "cpu  10 20 30 40 50 60 70 80 90 100\ncpu0 1 2 3 4 5 6 7 0 0 0\ncpu1 1 2 3 4 5 6 7 0 0 0\nintr 5\n";
        assert_eq!(parse_proc_stat(text, 100), Some((2_800_000_000, 2)));
        assert_eq!(parse_proc_stat("cpu 1 2\n", 100), None);
    }

    #[test]
    fn cpu_percent_inputs_and_memory_limit() {
        let mut cg = Stats::default();
        cg.cpu.usage.total = 500_000_000;
        cg.memory.usage.usage = 4096;
        cg.memory.usage.limit = u64::MAX;
        cg.memory.raw.insert("inactive_file".into(), 1024);
        let cur = StatsSample {
            read: 2_000_000_000,
            cgroup: cg,
            system_cpu: 4_000_000_000,
            online_cpus: 4,
        };
        let mut prev = cur.clone();
        prev.read = 1_000_000_000;
        prev.cgroup.cpu.usage.total = 0;
        prev.system_cpu = 0;
        let v = stats_json("web", "abc", Some(&cur), Some(&prev), 8 << 30);
        assert_eq!(v["name"], "/web");
        assert_eq!(v["cpu_stats"]["cpu_usage"]["total_usage"], 500_000_000);
        assert_eq!(v["precpu_stats"]["system_cpu_usage"], 0);
        assert_eq!(v["cpu_stats"]["online_cpus"], 4);
        assert_eq!(v["memory_stats"]["limit"], 8u64 << 30);
        assert_eq!(v["memory_stats"]["stats"]["inactive_file"], 1024);
        assert_eq!(v["preread"], "1970-01-01T00:00:01Z");
        let z = stats_json("web", "abc", None, None, 1);
        assert_eq!(z["read"], crate::time::ZERO);
        assert_eq!(z["memory_stats"], json!({}));
    }
}
