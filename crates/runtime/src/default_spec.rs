//! The default config.json written by `berth-runtime spec`, field for field like `runc spec`.
//!
//! Pure data: runs in whatever process asks (the CLI on the host) and touches nothing.
//! The only difference from runc's document is the hostname ("berth"). The rootless
//! variant follows runc's `ToRootless`: a user namespace mapping the caller's uid/gid to 0,
//! no network namespace, no device cgroup rules, `/sys` bind-mounted instead of a fresh
//! sysfs and no `gid=5` on devpts.

use std::path::PathBuf;

use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxDeviceCgroupBuilder,
    LinuxIdMappingBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, LinuxResourcesBuilder, Mount,
    MountBuilder, PosixRlimitBuilder, PosixRlimitType, ProcessBuilder, RootBuilder, Spec,
    SpecBuilder, UserBuilder,
};

/// The spec version written into `ociVersion` (runc 1.1 writes the same).
const OCI_VERSION: &str = "1.0.2-dev";

/// Paths hidden from the container (bind-mounted over with /dev/null or an empty tmpfs).
const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
];

/// Paths remounted read-only inside the container.
const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The default spec, like runc's (`rootless` adds a user namespace with the caller's ids).
pub fn default_spec(rootless: bool) -> Spec {
    let ids = rootless.then(|| {
        (
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        )
    });
    let mut spec = SpecBuilder::default()
        .version(OCI_VERSION)
        .process(process())
        .root(
            RootBuilder::default()
                .path("rootfs")
                .readonly(true)
                .build()
                .expect("root has no required fields"),
        )
        .hostname("berth")
        .mounts(mounts(rootless))
        .linux(linux(ids))
        .build()
        .expect("spec has no required fields");
    // The builder fills unset fields from `Spec::default()`, which has `annotations: {}`.
    spec.set_annotations(None);
    spec
}

fn process() -> oci_spec::runtime::Process {
    let caps: oci_spec::runtime::Capabilities = [
        Capability::AuditWrite,
        Capability::Kill,
        Capability::NetBindService,
    ]
    .into_iter()
    .collect();
    let mut capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps.clone())
        .ambient(caps)
        .build()
        .expect("capabilities have no required fields");
    // The builder fills unset fields from `LinuxCapabilities::default()`; runc has none.
    capabilities.set_inheritable(None);
    ProcessBuilder::default()
        .terminal(true)
        .user(
            UserBuilder::default()
                .uid(0u32)
                .gid(0u32)
                .build()
                .expect("user has no required fields"),
        )
        .args(vec!["sh".to_string()])
        .env(vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            "TERM=xterm".to_string(),
        ])
        .cwd("/")
        .capabilities(capabilities)
        .rlimits(vec![PosixRlimitBuilder::default()
            .typ(PosixRlimitType::RlimitNofile)
            .hard(1024u64)
            .soft(1024u64)
            .build()
            .expect("rlimit has no required fields")])
        .no_new_privileges(true)
        .build()
        .expect("process has no required fields")
}

fn mount(destination: &str, typ: &str, source: &str, options: &[&str]) -> Mount {
    let mut b = MountBuilder::default()
        .destination(PathBuf::from(destination))
        .typ(typ)
        .source(PathBuf::from(source));
    if !options.is_empty() {
        b = b.options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>());
    }
    b.build().expect("mount has no required fields")
}

fn mounts(rootless: bool) -> Vec<Mount> {
    let devpts: &[&str] = if rootless {
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
        ]
    } else {
        &[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ]
    };
    let sys = if rootless {
        mount(
            "/sys",
            "none",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", "ro"],
        )
    } else {
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )
    };
    vec![
        mount("/proc", "proc", "proc", &[]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount("/dev/pts", "devpts", "devpts", devpts),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        sys,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        ),
    ]
}

