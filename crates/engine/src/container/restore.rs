//! Live restore: on daemon start, load every record, re-attach to live shims, and
//! reconcile containers whose shim died while berthd was away (marked exited with the
//! code the shim recorded). Restart policies then apply as after any exit.

use std::sync::Arc;

use super::model::Status;
use super::{Container, ContainerRecord};
use crate::error::Result;
use crate::shim::{self, ExitStatus, ShimState};
use crate::Engine;

impl Engine {
    pub(crate) async fn restore(self: &Arc<Self>) -> Result<()> {
        let mut loaded = Vec::new();
        for (id, bytes) in self.store.all()? {
            match serde_json::from_slice::<ContainerRecord>(&bytes) {
                Ok(rec) => loaded.push(rec),
                Err(e) => eprintln!("berthd: skipping unreadable record {id}: {e}"),
            }
        }
        for rec in loaded {
            // `rm` moves the container's directory away before it queues the record's
            // deletion: a record without its directory is a removal whose commit was
            // lost when berthd was killed.
            if !self.config.container_dir(&rec.id).exists() {
                let _ = self.store.delete(&rec.id);
                continue;
            }
            let c = Arc::new(Container::new(rec.clone()));
            self.names
                .write()
                .expect("names")
                .insert(rec.name.clone(), rec.id.clone());
            self.containers
                .write()
                .expect("containers")
                .insert(rec.id.clone(), c.clone());
            let was_alive = matches!(
                rec.state.status,
                Status::Running | Status::Paused | Status::Restarting
            );
            if rec.state.status == Status::Removing {
                let _op = c.op.lock().await;
                let _ = self.remove_locked(&c, false);
                continue;
            }
            let dir = self.config.shim_dir(&rec.id);
            // Records are committed in the background (store.rs): a berthd killed just
            // after a start can come back with the record still `created` or `exited`
            // while the shim runs the container. Only such a container has a shim
            // directory; the shim says what happened.
            if !was_alive && !dir.exists() {
                continue;
            }
            match shim::state(&dir).await {
                Some(ShimState::Running(pid)) | Some(ShimState::Created(pid)) => {
                    if !was_alive {
                        c.with(|r| {
                            r.state.status = Status::Running;
                            r.state.exit_code = 0;
                            r.state.error.clear();
                            r.state.started_at = crate::time::now_nanos();
                            r.has_been_started = true;
                        });
                        let _ = self.persist_container(&c);
                    }
                    c.with(|r| r.state.pid = pid);
                    self.restore_network(&c);
                    c.set_shim_live(true);
                    c.life.send_modify(|l| l.running = true);
                    self.spawn_monitor(c.clone());
                }
                Some(ShimState::Exited(exit)) if was_alive => self.handle_exit(&c, exit).await,
                Some(ShimState::Exited(exit)) if exit.finished > rec.state.finished_at => {
                    // It started and exited while neither change was committed.
                    c.with(|r| {
                        r.state.started_at = exit.finished;
                        r.has_been_started = true;
                    });
                    self.handle_exit(&c, exit).await;
                }
                Some(ShimState::Exited(_)) => {}
                None if !was_alive => {}
                None => {
                    // No shim and no exit record: the shim was killed too. The init
                    // may still run (reparented); kill it so nothing is left behind.
                    let _ = self.runtime().delete(&rec.id, true);
                    let exit = ExitStatus {
                        code: 255,
                        oom: false,
                        finished: crate::time::now_nanos(),
                    };
                    self.handle_exit(&c, exit).await;
                }
            }
        }
        Ok(())
    }
}
