//! `linux.resources` from `HostConfig` (moby `daemon/oci_linux.go` WithResources and
//! `daemon/daemon_unix.go` getMemoryResources / getCPUResources / getBlkioWeightDevices).
//!
//! Reads blkio device numbers with `stat`; changes nothing.

use std::os::unix::fs::MetadataExt;

use bollard_stubs::models::{HostConfig, ThrottleDevice};
use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxMemory, LinuxPidsBuilder, LinuxResources,
    LinuxThrottleDevice, LinuxThrottleDeviceBuilder, LinuxWeightDevice, LinuxWeightDeviceBuilder,
};

use super::SpecError;

/// The CFS period used for `NanoCpus` (moby: 100 ms).
pub const NANO_CPUS_PERIOD: u64 = 100_000;

fn positive(v: Option<i64>) -> Option<i64> {
    v.filter(|v| *v > 0)
}

/// `(quota, period)` for `NanoCpus`: quota = NanoCpus × period / 1e9.
pub fn nano_cpus_quota(nano_cpus: i64) -> (i64, u64) {
    (
        nano_cpus * NANO_CPUS_PERIOD as i64 / 1_000_000_000,
        NANO_CPUS_PERIOD,
    )
}

fn memory(host: &HostConfig) -> Option<LinuxMemory> {
    let mut m = LinuxMemory::default();
    let limit = positive(host.memory);
    m.set_limit(limit);
    m.set_reservation(positive(host.memory_reservation));
    // Docker's default swap is twice the memory limit (adaptContainerSettings).
    m.set_swap(match host.memory_swap {
        Some(s) if s != 0 => Some(s),
        _ => limit.map(|l| l * 2),
    });
    m.set_swappiness(
        host.memory_swappiness
            .and_then(|s| u64::try_from(s).ok())
            .filter(|s| *s <= 100),
    );
    m.set_disable_oom_killer(host.oom_kill_disable);
    (m != LinuxMemory::default()).then_some(m)
}

fn cpu(host: &HostConfig) -> Option<LinuxCpu> {
    let mut c = LinuxCpu::default();
    c.set_shares(positive(host.cpu_shares).map(|s| s as u64));
    if let Some(nano) = positive(host.nano_cpus) {
        let (quota, period) = nano_cpus_quota(nano);
        c.set_quota(Some(quota));
        c.set_period(Some(period));
    } else {
        c.set_period(positive(host.cpu_period).map(|p| p as u64));
        c.set_quota(host.cpu_quota.filter(|q| *q != 0));
    }
    c.set_realtime_period(positive(host.cpu_realtime_period).map(|p| p as u64));
    c.set_realtime_runtime(positive(host.cpu_realtime_runtime));
    c.set_cpus(host.cpuset_cpus.clone().filter(|s| !s.is_empty()));
    c.set_mems(host.cpuset_mems.clone().filter(|s| !s.is_empty()));
    (c != LinuxCpu::default()).then_some(c)
}

fn device_numbers(path: &str) -> Result<(i64, i64), SpecError> {
    let md = std::fs::metadata(path).map_err(|source| SpecError::BlkioDevice {
        path: path.to_string(),
        source,
    })?;
    let rdev = md.rdev();
    Ok((i64::from(libc::major(rdev)), i64::from(libc::minor(rdev))))
}

fn throttle(
    list: Option<&Vec<ThrottleDevice>>,
) -> Result<Option<Vec<LinuxThrottleDevice>>, SpecError> {
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for t in list {
        let (major, minor) = device_numbers(t.path.as_deref().unwrap_or(""))?;
        out.push(
            LinuxThrottleDeviceBuilder::default()
                .major(major)
                .minor(minor)
                .rate(t.rate.unwrap_or(0).max(0) as u64)
                .build()
                .expect("every throttle field is set"),
        );
    }
    Ok(Some(out))
}

