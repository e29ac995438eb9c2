//! Docker's seccomp profile format and its conversion to the OCI `linux.seccomp` section.
//!
//! Runs in berthd when it builds a container's config.json; pure apart from reading the
//! running kernel's version, and owns nothing. Docker's format adds `archMap` and per-rule
//! `includes` / `excludes` (`caps`, `arches`, `minKernel`) to the OCI one; the conversion
//! follows moby's `profiles/seccomp` `setupSeccomp`: a rule is dropped if any exclude
//! matches (any listed cap present, native arch listed, kernel >= minKernel) or any
//! include fails (every listed cap must be present, native arch listed, kernel >=
//! minKernel). The embedded default profile is moby/profiles `seccomp/default.json`
//! (Apache-2.0), stored unchanged in `profiles/docker-default.json`.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSyscall,
};
use serde::Deserialize;

use crate::kernel_version::{KernelVersion, KernelVersionError, ParseKernelVersionError};

/// Docker's default seccomp profile (moby/profiles `seccomp/default.json`, Apache-2.0).
pub const DOCKER_DEFAULT_PROFILE_JSON: &str = include_str!("../profiles/docker-default.json");

/// Errors from converting a Docker seccomp profile.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The JSON is not a Docker seccomp profile.
    #[error("parsing Docker seccomp profile JSON")]
    Parse(#[source] serde_json::Error),
    /// Both `architectures` and `archMap` were given.
    #[error("architectures and archMap are both set; use one of them")]
    ArchitecturesAndArchMap,
    /// A rule has both `name` and `names`.
    #[error("{field}: both name and names are set; use one of them")]
    NameAndNames {
        /// JSON path of the rule.
        field: String,
    },
    /// A `minKernel` value is not `<major>.<minor>`.
    #[error("{field}: invalid kernel version")]
    MinKernel {
        /// JSON path of the minKernel field.
        field: String,
        /// The parse error (names the value).
        #[source]
        source: ParseKernelVersionError,
    },
    /// The running kernel's version was needed but could not be read.
    #[error("reading the running kernel version for minKernel conditions")]
    RunningKernel(#[source] KernelVersionError),
}

/// The container and host facts that `includes` / `excludes` are matched against.
#[derive(Debug, Clone, Copy)]
pub struct ProfileTarget<'a> {
    /// The container's capabilities (bounding set), e.g. `"CAP_SYS_ADMIN"`.
    pub caps: &'a [String],
    /// Docker's name for the native architecture, e.g. `"amd64"`; see [`native_docker_arch`].
    pub arch: &'a str,
    /// The kernel that will run the container.
    pub kernel: KernelVersion,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerProfile {
    #[serde(default)]
    default_action: LinuxSeccompAction,
    default_errno_ret: Option<u32>,
    architectures: Option<Vec<Arch>>,
    arch_map: Option<Vec<ArchMapEntry>>,
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    listener_path: Option<std::path::PathBuf>,
    listener_metadata: Option<String>,
    #[serde(default)]
    syscalls: Vec<DockerSyscall>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMapEntry {
    architecture: Arch,
    sub_architectures: Option<Vec<Arch>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerSyscall {
    name: Option<String>,
    names: Option<Vec<String>>,
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    args: Option<Vec<LinuxSeccompArg>>,
    includes: Option<Condition>,
    excludes: Option<Condition>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Condition {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    min_kernel: Option<String>,
}

/// Docker's default profile converted for the native architecture, the running kernel
/// and the container capabilities `caps` (the section Docker puts in config.json).
pub fn docker_default_profile(caps: &[String]) -> Result<LinuxSeccomp, ProfileError> {
    docker_profile_to_oci(DOCKER_DEFAULT_PROFILE_JSON, caps, native_docker_arch())
}

/// Convert a Docker-format profile for capabilities `caps`, Docker architecture name
/// `arch` (e.g. `"amd64"`) and the running kernel.
pub fn docker_profile_to_oci(
    profile_json: &str,
    caps: &[String],
    arch: &str,
) -> Result<LinuxSeccomp, ProfileError> {
    let kernel = KernelVersion::running().map_err(ProfileError::RunningKernel)?;
    docker_profile_to_oci_for(profile_json, &ProfileTarget { caps, arch, kernel })
}

/// Convert a Docker-format profile for an explicit [`ProfileTarget`].
pub fn docker_profile_to_oci_for(
    profile_json: &str,
    target: &ProfileTarget<'_>,
) -> Result<LinuxSeccomp, ProfileError> {
    let profile: DockerProfile = serde_json::from_str(profile_json).map_err(ProfileError::Parse)?;
    if profile
        .architectures
        .as_ref()
        .is_some_and(|a| !a.is_empty())
        && profile.arch_map.as_ref().is_some_and(|m| !m.is_empty())
    {
        return Err(ProfileError::ArchitecturesAndArchMap);
    }
    let mut architectures = profile.architectures.unwrap_or_default();
    if let Some(native) = seccomp_arch(target.arch) {
        if let Some(entry) = profile
            .arch_map
            .iter()
            .flatten()
            .find(|e| e.architecture == native)
        {
            architectures.push(entry.architecture);
            architectures.extend(entry.sub_architectures.iter().flatten().copied());
        }
    }
    let mut syscalls = Vec::new();
    for (i, call) in profile.syscalls.into_iter().enumerate() {
        let field = format!("syscalls[{i}]");
        if applies(&call, target, &field)? {
            syscalls.push(oci_syscall(call, &field)?);
        }
    }
    let mut out = LinuxSeccomp::default();
    out.set_default_action(profile.default_action)
        .set_default_errno_ret(profile.default_errno_ret)
        .set_architectures((!architectures.is_empty()).then_some(architectures))
        .set_flags(profile.flags)
        .set_listener_path(profile.listener_path)
        .set_listener_metadata(profile.listener_metadata)
        .set_syscalls(Some(syscalls));
    Ok(out)
}

/// Whether a rule survives its `excludes` and `includes` for `target`.
fn applies(
    call: &DockerSyscall,
    target: &ProfileTarget<'_>,
    field: &str,
) -> Result<bool, ProfileError> {
    if let Some(ex) = &call.excludes {
        let arch_hit = ex.arches.iter().flatten().any(|a| a == target.arch);
        let cap_hit = ex.caps.iter().flatten().any(|c| has_cap(target.caps, c));
        let kernel_hit = kernel_at_least(ex, target, &format!("{field}.excludes.minKernel"))?;
        if arch_hit || cap_hit || kernel_hit == Some(true) {
            return Ok(false);
        }
    }
    if let Some(inc) = &call.includes {
        let arches_ok = match &inc.arches {
            Some(arches) if !arches.is_empty() => arches.iter().any(|a| a == target.arch),
            _ => true,
        };
        let caps_ok = inc.caps.iter().flatten().all(|c| has_cap(target.caps, c));
        let kernel_ok = kernel_at_least(inc, target, &format!("{field}.includes.minKernel"))?;
        if !arches_ok || !caps_ok || kernel_ok == Some(false) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `None` when the condition has no minKernel.
fn kernel_at_least(
    cond: &Condition,
    target: &ProfileTarget<'_>,
    field: &str,
) -> Result<Option<bool>, ProfileError> {
    let Some(min) = &cond.min_kernel else {
        return Ok(None);
    };
    let min: KernelVersion = min.parse().map_err(|source| ProfileError::MinKernel {
        field: field.to_owned(),
        source,
    })?;
    Ok(Some(target.kernel >= min))
}

/// Capability names compare without the `CAP_` prefix and case-insensitively.
fn has_cap(caps: &[String], wanted: &str) -> bool {
    let bare = |c: &str| {
        let upper = c.to_ascii_uppercase();
        upper
            .strip_prefix("CAP_")
            .map(str::to_owned)
            .unwrap_or(upper)
    };
    let wanted = bare(wanted);
    caps.iter().any(|c| bare(c) == wanted)
}

fn oci_syscall(call: DockerSyscall, field: &str) -> Result<LinuxSyscall, ProfileError> {
    let names = match (call.name.filter(|n| !n.is_empty()), call.names) {
        (Some(_), Some(names)) if !names.is_empty() => {
            return Err(ProfileError::NameAndNames {
                field: field.to_owned(),
            })
        }
        (Some(name), _) => vec![name],
        (None, names) => names.unwrap_or_default(),
    };
    let mut out = LinuxSyscall::default();
    out.set_names(names)
        .set_action(call.action)
        .set_errno_ret(call.errno_ret)
        .set_args(call.args);
    Ok(out)
}

/// Docker's (libseccomp-style) name for the architecture this binary was built for,
/// as used in profile `includes.arches` / `excludes.arches`.
pub fn native_docker_arch() -> &'static str {
    let little = cfg!(target_endian = "little");
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm",
        "loongarch64" => "loongarch64",
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        "powerpc64" if little => "ppc64le",
        "powerpc64" => "ppc64",
        "powerpc" => "ppc",
        "mips64" if little => "mipsel64",
        "mips64" => "mips64",
        "mips" if little => "mipsel",
        other => other,
    }
}

/// The SCMP_ARCH_* token for a Docker architecture name (moby's `nativeToSeccomp`).
fn seccomp_arch(docker_arch: &str) -> Option<Arch> {
    Some(match docker_arch {
        "x86" => Arch::ScmpArchX86,
        "amd64" => Arch::ScmpArchX86_64,
        "arm" => Arch::ScmpArchArm,
        "arm64" => Arch::ScmpArchAarch64,
        "loong64" | "loongarch64" => Arch::ScmpArchLoongarch64,
        "mips64" => Arch::ScmpArchMips64,
        "mips64n32" => Arch::ScmpArchMips64n32,
        "mipsel64" => Arch::ScmpArchMipsel64,
        "mips3l64n32" | "mipsel64n32" => Arch::ScmpArchMipsel64n32,
        "mipsle" | "mipsel" => Arch::ScmpArchMipsel,
        "ppc" => Arch::ScmpArchPpc,
        "ppc64" => Arch::ScmpArchPpc64,
        "ppc64le" => Arch::ScmpArchPpc64le,
        "riscv64" => Arch::ScmpArchRiscv64,
        "s390" => Arch::ScmpArchS390,
        "s390x" => Arch::ScmpArchS390x,
        _ => return None,
    })
}

#[cfg(test)]
#[path = "docker_profile_tests.rs"]
pub(crate) mod tests;
