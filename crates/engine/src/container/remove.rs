//! `rm`: kill if forced, unmount, delete the container's directories, anonymous volumes
//! with `-v`, the record and the name. Publishes `destroy`.

use std::sync::Arc;
use std::time::Duration;

use super::model::Status;
use super::Container;
use crate::error::{EngineError, Result};
use crate::Engine;

impl Engine {
    /// `DELETE /containers/{id}`.
    pub async fn remove_container(
        self: &Arc<Self>,
        name: &str,
        force: bool,
        volumes: bool,
    ) -> Result<()> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        let status = c.record().state.status;
        if status == Status::Paused && !force {
            return Err(EngineError::conflict(format!(
                "cannot remove container \"{name}\": container is paused and must be unpaused first"
            )));
        }
        if status.is_alive() {
            if !force {
                return Err(EngineError::conflict(format!(
                    "cannot remove container \"{name}\": container is running: stop the container before removing or force remove"
                )));
            }
            c.with(|r| r.manually_stopped = true);
            let exits = c.life.borrow().exits;
            if status == Status::Paused {
                let _ = self.runtime().resume(&c.id);
            }
            self.signal(&c, libc::SIGKILL)?;
            self.container_event(&c, "kill", &[("signal", libc::SIGKILL.to_string())]);
            Self::wait_exit(&c, exits, Some(Duration::from_secs(30))).await;
        }
        c.with(|r| r.manually_stopped = true);
        self.remove_locked(&c, volumes)
    }

    /// Removes a stopped container; the caller holds its operation lock.
    pub(crate) fn remove_locked(&self, c: &Arc<Container>, volumes: bool) -> Result<()> {
        let rec = c.with(|r| {
            r.state.status = Status::Removing;
            r.clone()
        });
        // The rootfs must be unmounted before its tree is deleted: the deletion must
        // never walk into a mounted overlay.
        let gone = self.unmount_rootfs(&rec.id).and_then(|()| {
            self.trash
                .discard(&self.config.container_dir(&rec.id))
                .map_err(|e| {
                    EngineError::io(format!("unable to remove filesystem for {}", rec.id), e)
                })
        });
        if let Err(e) = gone {
            c.with(|r| r.state.status = Status::Dead);
            let _ = self.persist_container(c);
            return Err(e);
        }
        let _ = self.trash.discard(&self.config.shim_dir(&rec.id));
        if volumes {
            for m in rec.mounts.iter().filter(|m| m.anonymous) {
                if let Some(name) = &m.name {
                    let _ = self.trash.discard(&self.config.volumes_dir().join(name));
                }
            }
        }
        self.store.delete(&rec.id)?;
        self.containers.write().expect("containers").remove(&rec.id);
        {
            let mut names = self.names.write().expect("names");
            if names.get(&rec.name) == Some(&rec.id) {
                names.remove(&rec.name);
            }
        }
        self.execs
            .lock()
            .expect("execs")
            .retain(|_, e| e.container_id != rec.id);
        self.container_event(c, "destroy", &[]);
        c.life.send_modify(|l| l.removed = true);
        Ok(())
    }
}
