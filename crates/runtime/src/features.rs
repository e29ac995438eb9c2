//! The OCI runtime features document printed by `berth-runtime features`.
//!
//! Pure data: runs in the CLI process on the host and touches nothing. Shaped like
//! `runc features` (runtime-spec `features.md`): what this build recognises, not what the
//! host supports. Left out on purpose: systemd cgroups, AppArmor, SELinux and Intel RDT
//! (all reported as disabled), and runc's checkpoint annotations.

use serde_json::{json, Value};

/// Lowest runtime-spec version accepted in config.json.
const OCI_VERSION_MIN: &str = "1.0.0";
/// Highest runtime-spec version accepted in config.json.
const OCI_VERSION_MAX: &str = "1.2.0";

/// Lifecycle hooks run by [`crate::hooks`].
const HOOKS: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Mount options recognised in `mounts[].options` (runc's list).
const MOUNT_OPTIONS: &[&str] = &[
    "acl",
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noacl",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "tmpcopyup",
    "unbindable",
];

/// Namespace types accepted in `linux.namespaces[].type`.
const NAMESPACES: &[&str] = &["cgroup", "ipc", "mount", "network", "pid", "user", "uts"];

/// Seccomp actions accepted in `linux.seccomp`.
const SECCOMP_ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

/// Seccomp argument comparison operators.
const SECCOMP_OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// Seccomp architectures.
const SECCOMP_ARCHS: &[&str] = &[
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
];

/// Every capability name this build knows, in kernel bit order (`CAP_CHOWN` first).
fn capabilities() -> Vec<String> {
    let mut all: Vec<caps::Capability> = caps::all().into_iter().collect();
    all.sort_by_key(|c| c.index());
    all.iter().map(|c| c.to_string()).collect()
}

/// The features document as JSON.
pub fn features() -> Value {
    json!({
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": OCI_VERSION_MAX,
        "hooks": HOOKS,
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": NAMESPACES,
            "capabilities": capabilities(),
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {
                "enabled": true,
                "actions": SECCOMP_ACTIONS,
                "operators": SECCOMP_OPERATORS,
                "archs": SECCOMP_ARCHS,
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
        },
        "annotations": {
            "io.github.berth.runtime.version": env!("CARGO_PKG_VERSION"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_oci_features() {
        let doc: oci_spec::runtime::Features = serde_json::from_value(features()).unwrap();
        assert_eq!(doc.oci_version_min(), "1.0.0");
        assert_eq!(doc.oci_version_max(), "1.2.0");
        let linux = doc.linux().as_ref().unwrap();
        assert_eq!(linux.namespaces().as_ref().unwrap().len(), 7);
        let seccomp = linux.seccomp().as_ref().unwrap();
        assert_eq!(seccomp.archs().as_ref().unwrap().len(), SECCOMP_ARCHS.len());
        assert_eq!(
            seccomp.actions().as_ref().unwrap().len(),
            SECCOMP_ACTIONS.len()
        );
    }

    #[test]
    fn shape() {
        let f = features();
        let caps = f["linux"]["capabilities"].as_array().unwrap();
        assert_eq!(caps[0], "CAP_CHOWN");
        assert!(caps.contains(&Value::from("CAP_SYS_ADMIN")));
        assert_eq!(f["linux"]["cgroup"]["systemd"], false);
        assert_eq!(f["linux"]["seccomp"]["enabled"], true);
        assert_eq!(f["linux"]["intelRdt"]["enabled"], false);
        assert_eq!(f["hooks"].as_array().unwrap().len(), 6);
        assert!(f["mountOptions"]
            .as_array()
            .unwrap()
            .contains(&Value::from("rbind")));
        assert!(f["annotations"]["io.github.berth.runtime.version"].is_string());
    }
}
