//! Where the engine keeps things and which helper binaries it runs.

use std::path::{Path, PathBuf};

/// Engine settings, filled from berthd's flags and daemon.json.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Persistent data (`--data-root`, default /var/lib/berth).
    pub data_root: PathBuf,
    /// Runtime state: sockets, shim dirs, runtime root (`--exec-root`, default /run/berth).
    pub exec_root: PathBuf,
    /// cgroup parent of every container (`--cgroup-parent`, default `berth`).
    pub cgroup_parent: String,
    /// The `berth-shim` binary.
    pub shim_path: PathBuf,
    /// The `berth-runtime` binary (exec runs through it: it forks).
    pub runtime_path: PathBuf,
    /// The init binary bind-mounted for `--init` (`/sbin/docker-init` in the container).
    pub init_path: Option<PathBuf>,
    /// Registries reached over plain HTTP (`--insecure-registry`), besides localhost.
    pub insecure_registries: Vec<String>,
    /// Default json-file options (`log-opts` in daemon.json): max-size bytes, max-file.
    pub log_max_size: u64,
    /// See `log_max_size`.
    pub log_max_file: u32,
    /// Bridge networking.
    pub net: NetConfig,
}

/// Daemon-wide network settings (`--bridge`, `--bip`, `--default-address-pools`, …).
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Interface of the default `bridge` network (`--bridge`, default `berth0`).
    pub bridge: String,
    /// Gateway address and prefix of the default bridge (`--bip`); picked from the
    /// default pools when unset.
    pub bip: Option<ipnet::Ipv4Net>,
    /// Pools for networks created without `--subnet`: (base, prefix length of each).
    /// Empty means Docker's defaults.
    pub address_pools: Vec<(ipnet::Ipv4Net, u8)>,
    /// MTU of container interfaces (`--mtu`); the host's default route's when unset.
    pub mtu: Option<u32>,
    /// Upstream resolvers for the embedded DNS (`--dns`); the host's when empty.
    pub dns: Vec<std::net::IpAddr>,
    /// Program NAT and published ports in nftables (`--iptables=false` turns it off).
    pub firewall: bool,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            bridge: "berth0".into(),
            bip: None,
            address_pools: Vec::new(),
            mtu: None,
            dns: Vec::new(),
            firewall: true,
        }
    }
}

impl NetConfig {
    /// berth's nftables table: `berth` for the default bridge name, `berth-<bridge>`
    /// otherwise, so daemons with different bridges never touch each other's rules.
    pub fn nft_table(&self) -> String {
        if self.bridge == "berth0" {
            "berth".into()
        } else {
            format!("berth-{}", self.bridge)
        }
    }
}

impl EngineConfig {
    /// Defaults under the given roots, helper binaries next to the running executable.
    pub fn new(data_root: impl Into<PathBuf>, exec_root: impl Into<PathBuf>) -> Self {
        let here = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("/usr/local/bin"));
        let init = [
            "/usr/bin/tini-static",
            "/usr/bin/docker-init",
            "/usr/bin/tini",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
        Self {
            data_root: data_root.into(),
            exec_root: exec_root.into(),
            cgroup_parent: "berth".into(),
            shim_path: here.join("berth-shim"),
            runtime_path: here.join("berth-runtime"),
            init_path: init,
            insecure_registries: Vec::new(),
            log_max_size: 0,
            log_max_file: 1,
            net: NetConfig::default(),
        }
    }

    /// `<data-root>/containers/<id>`: rw layer, hosts files, log, bundle.
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.data_root.join("containers").join(id)
    }
    /// `<data-root>/volumes`.
    pub fn volumes_dir(&self) -> PathBuf {
        self.data_root.join("volumes")
    }
    /// `<exec-root>/s/<first 16 hex of id>`: short, because the shim's socket path must
    /// fit in `sun_path` (108 bytes) even under a long exec root.
    pub fn shim_dir(&self, id: &str) -> PathBuf {
        self.exec_root.join("s").join(&id[..id.len().min(16)])
    }
    /// `<exec-root>/runtime`: the OCI runtime's state root.
    pub fn runtime_root(&self) -> PathBuf {
        self.exec_root.join("runtime")
    }
    /// `<exec-root>/e/<first 16 hex of exec id>`: process.json and console socket.
    pub fn exec_dir(&self, exec_id: &str) -> PathBuf {
        self.exec_root
            .join("e")
            .join(&exec_id[..exec_id.len().min(16)])
    }
}
