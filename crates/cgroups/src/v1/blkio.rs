//! v1 blkio controller writes for `linux.resources.blockIO`.
//!
//! Pure planning for the runtime process (Documentation/admin-guide/cgroup-v1/blkio-controller.rst).
//! Kernels without CFQ expose BFQ's `blkio.bfq.weight` instead of `blkio.weight`; the
//! caller probes which exists (only when a weight is set) and passes [`WeightFiles`].

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::plan::Write;

/// Which files take weights on this kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFiles {
    /// CFQ-era `blkio.weight` / `blkio.weight_device`.
    Cfq,
    /// BFQ's `blkio.bfq.weight`, which takes both `N` and `maj:min N`.
    Bfq,
}

/// Writes for `bio`.
pub fn blkio_writes(bio: &LinuxBlockIo, files: WeightFiles) -> Vec<Write> {
    let (weight, weight_device) = match files {
        WeightFiles::Cfq => ("blkio.weight", "blkio.weight_device"),
        WeightFiles::Bfq => ("blkio.bfq.weight", "blkio.bfq.weight"),
    };
    let mut w = Vec::new();
    if let Some(v) = bio.weight() {
        w.push(Write::new("blkio", weight, v));
    }
    if let Some(v) = bio.leaf_weight() {
        w.push(Write::new("blkio", "blkio.leaf_weight", v));
    }
    for d in bio.weight_device().iter().flatten() {
        if let Some(v) = d.weight() {
            w.push(Write::new(
                "blkio",
                weight_device,
                format!("{}:{} {v}", d.major(), d.minor()),
            ));
        }
        if let Some(v) = d.leaf_weight() {
            let line = format!("{}:{} {v}", d.major(), d.minor());
            w.push(Write::new("blkio", "blkio.leaf_weight_device", line));
        }
    }
    let throttles = [
        (
            "blkio.throttle.read_bps_device",
            bio.throttle_read_bps_device(),
        ),
        (
            "blkio.throttle.write_bps_device",
            bio.throttle_write_bps_device(),
        ),
        (
            "blkio.throttle.read_iops_device",
            bio.throttle_read_iops_device(),
        ),
        (
            "blkio.throttle.write_iops_device",
            bio.throttle_write_iops_device(),
        ),
    ];
    for (file, devs) in throttles {
        w.extend(devs.iter().flatten().map(|d: &LinuxThrottleDevice| {
            Write::new(
                "blkio",
                file,
                format!("{}:{} {}", d.major(), d.minor(), d.rate()),
            )
        }));
    }
    w
}

/// Whether the plan needs to know [`WeightFiles`] (a weight is set).
pub fn needs_weight_files(bio: &LinuxBlockIo) -> bool {
    bio.weight().is_some() || bio.weight_device().as_ref().is_some_and(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use oci_spec::runtime::{LinuxBlockIoBuilder, LinuxThrottleDeviceBuilder};

    use super::*;

    #[test]
    fn weights_and_throttles() {
        let t = LinuxThrottleDeviceBuilder::default()
            .major(8)
            .minor(0)
            .rate(1024u64)
            .build()
            .unwrap();
        let bio = LinuxBlockIoBuilder::default()
            .weight(500u16)
            .throttle_read_bps_device(vec![t])
            .throttle_write_iops_device(vec![t])
            .build()
            .unwrap();
        assert!(needs_weight_files(&bio));
        let got: Vec<_> = blkio_writes(&bio, WeightFiles::Bfq)
            .into_iter()
            .map(|w| format!("{}={}", w.file, w.value))
            .collect();
        assert_eq!(
            got,
            [
                "blkio.bfq.weight=500",
                "blkio.throttle.read_bps_device=8:0 1024",
                "blkio.throttle.write_iops_device=8:0 1024"
            ]
        );
    }
}
