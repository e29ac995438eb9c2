//! `pause`, `unpause`, `rename`, `update`.

use std::sync::Arc;

use bollard_stubs::models::Resources;

use super::model::Status;
use crate::error::{EngineError, Result};
use crate::{ids, Engine};

impl Engine {
    /// `POST /containers/{id}/pause` (freezer).
    pub async fn pause_container(self: &Arc<Self>, name: &str) -> Result<()> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        match c.record().state.status {
            Status::Running => {}
            Status::Paused => {
                return Err(EngineError::conflict(format!(
                    "Container {} is already paused",
                    c.id
                )))
            }
            _ => {
                return Err(EngineError::conflict(format!(
                    "Container {} is not running",
                    c.id
                )))
            }
        }
        self.runtime()
            .pause(&c.id)
            .map_err(|e| EngineError::internal(format!("pause: {e}")))?;
        c.with(|r| r.state.status = Status::Paused);
        self.persist_container(&c)?;
        self.container_event(&c, "pause", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/unpause`.
    pub async fn unpause_container(self: &Arc<Self>, name: &str) -> Result<()> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        if c.record().state.status != Status::Paused {
            return Err(EngineError::conflict(format!(
                "Container {} is not paused",
                c.id
            )));
        }
        self.runtime()
            .resume(&c.id)
            .map_err(|e| EngineError::internal(format!("unpause: {e}")))?;
        c.with(|r| r.state.status = Status::Running);
        self.persist_container(&c)?;
        self.container_event(&c, "unpause", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/rename?name=`.
    pub fn rename_container(&self, name: &str, new_name: &str) -> Result<()> {
        let c = self.container(name)?;
        let new_name = new_name.strip_prefix('/').unwrap_or(new_name);
        if new_name.is_empty() {
            return Err(EngineError::invalid(
                "Neither old nor new names may be empty",
            ));
        }
        let old = c.record().name;
        if old == new_name {
            return Err(EngineError::invalid(
                "Renaming a container with the same name as its current name",
            ));
        }
        if !ids::valid_name(new_name) {
            return Err(EngineError::invalid(format!(
                "Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        self.reserve_name(Some(new_name), &c.id)?;
        self.names.write().expect("names").remove(&old);
        c.with(|r| r.name = new_name.to_string());
        self.persist_container(&c)?;
        self.container_event(&c, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }

    /// `POST /containers/{id}/update`: resources and restart policy. Returns warnings.
    pub fn update_container(
        &self,
        name: &str,
        update: &bollard_stubs::models::HostConfig,
    ) -> Result<Vec<String>> {
        let c = self.container(name)?;
        let mut host = c.record().host_config;
        macro_rules! take {
            ($($f:ident),*) => { $( if update.$f.is_some() { host.$f = update.$f.clone(); } )* };
        }
        take!(
            memory,
            memory_reservation,
            memory_swap,
            nano_cpus,
            cpu_shares,
            cpu_quota,
            cpu_period,
            cpuset_cpus,
            cpuset_mems,
            pids_limit,
            blkio_weight,
            restart_policy
        );
        let warnings = crate::validate::validate_create(&Default::default(), &host)?;
        if host.auto_remove.unwrap_or(false)
            && update
                .restart_policy
                .as_ref()
                .is_some_and(|p| p.name.is_some())
        {
            return Err(EngineError::invalid(
                "Restart policy cannot be updated because AutoRemove is enabled for the container",
            ));
        }
        let status = c.record().state.status;
        if status.is_alive() {
            let res = crate::spec::linux_resources(&host)
                .map_err(|e| EngineError::invalid(e.to_string()))?;
            self.runtime().update(&c.id, &res).map_err(|e| {
                EngineError::internal(format!("Cannot update container {}: {e}", c.id))
            })?;
        }
        c.with(|r| r.host_config = host);
        self.persist_container(&c)?;
        self.container_event(&c, "update", &[]);
        let _unused: Option<Resources> = None;
        Ok(warnings)
    }
}
