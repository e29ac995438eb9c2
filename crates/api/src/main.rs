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

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    engine.flush();
    // Containers keep running under their shims (live restore on the next start).
    for s in &sockets {
        let _ = std::fs::remove_file(s);
    }
    if let Some(p) = &pidfile {
        let _ = std::fs::remove_file(p);
    }
    eprintln!("berthd: stopped; containers keep running");
    Ok(())
}
