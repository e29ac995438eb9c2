//! A container create request plus its image config → the OCI runtime spec (config.json),
//! with Docker's defaults.
//!
//! Runs in berthd. Pure decisions apart from reads: `/etc/passwd` and `/etc/group` inside
//! the (already mounted) rootfs, host device nodes for `--privileged` and `--device`, bind
//! sources, and the running kernel for the seccomp profile. Owns nothing; the only thing
//! it changes on the host is creating missing `-v /host:/ctr` source directories (like
//! Docker) in [`plan_mounts`]. Follows moby's `daemon/oci_linux.go`, `daemon/pkg/oci` and
//! `daemon/create.go`; AppArmor, SELinux labels, user namespaces, the time namespace and
//! joining another container's ipc/pid namespaces are left out.

mod caps;
mod devices;
mod merge;
mod mounts;
mod process;
mod resources;
mod rootfs_mounts;
mod security;
mod tmpfs;
mod user;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard_stubs::models::{ContainerConfig, HostConfig};
use oci_spec::runtime::{
    LinuxBuilder, LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType, RootBuilder, Spec,
};

pub use caps::{all_capabilities, capability_set, linux_capabilities, DEFAULT_CAPABILITIES};
pub use merge::{merge_config, DEFAULT_PATH_ENV};
pub use mounts::{mount_points, plan_mounts, MountKind, PlannedMount, PlannedVolume};
pub use process::{replace_or_append_env, ulimit_type};
pub use resources::{linux_resources, nano_cpus_quota, NANO_CPUS_PERIOD};
pub use security::{
    parse_security_opts, SeccompChoice, SecurityOpts, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS,
};
pub use user::{lookup_user, resolve_user, secure_join, ResolvedUser};

/// The `ociVersion` written into specs (the runtime-spec release moby vendors).
pub const OCI_VERSION: &str = "1.2.0";

/// Where `--init` puts the init binary inside the container (moby `inContainerInitPath`).
pub const INIT_PATH_IN_CONTAINER: &str = "/sbin/docker-init";

/// Default `/dev/shm` size: 64 MiB (moby `daemon/config` DefaultShmSize).
pub const DEFAULT_SHM_SIZE: i64 = 64 * 1024 * 1024;

