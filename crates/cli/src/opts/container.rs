//! The flags shared by `run` and `create`, and their translation into the body of
//! `POST /containers/create` (`Config` + `HostConfig` + `NetworkingConfig`).
//!
//! Runs in the CLI process; pure apart from reading `--env-file` files and the
//! environment for `-e KEY`. Every flag is validated before anything is sent, so an
//! invalid spec never reaches the daemon.

use clap::{ArgAction, Args};
use serde_json::{json, Map, Value};

use super::network::{self, flag_error, Attachment};
use super::{mounts, ports, values};
use crate::format::units::ram_in_bytes;
use anyhow::{bail, Result};

/// Flags of `run` and `create`.
#[derive(Debug, Args, Default, Clone)]
pub struct ContainerOpts {
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long)]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long)]
    pub expose: Vec<String>,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long)]
    pub mount: Vec<String>,
    /// Connect a container to a network
    #[arg(long, alias = "net", value_name = "network")]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long, alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long)]
    pub ip6: Option<String>,
    /// Add link to another container
    #[arg(long)]
    pub link: Vec<String>,
    /// Container IPv4/IPv6 link-local addresses
    #[arg(long)]
    pub link_local_ip: Vec<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long)]
    pub mac_address: Option<String>,
    /// Restart policy to apply when a container exits
    #[arg(long)]
    pub restart: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Run an init inside the container
    #[arg(long)]
    pub init: bool,
    /// Memory limit
    #[arg(short = 'm', long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long)]
    pub memory_swap: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Add Linux capabilities
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label")]
    pub label: Vec<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Signal to stop the container
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long)]
    pub stop_timeout: Option<i64>,
    /// Logging driver for the container
    #[arg(long)]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long)]
    pub log_opt: Vec<String>,
    /// Ulimit options
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long)]
    pub add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set DNS options
    #[arg(long, alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long)]
    pub dns_search: Vec<String>,
    /// Security Options
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long)]
    pub cpu_shares: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long, default_value = "missing")]
    pub pull: String,
    /// Runtime to use for this container
    #[arg(long)]
    pub runtime: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// Size of /dev/shm
    #[arg(long)]
    pub shm_size: Option<String>,
    /// Add additional groups to join
    #[arg(long)]
    pub group_add: Vec<String>,
    /// IPC mode to use
    #[arg(long)]
    pub ipc: Option<String>,
    /// PID namespace to use
    #[arg(long)]
    pub pid: Option<String>,
    /// Sysctl options
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Print usage
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

/// The console size sent as `HostConfig.ConsoleSize` (rows, columns).
pub type ConsoleSize = Option<(u16, u16)>;

