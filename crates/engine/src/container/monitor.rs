//! Watching a running container: the exit as the shim reports it, then `die`, restart
//! policies (Docker's backoff) and `--rm`.

use std::sync::Arc;
use std::time::Duration;

use super::model::Status;
use super::Container;
use crate::shim::{self, ExitStatus};
use crate::Engine;

/// Docker's restart backoff: 100 ms doubling per restart, capped at one minute, reset
/// after a run of at least 10 s (moby `restartmanager`).
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
const BACKOFF_RESET_AFTER: i64 = 10_000_000_000;

impl Engine {
    /// Waits (in a task) for the container's exit and handles it.
    pub(crate) fn spawn_monitor(self: &Arc<Self>, c: Arc<Container>) {
        let engine = self.clone();
        tokio::spawn(async move {
            let dir = engine.config.shim_dir(&c.id);
            let exit = shim::wait(&dir).await.unwrap_or(ExitStatus {
                code: 255,
                oom: false,
                finished: crate::time::now_nanos(),
            });
            engine.handle_exit(&c, exit).await;
        });
    }

    /// Records an exit, publishes `die`, then restarts or auto-removes as configured.
    pub(crate) async fn handle_exit(self: &Arc<Self>, c: &Arc<Container>, exit: ExitStatus) {
        let _ = self.unmount_rootfs(&c.id);
        c.set_shim_live(false);
        self.release_network(c);
        let finished = if exit.finished > 0 {
            exit.finished
        } else {
            crate::time::now_nanos()
        };
        let started = c.with(|r| {
            r.state.status = Status::Exited;
            r.state.pid = 0;
            r.state.exit_code = exit.code;
            r.state.oom_killed = exit.oom;
            r.state.finished_at = finished;
            r.state.started_at
        });
        let _ = self.persist_container(c);
        let _ = self.trash.discard(&self.config.shim_dir(&c.id));
        if exit.oom {
            self.container_event(c, "oom", &[]);
        }
        let duration = ((finished - started).max(0) / 1_000_000_000).to_string();
        self.container_event(
            c,
            "die",
            &[
                ("exitCode", exit.code.to_string()),
                ("execDuration", duration),
            ],
        );
        c.life.send_modify(|l| {
            l.running = false;
            l.exits += 1;
            l.exit_code = exit.code;
        });
        let rec = c.record();
        if rec.host_config.auto_remove.unwrap_or(false) {
            let engine = self.clone();
            let c = c.clone();
            tokio::spawn(async move {
                let _op = c.op.lock().await;
                if c.record().state.status == Status::Exited {
                    let _ = engine.remove_locked(&c, true);
                }
            });
            return;
        }
        if self.should_restart(&rec, exit.code) {
            let ran = finished - started;
            let count = rec.restart_count;
            let delay = if ran >= BACKOFF_RESET_AFTER {
                BACKOFF_START
            } else {
                (BACKOFF_START * 2u32.saturating_pow(count.min(10) as u32)).min(BACKOFF_MAX)
            };
            c.with(|r| r.state.status = Status::Restarting);
            let _ = self.persist_container(c);
            let engine = self.clone();
            let c = c.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _op = c.op.lock().await;
                let go = c.with(|r| {
                    let go = r.state.status == Status::Restarting && !r.manually_stopped;
                    if go {
                        r.restart_count += 1;
                        r.state.status = Status::Exited;
                    }
                    go
                });
                if go && !c.life.borrow().removed && engine.start_locked(&c).await.is_ok() {
                    engine.container_event(&c, "restart", &[]);
                }
            });
        }
    }

    /// Docker's restart rules for an exit with `code`.
    fn should_restart(&self, rec: &super::ContainerRecord, code: i64) -> bool {
        if rec.manually_stopped {
            return false;
        }
        let (name, max) = rec.restart_policy();
        match name.as_str() {
            "always" | "unless-stopped" => true,
            "on-failure" => code != 0 && (max <= 0 || (rec.restart_count as i64) < max),
            _ => false,
        }
    }
}