/// Why a spec could not be built. [`SpecError::is_invalid_parameter`] tells the engine
/// which ones are the client's fault (HTTP 400); the texts are Docker's where it has one.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Neither Entrypoint nor Cmd (after merging with the image) names a program.
    #[error("No command specified")]
    NoCommand,
    /// A `HostConfig.Binds` entry does not have the `[src:]dst[:mode]` shape.
    #[error("invalid volume specification: '{spec}'")]
    InvalidVolumeSpec {
        /// The entry as sent.
        spec: String,
    },
    /// A `HostConfig.Binds` entry is well formed but names an unusable mount.
    #[error("invalid volume specification: '{spec}': invalid mount config for type \"{mount_type}\": {reason}")]
    InvalidBind {
        /// The entry as sent.
        spec: String,
        /// `bind` or `volume`.
        mount_type: &'static str,
        /// Docker's reason text.
        reason: String,
    },
    /// The mode part of a `HostConfig.Binds` entry has an unknown or conflicting flag.
    #[error("invalid mode: {mode}")]
    InvalidMode {
        /// The mode part as sent.
        mode: String,
    },
    /// A `HostConfig.Mounts` entry is unusable.
    #[error("invalid mount config for type \"{mount_type}\": {reason}")]
    InvalidMountConfig {
        /// The mount type as sent.
        mount_type: String,
        /// Docker's reason text (e.g. `bind source path does not exist: /x`).
        reason: String,
    },
    /// A named volume's name has characters the local driver refuses.
    #[error("\"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")]
    InvalidVolumeName {
        /// The name.
        name: String,
    },
    /// A `HostConfig.Tmpfs` entry has an unusable destination or option.
    #[error("invalid tmpfs mount {destination}: {reason}")]
    InvalidTmpfs {
        /// The destination.
        destination: String,
        /// What is wrong.
        reason: String,
    },
    /// Two mounts share a destination.
    #[error("Duplicate mount point: {destination}")]
    DuplicateMountPoint {
        /// The shared destination.
        destination: String,
    },
    /// A missing `-v` bind source could not be created.
    #[error("create bind source directory {path}")]
    CreateBindSource {
        /// The host path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Random bytes for an anonymous volume name could not be read.
    #[error("read /dev/urandom for an anonymous volume name")]
    RandomName(#[source] std::io::Error),
    /// A CapAdd/CapDrop entry is not a capability.
    #[error("unknown capability: {name:?}")]
    UnknownCapability {
        /// The normalised name (`CAP_…`).
        name: String,
    },
    /// `User` names a user the rootfs' /etc/passwd lacks.
    #[error("unable to find user {name}: no matching entries in passwd file")]
    UnknownUser {
        /// The user part of `User`.
        name: String,
    },
    /// `User` or `GroupAdd` names a group the rootfs' /etc/group lacks.
    #[error("unable to find group {name}: no matching entries in group file")]
    UnknownGroup {
        /// The group as given.
        name: String,
    },
    /// A `GroupAdd` entry names a group the rootfs' /etc/group lacks.
    #[error("Unable to find group {name}: no matching entries in group file")]
    UnknownAdditionalGroup {
        /// The group as given.
        name: String,
    },
    /// A numeric uid or gid is out of range.
    #[error("invalid user {spec:?}: uids and gids must be in range 0-2147483647")]
    IdRange {
        /// The `User` or `GroupAdd` value.
        spec: String,
    },
    /// /etc/passwd or /etc/group in the rootfs could not be read.
    #[error("read {path} in the container rootfs")]
    ReadRootfsFile {
        /// The file inside the rootfs.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A `SecurityOpt` entry is not `key=value`.
    #[error("invalid --security-opt 1: {opt:?}")]
    SecurityOptFormat {
        /// The entry.
        opt: String,
    },
    /// A `SecurityOpt` entry has an unknown key or value.
    #[error("invalid --security-opt 2: {opt:?}")]
    SecurityOptUnknown {
        /// The entry.
        opt: String,
    },
    /// A `seccomp=<json>` profile could not be converted.
    #[error("Decoding seccomp profile failed: {error}")]
    SeccompProfile {
        /// The converter's error (its text is part of Docker's message).
        error: berth_seccomp::ProfileError,
    },
    /// Docker's default seccomp profile could not be built.
    #[error("build docker's default seccomp profile")]
    DefaultSeccomp(#[source] berth_seccomp::ProfileError),
    /// A `Devices` entry's host path could not be read as a device.
    #[error("error gathering device information while adding custom device {path:?}: {error}")]
    Device {
        /// The host path.
        path: String,
        /// Why (`no such file or directory`, `not a device node`).
        error: String,
    },
    /// A `Devices` entry's cgroup permissions are not a subset of `rwm`.
    #[error("invalid device mode: {mode}")]
    DeviceMode {
        /// The permissions as sent.
        mode: String,
    },
    /// A `DeviceCgroupRules` entry is not `<type> <major>:<minor> <access>`.
    #[error("invalid device cgroup format '{rule}'")]
    DeviceCgroupRule {
        /// The rule as sent.
        rule: String,
    },
    /// A `Ulimits` entry has an unknown name.
    #[error("invalid ulimit type: {name}")]
    UlimitName {
        /// The name as sent.
        name: String,
    },
    /// A `Ulimits` entry's soft limit is above its hard limit.
    #[error("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")]
    UlimitRange {
        /// The soft limit.
        soft: i64,
        /// The hard limit.
        hard: i64,
    },
    /// Host devices could not be listed for `--privileged`.
    #[error("list host devices under {path}")]
    HostDevices {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A blkio throttle/weight device path could not be stat'ed.
    #[error("stat blkio device {path}")]
    BlkioDevice {
        /// The device path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl SpecError {
    /// True when the request itself is wrong (Docker answers 400); false for host-side
    /// failures (500).
    pub fn is_invalid_parameter(&self) -> bool {
        !matches!(
            self,
            SpecError::CreateBindSource { .. }
                | SpecError::RandomName(_)
                | SpecError::ReadRootfsFile { .. }
                | SpecError::DefaultSeccomp(_)
                | SpecError::HostDevices { .. }
                | SpecError::UnknownUser { .. }
                | SpecError::UnknownGroup { .. }
                | SpecError::UnknownAdditionalGroup { .. }
        )
    }
}

/// The container's network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkNs {
    /// A new, private namespace created by the runtime (`none`, or set up later).
    Private,
    /// The host's namespace (`--network host`): no network namespace entry.
    Host,
    /// Join an existing namespace: `/proc/<pid>/ns/net` or a bind-mounted netns file.
    Join(PathBuf),
}

/// Facts about the host that change the spec; [`HostFacts::detect`] reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    /// The host uses cgroup v2 only (Docker then gives containers a private cgroupns).
    pub cgroup_v2: bool,
    /// Every capability the kernel knows (`CAP_…`), for `--privileged` and `CapAdd: ALL`.
    pub all_capabilities: Vec<String>,
    /// Existing `/sys/devices/system/cpu/cpu<N>/thermal_throttle` dirs (masked by Docker).
    pub thermal_throttle_paths: Vec<String>,
}

impl HostFacts {
    /// Read the cgroup layout, `/proc/sys/kernel/cap_last_cap` and the thermal dirs.
    pub fn detect() -> Self {
        let cgroup_v2 = matches!(
            berth_cgroups::Hierarchy::detect(),
            Ok(berth_cgroups::Hierarchy::V2 { .. })
        );
        let last_cap = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok());
        // Only what the daemon itself may hold: a capability outside its bounding set
        // cannot be granted (capset fails), as on hosts that drop CAP_SYS_RESOURCE.
        let bounding = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("CapBnd:"))
                    .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
            })
            .unwrap_or(u64::MAX);
        let all = all_capabilities(last_cap)
            .into_iter()
            .enumerate()
            .filter(|(bit, _)| *bit >= 64 || bounding & (1u64 << bit) != 0)
            .map(|(_, c)| c)
            .collect();
        HostFacts {
            cgroup_v2,
            all_capabilities: all,
            thermal_throttle_paths: security::thermal_throttle_paths(Path::new("/")),
        }
    }
}

