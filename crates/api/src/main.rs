//! berthd: the berth daemon. Serves the Docker Engine API on a unix socket.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use berth_api::{serve_unix, ServerState};
use berth_engine::{Engine, EngineConfig};
use clap::Parser;

/// Docker's daemon flags, where berth has the feature.
#[derive(Debug, Parser)]
#[command(
    name = "berthd",
    version,
    about = "berth daemon: the Docker Engine API on a unix socket"
)]
struct Args {
    /// Root of persistent state.
    #[arg(long, default_value = "/var/lib/berth")]
    data_root: PathBuf,
    /// Root of runtime state (sockets, shims).
    #[arg(long, default_value = "/run/berth")]
    exec_root: PathBuf,
    /// Socket(s) to listen on: unix:///path (repeatable).
    #[arg(short = 'H', long = "host")]
    hosts: Vec<String>,
    /// Daemon configuration file (Docker's key names).
    #[arg(long, default_value = "/etc/berth/daemon.json")]
    config_file: PathBuf,
    /// Log level (debug, info, warn, error).
    #[arg(short = 'l', long, default_value = "info")]
    log_level: String,
    /// Registries reached over plain HTTP (localhost always is).
    #[arg(long = "insecure-registry")]
    insecure_registries: Vec<String>,
    /// Parent cgroup of containers.
    #[arg(long, default_value = "berth")]
    cgroup_parent: String,
    /// Group owning the unix socket (default `berth` when it exists).
    #[arg(short = 'G', long)]
    group: Option<String>,
    /// Write the daemon's pid here.
    #[arg(short = 'p', long)]
    pidfile: Option<PathBuf>,
    /// Use TLS and verify the remote (mutual TLS on tcp:// hosts).
    #[arg(long)]
    tlsverify: bool,
    /// Use TLS on tcp:// hosts (implied by --tlsverify).
    #[arg(long)]
    tls: bool,
    /// CA that signs client certificates.
    #[arg(long)]
    tlscacert: Option<PathBuf>,
    /// Server certificate (PEM).
    #[arg(long)]
    tlscert: Option<PathBuf>,
    /// Server key (PEM).
    #[arg(long)]
    tlskey: Option<PathBuf>,
    /// Directory of berth-shim and berth-runtime (default: next to berthd).
    #[arg(long)]
    helpers_dir: Option<PathBuf>,
    /// Interface of the default bridge network (default berth0).
    #[arg(short = 'b', long)]
    bridge: Option<String>,
    /// Address and prefix of the default bridge, e.g. 172.30.0.1/16.
    #[arg(long)]
    bip: Option<String>,
    /// Pools for new networks: base=10.10.0.0/16,size=24 (repeatable).
    #[arg(long = "default-address-pool")]
    default_address_pools: Vec<String>,
    /// MTU of container interfaces (default: the host's default route's).
    #[arg(long)]
    mtu: Option<u32>,
    /// DNS servers the embedded DNS forwards to (default: the host's).
    #[arg(long)]
    dns: Vec<std::net::IpAddr>,
    /// Program NAT and published ports in nftables.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    iptables: bool,
}

/// One entry of `default-address-pools` in daemon.json.
#[derive(Debug, Clone, serde::Deserialize)]
struct AddressPool {
    base: String,
    size: u8,
}

/// The subset of daemon.json berth reads (Docker's names).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
struct DaemonJson {
    data_root: Option<PathBuf>,
    exec_root: Option<PathBuf>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    insecure_registries: Vec<String>,
    cgroup_parent: Option<String>,
    group: Option<String>,
    pidfile: Option<PathBuf>,
    #[serde(default)]
    log_opts: std::collections::BTreeMap<String, String>,
    log_level: Option<String>,
    bridge: Option<String>,
    bip: Option<String>,
    #[serde(default)]
    default_address_pools: Vec<AddressPool>,
    mtu: Option<u32>,
    #[serde(default)]
    dns: Vec<std::net::IpAddr>,
    iptables: Option<bool>,
}