impl ContainerOpts {
    /// Builds the create body for `image` and `cmd`; `detached` is `run -d`.
    pub fn create_body(
        &self,
        image: &str,
        cmd: &[String],
        detached: bool,
        console: ConsoleSize,
    ) -> Result<Value> {
        let mut env: Vec<String> = values::read_env_files(&self.env_file)?;
        env.extend(
            self.env
                .iter()
                .map(|e| values::env_value(e, |k| std::env::var(k).ok())),
        );

        let mut exposed = Map::new();
        let mut bindings = Map::new();
        for spec in &self.publish {
            for m in ports::parse_port_spec(&ports::standard_notation(spec)?)? {
                exposed.insert(m.port.clone(), json!({}));
                let list = bindings.entry(m.port).or_insert_with(|| json!([]));
                if let Value::Array(a) = list {
                    a.push(json!({"HostIp": m.host_ip, "HostPort": m.host_port}));
                }
            }
        }
        for spec in &self.expose {
            for p in ports::parse_expose(spec)? {
                exposed.insert(p, json!({}));
            }
        }

        let mut binds = Vec::new();
        let mut volumes = Map::new();
        for v in &self.volume {
            match mounts::parse_volume(v)? {
                mounts::VolumeSpec::Bind(b) => binds.push(b),
                mounts::VolumeSpec::Anonymous(d) => {
                    volumes.insert(d, json!({}));
                }
            }
        }
        let mounts_list = self
            .mount
            .iter()
            .map(|m| mounts::parse_mount(m))
            .collect::<Result<Vec<_>>>()?;
        let mut tmpfs = Map::new();
        for t in &self.tmpfs {
            let (p, o) = mounts::parse_tmpfs(t)?;
            tmpfs.insert(p, json!(o));
        }

        let restart = match &self.restart {
            Some(r) => values::parse_restart(r)?,
            None => json!({"Name": "no", "MaximumRetryCount": 0}),
        };
        if self.rm && restart["Name"] != "no" {
            bail!("conflicting options: cannot specify both --restart and --rm");
        }
        let memory = self.memory.as_deref().map(ram_in_bytes).transpose()?;
        let memory_swap = match self.memory_swap.as_deref() {
            Some("-1") => Some(-1),
            Some(s) => Some(ram_in_bytes(s)?),
            None => None,
        };
        let nano_cpus = self.cpus.as_deref().map(values::parse_cpus).transpose()?;
        let shm = self.shm_size.as_deref().map(ram_in_bytes).transpose()?;
        let ulimits = self
            .ulimit
            .iter()
            .map(|u| values::parse_ulimit(u))
            .collect::<Result<Vec<_>>>()?;
        let extra_hosts = self
            .add_host
            .iter()
            .map(|h| values::parse_add_host(h))
            .collect::<Result<Vec<_>>>()?;
        if !matches!(self.pull.as_str(), "always" | "missing" | "never") {
            bail!(
                "invalid pull option: '{}': must be one of \"always\", \"missing\" or \"never\"",
                self.pull
            );
        }

        let net = self.networking()?;

        let attach = !detached;
        let mut config = json!({
            "Hostname": self.hostname.clone().unwrap_or_default(),
            "User": self.user.clone().unwrap_or_default(),
            "AttachStdin": self.interactive && attach,
            "AttachStdout": attach,
            "AttachStderr": attach,
            "Tty": self.tty,
            "OpenStdin": self.interactive,
            "StdinOnce": self.interactive && attach,
            "Env": env,
            "Cmd": if cmd.is_empty() { Value::Null } else { json!(cmd) },
            "Image": image,
            "WorkingDir": self.workdir.clone().unwrap_or_default(),
            "Labels": values::kv_map(&self.label),
            "Volumes": volumes,
            "ExposedPorts": exposed,
        });
        if let Some(e) = &self.entrypoint {
            config["Entrypoint"] = json!([e]);
        }
        if let Some(s) = &self.stop_signal {
            config["StopSignal"] = json!(s);
        }
        if let Some(t) = self.stop_timeout {
            config["StopTimeout"] = json!(t);
        }

        let mut host = json!({
            "Binds": binds,
            "Mounts": mounts_list,
            "PortBindings": bindings,
            "PublishAllPorts": self.publish_all,
            "NetworkMode": net.mode,
            "RestartPolicy": restart,
            "AutoRemove": self.rm,
            "CapAdd": self.cap_add,
            "CapDrop": self.cap_drop,
            "ReadonlyRootfs": self.read_only,
            "Privileged": self.privileged,
            "LogConfig": {"Type": self.log_driver.clone().unwrap_or_default(), "Config": values::kv_map(&self.log_opt)},
            "Ulimits": ulimits,
            "Tmpfs": tmpfs,
            "ExtraHosts": extra_hosts,
            "Dns": net.dns,
            "DnsOptions": self.dns_option,
            "DnsSearch": net.dns_search,
            "Links": if self.link.is_empty() { Value::Null } else { json!(self.link) },
            "SecurityOpt": self.security_opt,
            "GroupAdd": self.group_add,
            "Sysctls": values::kv_map(&self.sysctl),
            "CpusetCpus": self.cpuset_cpus.clone().unwrap_or_default(),
            "IpcMode": self.ipc.clone().unwrap_or_default(),
            "PidMode": self.pid.clone().unwrap_or_default(),
        });
        let opt = [
            ("Memory", memory),
            ("MemorySwap", memory_swap),
            ("NanoCpus", nano_cpus),
            ("PidsLimit", self.pids_limit),
            ("CpuShares", self.cpu_shares),
            ("ShmSize", shm),
        ];
        for (k, v) in opt {
            if let Some(v) = v {
                host[k] = json!(v);
            }
        }
        if self.init {
            host["Init"] = json!(true);
        }
        if let Some(r) = &self.runtime {
            host["Runtime"] = json!(r);
        }
        if let Some((h, w)) = console {
            host["ConsoleSize"] = json!([h, w]);
        }
        config["HostConfig"] = host;
        // The main endpoint's MAC also goes to Config.MacAddress for daemons older than
        // API 1.44 (docker/cli does the same; `run` drops whichever the daemon won't want).
        if let Some(mac) = net.endpoints.get(&net.mode).map(|e| &e["MacAddress"]) {
            if mac.as_str().is_some_and(|m| !m.is_empty()) {
                config["MacAddress"] = mac.clone();
            }
        }
        config["NetworkingConfig"] = json!({"EndpointsConfig": net.endpoints});
        Ok(config)
    }

