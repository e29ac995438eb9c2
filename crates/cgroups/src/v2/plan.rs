//! v2 resource writes: OCI `linux.resources` → cgroup2 interface files.
//!
//! Pure planning for the runtime process, per Documentation/admin-guide/cgroup-v2.rst and
//! runc's conversions (shares → cpu.weight, blkio weight → io.weight, OCI memory+swap →
//! memory.swap.max). Devices are not here: v2 enforces them with BPF (`v2::devices`).
//! Left out: swappiness, disableOOMKiller, kernel memory (no v2 equivalent), realtime.

use std::collections::BTreeMap;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use crate::plan::{check_page_size, max_or, Write};
use crate::CgroupError;

/// CFS period used when only a quota is given (the kernel default).
const DEFAULT_PERIOD: u64 = 100_000;

/// Every write for `r`, in application order; `unified` entries come last.
pub fn writes(r: &LinuxResources) -> Result<Vec<Write>, CgroupError> {
    let mut w = Vec::new();
    if let Some(m) = r.memory() {
        w.extend(memory_writes(m)?);
    }
    if let Some(c) = r.cpu() {
        w.extend(cpu_writes(c)?);
    }
    if let Some(p) = r.pids() {
        w.push(Write::new(
            "pids",
            "pids.max",
            max_or(if p.limit() <= 0 { -1 } else { p.limit() }),
        ));
    }
    if let Some(b) = r.block_io() {
        w.extend(io_writes(b));
    }
    for h in r.hugepage_limits().iter().flatten() {
        check_page_size(h.page_size())?;
        w.push(Write::new(
            "hugetlb",
            format!("hugetlb.{}.max", h.page_size()),
            max_or(h.limit()),
        ));
    }
    if let Some(u) = r.unified() {
        let sorted: BTreeMap<_, _> = u.iter().collect();
        for (k, v) in sorted {
            w.push(unified_write(k, v)?);
        }
    }
    Ok(w)
}

fn memory_writes(m: &LinuxMemory) -> Result<Vec<Write>, CgroupError> {
    let mut w = Vec::new();
    if let Some(l) = m.limit() {
        w.push(Write::new("memory", "memory.max", max_or(l)));
    }
    if let Some(s) = m.swap() {
        if let Some(v) = swap_max(m.limit(), s)? {
            w.push(Write::new("memory", "memory.swap.max", v));
        }
    }
    if let Some(r) = m.reservation() {
        w.push(Write::new("memory", "memory.low", max_or(r)));
    }
    Ok(w)
}

/// OCI `swap` is memory+swap; v2's memory.swap.max is swap alone. `None`: leave unset.
pub fn swap_max(limit: Option<i64>, swap: i64) -> Result<Option<String>, CgroupError> {
    if swap < 0 {
        return Ok(Some("max".to_string()));
    }
    if swap == 0 {
        return Ok(None);
    }
    let bad = |reason| CgroupError::InvalidValue {
        field: "memory.swap",
        value: swap.to_string(),
        reason,
    };
    match limit {
        None | Some(0) => Err(bad("a swap limit needs a memory limit")),
        Some(l) if l < 0 => Err(bad(
            "a swap limit needs a memory limit (memory.limit is -1)",
        )),
        Some(l) if swap < l => Err(bad("memory+swap must be >= the memory limit")),
        Some(l) => Ok(Some((swap - l).to_string())),
    }
}

/// runc's shares (2..262144) → cpu.weight (1..10000) mapping; 0 means unset.
pub fn cpu_weight(shares: u64) -> Option<u64> {
    (shares != 0).then(|| 1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142)
}

/// `cpu.max` value: `"$quota $period"`, quota `max` when unset or ≤ 0.
pub fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    if quota.is_none() && period.is_none() {
        return None;
    }
    let q = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_string(),
    };
    Some(format!("{q} {}", period.unwrap_or(DEFAULT_PERIOD)))
}

fn cpu_writes(c: &LinuxCpu) -> Result<Vec<Write>, CgroupError> {
    if c.realtime_runtime().is_some_and(|r| r != 0) || c.realtime_period().is_some_and(|p| p != 0) {
        return Err(CgroupError::InvalidValue {
            field: "cpu.realtimeRuntime",
            value: format!("{:?}/{:?}", c.realtime_runtime(), c.realtime_period()),
            reason: "realtime scheduling limits are not supported on cgroup v2",
        });
    }
    let mut w = Vec::new();
    if let Some(weight) = c.shares().and_then(cpu_weight) {
        w.push(Write::new("cpu", "cpu.weight", weight));
    }
    if let Some(v) = cpu_max(c.quota(), c.period()) {
        w.push(Write::new("cpu", "cpu.max", v));
    }
    if let Some(b) = c.burst() {
        w.push(Write::new("cpu", "cpu.max.burst", b));
    }
    if let Some(i) = c.idle() {
        w.push(Write::new("cpu", "cpu.idle", i));
    }
    if let Some(s) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        w.push(Write::new("cpuset", "cpuset.cpus", s));
    }
    if let Some(s) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        w.push(Write::new("cpuset", "cpuset.mems", s));
    }
    Ok(w)
}

/// runc's blkio weight (10..1000) → io.weight (1..10000) mapping; 0 means unset.
pub fn io_weight(blkio_weight: u16) -> Option<u64> {
    (blkio_weight != 0).then(|| 1 + (u64::from(blkio_weight.clamp(10, 1000)) - 10) * 9999 / 990)
}

