//! `HostConfig.SecurityOpt`, seccomp and the masked / read-only paths (moby
//! `daemon/create.go` parseSecurityOpt, `daemon/seccomp_linux.go`, `daemon/pkg/oci/defaults.go`).

use std::path::Path;

use bollard_stubs::models::HostConfig;
use oci_spec::runtime::LinuxSeccomp;

use super::{HostFacts, SpecError};

/// Docker's default masked paths: moby `daemon/pkg/oci/defaults.go`.
pub const DEFAULT_MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Docker's default read-only paths: moby `daemon/pkg/oci/defaults.go`.
pub const DEFAULT_READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Which seccomp filter the container gets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SeccompChoice {
    /// Docker's default profile (also `seccomp=builtin`).
    #[default]
    Default,
    /// `seccomp=unconfined`: no filter.
    Unconfined,
    /// `seccomp=<json>`: a Docker-format profile (the CLI sends the file's content).
    Profile(String),
}

/// The parsed `SecurityOpt` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityOpts {
    /// `no-new-privileges[=true]`.
    pub no_new_privileges: bool,
    /// The seccomp choice.
    pub seccomp: SeccompChoice,
    /// `apparmor=<profile>` (recorded; berth applies no AppArmor profile).
    pub apparmor: Option<String>,
    /// `label=…` entries and `disable` (recorded; berth applies no SELinux labels).
    pub labels: Vec<String>,
    /// `writable-cgroups=<bool>`.
    pub writable_cgroups: Option<bool>,
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Parse `HostConfig.SecurityOpt` like moby's `parseSecurityOpt` (`key=value`, or the
/// deprecated `key:value`).
pub fn parse_security_opts(opts: &[String]) -> Result<SecurityOpts, SpecError> {
    let mut out = SecurityOpts::default();
    for opt in opts {
        if opt == "no-new-privileges" {
            out.no_new_privileges = true;
            continue;
        }
        if opt == "disable" {
            out.labels.push("disable".to_string());
            continue;
        }
        let split = if opt.contains('=') {
            opt.split_once('=')
        } else {
            opt.split_once(':')
        };
        let Some((k, v)) = split else {
            return Err(SpecError::SecurityOptFormat { opt: opt.clone() });
        };
        let unknown = || SpecError::SecurityOptUnknown { opt: opt.clone() };
        match k {
            "label" => out.labels.push(v.to_string()),
            "apparmor" => out.apparmor = Some(v.to_string()),
            "seccomp" => {
                out.seccomp = match v {
                    "unconfined" => SeccompChoice::Unconfined,
                    "builtin" | "" => SeccompChoice::Default,
                    json => SeccompChoice::Profile(json.to_string()),
                }
            }
            "no-new-privileges" => out.no_new_privileges = parse_go_bool(v).ok_or_else(unknown)?,
            "writable-cgroups" => {
                out.writable_cgroups = Some(parse_go_bool(v).ok_or_else(unknown)?)
            }
            _ => return Err(unknown()),
        }
    }
    Ok(out)
}

/// `linux.seccomp`: none when privileged or unconfined, else the (default or given)
/// Docker profile resolved for the container's final capabilities.
pub(super) fn seccomp(
    opts: &SecurityOpts,
    privileged: bool,
    caps: &[String],
) -> Result<Option<LinuxSeccomp>, SpecError> {
    if privileged {
        return Ok(None);
    }
    match &opts.seccomp {
        SeccompChoice::Unconfined => Ok(None),
        SeccompChoice::Default => default_profile_for(caps).map(Some),
        SeccompChoice::Profile(json) => {
            berth_seccomp::docker_profile_to_oci(json, caps, berth_seccomp::native_docker_arch())
                .map(Some)
                .map_err(|error| SpecError::SeccompProfile { error })
        }
    }
}

/// Docker's default profile for `caps`, converted once per capability set: the
/// conversion parses the embedded 13 KB profile and filters ~400 names, and every
/// container start with the same capabilities would repeat it. The kernel version it
/// depends on does not change while berthd runs.
fn default_profile_for(caps: &[String]) -> Result<LinuxSeccomp, SpecError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    /// Distinct capability sets kept; more is unusual, and then the map starts over.
    const KEEP: usize = 32;
    static CONVERTED: OnceLock<Mutex<HashMap<Vec<String>, LinuxSeccomp>>> = OnceLock::new();
    let map = CONVERTED.get_or_init(Default::default);
    if let Some(hit) = map.lock().expect("seccomp profiles").get(caps) {
        return Ok(hit.clone());
    }
    let profile = berth_seccomp::docker_default_profile(caps).map_err(SpecError::DefaultSeccomp)?;
    let mut map = map.lock().expect("seccomp profiles");
    if map.len() >= KEEP {
        map.clear();
    }
    map.insert(caps.to_vec(), profile.clone());
    Ok(profile)
}

