//! Whole-spec tests: a plain `docker run busybox sh` must get Docker's shape.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard_stubs::models::{
    ContainerConfig, HostConfig, HostConfigCgroupnsModeEnum, ResourcesUlimits,
};
use oci_spec::runtime::{Capability, LinuxNamespaceType, Mount, PosixRlimitType, Spec};

use super::*;

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Fixture {
    dir: tempfile::TempDir,
    facts: HostFacts,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("rootfs/etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
        )
        .unwrap();
        std::fs::write(
            etc.join("group"),
            "root:x:0:\nnogroup:x:65534:\nwheel:x:10:root\n",
        )
        .unwrap();
        for f in ["hostname", "hosts", "resolv.conf"] {
            std::fs::write(dir.path().join(f), "x\n").unwrap();
        }
        Fixture {
            dir,
            facts: HostFacts {
                cgroup_v2: true,
                all_capabilities: all_capabilities(Some(40)),
                thermal_throttle_paths: vec!["/sys/devices/system/cpu/cpu0/thermal_throttle".into()],
            },
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn build(
        &self,
        config: &ContainerConfig,
        host: &HostConfig,
        mounts: &[PlannedMount],
        network: NetworkNs,
    ) -> Result<Spec, SpecError> {
        let rootfs = self.path("rootfs");
        let (hostname, hosts, resolv) = (
            self.path("hostname"),
            self.path("hosts"),
            self.path("resolv.conf"),
        );
        let init = self.path("hosts");
        build(&SpecInput {
            id: ID,
            config,
            host,
            mounts,
            rootfs: &rootfs,
            hostname_path: Some(&hostname),
            hosts_path: Some(&hosts),
            resolv_conf_path: Some(&resolv),
            cgroups_path: "/berth/test",
            network,
            init_path: Some(&init),
            host_facts: &self.facts,
        })
    }
}

fn busybox() -> ContainerConfig {
    ContainerConfig {
        cmd: Some(vec!["sh".into()]),
        env: Some(vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        ]),
        ..Default::default()
    }
}

fn mount_by<'a>(spec: &'a Spec, dest: &str) -> &'a Mount {
    spec.mounts()
        .as_ref()
        .unwrap()
        .iter()
        .find(|m| m.destination() == Path::new(dest))
        .unwrap_or_else(|| panic!("no mount at {dest}"))
}

fn opts(m: &Mount) -> Vec<&str> {
    m.options()
        .as_ref()
        .unwrap()
        .iter()
        .map(String::as_str)
        .collect()
}

fn destinations(spec: &Spec) -> Vec<String> {
    spec.mounts()
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.destination().display().to_string())
        .collect()
}

