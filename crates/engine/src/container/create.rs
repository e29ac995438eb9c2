//! `create`: validate, resolve the image, reserve the name, plan mounts, write the
//! container's directory and record. Nothing runs yet; a failure leaves nothing behind.

use std::path::Path;
use std::sync::Arc;

use bollard_stubs::models::{ContainerConfig, HostConfig, NetworkingConfig};

use super::model::{ContainerRecord, State};
use super::Container;
use crate::error::{EngineError, Result};
use crate::{ids, Engine};

/// A create call's inputs (the request body split into its parts).
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// `?name=`.
    pub name: Option<String>,
    /// The body's top-level Config fields.
    pub config: ContainerConfig,
    /// `HostConfig`.
    pub host_config: HostConfig,
    /// `NetworkingConfig`.
    pub networking: Option<NetworkingConfig>,
}

/// Removes what a failed create made.
struct Undo<'a> {
    engine: &'a Engine,
    name: Option<String>,
    dir: Option<std::path::PathBuf>,
    volumes: Vec<std::path::PathBuf>,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if let Some(name) = self.name.take() {
            self.engine.names.write().expect("names").remove(&name);
        }
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        for v in self.volumes.drain(..) {
            let _ = std::fs::remove_dir_all(v);
        }
    }
}

impl Engine {
    /// Creates a container; returns its id and Docker's warnings.
    pub fn create_container(&self, req: CreateRequest) -> Result<(String, Vec<String>)> {
        let CreateRequest {
            name,
            config,
            mut host_config,
            networking,
        } = req;
        let image_name = config.image.clone().unwrap_or_default();
        if image_name.is_empty() {
            return Err(EngineError::invalid(
                "No image was specified for the container",
            ));
        }
        let mut warnings = crate::validate::validate_create(&config, &host_config)?;
        check_host_config(self, &host_config)?;
        let image = self.images.resolve(&image_name)?;
        let merged = crate::spec::merge_config(&image.config, &config);
        if merged.entrypoint.as_ref().is_none_or(|e| e.is_empty())
            && merged.cmd.as_ref().is_none_or(|c| c.is_empty())
        {
            return Err(EngineError::invalid("No command specified"));
        }

        let id = ids::random_id();
        let mut undo = Undo {
            engine: self,
            name: None,
            dir: None,
            volumes: Vec::new(),
        };
        let name = self.reserve_name(name.as_deref(), &id)?;
        undo.name = Some(name.clone());

        let dir = self.config.container_dir(&id);
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io(dir.display(), e))?;
        undo.dir = Some(dir.clone());

        let planned = crate::spec::plan_mounts(&merged, &host_config, &self.config.volumes_dir())
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        let mounts = crate::spec::mount_points(&planned);
        for m in &mounts {
            if let (Some(vol), "volume") = (&m.name, m.typ.as_str()) {
                let data = self.config.volumes_dir().join(vol).join("_data");
                if !data.exists() {
                    std::fs::create_dir_all(&data)
                        .map_err(|e| EngineError::io(data.display(), e))?;
                    undo.volumes.push(self.config.volumes_dir().join(vol));
                }
            }
        }

