//! Device nodes and the device cgroup allow-list: Docker's defaults, `--device`,
//! `--device-cgroup-rule` and `--privileged` (moby `daemon/oci_linux.go` WithDevices,
//! `daemon/pkg/oci/devices_linux.go`).
//!
//! Reads host device nodes with `lstat`/`stat`; changes nothing.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use bollard_stubs::models::HostConfig;
use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
};

use super::SpecError;

/// Directories under /dev that runc's `HostDevices` skips.
const SKIPPED_DEV_DIRS: &[&str] = &["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];

/// The devices to create and the cgroup rules that go with them.
#[derive(Debug, Clone, Default)]
pub(super) struct DevicePlan {
    /// `linux.devices`.
    pub devices: Vec<LinuxDevice>,
    /// `linux.resources.devices`.
    pub rules: Vec<LinuxDeviceCgroup>,
}

fn rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut r = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .access(access.to_string())
        .build()
        .expect("device cgroup has no required fields");
    r.set_typ(typ);
    r.set_major(major);
    r.set_minor(minor);
    r
}

/// Docker's default device cgroup rules: moby `daemon/pkg/oci/defaults.go`.
pub(super) fn default_rules() -> Vec<LinuxDeviceCgroup> {
    let c = Some(LinuxDeviceType::C);
    vec![
        rule(false, None, None, None, "rwm"),
        rule(true, c, Some(1), Some(5), "rwm"),
        rule(true, c, Some(1), Some(3), "rwm"),
        rule(true, c, Some(1), Some(9), "rwm"),
        rule(true, c, Some(1), Some(8), "rwm"),
        rule(true, c, Some(5), Some(0), "rwm"),
        rule(true, c, Some(5), Some(1), "rwm"),
        rule(false, c, Some(10), Some(229), "rwm"),
    ]
}

/// Why a path is not usable as a device node.
enum NotDevice {
    Missing(std::io::Error),
    NotADevice,
}

/// `lstat` a device node (containerd's `DeviceFromPath`).
fn device_from_path(path: &Path, container_path: &Path) -> Result<LinuxDevice, NotDevice> {
    let md = std::fs::symlink_metadata(path).map_err(NotDevice::Missing)?;
    let ft = md.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else {
        return Err(NotDevice::NotADevice);
    };
    let rdev = md.rdev();
    Ok(LinuxDeviceBuilder::default()
        .path(container_path.to_path_buf())
        .typ(typ)
        .major(i64::from(libc::major(rdev)))
        .minor(i64::from(libc::minor(rdev)))
        .file_mode(md.mode() & 0o7777)
        .uid(md.uid())
        .gid(md.gid())
        .build()
        .expect("every device field is set"))
}

fn allow_rule(dev: &LinuxDevice, access: &str) -> LinuxDeviceCgroup {
    rule(
        true,
        Some(dev.typ()),
        Some(dev.major()),
        Some(dev.minor()),
        access,
    )
}

/// One `--device` entry: a node, or every node below a directory (moby `DevicesFromPath`).
fn devices_from_path(
    on_host: &str,
    in_container: &str,
    access: &str,
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), SpecError> {
    let host_path = std::fs::canonicalize(on_host).unwrap_or_else(|_| PathBuf::from(on_host));
    let err = match device_from_path(&host_path, Path::new(in_container)) {
        Ok(d) => {
            let r = allow_rule(&d, access);
            return Ok((vec![d], vec![r]));
        }
        Err(NotDevice::Missing(e)) => strip_os_error(&e),
        Err(NotDevice::NotADevice) => "not a device node".to_string(),
    };
    let mut devs = Vec::new();
    if host_path.is_dir() {
        walk(&host_path, &mut |p: &Path| {
            let rel = p.strip_prefix(&host_path).unwrap_or(p);
            if let Ok(d) = device_from_path(p, &Path::new(in_container).join(rel)) {
                devs.push(d);
            }
        });
    }
    if devs.is_empty() {
        return Err(SpecError::Device {
            path: on_host.to_string(),
            error: err,
        });
    }
    let rules = devs.iter().map(|d| allow_rule(d, access)).collect();
    Ok((devs, rules))
}

/// `No such file or directory (os error 2)` → `no such file or directory`, as Go prints.
fn strip_os_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// Depth-first walk calling `f` for every non-directory entry (symlinks not followed).
fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => walk(&path, f),
            Ok(_) => f(&path),
            Err(_) => {}
        }
    }
}