#[test]
fn plain_busybox_has_dockers_shape() {
    let fx = Fixture::new();
    let spec = fx
        .build(&busybox(), &HostConfig::default(), &[], NetworkNs::Private)
        .unwrap();
    assert_eq!(spec.version(), OCI_VERSION);
    assert_eq!(spec.hostname().as_deref(), Some("0123456789ab"));
    assert!(spec.annotations().is_none());
    let root = spec.root().as_ref().unwrap();
    assert_eq!(root.path(), &fx.path("rootfs"));
    assert_eq!(root.readonly(), Some(false));

    let p = spec.process().as_ref().unwrap();
    assert_eq!(p.args().as_ref().unwrap(), &vec!["sh".to_string()]);
    assert_eq!(
        p.env().as_ref().unwrap(),
        &vec![
            DEFAULT_PATH_ENV.to_string(),
            "HOSTNAME=0123456789ab".to_string()
        ]
    );
    assert_eq!(p.terminal(), Some(false));
    assert_eq!(p.cwd(), Path::new("/"));
    assert_eq!((p.user().uid(), p.user().gid()), (0, 0));
    assert_eq!(p.user().additional_gids().as_deref(), Some(&[10u32][..]));
    assert_eq!(p.oom_score_adj(), Some(0));
    assert_eq!(p.no_new_privileges(), None);
    assert!(p.rlimits().is_none());
    let caps = p.capabilities().as_ref().unwrap();
    let want: oci_spec::runtime::Capabilities = DEFAULT_CAPABILITIES
        .iter()
        .map(|c| c.trim_start_matches("CAP_").parse::<Capability>().unwrap())
        .collect();
    assert_eq!(want.len(), 14);
    assert_eq!(caps.bounding().as_ref(), Some(&want));
    assert_eq!(caps.permitted().as_ref(), Some(&want));
    assert_eq!(caps.effective().as_ref(), Some(&want));
    assert!(caps.inheritable().is_none() && caps.ambient().is_none());

    assert_eq!(
        destinations(&spec),
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/dev/shm",
            "/etc/resolv.conf",
            "/etc/hostname",
            "/etc/hosts"
        ]
    );
    assert_eq!(
        opts(mount_by(&spec, "/proc")),
        ["nosuid", "noexec", "nodev"]
    );
    assert_eq!(
        opts(mount_by(&spec, "/dev")),
        ["nosuid", "strictatime", "mode=755", "size=65536k"]
    );
    assert_eq!(
        opts(mount_by(&spec, "/dev/pts")),
        [
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5"
        ]
    );
    assert_eq!(
        opts(mount_by(&spec, "/sys")),
        ["nosuid", "noexec", "nodev", "ro"]
    );
    assert_eq!(
        opts(mount_by(&spec, "/sys/fs/cgroup")),
        ["ro", "nosuid", "noexec", "nodev"]
    );
    let shm = mount_by(&spec, "/dev/shm");
    assert_eq!(shm.source().as_deref(), Some(Path::new("shm")));
    assert_eq!(
        opts(shm),
        ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]
    );
    let resolv = mount_by(&spec, "/etc/resolv.conf");
    assert_eq!(resolv.typ().as_deref(), Some("bind"));
    assert_eq!(
        resolv.source().as_deref(),
        Some(fx.path("resolv.conf").as_path())
    );
    assert_eq!(opts(resolv), ["rbind", "rprivate"]);

    let linux = spec.linux().as_ref().unwrap();
    assert_eq!(
        linux.cgroups_path().as_deref(),
        Some(Path::new("/berth/test"))
    );
    let ns: Vec<LinuxNamespaceType> = linux
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect();
    assert_eq!(
        ns,
        [
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Ipc,
            LinuxNamespaceType::Cgroup
        ]
    );
    let masked = linux.masked_paths().as_ref().unwrap();
    assert_eq!(masked.len(), 13);
    assert!(masked.contains(&"/proc/kcore".to_string()));
    assert_eq!(
        masked.last().unwrap(),
        "/sys/devices/system/cpu/cpu0/thermal_throttle"
    );
    assert_eq!(
        linux.readonly_paths().as_ref().unwrap(),
        &[
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger"
        ]
        .map(String::from)
        .to_vec()
    );
    let sysctl = linux.sysctl().as_ref().unwrap();
    assert_eq!(sysctl["net.ipv4.ip_unprivileged_port_start"], "0");
    assert_eq!(sysctl["net.ipv4.ping_group_range"], "0 2147483647");
    assert!(linux.devices().is_none());
    let rules = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .as_ref()
        .unwrap();
    assert_eq!(rules.len(), 8);
    let seccomp = linux.seccomp().as_ref().unwrap();
    assert_eq!(
        seccomp.default_action(),
        oci_spec::runtime::LinuxSeccompAction::ScmpActErrno
    );
    assert_eq!(seccomp.default_errno_ret(), Some(1));
}

#[test]
fn privileged() {
    let fx = Fixture::new();
    let host = HostConfig {
        privileged: Some(true),
        cap_drop: Some(vec!["ALL".into()]),
        ..Default::default()
    };
    let spec = fx
        .build(&busybox(), &host, &[], NetworkNs::Private)
        .unwrap();
    let caps = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap();
    assert_eq!(caps.bounding().as_ref().unwrap().len(), 41);
    let linux = spec.linux().as_ref().unwrap();
    assert!(linux.seccomp().is_none());
    assert!(linux.masked_paths().is_none() && linux.readonly_paths().is_none());
    assert_eq!(opts(mount_by(&spec, "/sys")), ["nosuid", "noexec", "nodev"]);
    assert_eq!(
        opts(mount_by(&spec, "/sys/fs/cgroup")),
        ["nosuid", "noexec", "nodev"]
    );
    assert!(linux
        .devices()
        .as_ref()
        .unwrap()
        .iter()
        .any(|d| d.path() == Path::new("/dev/null")));
    let last = linux
        .resources()
        .as_ref()
        .unwrap()
        .devices()
        .as_ref()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(last.allow() && last.typ().is_none() && last.access().as_deref() == Some("rwm"));
}

#[test]
fn read_only_rootfs() {
    let fx = Fixture::new();
    let host = HostConfig {
        readonly_rootfs: Some(true),
        ..Default::default()
    };
    let spec = fx
        .build(&busybox(), &host, &[], NetworkNs::Private)
        .unwrap();
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    assert_eq!(
        opts(mount_by(&spec, "/etc/hosts")),
        ["rbind", "ro", "rprivate"]
    );
    assert_eq!(
        opts(mount_by(&spec, "/sys/fs/cgroup")),
        ["ro", "nosuid", "noexec", "nodev"]
    );
    for writable in ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"] {
        assert!(
            !opts(mount_by(&spec, writable)).contains(&"ro"),
            "{writable}"
        );
    }
}

