//! Unit tests for the Docker profile conversion: includes/excludes against capabilities,
//! architecture and kernel version, and archMap expansion.

use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction};

use super::{docker_profile_to_oci_for, ProfileError, ProfileTarget, DOCKER_DEFAULT_PROFILE_JSON};
use crate::kernel_version::KernelVersion;

/// Docker's default capability set for containers (also used by the generator's
/// differential tests).
pub(crate) const DOCKER_DEFAULT_CAPS: [&str; 14] = [
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

fn caps(extra: &[&str]) -> Vec<String> {
    DOCKER_DEFAULT_CAPS
        .iter()
        .chain(extra)
        .map(|c| (*c).to_owned())
        .collect()
}

fn convert(caps: &[String], arch: &str, kernel: (u32, u32)) -> LinuxSeccomp {
    let kernel = KernelVersion {
        major: kernel.0,
        minor: kernel.1,
    };
    docker_profile_to_oci_for(
        DOCKER_DEFAULT_PROFILE_JSON,
        &ProfileTarget { caps, arch, kernel },
    )
    .unwrap()
}

/// Actions of the unconditional rules naming `name` (rules with args are ignored).
fn plain_actions(profile: &LinuxSeccomp, name: &str) -> Vec<LinuxSeccompAction> {
    profile
        .syscalls()
        .iter()
        .flatten()
        .filter(|s| s.names().iter().any(|n| n == name) && s.args().is_none())
        .map(|s| s.action())
        .collect()
}

fn allowed(profile: &LinuxSeccomp, name: &str) -> bool {
    plain_actions(profile, name).contains(&LinuxSeccompAction::ScmpActAllow)
}

#[test]
fn ptrace_needs_kernel_4_8() {
    assert!(allowed(&convert(&caps(&[]), "amd64", (4, 8)), "ptrace"));
    assert!(allowed(&convert(&caps(&[]), "amd64", (6, 18)), "ptrace"));
    assert!(!allowed(&convert(&caps(&[]), "amd64", (4, 7)), "ptrace"));
}

#[test]
fn mount_needs_cap_sys_admin() {
    let default = convert(&caps(&[]), "amd64", (6, 1));
    assert!(!allowed(&default, "mount"));
    assert_eq!(default.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(default.default_errno_ret(), Some(1));
    let admin = convert(&caps(&["CAP_SYS_ADMIN"]), "amd64", (6, 1));
    assert!(allowed(&admin, "mount"));
    assert!(allowed(&admin, "unshare"));
    // Prefix-less and lower-case capability names match too.
    assert!(allowed(
        &convert(&caps(&["sys_admin"]), "amd64", (6, 1)),
        "mount"
    ));
}

#[test]
fn clone_rules_follow_cap_sys_admin_and_arch() {
    let default = convert(&caps(&[]), "amd64", (6, 1));
    // Without CAP_SYS_ADMIN: clone only with a namespace-flag mask on arg 0, clone3 ENOSYS.
    let clone: Vec<_> = default
        .syscalls()
        .iter()
        .flatten()
        .filter(|s| s.names() == &["clone".to_owned()])
        .collect();
    assert_eq!(clone.len(), 1);
    assert_eq!(clone[0].args().as_ref().unwrap()[0].index(), 0);
    assert_eq!(
        plain_actions(&default, "clone3"),
        [LinuxSeccompAction::ScmpActErrno]
    );
    let clone3 = default
        .syscalls()
        .iter()
        .flatten()
        .find(|s| s.names() == &["clone3".to_owned()])
        .unwrap();
    assert_eq!(clone3.errno_ret(), Some(38));
    // On s390x the masked rule checks arg 1 instead.
    let s390x = convert(&caps(&[]), "s390x", (6, 1));
    let clone: Vec<_> = s390x
        .syscalls()
        .iter()
        .flatten()
        .filter(|s| s.names() == &["clone".to_owned()])
        .collect();
    assert_eq!(clone.len(), 1);
    assert_eq!(clone[0].args().as_ref().unwrap()[0].index(), 1);
    // With CAP_SYS_ADMIN clone and clone3 are plainly allowed, and no ENOSYS rule stays.
    let admin = convert(&caps(&["CAP_SYS_ADMIN"]), "amd64", (6, 1));
    assert_eq!(
        plain_actions(&admin, "clone3"),
        [LinuxSeccompAction::ScmpActAllow]
    );
    assert!(allowed(&admin, "clone"));
}

#[test]
fn arch_specific_rules_and_arch_map() {
    let amd64 = convert(&caps(&[]), "amd64", (6, 1));
    assert!(allowed(&amd64, "arch_prctl"));
    assert!(!allowed(&amd64, "riscv_flush_icache"));
    assert_eq!(
        amd64.architectures().as_deref().unwrap(),
        [Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
    );
    let arm64 = convert(&caps(&[]), "arm64", (6, 1));
    assert!(!allowed(&arm64, "arch_prctl"));
    assert!(allowed(&arm64, "breakpoint"));
    assert_eq!(
        arm64.architectures().as_deref().unwrap(),
        [Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    );
    let riscv = convert(&caps(&[]), "riscv64", (6, 1));
    assert_eq!(
        riscv.architectures().as_deref().unwrap(),
        [Arch::ScmpArchRiscv64]
    );
}

#[test]
fn includes_need_every_listed_cap() {
    let json = serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["a"], "action": "SCMP_ACT_ALLOW",
             "includes": {"caps": ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]}},
            {"name": "b", "action": "SCMP_ACT_ALLOW",
             "excludes": {"caps": ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]}},
            {"names": ["c"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.0"}}
        ]
    })
    .to_string();
    let run = |caps: &[&str], kernel: (u32, u32)| {
        let caps: Vec<String> = caps.iter().map(|c| (*c).to_owned()).collect();
        let target = ProfileTarget {
            caps: &caps,
            arch: "amd64",
            kernel: KernelVersion {
                major: kernel.0,
                minor: kernel.1,
            },
        };
        let out = docker_profile_to_oci_for(&json, &target).unwrap();
        out.syscalls()
            .iter()
            .flatten()
            .flat_map(|s| s.names().clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(&["CAP_SYS_ADMIN"], (4, 19)), ["c"]);
    assert_eq!(run(&["CAP_SYS_ADMIN", "CAP_NET_ADMIN"], (6, 1)), ["a"]);
    assert_eq!(run(&[], (6, 1)), ["b"]);
}

#[test]
fn bad_profiles_name_the_field() {
    let target = ProfileTarget {
        caps: &[],
        arch: "amd64",
        kernel: KernelVersion { major: 6, minor: 1 },
    };
    let both = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["x"],"action":"SCMP_ACT_ALLOW"},
        {"name":"a","names":["b"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let err = docker_profile_to_oci_for(both, &target).unwrap_err();
    assert!(matches!(err, ProfileError::NameAndNames { ref field } if field == "syscalls[1]"));
    let bad_kernel = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
        {"names":["x"],"action":"SCMP_ACT_ERRNO","includes":{"minKernel":"four"}}]}"#;
    let err = docker_profile_to_oci_for(bad_kernel, &target).unwrap_err();
    assert_eq!(
        err.to_string(),
        "syscalls[0].includes.minKernel: invalid kernel version"
    );
    let both_arch = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],
        "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":null}]}"#;
    assert!(matches!(
        docker_profile_to_oci_for(both_arch, &target),
        Err(ProfileError::ArchitecturesAndArchMap)
    ));
}