/// `--bridge`, `--bip`, `--default-address-pool`, `--mtu`, `--dns`, `--iptables` over
/// daemon.json's keys of the same names.
fn net_config(args: &Args, dj: &DaemonJson) -> Result<berth_engine::config::NetConfig> {
    let mut net = berth_engine::config::NetConfig::default();
    if let Some(b) = args.bridge.clone().or(dj.bridge.clone()) {
        if b.is_empty() || b.len() > 15 {
            bail!("invalid --bridge {b:?}: an interface name of 1 to 15 characters");
        }
        net.bridge = b;
    }
    if let Some(bip) = args.bip.as_ref().or(dj.bip.as_ref()) {
        net.bip = Some(bip.parse().with_context(|| {
            format!("invalid --bip {bip:?}: want an address/prefix such as 172.30.0.1/16")
        })?);
    }
    let mut pools: Vec<AddressPool> = Vec::new();
    for p in &args.default_address_pools {
        let mut base = None;
        let mut size = None;
        for kv in p.split(',') {
            match kv.split_once('=') {
                Some(("base", v)) => base = Some(v.to_string()),
                Some(("size", v)) => size = v.parse().ok(),
                _ => bail!("invalid --default-address-pool {p:?}: want base=CIDR,size=N"),
            }
        }
        match (base, size) {
            (Some(base), Some(size)) => pools.push(AddressPool { base, size }),
            _ => bail!("invalid --default-address-pool {p:?}: want base=CIDR,size=N"),
        }
    }
    if pools.is_empty() {
        pools = dj.default_address_pools.clone();
    }
    for p in pools {
        let base: ipnet::Ipv4Net = p
            .base
            .parse()
            .with_context(|| format!("invalid address pool base {:?}", p.base))?;
        if p.size < base.prefix_len() || p.size > 30 {
            bail!(
                "invalid address pool {}: size {} must be between the base's prefix and 30",
                p.base,
                p.size
            );
        }
        net.address_pools.push((base, p.size));
    }
    net.mtu = args.mtu.or(dj.mtu);
    net.dns = if args.dns.is_empty() {
        dj.dns.clone()
    } else {
        args.dns.clone()
    };
    let explicit_iptables = std::env::args().any(|a| a.starts_with("--iptables"));
    net.firewall = if explicit_iptables {
        args.iptables
    } else {
        dj.iptables.unwrap_or(true)
    };
    Ok(net)
}

fn load_daemon_json(path: &Path, explicit: bool) -> Result<DaemonJson> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .with_context(|| format!("unable to configure the daemon from {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            Ok(DaemonJson::default())
        }
        Err(e) => Err(e).with_context(|| format!("read {}", path.display())),
    }
}

fn group_id(name: &str) -> Option<u32> {
    std::fs::read_to_string("/etc/group")
        .ok()?
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
        })
}