/// Everything [`build`] needs; the engine fills it after creating the container's files.
#[derive(Debug, Clone)]
pub struct SpecInput<'a> {
    /// The 64-hex container id.
    pub id: &'a str,
    /// The merged config ([`merge_config`]), as inspect shows it.
    pub config: &'a ContainerConfig,
    /// The request's host config (after the engine's defaults).
    pub host: &'a HostConfig,
    /// The container's mounts from [`plan_mounts`].
    pub mounts: &'a [PlannedMount],
    /// The mounted rootfs.
    pub rootfs: &'a Path,
    /// The container's `hostname` file (bound at /etc/hostname), if any.
    pub hostname_path: Option<&'a Path>,
    /// The container's `hosts` file (bound at /etc/hosts), if any.
    pub hosts_path: Option<&'a Path>,
    /// The container's `resolv.conf` file (bound at /etc/resolv.conf), if any.
    pub resolv_conf_path: Option<&'a Path>,
    /// `linux.cgroupsPath`, e.g. `/berth/<id>`.
    pub cgroups_path: &'a str,
    /// The network namespace choice.
    pub network: NetworkNs,
    /// Host path of the init for `HostConfig.Init` (bound read-only at /sbin/docker-init).
    pub init_path: Option<&'a Path>,
    /// Host facts.
    pub host_facts: &'a HostFacts,
}

/// The container's hostname: `Config.Hostname`, else the first 12 hex of the id.
pub fn hostname(id: &str, config: &ContainerConfig) -> String {
    match config.hostname.as_deref() {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => id.chars().take(12).collect(),
    }
}

/// Docker's create-time check that the merged config names a program.
pub fn check_command(config: &ContainerConfig) -> Result<(), SpecError> {
    let has = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|v| !v.is_empty());
    if has(&config.entrypoint) || has(&config.cmd) {
        Ok(())
    } else {
        Err(SpecError::NoCommand)
    }
}

fn is_mode(mode: Option<&str>, want: &str) -> bool {
    mode == Some(want)
}