/// Existing `<root>/sys/devices/system/cpu/cpu<N>/thermal_throttle` dirs, as container
/// paths in cpu order (Docker masks them too).
pub(super) fn thermal_throttle_paths(root: &Path) -> Vec<String> {
    let dir = root.join("sys/devices/system/cpu");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut cpus: Vec<u32> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.strip_prefix("cpu")?.parse().ok())
        .filter(|n: &u32| dir.join(format!("cpu{n}/thermal_throttle")).is_dir())
        .collect();
    cpus.sort_unstable();
    cpus.into_iter()
        .map(|n| format!("/sys/devices/system/cpu/cpu{n}/thermal_throttle"))
        .collect()
}

/// `(maskedPaths, readonlyPaths)`: none when privileged; `HostConfig.MaskedPaths` /
/// `ReadonlyPaths` when set (the CLI sends `[]` for `systempaths=unconfined`); else
/// Docker's defaults (+ the thermal_throttle dirs).
pub(super) fn masked_and_readonly_paths(
    host: &HostConfig,
    privileged: bool,
    facts: &HostFacts,
) -> (Vec<String>, Vec<String>) {
    if privileged {
        return (Vec::new(), Vec::new());
    }
    let masked = host.masked_paths.clone().unwrap_or_else(|| {
        DEFAULT_MASKED_PATHS
            .iter()
            .map(|s| s.to_string())
            .chain(facts.thermal_throttle_paths.iter().cloned())
            .collect()
    });
    let readonly = host.readonly_paths.clone().unwrap_or_else(|| {
        DEFAULT_READONLY_PATHS
            .iter()
            .map(|s| s.to_string())
            .collect()
    });
    (masked, readonly)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn security_opt_forms() {
        let o = parse_security_opts(&s(&["no-new-privileges"])).unwrap();
        assert!(o.no_new_privileges);
        let o = parse_security_opts(&s(&["no-new-privileges:true"])).unwrap();
        assert!(o.no_new_privileges);
        let o = parse_security_opts(&s(&["no-new-privileges=false"])).unwrap();
        assert!(!o.no_new_privileges);
        let o = parse_security_opts(&s(&["seccomp=unconfined", "apparmor=unconfined"])).unwrap();
        assert_eq!(o.seccomp, SeccompChoice::Unconfined);
        assert_eq!(o.apparmor.as_deref(), Some("unconfined"));
        let o =
            parse_security_opts(&s(&[r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW"}"#])).unwrap();
        assert!(matches!(o.seccomp, SeccompChoice::Profile(_)));
        let o = parse_security_opts(&s(&["label=disable", "disable"])).unwrap();
        assert_eq!(o.labels, s(&["disable", "disable"]));
    }

    #[test]
    fn security_opt_errors() {
        let msg = |o: &str| parse_security_opts(&s(&[o])).unwrap_err().to_string();
        assert_eq!(msg("bogus"), "invalid --security-opt 1: \"bogus\"");
        assert_eq!(msg("foo=bar"), "invalid --security-opt 2: \"foo=bar\"");
        assert_eq!(
            msg("no-new-privileges=maybe"),
            "invalid --security-opt 2: \"no-new-privileges=maybe\""
        );
    }

    #[test]
    fn seccomp_choices() {
        let caps = s(super::super::DEFAULT_CAPABILITIES);
        let default = SecurityOpts::default();
        assert!(seccomp(&default, true, &caps).unwrap().is_none());
        let prof = seccomp(&default, false, &caps).unwrap().unwrap();
        assert_eq!(
            prof.default_action(),
            oci_spec::runtime::LinuxSeccompAction::ScmpActErrno
        );
        let unconfined = SecurityOpts {
            seccomp: SeccompChoice::Unconfined,
            ..Default::default()
        };
        assert!(seccomp(&unconfined, false, &caps).unwrap().is_none());
        let custom = SecurityOpts {
            seccomp: SeccompChoice::Profile(
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#.into(),
            ),
            ..Default::default()
        };
        let prof = seccomp(&custom, false, &caps).unwrap().unwrap();
        assert_eq!(prof.syscalls().as_ref().unwrap().len(), 1);
        let broken = SecurityOpts {
            seccomp: SeccompChoice::Profile("{not json".into()),
            ..Default::default()
        };
        let err = seccomp(&broken, false, &caps).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("Decoding seccomp profile failed: "));
        assert!(err.is_invalid_parameter());
    }

    #[test]
    fn thermal_dirs() {
        let root = tempfile::tempdir().unwrap();
        for n in [10, 2] {
            std::fs::create_dir_all(
                root.path()
                    .join(format!("sys/devices/system/cpu/cpu{n}/thermal_throttle")),
            )
            .unwrap();
        }
        std::fs::create_dir_all(root.path().join("sys/devices/system/cpu/cpu3")).unwrap();
        assert_eq!(
            thermal_throttle_paths(root.path()),
            s(&[
                "/sys/devices/system/cpu/cpu2/thermal_throttle",
                "/sys/devices/system/cpu/cpu10/thermal_throttle"
            ])
        );
    }
}