#[test]
fn cap_add_and_drop() {
    let fx = Fixture::new();
    let host = HostConfig {
        cap_add: Some(vec!["NET_ADMIN".into()]),
        cap_drop: Some(vec!["CAP_MKNOD".into()]),
        ..Default::default()
    };
    let spec = fx
        .build(&busybox(), &host, &[], NetworkNs::Private)
        .unwrap();
    let b = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap()
        .bounding()
        .clone()
        .unwrap();
    assert!(b.contains(&Capability::NetAdmin) && !b.contains(&Capability::Mknod));
    assert_eq!(b.len(), 14);
    let host = HostConfig {
        cap_add: Some(vec!["all".into()]),
        ..Default::default()
    };
    let spec = fx
        .build(&busybox(), &host, &[], NetworkNs::Private)
        .unwrap();
    let b = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap()
        .bounding()
        .clone()
        .unwrap();
    assert_eq!(b.len(), 41);
}

#[test]
fn options_reach_the_process() {
    let fx = Fixture::new();
    let config = ContainerConfig {
        entrypoint: Some(vec!["/bin/ep".into()]),
        cmd: Some(vec!["a".into()]),
        tty: Some(true),
        user: Some("nobody".into()),
        working_dir: Some("/work".into()),
        hostname: Some("web".into()),
        env: Some(vec!["A=1".into(), "HOSTNAME=mine".into()]),
        ..Default::default()
    };
    let host = HostConfig {
        init: Some(true),
        oom_score_adj: Some(-500),
        group_add: Some(vec!["wheel".into(), "777".into()]),
        ulimits: Some(vec![ResourcesUlimits {
            name: Some("nofile".into()),
            soft: Some(1024),
            hard: Some(2048),
        }]),
        security_opt: Some(vec![
            "no-new-privileges".into(),
            "seccomp=unconfined".into(),
        ]),
        uts_mode: Some("host".into()),
        pid_mode: Some("host".into()),
        ipc_mode: Some("none".into()),
        cgroupns_mode: Some(HostConfigCgroupnsModeEnum::HOST),
        sysctls: Some(HashMap::from([(
            "net.core.somaxconn".into(),
            "1024".into(),
        )])),
        shm_size: Some(1 << 20),
        ..Default::default()
    };
    let spec = fx.build(&config, &host, &[], NetworkNs::Host).unwrap();
    let p = spec.process().as_ref().unwrap();
    assert_eq!(
        p.args().as_ref().unwrap(),
        &["/sbin/docker-init", "--", "/bin/ep", "a"]
            .map(String::from)
            .to_vec()
    );
    assert_eq!(
        p.env().as_ref().unwrap(),
        &[DEFAULT_PATH_ENV, "HOSTNAME=mine", "TERM=xterm", "A=1"]
            .map(String::from)
            .to_vec()
    );
    assert_eq!(p.terminal(), Some(true));
    assert_eq!(p.cwd(), Path::new("/work"));
    assert_eq!((p.user().uid(), p.user().gid()), (65534, 65534));
    assert_eq!(
        p.user().additional_gids().as_deref(),
        Some(&[10u32, 777][..])
    );
    assert_eq!(p.oom_score_adj(), Some(-500));
    assert_eq!(p.no_new_privileges(), Some(true));
    let r = &p.rlimits().as_ref().unwrap()[0];
    assert_eq!(
        (r.typ(), r.soft(), r.hard()),
        (PosixRlimitType::RlimitNofile, 1024, 2048)
    );
    assert!(
        spec.hostname().is_none(),
        "UTSMode=host keeps the host's name"
    );
    let linux = spec.linux().as_ref().unwrap();
    assert!(linux.seccomp().is_none());
    let ns: Vec<LinuxNamespaceType> = linux
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .map(|n| n.typ())
        .collect();
    assert_eq!(ns, [LinuxNamespaceType::Mount, LinuxNamespaceType::Ipc]);
    let sysctl = linux.sysctl().as_ref().unwrap();
    assert_eq!(sysctl.len(), 1, "no netns sysctls with --network host");
    let dests = destinations(&spec);
    assert!(
        !dests.contains(&"/dev/shm".to_string()),
        "--ipc none drops /dev/shm"
    );
    let init = mount_by(&spec, "/sbin/docker-init");
    assert_eq!(opts(init), ["bind", "ro"]);
    assert_eq!(dests.last().unwrap(), "/sbin/docker-init");
}