/// Build the OCI spec for a container.
pub fn build(input: &SpecInput<'_>) -> Result<Spec, SpecError> {
    let host = input.host;
    let privileged = host.privileged.unwrap_or(false);
    let security = parse_security_opts(host.security_opt.as_deref().unwrap_or_default())?;
    let final_caps = capability_set(
        host.cap_add.as_deref().unwrap_or_default(),
        host.cap_drop.as_deref().unwrap_or_default(),
        privileged,
        &input.host_facts.all_capabilities,
    )?;
    let hostname = hostname(input.id, input.config);
    let process = process::process(input, &final_caps, &hostname, &security)?;
    let mounts = rootfs_mounts::oci_mounts(input, &security);

    let devices = devices::device_plan(host, privileged)?;
    let mut linux = LinuxBuilder::default()
        .cgroups_path(PathBuf::from(input.cgroups_path))
        .namespaces(namespaces(input))
        .resources(resources::resources(host, devices.rules)?)
        .build()
        .expect("linux has no required fields");
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    linux.set_sysctl(Some(sysctls(input)));
    linux.set_devices((!devices.devices.is_empty()).then_some(devices.devices));
    linux.set_seccomp(security::seccomp(&security, privileged, &final_caps)?);
    let (masked, readonly) =
        security::masked_and_readonly_paths(host, privileged, input.host_facts);
    linux.set_masked_paths((!masked.is_empty()).then_some(masked));
    linux.set_readonly_paths((!readonly.is_empty()).then_some(readonly));

    let mut spec = Spec::default();
    spec.set_version(OCI_VERSION.to_string());
    spec.set_root(Some(
        RootBuilder::default()
            .path(input.rootfs.to_path_buf())
            .readonly(host.readonly_rootfs.unwrap_or(false))
            .build()
            .expect("root has no required fields"),
    ));
    let uts_host = is_mode(host.uts_mode.as_deref(), "host");
    spec.set_hostname((!uts_host).then_some(hostname));
    spec.set_domainname(
        input
            .config
            .domainname
            .clone()
            .filter(|d| !d.is_empty() && !uts_host),
    );
    spec.set_mounts(Some(mounts));
    spec.set_process(Some(process));
    spec.set_linux(Some(linux));
    spec.set_annotations(None);
    Ok(spec)
}

/// Namespaces in Docker's order: mount, network, uts, pid, ipc, cgroup.
fn namespaces(input: &SpecInput<'_>) -> Vec<LinuxNamespace> {
    let host = input.host;
    let ns = |typ: LinuxNamespaceType, path: Option<PathBuf>| {
        let mut n = LinuxNamespaceBuilder::default()
            .typ(typ)
            .build()
            .expect("namespace has no required fields");
        n.set_path(path);
        n
    };
    let mut out = vec![ns(LinuxNamespaceType::Mount, None)];
    match &input.network {
        NetworkNs::Private => out.push(ns(LinuxNamespaceType::Network, None)),
        NetworkNs::Host => {}
        NetworkNs::Join(path) => out.push(ns(LinuxNamespaceType::Network, Some(path.clone()))),
    }
    if !is_mode(host.uts_mode.as_deref(), "host") {
        out.push(ns(LinuxNamespaceType::Uts, None));
    }
    if !is_mode(host.pid_mode.as_deref(), "host") {
        out.push(ns(LinuxNamespaceType::Pid, None));
    }
    if !is_mode(host.ipc_mode.as_deref(), "host") {
        out.push(ns(LinuxNamespaceType::Ipc, None));
    }
    if cgroupns_private(host, input.host_facts.cgroup_v2) {
        out.push(ns(LinuxNamespaceType::Cgroup, None));
    }
    out
}

/// Docker: `CgroupnsMode` private or host; empty means private on cgroup v2, host on v1.
fn cgroupns_private(host: &HostConfig, cgroup_v2: bool) -> bool {
    use bollard_stubs::models::HostConfigCgroupnsModeEnum as Mode;
    match host.cgroupns_mode {
        Some(Mode::PRIVATE) => true,
        Some(Mode::HOST) => false,
        Some(Mode::EMPTY) | None => cgroup_v2,
    }
}

/// Docker's sysctls for a private netns (moby `daemon/oci_linux.go`), then the user's.
fn sysctls(input: &SpecInput<'_>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if input.network != NetworkNs::Host {
        out.insert(
            "net.ipv4.ip_unprivileged_port_start".to_string(),
            "0".to_string(),
        );
        out.insert(
            "net.ipv4.ping_group_range".to_string(),
            "0 2147483647".to_string(),
        );
    }
    if let Some(user) = &input.host.sysctls {
        out.extend(user.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out
}
