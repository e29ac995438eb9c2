//! The device cgroup rules a container always gets, appended after the spec's own
//! `linux.resources.devices`: access to the default devices, the pty devices and mknod
//! of anything (the node is still useless without an allow rule). Same set as runc's
//! defaults, so configs written for runc (deny-all first) keep working.

use oci_spec::runtime::{
    LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxResources,
};

/// (type, major, minor, access); -1 is a wildcard.
const DEFAULT_ALLOWED: &[(LinuxDeviceType, i64, i64, &str)] = &[
    (LinuxDeviceType::C, -1, -1, "m"),
    (LinuxDeviceType::B, -1, -1, "m"),
    (LinuxDeviceType::C, 1, 3, "rwm"),    // null
    (LinuxDeviceType::C, 1, 5, "rwm"),    // zero
    (LinuxDeviceType::C, 1, 7, "rwm"),    // full
    (LinuxDeviceType::C, 1, 8, "rwm"),    // random
    (LinuxDeviceType::C, 1, 9, "rwm"),    // urandom
    (LinuxDeviceType::C, 5, 0, "rwm"),    // tty
    (LinuxDeviceType::C, 5, 1, "rwm"),    // console
    (LinuxDeviceType::C, 5, 2, "rwm"),    // ptmx
    (LinuxDeviceType::C, 136, -1, "rwm"), // pts/*
    (LinuxDeviceType::C, 10, 200, "rwm"), // net/tun
];

fn rule(typ: LinuxDeviceType, major: i64, minor: i64, access: &str) -> Option<LinuxDeviceCgroup> {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(typ)
        .access(access);
    if major >= 0 {
        b = b.major(major);
    }
    if minor >= 0 {
        b = b.minor(minor);
    }
    b.build().ok()
}

/// `resources` with the default allow rules and one rwm rule per `linux.devices` entry
/// appended (only when the spec manages devices at all).
pub fn with_defaults(
    resources: Option<&LinuxResources>,
    devices: &[oci_spec::runtime::LinuxDevice],
) -> Option<LinuxResources> {
    let mut res = resources.cloned()?;
    let Some(rules) = res.devices().clone() else {
        return Some(res);
    };
    let mut rules = rules;
    rules.extend(
        DEFAULT_ALLOWED
            .iter()
            .filter_map(|&(t, ma, mi, a)| rule(t, ma, mi, a)),
    );
    rules.extend(
        devices
            .iter()
            .filter_map(|d| rule(d.typ(), d.major(), d.minor(), "rwm")),
    );
    res.set_devices(Some(rules));
    Some(res)
}
