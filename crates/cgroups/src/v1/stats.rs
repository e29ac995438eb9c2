//! Read v1 usage counters into [`Stats`].
//!
//! Runs in the runtime process; reads only. Files per cgroup-v1 docs: cpuacct.usage,
//! cpuacct.usage_percpu, cpuacct.stat (USER_HZ ticks), cpu.stat, memory.*, pids.*,
//! blkio.throttle.io_service*_recursive. Missing controllers leave their section zero.

use std::path::Path;

use super::V1;
use crate::stats::{parse_dev, parse_flat_keyed, BlkioEntry, MemoryEntry, Stats};
use crate::{cgfs, CgroupError};

/// USER_HZ on Linux (cpuacct.stat is in these ticks).
const USER_HZ: u64 = 100;
const NS_PER_TICK: u64 = 1_000_000_000 / USER_HZ;

/// Read everything available.
pub fn read_stats(cg: &V1) -> Result<Stats, CgroupError> {
    let mut s = Stats::default();
    if let Some(d) = cg.dir_of("cpuacct") {
        s.cpu.usage.total = cgfs::read_u64(&d.join("cpuacct.usage"))?;
        let percpu = cgfs::read(&d.join("cpuacct.usage_percpu"))?;
        s.cpu.usage.percpu = percpu
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let st = parse_flat_keyed(&cgfs::read(&d.join("cpuacct.stat"))?);
        s.cpu.usage.user = st.get("user").copied().unwrap_or(0) * NS_PER_TICK;
        s.cpu.usage.kernel = st.get("system").copied().unwrap_or(0) * NS_PER_TICK;
    }
    if let Some(d) = cg.dir_of("cpu") {
        let st = parse_flat_keyed(&cgfs::read(&d.join("cpu.stat"))?);
        s.cpu.throttling.periods = st.get("nr_periods").copied().unwrap_or(0);
        s.cpu.throttling.throttled_periods = st.get("nr_throttled").copied().unwrap_or(0);
        s.cpu.throttling.throttled_time = st.get("throttled_time").copied().unwrap_or(0);
    }
    if let Some(d) = cg.dir_of("memory") {
        read_memory(&d, &mut s)?;
    }
    if let Some(d) = cg.dir_of("pids") {
        s.pids.current = cgfs::read_u64(&d.join("pids.current"))?;
        let max = cgfs::read_u64(&d.join("pids.max"))?;
        s.pids.limit = if max == u64::MAX { 0 } else { max };
    }
    if let Some(d) = cg.dir_of("blkio") {
        let bytes = cgfs::read(&d.join("blkio.throttle.io_service_bytes_recursive"))?;
        s.blkio.io_service_bytes_recursive = parse_blkio(&bytes);
        let ios = cgfs::read(&d.join("blkio.throttle.io_serviced_recursive"))?;
        s.blkio.io_serviced_recursive = parse_blkio(&ios);
    }
    Ok(s)
}

fn read_memory(d: &Path, s: &mut Stats) -> Result<(), CgroupError> {
    s.memory.usage = memory_entry(d, "memory")?;
    if d.join("memory.memsw.usage_in_bytes").exists() {
        s.memory.swap = memory_entry(d, "memory.memsw")?;
    }
    if d.join("memory.kmem.usage_in_bytes").exists() {
        s.memory.kernel = memory_entry(d, "memory.kmem")?;
    }
    s.memory.raw = parse_flat_keyed(&cgfs::read(&d.join("memory.stat"))?);
    s.memory.cache = s
        .memory
        .raw
        .get("total_cache")
        .or(s.memory.raw.get("cache"))
        .copied()
        .unwrap_or(0);
    let oom = parse_flat_keyed(&cgfs::read(&d.join("memory.oom_control"))?);
    s.memory.oom_kill = oom.get("oom_kill").copied().unwrap_or(0);
    Ok(())
}

/// `oom_kill` of `memory.oom_control` alone: the shim reads it at start and exit, where
/// the whole of [`read_stats`] (memory.stat is computed on every read) would cost more.
pub fn read_oom_kills(cg: &V1) -> Result<u64, CgroupError> {
    match cg.dir_of("memory") {
        Some(d) => {
            let oom = parse_flat_keyed(&cgfs::read(&d.join("memory.oom_control"))?);
            Ok(oom.get("oom_kill").copied().unwrap_or(0))
        }
        None => Ok(0),
    }
}

fn memory_entry(d: &Path, prefix: &str) -> Result<MemoryEntry, CgroupError> {
    let f = |name: &str| cgfs::read_u64(&d.join(format!("{prefix}.{name}")));
    Ok(MemoryEntry {
        limit: f("limit_in_bytes")?,
        usage: f("usage_in_bytes")?,
        max: f("max_usage_in_bytes")?,
        failcnt: f("failcnt")?,
    })
}

/// Parse `8:0 Read 1234` lines; the trailing `Total N` line is skipped.
pub fn parse_blkio(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (major, minor) = parse_dev(it.next()?)?;
            let op = it.next()?.to_string();
            let value = it.next()?.parse().ok()?;
            Some(BlkioEntry {
                major,
                minor,
                op,
                value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkio_lines() {
        let e = parse_blkio("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(e.len(), 2);
        assert_eq!(
            e[0],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Read".into(),
                value: 4096
            }
        );
    }
}