/// Every device node under /dev except the ones runc skips (for `--privileged`).
fn host_devices() -> Result<Vec<LinuxDevice>, SpecError> {
    let dev = Path::new("/dev");
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dev)
        .map_err(|source| SpecError::HostDevices {
            path: dev.to_path_buf(),
            source,
        })?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let path = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            if SKIPPED_DEV_DIRS.iter().any(|s| name == *s) {
                continue;
            }
            walk(&path, &mut |p: &Path| {
                if let Ok(d) = device_from_path(p, p) {
                    out.push(d);
                }
            });
        } else if name != "console" {
            if let Ok(d) = device_from_path(&path, &path) {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// Parse `<a|b|c> <major|*>:<minor|*> <rwm>` (moby `AppendDevicePermissionsFromCgroupRules`).
fn parse_cgroup_rule(text: &str) -> Result<LinuxDeviceCgroup, SpecError> {
    let bad = || SpecError::DeviceCgroupRule {
        rule: text.to_string(),
    };
    let parts: Vec<&str> = text.split(' ').collect();
    let [typ, numbers, access] = parts.as_slice() else {
        return Err(bad());
    };
    let typ = match *typ {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(bad()),
    };
    let (major, minor) = numbers.split_once(':').ok_or_else(bad)?;
    let num = |s: &str| -> Result<Option<i64>, SpecError> {
        if s == "*" {
            Ok(None)
        } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().map(Some).map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    if access.is_empty() || access.len() > 3 || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(bad());
    }
    Ok(rule(true, Some(typ), num(major)?, num(minor)?, access))
}

/// Devices and cgroup rules for the container.
pub(super) fn device_plan(host: &HostConfig, privileged: bool) -> Result<DevicePlan, SpecError> {
    let mut plan = DevicePlan {
        devices: Vec::new(),
        rules: default_rules(),
    };
    let mappings = host.devices.as_deref().unwrap_or_default();
    if privileged {
        plan.devices = host_devices()?;
        for m in mappings {
            let on_host = m.path_on_host.as_deref().unwrap_or("");
            let in_ctr = m
                .path_in_container
                .as_deref()
                .filter(|p| !p.is_empty())
                .unwrap_or(on_host);
            if on_host == in_ctr {
                continue;
            }
            let (devs, _) = devices_from_path(on_host, in_ctr, "rwm")?;
            plan.devices.extend(devs);
        }
        plan.rules.push(rule(true, None, None, None, "rwm"));
        return Ok(plan);
    }
    for m in mappings {
        let on_host = m.path_on_host.as_deref().unwrap_or("");
        let in_ctr = m
            .path_in_container
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or(on_host);
        let access = m
            .cgroup_permissions
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or("rwm");
        if !access.chars().all(|c| "rwm".contains(c)) {
            return Err(SpecError::DeviceMode {
                mode: access.to_string(),
            });
        }
        let (devs, rules) = devices_from_path(on_host, in_ctr, access)?;
        plan.devices.extend(devs);
        plan.rules.extend(rules);
    }
    for text in host.device_cgroup_rules.as_deref().unwrap_or_default() {
        plan.rules.push(parse_cgroup_rule(text)?);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard_stubs::models::DeviceMapping;

    fn mapping(host: &str, ctr: &str, perms: &str) -> HostConfig {
        HostConfig {
            devices: Some(vec![DeviceMapping {
                path_on_host: Some(host.into()),
                path_in_container: Some(ctr.into()),
                cgroup_permissions: Some(perms.into()),
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn defaults() {
        let plan = device_plan(&HostConfig::default(), false).unwrap();
        assert!(plan.devices.is_empty());
        assert_eq!(plan.rules.len(), 8);
        assert!(!plan.rules[0].allow());
        assert_eq!(plan.rules[0].typ(), None);
        assert_eq!(
            (plan.rules[7].major(), plan.rules[7].minor()),
            (Some(10), Some(229))
        );
        assert!(!plan.rules[7].allow());
    }

    #[test]
    fn user_device() {
        let plan = device_plan(&mapping("/dev/null", "/dev/mynull", "rw"), false).unwrap();
        assert_eq!(plan.devices.len(), 1);
        let d = &plan.devices[0];
        assert_eq!(d.path(), Path::new("/dev/mynull"));
        assert_eq!((d.typ(), d.major(), d.minor()), (LinuxDeviceType::C, 1, 3));
        let r = plan.rules.last().unwrap();
        assert!(r.allow());
        assert_eq!(r.access().as_deref(), Some("rw"));
        assert_eq!((r.major(), r.minor()), (Some(1), Some(3)));
    }

    #[test]
    fn device_errors() {
        let err = device_plan(&mapping("/dev/nonexistent-x", "/dev/x", "rwm"), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "error gathering device information while adding custom device \"/dev/nonexistent-x\": no such file or directory"
        );
        let err = device_plan(&mapping("/dev/null", "/dev/x", "rwx"), false).unwrap_err();
        assert_eq!(err.to_string(), "invalid device mode: rwx");
    }

    #[test]
    fn cgroup_rules() {
        let r = parse_cgroup_rule("c 1:* rm").unwrap();
        assert_eq!(
            (r.typ(), r.major(), r.minor()),
            (Some(LinuxDeviceType::C), Some(1), None)
        );
        assert_eq!(r.access().as_deref(), Some("rm"));
        assert!(parse_cgroup_rule("a *:* rwm").is_ok());
        for bad in ["x 1:1 r", "c 1 r", "c a:1 r", "c 1:1 rx", "c 1:1"] {
            assert_eq!(
                parse_cgroup_rule(bad).unwrap_err().to_string(),
                format!("invalid device cgroup format '{bad}'")
            );
        }
    }

    #[test]
    fn privileged_allows_everything() {
        let plan = device_plan(&HostConfig::default(), true).unwrap();
        let last = plan.rules.last().unwrap();
        assert!(last.allow() && last.typ().is_none() && last.major().is_none());
        assert!(plan
            .devices
            .iter()
            .any(|d| d.path() == Path::new("/dev/null")));
    }
}