fn io_writes(b: &LinuxBlockIo) -> Vec<Write> {
    let mut w = Vec::new();
    if let Some(v) = b.weight().and_then(io_weight) {
        w.push(Write::new("io", "io.weight", format!("default {v}")));
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(v) = d.weight().and_then(io_weight) {
            w.push(Write::new(
                "io",
                "io.weight",
                format!("{}:{} {v}", d.major(), d.minor()),
            ));
        }
    }
    w.extend(
        io_max_lines(b)
            .into_iter()
            .map(|l| Write::new("io", "io.max", l)),
    );
    w
}

/// One `io.max` line per device: `maj:min rbps=N wbps=N riops=N wiops=N` (only the keys
/// given for that device; a rate of 0 is `max`).
pub fn io_max_lines(b: &LinuxBlockIo) -> Vec<String> {
    let mut per_dev: BTreeMap<(i64, i64), Vec<String>> = BTreeMap::new();
    let keys = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ];
    for (key, devs) in keys {
        for d in devs.iter().flatten() {
            let rate = if d.rate() == 0 {
                "max".to_string()
            } else {
                d.rate().to_string()
            };
            per_dev
                .entry((d.major(), d.minor()))
                .or_default()
                .push(format!("{key}={rate}"));
        }
    }
    per_dev
        .into_iter()
        .map(|((ma, mi), kv)| format!("{ma}:{mi} {}", kv.join(" ")))
        .collect()
}

/// A `unified` entry: the key must be a plain interface file name.
fn unified_write(key: &str, value: &str) -> Result<Write, CgroupError> {
    let plain =
        !key.is_empty() && key != "." && key != ".." && !key.contains('/') && !key.contains('\0');
    if !plain || !key.contains('.') {
        return Err(CgroupError::InvalidValue {
            field: "unified",
            value: key.to_string(),
            reason: "key must be a cgroup interface file name like memory.high",
        });
    }
    let controller = match key.split('.').next() {
        Some("memory") => "memory",
        Some("cpu") => "cpu",
        Some("cpuset") => "cpuset",
        Some("io") => "io",
        Some("pids") => "pids",
        Some("hugetlb") => "hugetlb",
        Some("rdma") => "rdma",
        Some("misc") => "misc",
        _ => "",
    };
    Ok(Write::new(controller, key, value))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxResourcesBuilder,
        LinuxThrottleDeviceBuilder,
    };

    use super::*;

    #[test]
    fn weight_conversion_matches_runc() {
        assert_eq!(cpu_weight(2), Some(1));
        assert_eq!(cpu_weight(1024), Some(39));
        assert_eq!(cpu_weight(262_144), Some(10_000));
        assert_eq!(cpu_weight(0), None);
        assert_eq!(io_weight(10), Some(1));
        assert_eq!(io_weight(500), Some(4950));
        assert_eq!(io_weight(1000), Some(10_000));
    }

    #[test]
    fn cpu_max_strings() {
        assert_eq!(
            cpu_max(Some(50_000), Some(100_000)).as_deref(),
            Some("50000 100000")
        );
        assert_eq!(cpu_max(Some(-1), None).as_deref(), Some("max 100000"));
        assert_eq!(cpu_max(None, Some(20_000)).as_deref(), Some("max 20000"));
        assert_eq!(cpu_max(None, None), None);
    }

    #[test]
    fn swap_math() {
        assert_eq!(swap_max(Some(100), 300).unwrap().as_deref(), Some("200"));
        assert_eq!(swap_max(Some(100), 100).unwrap().as_deref(), Some("0"));
        assert_eq!(swap_max(Some(100), -1).unwrap().as_deref(), Some("max"));
        assert_eq!(swap_max(None, 0).unwrap(), None);
        assert!(swap_max(Some(100), 50).is_err());
        assert!(swap_max(None, 100).is_err());
        assert!(swap_max(Some(-1), 100).is_err());
    }

    #[test]
    fn io_max_groups_by_device() {
        let t = |maj: i64, min: i64, rate: u64| {
            LinuxThrottleDeviceBuilder::default()
                .major(maj)
                .minor(min)
                .rate(rate)
                .build()
                .unwrap()
        };
        let b = LinuxBlockIoBuilder::default()
            .throttle_read_bps_device(vec![t(8, 0, 1000), t(8, 16, 5)])
            .throttle_write_bps_device(vec![t(8, 0, 2000)])
            .throttle_read_iops_device(vec![t(8, 0, 0)])
            .throttle_write_iops_device(vec![t(8, 0, 40)])
            .build()
            .unwrap();
        assert_eq!(
            io_max_lines(&b),
            ["8:0 rbps=1000 wbps=2000 riops=max wiops=40", "8:16 rbps=5"]
        );
    }

    #[test]
    fn full_plan_and_unified() {
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(1 << 20)
                    .swap(2 << 20)
                    .reservation(1024)
                    .build()
                    .unwrap(),
            )
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(1024u64)
                    .quota(20_000)
                    .cpus("0")
                    .build()
                    .unwrap(),
            )
            .unified(HashMap::from([(
                "memory.high".to_string(),
                "500000".to_string(),
            )]))
            .build()
            .unwrap();
        let got: Vec<_> = writes(&r)
            .unwrap()
            .into_iter()
            .map(|w| format!("{}={}", w.file, w.value))
            .collect();
        assert_eq!(
            got,
            [
                "memory.max=1048576",
                "memory.swap.max=1048576",
                "memory.low=1024",
                "cpu.weight=39",
                "cpu.max=20000 100000",
                "cpuset.cpus=0",
                "memory.high=500000"
            ]
        );
        let bad = LinuxResourcesBuilder::default()
            .unified(HashMap::from([(
                "../memory.max".to_string(),
                "1".to_string(),
            )]))
            .build()
            .unwrap();
        assert!(writes(&bad).is_err());
    }
}