fn bind_unix(path: &Path, group: Option<&str>) -> Result<tokio::net::UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    // A stale socket from a killed daemon: remove it if nothing answers.
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("{} is in use: is another berthd running?", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("remove stale {}", path.display()))?;
    }
    let listener = tokio::net::UnixListener::bind(path)
        .with_context(|| format!("listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    let gid = group.and_then(group_id);
    if let Some(gid) = gid {
        std::os::unix::fs::chown(path, None, Some(gid))?;
    } else if let Some(g) = group.filter(|g| *g != "berth") {
        bail!("group {g} not found");
    }
    Ok(listener)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let explicit = std::env::args().any(|a| a.starts_with("--config-file"));
    let dj = load_daemon_json(&args.config_file, explicit)?;
    let data_root = if args.data_root != Path::new("/var/lib/berth") {
        args.data_root.clone()
    } else {
        dj.data_root.clone().unwrap_or(args.data_root.clone())
    };
    let exec_root = if args.exec_root != Path::new("/run/berth") {
        args.exec_root.clone()
    } else {
        dj.exec_root.clone().unwrap_or(args.exec_root.clone())
    };
    let mut config = EngineConfig::new(&data_root, &exec_root);
    if let Some(dir) = &args.helpers_dir {
        config.shim_path = dir.join("berth-shim");
        config.runtime_path = dir.join("berth-runtime");
    }
    config.cgroup_parent = if args.cgroup_parent != "berth" {
        args.cgroup_parent.clone()
    } else {
        dj.cgroup_parent
            .clone()
            .unwrap_or(args.cgroup_parent.clone())
    };
    config.insecure_registries = args
        .insecure_registries
        .iter()
        .chain(dj.insecure_registries.iter())
        .cloned()
        .collect();
    if let Some(s) = dj.log_opts.get("max-size") {
        config.log_max_size = berth_engine::container::parse_log_size(s)
            .with_context(|| format!("invalid log-opts max-size {s:?}"))?;
    }
    if let Some(n) = dj.log_opts.get("max-file") {
        config.log_max_file = n
            .parse()
            .with_context(|| format!("invalid log-opts max-file {n:?}"))?;
    }
    config.net = net_config(&args, &dj)?;
    let _ = (&args.log_level, &dj.log_level);
    for bin in [&config.shim_path, &config.runtime_path] {
        if !bin.exists() {
            bail!("{} not found (install berth's helper binaries next to berthd, or pass --helpers-dir)", bin.display());
        }
    }

    let mut hosts = if args.hosts.is_empty() {
        dj.hosts.clone()
    } else {
        args.hosts.clone()
    };
    if hosts.is_empty() {
        hosts.push(format!("unix://{}", exec_root.join("berth.sock").display()));
        if exec_root == Path::new("/run/berth") {
            hosts[0] = "unix:///run/berth/berth.sock".into();
        }
    }
    let group = args
        .group
        .clone()
        .or(dj.group.clone())
        .unwrap_or_else(|| "berth".into());
    let mut sockets = Vec::new();
    let mut listeners = Vec::new();
    let mut tcp = Vec::new();
    for h in &hosts {
        if let Some(addr) = h.strip_prefix("tcp://") {
            // Docker refuses plain TCP by default now; berth never serves the API
            // unencrypted over the network.
            if !(args.tls || args.tlsverify) {
                bail!("refusing to listen on {h} without TLS: pass --tlsverify --tlscacert --tlscert --tlskey");
            }
            let (Some(cert), Some(key)) = (&args.tlscert, &args.tlskey) else {
                bail!("{h}: --tlscert and --tlskey are required");
            };
            let acceptor = berth_api::tls::acceptor(&berth_api::tls::TlsFiles {
                ca: args.tlscacert.as_deref(),
                cert,
                key,
                verify: args.tlsverify,
            })?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listen on {h}"))?;
            tcp.push((listener, acceptor));
            continue;
        }
        let Some(path) = h.strip_prefix("unix://") else {
            bail!("unsupported host {h:?}: use unix:///path or tcp://addr:port");
        };
        listeners.push(bind_unix(Path::new(path), Some(&group))?);
        sockets.push(PathBuf::from(path));
    }
    let pidfile = args.pidfile.clone().or(dj.pidfile.clone());
    if let Some(p) = &pidfile {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .with_context(|| format!("write pidfile {}", p.display()))?;
    }

    // Before anything is served: a SIGTERM right after start-up must still run the
    // clean shutdown below, not the default action.
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let engine = Engine::open(config).await.context("open engine")?;
    let state = Arc::new(ServerState {
        engine: engine.clone(),
    });
    for l in listeners {
        tokio::spawn(serve_unix(state.clone(), l));
    }
    for (l, acceptor) in tcp {
        tokio::spawn(berth_api::tls::serve_tls(state.clone(), l, acceptor));
    }
    eprintln!("berthd: API listening on {}", hosts.join(", "));

    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    // Containers keep running under their shims (live restore on the next start); with
    // none running, berth's bridges and nftables table go too.
    engine.shutdown_network().await;
    engine.flush();
    for s in &sockets {
        let _ = std::fs::remove_file(s);
    }
    if let Some(p) = &pidfile {
        let _ = std::fs::remove_file(p);
    }
    eprintln!("berthd: stopped; containers keep running");
    Ok(())
}