    /// Checks the networking flags and builds their part of the request.
    fn networking(&self) -> Result<Networking> {
        for l in &self.link {
            network::validate_link(l).map_err(|e| flag_error("--link", l, e))?;
        }
        let dns = self
            .dns
            .iter()
            .map(|d| match d.trim().parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(ip.to_string()),
                Err(_) => Err(flag_error(
                    "--dns",
                    d,
                    format!("IP address is not correctly formatted: {d}"),
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        let dns_search = self
            .dns_search
            .iter()
            .map(|d| network::dns_search_domain(d).map_err(|e| flag_error("--dns-search", d, e)))
            .collect::<Result<Vec<_>>>()?;
        let nets = self
            .network
            .iter()
            .map(|n| network::parse_network_flag(n))
            .collect::<Result<Vec<_>>>()?;
        let flags = Attachment {
            aliases: self.network_alias.clone(),
            links: self.link.clone(),
            ipv4: self.ip.clone().unwrap_or_default(),
            ipv6: self.ip6.clone().unwrap_or_default(),
            link_local_ips: self.link_local_ip.clone(),
            mac: self.mac_address.clone().unwrap_or_default(),
            ..Default::default()
        };
        Ok(Networking {
            mode: nets.first().map_or("default", |n| &n.target).to_string(),
            endpoints: network::endpoints_config(&nets, &flags)?,
            dns,
            dns_search,
        })
    }
}

/// The networking part of a create request, checked.
#[derive(Debug)]
struct Networking {
    /// `HostConfig.NetworkMode`: the first `--network`, else `default`.
    mode: String,
    /// `NetworkingConfig.EndpointsConfig`.
    endpoints: Map<String, Value>,
    /// `HostConfig.Dns`.
    dns: Vec<String>,
    /// `HostConfig.DnsSearch`.
    dns_search: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_for_common_flags() {
        let o = ContainerOpts {
            interactive: true,
            tty: true,
            rm: true,
            env: vec!["A=1".into()],
            publish: vec!["8080:80".into()],
            volume: vec!["/h:/c:ro".into(), "/anon".into()],
            memory: Some("512m".into()),
            cpus: Some("1.5".into()),
            pids_limit: Some(20),
            entrypoint: Some("/bin/sh".into()),
            label: vec!["k=v".into()],
            ulimit: vec!["nofile=1024:2048".into()],
            pull: "missing".into(),
            ..Default::default()
        };
        let b = o
            .create_body("busybox", &["true".into()], false, Some((24, 80)))
            .unwrap();
        assert_eq!(b["Image"], "busybox");
        assert_eq!(b["Cmd"], json!(["true"]));
        assert_eq!(b["Entrypoint"], json!(["/bin/sh"]));
        assert_eq!(
            (b["AttachStdin"].clone(), b["StdinOnce"].clone()),
            (json!(true), json!(true))
        );
        assert_eq!(b["ExposedPorts"], json!({"80/tcp": {}}));
        assert_eq!(b["Volumes"], json!({"/anon": {}}));
        let h = &b["HostConfig"];
        assert_eq!(
            h["PortBindings"],
            json!({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]})
        );
        assert_eq!(h["Binds"], json!(["/h:/c:ro"]));
        assert_eq!(h["Memory"], 512 << 20);
        assert_eq!(h["NanoCpus"], 1_500_000_000i64);
        assert_eq!(h["PidsLimit"], 20);
        assert_eq!(h["AutoRemove"], true);
        assert_eq!(h["ConsoleSize"], json!([24, 80]));
        assert_eq!(h["Ulimits"][0]["Soft"], 1024);
    }

    #[test]
    fn detached_and_invalid() {
        let o = ContainerOpts {
            interactive: true,
            pull: "missing".into(),
            ..Default::default()
        };
        let b = o.create_body("busybox", &[], true, None).unwrap();
        assert_eq!(b["AttachStdout"], false);
        assert_eq!(b["StdinOnce"], false);
        assert_eq!(b["OpenStdin"], true);
        assert!(b["Cmd"].is_null());
        let bad = ContainerOpts {
            publish: vec!["99999:80".into()],
            pull: "missing".into(),
            ..Default::default()
        };
        assert_eq!(
            bad.create_body("b", &[], false, None)
                .unwrap_err()
                .to_string(),
            "invalid hostPort: 99999"
        );
        let bad = ContainerOpts {
            rm: true,
            restart: Some("always".into()),
            pull: "missing".into(),
            ..Default::default()
        };
        assert!(bad.create_body("b", &[], false, None).is_err());
    }

    #[test]
    fn network_flags() {
        let o = ContainerOpts {
            network: vec!["n1".into()],
            ip: Some("10.1.0.9".into()),
            network_alias: vec!["web".into()],
            mac_address: Some("02:42:ac:11:00:02".into()),
            link: vec!["db:database".into()],
            dns: vec!["1.1.1.1".into()],
            dns_search: vec!["example.org.".into()],
            dns_option: vec!["ndots:2".into()],
            publish: vec!["published=8080,target=80".into()],
            expose: vec!["90-91/udp".into()],
            publish_all: true,
            pull: "missing".into(),
            ..Default::default()
        };
        let b = o.create_body("busybox", &[], true, None).unwrap();
        let h = &b["HostConfig"];
        assert_eq!(h["NetworkMode"], "n1");
        assert_eq!(h["Dns"], json!(["1.1.1.1"]));
        assert_eq!(h["DnsSearch"], json!(["example.org"]));
        assert_eq!(h["DnsOptions"], json!(["ndots:2"]));
        assert_eq!(h["Links"], json!(["db:database"]));
        assert_eq!(h["PublishAllPorts"], true);
        assert_eq!(
            h["PortBindings"],
            json!({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]})
        );
        assert_eq!(
            b["ExposedPorts"],
            json!({"80/tcp": {}, "90/udp": {}, "91/udp": {}})
        );
        assert_eq!(b["MacAddress"], "02:42:ac:11:00:02");
        let ep = &b["NetworkingConfig"]["EndpointsConfig"]["n1"];
        assert_eq!(ep["IPAMConfig"], json!({"IPv4Address": "10.1.0.9"}));
        assert_eq!(ep["Aliases"], json!(["web"]));
        assert_eq!(ep["Links"], json!(["db:database"]));
        assert_eq!(ep["MacAddress"], "02:42:ac:11:00:02");

        let plain = ContainerOpts {
            pull: "missing".into(),
            ..Default::default()
        };
        let b = plain.create_body("busybox", &[], true, None).unwrap();
        assert_eq!(b["HostConfig"]["NetworkMode"], "default");
        assert!(b["HostConfig"]["Links"].is_null());
        assert_eq!(b["NetworkingConfig"], json!({"EndpointsConfig": {}}));
        assert!(b.get("MacAddress").is_none());

        let bad = |o: ContainerOpts| {
            ContainerOpts {
                pull: "missing".into(),
                ..o
            }
            .create_body("b", &[], true, None)
            .unwrap_err()
            .to_string()
        };
        assert_eq!(
            bad(ContainerOpts {
                link: vec!["a:b:c".into()],
                ..Default::default()
            }),
            "invalid argument \"a:b:c\" for \"--link\" flag: bad format for links: a:b:c"
        );
        assert_eq!(
            bad(ContainerOpts {
                dns: vec!["1.2.3".into()],
                ..Default::default()
            }),
            "invalid argument \"1.2.3\" for \"--dns\" flag: IP address is not correctly formatted: 1.2.3"
        );
        assert_eq!(
            bad(ContainerOpts {
                dns_search: vec!["-bad".into()],
                ..Default::default()
            }),
            "invalid argument \"-bad\" for \"--dns-search\" flag: -bad is not a valid domain"
        );
        assert_eq!(
            bad(ContainerOpts {
                network: vec!["host".into()],
                network_alias: vec!["x".into()],
                ..Default::default()
            }),
            "network-scoped aliases are only supported for user-defined networks"
        );
    }
}
