//! v1 cpu and cpuset controller writes for `linux.resources.cpu`.
//!
//! Pure planning for the runtime process. Follows the kernel's sched-bwc.rst (CFS
//! bandwidth: period before quota), sched-rt-group.rst (rt period before runtime) and
//! cgroup-v1/cpusets.rst. Copying cpus/mems into new cpuset levels is done in `v1::mod`.

use oci_spec::runtime::LinuxCpu;

use crate::plan::Write;

/// Writes for `cpu` (shares, CFS bandwidth, burst, idle, realtime, cpuset).
pub fn cpu_writes(cpu: &LinuxCpu) -> Vec<Write> {
    let mut w = Vec::new();
    if let Some(s) = cpu.shares() {
        w.push(Write::new("cpu", "cpu.shares", s));
    }
    if let Some(p) = cpu.period() {
        w.push(Write::new("cpu", "cpu.cfs_period_us", p));
    }
    if let Some(q) = cpu.quota() {
        w.push(Write::new(
            "cpu",
            "cpu.cfs_quota_us",
            if q <= 0 { -1 } else { q },
        ));
    }
    if let Some(b) = cpu.burst() {
        w.push(Write::new("cpu", "cpu.cfs_burst_us", b));
    }
    if let Some(i) = cpu.idle() {
        w.push(Write::new("cpu", "cpu.idle", i));
    }
    if let Some(p) = cpu.realtime_period() {
        w.push(Write::new("cpu", "cpu.rt_period_us", p));
    }
    if let Some(r) = cpu.realtime_runtime() {
        w.push(Write::new("cpu", "cpu.rt_runtime_us", r));
    }
    if let Some(c) = cpu.cpus().as_deref().filter(|c| !c.is_empty()) {
        w.push(Write::new("cpuset", "cpuset.cpus", c));
    }
    if let Some(m) = cpu.mems().as_deref().filter(|m| !m.is_empty()) {
        w.push(Write::new("cpuset", "cpuset.mems", m));
    }
    w
}

#[cfg(test)]
mod tests {
    use oci_spec::runtime::LinuxCpuBuilder;

    use super::*;

    #[test]
    fn period_before_quota_and_cpuset() {
        let c = LinuxCpuBuilder::default()
            .shares(512u64)
            .quota(50_000)
            .period(100_000u64)
            .cpus("0")
            .mems("0")
            .build()
            .unwrap();
        let got: Vec<_> = cpu_writes(&c)
            .into_iter()
            .map(|w| (w.file, w.value))
            .collect();
        let want = [
            ("cpu.shares", "512"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "50000"),
            ("cpuset.cpus", "0"),
            ("cpuset.mems", "0"),
        ];
        assert_eq!(got.len(), want.len());
        for ((f, v), (wf, wv)) in got.iter().zip(want) {
            assert_eq!((f.as_str(), v.as_str()), (wf, wv));
        }
    }

    #[test]
    fn no_quota_is_unlimited() {
        let c = LinuxCpuBuilder::default().quota(-5).build().unwrap();
        assert_eq!(cpu_writes(&c)[0].value, "-1");
    }
}
