//! The container's capability set: Docker's 14 defaults tweaked by CapAdd/CapDrop, or
//! everything for `--privileged` (moby `daemon/pkg/oci/caps`).

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use super::SpecError;

/// Docker's default capability set: moby `daemon/pkg/oci/caps/defaults.go`.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every Linux capability, in kernel number order (include/uapi/linux/capability.h).
const KERNEL_CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The capabilities a kernel with `cap_last_cap` knows (all of ours when unknown).
pub fn all_capabilities(cap_last_cap: Option<usize>) -> Vec<String> {
    let n = cap_last_cap.map_or(KERNEL_CAPABILITIES.len(), |last| {
        (last + 1).min(KERNEL_CAPABILITIES.len())
    });
    KERNEL_CAPABILITIES[..n]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Upper-case, add the `CAP_` prefix, check the name; `ALL` stays `ALL`.
fn normalize(names: &[String]) -> Result<Vec<String>, SpecError> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let upper = name.to_uppercase();
        let norm = if upper == "ALL" || upper.starts_with("CAP_") {
            upper
        } else {
            format!("CAP_{upper}")
        };
        if norm != "ALL" && !KERNEL_CAPABILITIES.contains(&norm.as_str()) {
            return Err(SpecError::UnknownCapability { name: norm });
        }
        if !out.contains(&norm) {
            out.push(norm);
        }
    }
    Ok(out)
}

/// The final capability names, as moby's `TweakCapabilities`: privileged → `all`;
/// `ALL` in adds → all minus drops; `ALL` in drops → only adds; else defaults − drops + adds.
pub fn capability_set(
    add: &[String],
    drop: &[String],
    privileged: bool,
    all: &[String],
) -> Result<Vec<String>, SpecError> {
    if privileged {
        return Ok(all.to_vec());
    }
    let add = normalize(add)?;
    let drop = normalize(drop)?;
    let all_word = "ALL".to_string();
    let mut caps: Vec<String> = if add.contains(&all_word) {
        all.iter().filter(|c| !drop.contains(c)).cloned().collect()
    } else if drop.contains(&all_word) {
        add
    } else {
        let mut caps: Vec<String> = DEFAULT_CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .filter(|c| !drop.contains(c))
            .collect();
        for c in add {
            if !caps.contains(&c) {
                caps.push(c);
            }
        }
        caps
    };
    caps.retain(|c| c != "ALL");
    Ok(caps)
}

/// Capability names → oci-spec values (names were checked by [`capability_set`]).
fn to_oci(names: &[String]) -> Capabilities {
    names
        .iter()
        .filter_map(|n| n.trim_start_matches("CAP_").parse::<Capability>().ok())
        .collect()
}

/// `process.capabilities`: bounding = permitted = effective; no inheritable or ambient
/// (moby `oci.SetCapabilities`, after CVE-2022-24769).
pub fn linux_capabilities(names: &[String]) -> LinuxCapabilities {
    let set = to_oci(names);
    let mut caps = LinuxCapabilities::default();
    caps.set_bounding(Some(set.clone()));
    caps.set_permitted(Some(set.clone()));
    caps.set_effective(Some(set));
    caps.set_inheritable(None);
    caps.set_ambient(None);
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn defaults_without_tweaks() {
        let all = all_capabilities(None);
        let caps = capability_set(&[], &[], false, &all).unwrap();
        assert_eq!(caps, s(DEFAULT_CAPABILITIES));
        assert_eq!(caps.len(), 14);
    }

    #[test]
    fn add_and_drop_with_or_without_prefix() {
        let all = all_capabilities(None);
        let caps = capability_set(
            &s(&["sys_admin", "CAP_NET_ADMIN"]),
            &s(&["chown", "CAP_KILL"]),
            false,
            &all,
        )
        .unwrap();
        assert!(caps.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(!caps.contains(&"CAP_KILL".to_string()));
        assert_eq!(caps.len(), 14);
    }

    #[test]
    fn all_in_add_and_drop() {
        let all = all_capabilities(Some(40));
        let caps = capability_set(&s(&["ALL"]), &s(&["MKNOD"]), false, &all).unwrap();
        assert_eq!(caps.len(), 40);
        assert!(!caps.contains(&"CAP_MKNOD".to_string()));
        let caps = capability_set(&s(&["net_bind_service"]), &s(&["all"]), false, &all).unwrap();
        assert_eq!(caps, s(&["CAP_NET_BIND_SERVICE"]));
        let caps = capability_set(&[], &s(&["ALL"]), false, &all).unwrap();
        assert!(caps.is_empty());
    }

    #[test]
    fn privileged_gets_everything() {
        let all = all_capabilities(Some(37));
        let caps = capability_set(&[], &s(&["ALL"]), true, &all).unwrap();
        assert_eq!(caps.len(), 38);
        assert_eq!(caps.last().unwrap(), "CAP_AUDIT_READ");
    }

    #[test]
    fn unknown_capability_is_rejected() {
        let err = capability_set(&s(&["foo"]), &[], false, &all_capabilities(None)).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability: \"CAP_FOO\"");
        assert!(err.is_invalid_parameter());
    }

    #[test]
    fn every_kernel_name_converts() {
        let all = all_capabilities(None);
        assert_eq!(to_oci(&all).len(), all.len());
    }
}
