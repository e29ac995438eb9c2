//! Device access rules (`linux.resources.devices`) in a form both cgroup versions use.
//!
//! Pure code for the runtime process. v1 writes the rules to `devices.allow`/`devices.deny`
//! (Documentation/admin-guide/cgroup-v1/devices.rst); v2 compiles them to a BPF program
//! (`v2::devices`). FIFO (`p`) rules are dropped: the device controller never checks FIFOs.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::plan::Write;
use crate::CgroupError;

/// `mknod` access bit (same values as the kernel's `BPF_DEVCG_ACC_*`).
pub const ACC_MKNOD: u32 = 1;
/// `read` access bit.
pub const ACC_READ: u32 = 2;
/// `write` access bit.
pub const ACC_WRITE: u32 = 4;

/// Which devices a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevKind {
    /// Every device (`a`).
    All,
    /// Block devices (`b`).
    Block,
    /// Character devices (`c`, `u`).
    Char,
}

/// One normalised rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    /// Allow (true) or deny.
    pub allow: bool,
    /// Device type.
    pub kind: DevKind,
    /// Major number; `None` is any.
    pub major: Option<u32>,
    /// Minor number; `None` is any.
    pub minor: Option<u32>,
    /// `ACC_*` bits.
    pub access: u32,
}

impl DeviceRule {
    /// Whether the rule covers every device with every access (`a *:* rwm`).
    pub fn is_everything(&self) -> bool {
        self.kind == DevKind::All
            && self.major.is_none()
            && self.minor.is_none()
            && self.access == ACC_MKNOD | ACC_READ | ACC_WRITE
    }
}

/// Normalise OCI rules, in order; FIFO rules are skipped.
pub fn normalize(rules: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>, CgroupError> {
    let mut out = Vec::with_capacity(rules.len());
    for r in rules {
        let kind = match r.typ().unwrap_or_default() {
            LinuxDeviceType::A => DevKind::All,
            LinuxDeviceType::B => DevKind::Block,
            LinuxDeviceType::C | LinuxDeviceType::U => DevKind::Char,
            LinuxDeviceType::P => continue,
        };
        let access = match r.access().as_deref() {
            None | Some("") => ACC_MKNOD | ACC_READ | ACC_WRITE,
            Some(a) => parse_access(a)?,
        };
        out.push(DeviceRule {
            allow: r.allow(),
            kind,
            major: dev_number("devices.major", r.major())?,
            minor: dev_number("devices.minor", r.minor())?,
            access,
        });
    }
    Ok(out)
}

fn parse_access(a: &str) -> Result<u32, CgroupError> {
    a.chars().try_fold(0, |acc, c| match c {
        'm' => Ok(acc | ACC_MKNOD),
        'r' => Ok(acc | ACC_READ),
        'w' => Ok(acc | ACC_WRITE),
        _ => Err(CgroupError::InvalidValue {
            field: "devices.access",
            value: a.to_string(),
            reason: "only r, w and m are allowed",
        }),
    })
}

fn dev_number(field: &'static str, n: Option<i64>) -> Result<Option<u32>, CgroupError> {
    match n {
        None | Some(-1) => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| CgroupError::InvalidValue {
                field,
                value: n.to_string(),
                reason: "expected -1 (any) or a device number",
            }),
    }
}

/// v1 writes for the rules, in order: a deny-all clears the list (`a` to devices.deny).
pub fn v1_writes(rules: &[DeviceRule]) -> Vec<Write> {
    rules
        .iter()
        .map(|r| {
            let file = if r.allow {
                "devices.allow"
            } else {
                "devices.deny"
            };
            let value = if r.is_everything() {
                "a".to_string()
            } else {
                v1_line(r)
            };
            Write::new("devices", file, value)
        })
        .collect()
}

/// `c 1:3 rwm` form of a rule.
fn v1_line(r: &DeviceRule) -> String {
    let t = match r.kind {
        DevKind::All => 'a',
        DevKind::Block => 'b',
        DevKind::Char => 'c',
    };
    let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
    let mut acc = String::new();
    for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
        if r.access & bit != 0 {
            acc.push(c);
        }
    }
    format!("{t} {}:{} {acc}", num(r.major), num(r.minor))
}

#[cfg(test)]
mod tests {
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    use super::*;

    pub(crate) fn rule(
        allow: bool,
        t: LinuxDeviceType,
        maj: i64,
        min: i64,
        acc: &str,
    ) -> LinuxDeviceCgroup {
        LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .typ(t)
            .major(maj)
            .minor(min)
            .access(acc)
            .build()
            .unwrap()
    }

    #[test]
    fn v1_lines_in_order() {
        let rules = normalize(&[
            rule(false, LinuxDeviceType::A, -1, -1, "rwm"),
            rule(true, LinuxDeviceType::C, 1, 3, "rw"),
            rule(true, LinuxDeviceType::B, 8, -1, "m"),
            rule(false, LinuxDeviceType::C, 1, 5, "w"),
            rule(true, LinuxDeviceType::P, -1, -1, "rwm"),
        ])
        .unwrap();
        let got: Vec<_> = v1_writes(&rules)
            .into_iter()
            .map(|w| (w.file, w.value))
            .collect();
        let want = [
            ("devices.deny", "a"),
            ("devices.allow", "c 1:3 rw"),
            ("devices.allow", "b 8:* m"),
            ("devices.deny", "c 1:5 w"),
        ];
        assert_eq!(got.len(), want.len());
        for ((f, v), (wf, wv)) in got.iter().zip(want) {
            assert_eq!((f.as_str(), v.as_str()), (wf, wv));
        }
    }

    #[test]
    fn bad_access_rejected() {
        assert!(normalize(&[rule(true, LinuxDeviceType::C, 1, 3, "rx")]).is_err());
    }
}