/// The `linux` section; `rootless_ids` is the caller's (uid, gid) for the rootless variant.
fn linux(rootless_ids: Option<(u32, u32)>) -> oci_spec::runtime::Linux {
    let ns = |typ| {
        LinuxNamespaceBuilder::default()
            .typ(typ)
            .build()
            .expect("namespace has no required fields")
    };
    let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut b = LinuxBuilder::default()
        .masked_paths(strings(MASKED_PATHS))
        .readonly_paths(strings(READONLY_PATHS));
    match rootless_ids {
        None => {
            let deny_all = LinuxDeviceCgroupBuilder::default()
                .allow(false)
                .access("rwm")
                .build()
                .expect("device rule has no required fields");
            b = b
                .resources(
                    LinuxResourcesBuilder::default()
                        .devices(vec![deny_all])
                        .build()
                        .expect("resources have no required fields"),
                )
                .namespaces(
                    [
                        LinuxNamespaceType::Pid,
                        LinuxNamespaceType::Network,
                        LinuxNamespaceType::Ipc,
                        LinuxNamespaceType::Uts,
                        LinuxNamespaceType::Mount,
                    ]
                    .map(ns)
                    .to_vec(),
                );
        }
        Some((uid, gid)) => {
            let map = |host_id: u32| {
                LinuxIdMappingBuilder::default()
                    .container_id(0u32)
                    .host_id(host_id)
                    .size(1u32)
                    .build()
                    .expect("id mapping has no required fields")
            };
            b = b
                .uid_mappings(vec![map(uid)])
                .gid_mappings(vec![map(gid)])
                .namespaces(
                    [
                        LinuxNamespaceType::Pid,
                        LinuxNamespaceType::Ipc,
                        LinuxNamespaceType::Uts,
                        LinuxNamespaceType::Mount,
                        LinuxNamespaceType::User,
                    ]
                    .map(ns)
                    .to_vec(),
                );
        }
    }
    let mut linux = b.build().expect("linux has no required fields");
    if rootless_ids.is_some() {
        // The builder fills unset fields from `Linux::default()`, which has device rules.
        linux.set_resources(None);
    }
    linux
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn json(rootless: bool) -> Value {
        serde_json::to_value(default_spec(rootless)).unwrap()
    }

    fn destinations(v: &Value) -> Vec<&str> {
        v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect()
    }

    fn namespaces(v: &Value) -> Vec<&str> {
        v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn round_trips_through_serde() {
        for rootless in [false, true] {
            let spec = default_spec(rootless);
            let text = serde_json::to_string(&spec).unwrap();
            let back: Spec = serde_json::from_str(&text).unwrap();
            assert_eq!(back, spec);
        }
    }

    #[test]
    fn matches_runc_defaults() {
        let v = json(false);
        assert_eq!(v["ociVersion"], "1.0.2-dev");
        assert_eq!(v["hostname"], "berth");
        assert_eq!(
            v["root"],
            serde_json::json!({"path": "rootfs", "readonly": true})
        );
        let p = &v["process"];
        assert_eq!(p["terminal"], true);
        assert_eq!(p["args"], serde_json::json!(["sh"]));
        assert_eq!(p["cwd"], "/");
        assert_eq!(p["noNewPrivileges"], true);
        assert_eq!(
            p["rlimits"],
            serde_json::json!([{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}])
        );
        for set in ["bounding", "effective", "permitted", "ambient"] {
            let mut caps: Vec<&str> = p["capabilities"][set]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            caps.sort_unstable();
            assert_eq!(
                caps,
                ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
            );
        }
        assert!(p["capabilities"].get("inheritable").is_none());
        assert_eq!(
            destinations(&v),
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/dev/shm",
                "/dev/mqueue",
                "/sys",
                "/sys/fs/cgroup"
            ]
        );
        assert_eq!(v["mounts"][5]["type"], "sysfs");
        assert!(v["mounts"][2]["options"]
            .as_array()
            .unwrap()
            .contains(&Value::from("gid=5")));
        assert_eq!(namespaces(&v), ["pid", "network", "ipc", "uts", "mount"]);
        assert_eq!(
            v["linux"]["resources"]["devices"],
            serde_json::json!([{"allow": false, "access": "rwm"}])
        );
        assert_eq!(v["linux"]["maskedPaths"].as_array().unwrap().len(), 10);
        assert_eq!(v["linux"]["readonlyPaths"][3], "/proc/sys");
        assert!(v["linux"].get("uidMappings").is_none());
        assert!(v["linux"].get("seccomp").is_none());
        assert!(v.get("annotations").is_none());
        assert!(v.get("hooks").is_none());
    }

    #[test]
    fn rootless_variant() {
        let v = json(true);
        assert_eq!(namespaces(&v), ["pid", "ipc", "uts", "mount", "user"]);
        let uid = nix::unistd::getuid().as_raw();
        assert_eq!(
            v["linux"]["uidMappings"],
            serde_json::json!([{"containerID": 0, "hostID": uid, "size": 1}])
        );
        assert_eq!(v["linux"]["gidMappings"][0]["size"], 1);
        assert!(v["linux"].get("resources").is_none());
        let sys = &v["mounts"][5];
        assert_eq!(sys["type"], "none");
        assert_eq!(sys["source"], "/sys");
        assert_eq!(sys["options"][0], "rbind");
        assert!(!v["mounts"][2]["options"]
            .as_array()
            .unwrap()
            .contains(&Value::from("gid=5")));
    }
}
