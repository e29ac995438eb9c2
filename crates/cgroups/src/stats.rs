//! [`Stats`]: resource usage in the shape of runc's `events --stats` "data" object.
//!
//! Plain data plus the parsers shared by `v1::stats` and `v2::stats`; runs wherever stats
//! are read (the runtime process). Field names and omitted-when-zero fields follow runc's
//! `types/events.go`; `memory.oomKill` is a berth addition.

use std::collections::BTreeMap;

use serde::Serialize;

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Resource usage of a container.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    /// CPU time and throttling.
    pub cpu: CpuStats,
    /// Memory usage and limits.
    pub memory: MemoryStats,
    /// Process count.
    pub pids: PidsStats,
    /// Block I/O counters.
    pub blkio: BlkioStats,
    /// Hugetlb usage per page size (`2MB` → …).
    pub hugetlb: BTreeMap<String, HugetlbStats>,
}

/// CPU statistics.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CpuStats {
    /// Time used.
    pub usage: CpuUsage,
    /// CFS bandwidth throttling.
    pub throttling: Throttling,
}

/// CPU time in nanoseconds.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CpuUsage {
    /// Total CPU time.
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    /// Per-CPU time (v1 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    /// Time in kernel mode.
    pub kernel: u64,
    /// Time in user mode.
    pub user: u64,
}

/// CFS throttling counters.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    /// Enforcement periods elapsed.
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    /// Periods in which the cgroup was throttled.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Total time throttled, ns.
    #[serde(skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

/// Memory statistics.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryStats {
    /// Page cache bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    /// Memory usage.
    pub usage: MemoryEntry,
    /// Memory+swap usage (runc reports swap this way on both versions).
    pub swap: MemoryEntry,
    /// Kernel memory (v1 kmem).
    pub kernel: MemoryEntry,
    /// The memory.stat file, verbatim.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
    /// Number of OOM kills in the cgroup (0: none happened).
    pub oom_kill: u64,
}

/// One memory counter set; `u64::MAX` limits mean unlimited.
#[derive(Debug, Default, Clone, Serialize)]
pub struct MemoryEntry {
    /// Limit in bytes.
    pub limit: u64,
    /// Current usage.
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Peak usage.
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    /// Times the limit was hit.
    pub failcnt: u64,
}

/// Process counts.
#[derive(Debug, Default, Clone, Serialize)]
pub struct PidsStats {
    /// Processes now.
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// `pids.max`; 0 when unlimited.
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// Block I/O counters.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlkioStats {
    /// Bytes transferred per device and op.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    /// I/O operations per device and op.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

/// One blkio counter.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct BlkioEntry {
    /// Device major.
    pub major: u64,
    /// Device minor.
    pub minor: u64,
    /// `Read`, `Write`, `Sync`, `Async`, `Discard` or `Total`.
    pub op: String,
    /// The count.
    pub value: u64,
}

/// Hugetlb usage for one page size.
#[derive(Debug, Default, Clone, Serialize)]
pub struct HugetlbStats {
    /// Bytes in use.
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Peak bytes (v1 only).
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    /// Allocation failures.
    pub failcnt: u64,
}

/// Parse a flat keyed file (`key value` per line), e.g. memory.stat or cpu.stat.
pub fn parse_flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), crate::cgfs::parse_u64(v.trim())?))
        })
        .collect()
}

/// Parse `maj:min`.
pub fn parse_dev(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_keyed() {
        let m = parse_flat_keyed("cache 4096\nrss 8192\nbogus\nlimit max\n");
        assert_eq!(m["cache"], 4096);
        assert_eq!(m["limit"], u64::MAX);
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn json_shape_is_runc_like() {
        let mut s = Stats::default();
        s.cpu.throttling.throttled_periods = 2;
        s.memory.usage.usage = 5;
        s.blkio.io_service_bytes_recursive.push(BlkioEntry {
            major: 8,
            minor: 0,
            op: "Read".into(),
            value: 1,
        });
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["cpu"]["throttling"]["throttledPeriods"], 2);
        assert_eq!(v["memory"]["usage"]["usage"], 5);
        assert_eq!(v["blkio"]["ioServiceBytesRecursive"][0]["op"], "Read");
        assert_eq!(v["memory"]["oomKill"], 0);
        assert!(v["hugetlb"].as_object().unwrap().is_empty());
    }
}
