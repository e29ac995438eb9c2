//! The OCI spec of a container at start: mounts re-planned from the request (anonymous
//! volumes keep the names chosen at create), host facts, namespaces.

use std::path::Path;
use std::sync::OnceLock;

use oci_spec::runtime::Spec;

use super::ContainerRecord;
use crate::error::{EngineError, Result};
use crate::spec::{self, HostFacts, NetworkNs, SpecInput};
use crate::Engine;

/// Host facts read once per daemon (cgroup layout, capabilities, thermal dirs).
fn host_facts() -> &'static HostFacts {
    static FACTS: OnceLock<HostFacts> = OnceLock::new();
    FACTS.get_or_init(HostFacts::detect)
}

impl Engine {
    /// The container's `linux.cgroupsPath`: `/<cgroup-parent>/<id>`.
    pub(crate) fn cgroups_path(&self, id: &str) -> String {
        format!("/{}/{}", self.config.cgroup_parent.trim_matches('/'), id)
    }

    /// The config.json for `rec` with its rootfs mounted at `rootfs`, joining the
    /// network namespace at `netns` when it has one of its own.
    pub(crate) fn build_spec(
        &self,
        rec: &ContainerRecord,
        rootfs: &Path,
        netns: Option<&Path>,
    ) -> Result<Spec> {
        let mut planned =
            spec::plan_mounts(&rec.config, &rec.host_config, &self.config.volumes_dir())
                .map_err(|e| EngineError::invalid(e.to_string()))?;
        for m in planned.iter_mut() {
            let Some(vol) = m.volume.as_mut().filter(|v| v.anonymous) else {
                continue;
            };
            if let Some(saved) = rec
                .mounts
                .iter()
                .find(|p| p.destination == m.destination && p.anonymous)
            {
                if let Some(name) = &saved.name {
                    vol.name = name.clone();
                    m.source = self.config.volumes_dir().join(name).join("_data");
                }
            }
        }
        for m in &planned {
            if let Some(v) = &m.volume {
                let data = self.config.volumes_dir().join(&v.name).join("_data");
                std::fs::create_dir_all(&data).map_err(|e| EngineError::io(data.display(), e))?;
            }
        }
        let dir = self.config.container_dir(&rec.id);
        let network = match rec.host_config.network_mode.as_deref() {
            Some("host") => NetworkNs::Host,
            Some(mode) if mode.starts_with("container:") => {
                let other = self.container(&mode["container:".len()..])?;
                let pid = other.record().state.pid;
                if pid <= 0 {
                    return Err(EngineError::conflict(format!(
                        "cannot join network of a non running container: {}",
                        other.id
                    )));
                }
                NetworkNs::Join(format!("/proc/{pid}/ns/net").into())
            }
            _ => match netns {
                Some(path) => NetworkNs::Join(path.to_path_buf()),
                None => NetworkNs::Private,
            },
        };
        let cgroups_path = self.cgroups_path(&rec.id);
        let (hostname, hosts, resolv) = (
            dir.join("hostname"),
            dir.join("hosts"),
            dir.join("resolv.conf"),
        );
        let input = SpecInput {
            id: &rec.id,
            config: &rec.config,
            host: &rec.host_config,
            mounts: &planned,
            rootfs,
            hostname_path: Some(&hostname),
            hosts_path: Some(&hosts),
            resolv_conf_path: Some(&resolv),
            cgroups_path: &cgroups_path,
            network,
            init_path: self.config.init_path.as_deref(),
            host_facts: host_facts(),
        };
        if rec.host_config.init.unwrap_or(false) && self.config.init_path.is_none() {
            return Err(EngineError::internal(
                "--init needs an init binary: install tini (tini-static) or pass --init-path",
            ));
        }
        spec::build(&input).map_err(|e| EngineError::invalid(e.to_string()))
    }
}