fn block_io(host: &HostConfig) -> Result<Option<LinuxBlockIo>, SpecError> {
    let mut b = LinuxBlockIo::default();
    b.set_weight(host.blkio_weight.filter(|w| *w > 0));
    let mut weights: Vec<LinuxWeightDevice> = Vec::new();
    for w in host.blkio_weight_device.as_deref().unwrap_or_default() {
        let (major, minor) = device_numbers(w.path.as_deref().unwrap_or(""))?;
        weights.push(
            LinuxWeightDeviceBuilder::default()
                .major(major)
                .minor(minor)
                .weight(w.weight.unwrap_or(0) as u16)
                .build()
                .expect("every weight field is set"),
        );
    }
    b.set_weight_device((!weights.is_empty()).then_some(weights));
    b.set_throttle_read_bps_device(throttle(host.blkio_device_read_bps.as_ref())?);
    b.set_throttle_write_bps_device(throttle(host.blkio_device_write_bps.as_ref())?);
    b.set_throttle_read_iops_device(throttle(host.blkio_device_read_iops.as_ref())?);
    b.set_throttle_write_iops_device(throttle(host.blkio_device_write_iops.as_ref())?);
    Ok((b != LinuxBlockIo::default()).then_some(b))
}

/// The resource limits alone (no device rules), e.g. for `docker update`.
pub fn linux_resources(host: &HostConfig) -> Result<LinuxResources, SpecError> {
    let mut r = resources(host, Vec::new())?;
    r.set_devices(None);
    Ok(r)
}

/// The container's resources; `device_rules` is the device cgroup allow-list.
pub(super) fn resources(
    host: &HostConfig,
    device_rules: Vec<LinuxDeviceCgroup>,
) -> Result<LinuxResources, SpecError> {
    let mut r = LinuxResources::default();
    r.set_devices(Some(device_rules));
    r.set_memory(memory(host));
    r.set_cpu(cpu(host));
    r.set_pids(positive(host.pids_limit).map(|l| {
        LinuxPidsBuilder::default()
            .limit(l)
            .build()
            .expect("pids limit is set")
    }));
    r.set_block_io(block_io(host)?);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_set_means_only_devices() {
        let r = resources(&HostConfig::default(), Vec::new()).unwrap();
        assert!(r.memory().is_none() && r.cpu().is_none() && r.pids().is_none());
        assert!(r.block_io().is_none());
    }

    #[test]
    fn memory_math() {
        let host = HostConfig {
            memory: Some(256 << 20),
            memory_reservation: Some(128 << 20),
            oom_kill_disable: Some(true),
            memory_swappiness: Some(-1),
            ..Default::default()
        };
        let m = memory(&host).unwrap();
        assert_eq!(m.limit(), Some(256 << 20));
        assert_eq!(m.reservation(), Some(128 << 20));
        assert_eq!(m.swap(), Some(512 << 20), "default swap is 2 × memory");
        assert_eq!(m.swappiness(), None);
        assert_eq!(m.disable_oom_killer(), Some(true));
        let unlimited = HostConfig {
            memory: Some(256 << 20),
            memory_swap: Some(-1),
            ..Default::default()
        };
        assert_eq!(memory(&unlimited).unwrap().swap(), Some(-1));
    }

    #[test]
    fn cpu_math() {
        let host = HostConfig {
            nano_cpus: Some(1_500_000_000),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0-1".into()),
            cpuset_mems: Some("0".into()),
            ..Default::default()
        };
        let c = cpu(&host).unwrap();
        assert_eq!((c.quota(), c.period()), (Some(150_000), Some(100_000)));
        assert_eq!(c.shares(), Some(512));
        assert_eq!(c.cpus().as_deref(), Some("0-1"));
        assert_eq!(c.mems().as_deref(), Some("0"));
        let host = HostConfig {
            cpu_period: Some(50_000),
            cpu_quota: Some(25_000),
            ..Default::default()
        };
        let c = cpu(&host).unwrap();
        assert_eq!((c.quota(), c.period()), (Some(25_000), Some(50_000)));
        assert_eq!(nano_cpus_quota(10_000_000), (1_000, 100_000));
    }

    #[test]
    fn pids_and_blkio() {
        let host = HostConfig {
            pids_limit: Some(100),
            blkio_weight: Some(300),
            blkio_device_read_bps: Some(vec![ThrottleDevice {
                path: Some("/dev/null".into()),
                rate: Some(1024),
            }]),
            ..Default::default()
        };
        let r = resources(&host, Vec::new()).unwrap();
        assert_eq!(r.pids().as_ref().unwrap().limit(), 100);
        let b = r.block_io().as_ref().unwrap();
        assert_eq!(b.weight(), Some(300));
        let t = &b.throttle_read_bps_device().as_ref().unwrap()[0];
        assert_eq!((t.major(), t.minor(), t.rate()), (1, 3, 1024));
        let unlimited = HostConfig {
            pids_limit: Some(-1),
            ..Default::default()
        };
        assert!(resources(&unlimited, Vec::new()).unwrap().pids().is_none());
    }
}