#[test]
fn joined_netns_and_shm_size() {
    let fx = Fixture::new();
    let host = HostConfig {
        shm_size: Some(1 << 20),
        ..Default::default()
    };
    let spec = fx
        .build(
            &busybox(),
            &host,
            &[],
            NetworkNs::Join("/proc/1/ns/net".into()),
        )
        .unwrap();
    let linux = spec.linux().as_ref().unwrap();
    let net = linux.namespaces().as_ref().unwrap()[1].clone();
    assert_eq!(net.typ(), LinuxNamespaceType::Network);
    assert_eq!(net.path().as_deref(), Some(Path::new("/proc/1/ns/net")));
    assert!(linux
        .sysctl()
        .as_ref()
        .unwrap()
        .contains_key("net.ipv4.ping_group_range"));
    assert!(opts(mount_by(&spec, "/dev/shm")).contains(&"size=1048576"));
}

#[test]
fn user_mounts_replace_defaults_and_sort_by_depth() {
    let fx = Fixture::new();
    let host = HostConfig {
        binds: Some(vec![format!(
            "{}:/data:ro",
            fx.path("hosts").parent().unwrap().display()
        )]),
        tmpfs: Some(HashMap::from([("/dev/shm".into(), "size=1m".into())])),
        ..Default::default()
    };
    let planned = plan_mounts(&busybox(), &host, &fx.path("volumes")).unwrap();
    let spec = fx
        .build(&busybox(), &host, &planned, NetworkNs::Private)
        .unwrap();
    assert_eq!(
        destinations(&spec),
        [
            "/proc",
            "/dev",
            "/dev/pts",
            "/sys",
            "/sys/fs/cgroup",
            "/dev/mqueue",
            "/data",
            "/etc/resolv.conf",
            "/etc/hostname",
            "/etc/hosts",
            "/dev/shm"
        ]
    );
    assert_eq!(opts(mount_by(&spec, "/data")), ["rbind", "ro", "rprivate"]);
    let shm = mount_by(&spec, "/dev/shm");
    assert_eq!(shm.source().as_deref(), Some(Path::new("tmpfs")));
    assert_eq!(
        opts(shm),
        ["noexec", "nosuid", "nodev", "rprivate", "size=1m"]
    );
}

#[test]
fn errors() {
    let fx = Fixture::new();
    let err = fx
        .build(
            &ContainerConfig::default(),
            &HostConfig::default(),
            &[],
            NetworkNs::Private,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "No command specified");
    assert!(err.is_invalid_parameter());
    assert!(check_command(&ContainerConfig::default()).is_err());
    assert!(check_command(&busybox()).is_ok());
    let config = ContainerConfig {
        user: Some("ghost".into()),
        ..busybox()
    };
    let err = fx
        .build(&config, &HostConfig::default(), &[], NetworkNs::Private)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unable to find user ghost: no matching entries in passwd file"
    );
    let host = HostConfig {
        cap_add: Some(vec!["CAP_NOPE".into()]),
        ..Default::default()
    };
    let err = fx
        .build(&busybox(), &host, &[], NetworkNs::Private)
        .unwrap_err();
    assert_eq!(err.to_string(), "unknown capability: \"CAP_NOPE\"");
}

#[test]
fn runtime_accepts_the_spec() {
    let fx = Fixture::new();
    let host = HostConfig {
        memory: Some(64 << 20),
        nano_cpus: Some(500_000_000),
        pids_limit: Some(50),
        ulimits: Some(vec![ResourcesUlimits {
            name: Some("nproc".into()),
            soft: Some(10),
            hard: Some(20),
        }]),
        ..Default::default()
    };
    let spec = fx
        .build(&busybox(), &host, &[], NetworkNs::Private)
        .unwrap();
    let bundle = fx.path("bundle");
    std::fs::create_dir(&bundle).unwrap();
    std::fs::write(
        bundle.join("config.json"),
        serde_json::to_vec(&spec).unwrap(),
    )
    .unwrap();
    let loaded = berth_runtime::config::load(&bundle).unwrap();
    assert_eq!(loaded.rootfs, fx.path("rootfs"));
    let cpu = loaded
        .spec
        .linux()
        .as_ref()
        .unwrap()
        .resources()
        .as_ref()
        .unwrap()
        .cpu()
        .clone()
        .unwrap();
    assert_eq!((cpu.quota(), cpu.period()), (Some(50_000), Some(100_000)));
}

#[test]
fn hostname_rule() {
    assert_eq!(hostname(ID, &ContainerConfig::default()), "0123456789ab");
    let c = ContainerConfig {
        hostname: Some("web".into()),
        ..Default::default()
    };
    assert_eq!(hostname(ID, &c), "web");
}