        fill_host_defaults(&mut host_config);
        let network = self.plan_endpoints(&host_config, networking.as_ref())?;
        let rec = ContainerRecord {
            id: id.clone(),
            name,
            created: crate::time::now_nanos(),
            image: image_name,
            image_id: image.id.to_string(),
            config: merged,
            host_config,
            networking,
            state: State::default(),
            restart_count: 0,
            mounts,
            has_been_started: false,
            manually_stopped: false,
            network,
        };
        write_etc_files(&dir, &rec)?;
        self.persist(rec.clone())?;
        let c = Arc::new(Container::new(rec));
        self.containers
            .write()
            .expect("containers")
            .insert(id.clone(), c.clone());
        undo.name = None;
        undo.dir = None;
        undo.volumes.clear();
        self.container_event(&c, "create", &[]);
        warnings.retain(|w| !w.is_empty());
        Ok((id, warnings))
    }

    /// Reserves `name` (or a generated one) for `id`: 400 for a bad name, 409 if taken.
    pub(crate) fn reserve_name(&self, name: Option<&str>, id: &str) -> Result<String> {
        let mut names = self.names.write().expect("names");
        match name.map(|n| n.strip_prefix('/').unwrap_or(n)) {
            Some(n) if !n.is_empty() => {
                if !ids::valid_name(n) {
                    return Err(EngineError::invalid(format!(
                        "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                    )));
                }
                if let Some(owner) = names.get(n) {
                    return Err(EngineError::conflict(format!(
                        "Conflict. The container name \"/{n}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name."
                    )));
                }
                names.insert(n.to_string(), id.to_string());
                Ok(n.to_string())
            }
            _ => {
                for attempt in 0.. {
                    let n = ids::random_name(attempt);
                    if !names.contains_key(&n) {
                        names.insert(n.clone(), id.to_string());
                        return Ok(n);
                    }
                }
                unreachable!("the name generator is unbounded")
            }
        }
    }
}

/// Docker rewrites `default` to `bridge` and fills the log driver.
fn fill_host_defaults(h: &mut HostConfig) {
    match h.network_mode.as_deref() {
        None | Some("") | Some("default") => h.network_mode = Some("bridge".into()),
        _ => {}
    }
    let log = h.log_config.get_or_insert_with(Default::default);
    if log.typ.as_deref().is_none_or(str::is_empty) {
        log.typ = Some("json-file".into());
    }
    if log.config.is_none() {
        log.config = Some(Default::default());
    }
}

/// `/etc/hostname` of the container, bind-mounted at start (moby
/// `daemon/container/container_unix.go` NetworkMounts). /etc/hosts and resolv.conf need
/// the container's address, so start writes them (`network::attach`).
fn write_etc_files(dir: &Path, rec: &ContainerRecord) -> Result<()> {
    let path = dir.join("hostname");
    std::fs::write(&path, format!("{}\n", rec.hostname()))
        .map_err(|e| EngineError::io(path.display(), e))
}

/// The host's resolv.conf without loopback nameservers (unreachable from a container's
/// own network namespace), Google's servers if none is left, `--dns*` overrides.
pub(crate) fn resolv_conf(h: &HostConfig) -> String {
    let host = std::fs::read_to_string("/run/systemd/resolve/resolv.conf")
        .or_else(|_| std::fs::read_to_string("/etc/resolv.conf"))
        .unwrap_or_default();
    let mut servers: Vec<String> = Vec::new();
    let mut search: Vec<String> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(ip) = words.next() {
                    if !(ip.starts_with("127.") || ip == "::1") {
                        servers.push(ip.to_string());
                    }
                }
            }
            Some("search") | Some("domain") => search = words.map(str::to_string).collect(),
            Some("options") => options = words.map(str::to_string).collect(),
            _ => {}
        }
    }
    if let Some(d) = h.dns.as_ref().filter(|d| !d.is_empty()) {
        servers = d.clone();
    }
    if let Some(s) = h.dns_search.as_ref().filter(|d| !d.is_empty()) {
        search = s.clone();
    }
    if let Some(o) = h.dns_options.as_ref().filter(|d| !d.is_empty()) {
        options = o.clone();
    }
    if servers.is_empty() {
        servers = vec!["8.8.8.8".into(), "8.8.4.4".into()];
    }
    let mut out = String::new();
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

/// Checks Docker does at create that need more than the request: capability names,
/// security options, the network mode.
fn check_host_config(engine: &Engine, h: &HostConfig) -> Result<()> {
    let all = crate::spec::all_capabilities(None);
    for (field, list) in [("CapAdd", &h.cap_add), ("CapDrop", &h.cap_drop)] {
        let list = list.as_deref().unwrap_or_default();
        if let Err(e) = crate::spec::capability_set(list, &[], false, &all) {
            return Err(EngineError::invalid(format!("invalid {field}: {e}")));
        }
    }
    crate::spec::parse_security_opts(h.security_opt.as_deref().unwrap_or_default())
        .map_err(|e| EngineError::invalid(e.to_string()))?;
    let mode = h.network_mode.as_deref().unwrap_or("");
    if let Some(other) = mode.strip_prefix("container:") {
        let publishes = h.port_bindings.as_ref().is_some_and(|p| !p.is_empty())
            || h.publish_all_ports.unwrap_or(false);
        if publishes {
            return Err(EngineError::invalid(
                "conflicting options: port publishing and the container type network mode",
            ));
        }
        if h.dns.as_ref().is_some_and(|d| !d.is_empty()) {
            return Err(EngineError::invalid(
                "conflicting options: dns and the network mode",
            ));
        }
        if h.extra_hosts.as_ref().is_some_and(|d| !d.is_empty()) {
            return Err(EngineError::invalid(
                "conflicting options: custom host-to-IP mapping and the network mode",
            ));
        }
        // 400 rather than 404, as for an unknown network below.
        return engine
            .container(other)
            .map(|_| ())
            .map_err(|e| EngineError::invalid(e.message));
    }
    match mode {
        "" | "default" => Ok(()),
        // 400, not 404: the docker CLI answers a 404 from create by pulling the image.
        m => engine
            .network(m)
            .map(|_| ())
            .map_err(|e| EngineError::invalid(e.message)),
    }
}
