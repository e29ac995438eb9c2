//! `stop`, `kill`, `restart`: signals through the runtime library (no fork), then
//! waiting for the shim to report the exit.

use std::sync::Arc;
use std::time::Duration;

use super::model::Status;
use super::Container;
use crate::error::{EngineError, Result};
use crate::validate::parse_signal;
use crate::Engine;

impl Engine {
    /// The OCI runtime (state under the exec root).
    pub(crate) fn runtime(&self) -> berth_runtime::Runtime {
        berth_runtime::Runtime::new(self.config.runtime_root())
    }

    /// Sends `sig` to the container's init.
    pub(crate) fn signal(&self, c: &Container, sig: i32) -> Result<()> {
        self.runtime()
            .kill(&c.id, sig, false)
            .map_err(|e| EngineError::internal(format!("kill {}: {e}", c.id)))
    }

    /// Waits until the container has exited more than `exits_before` times, up to `limit`.
    pub(crate) async fn wait_exit(
        c: &Container,
        exits_before: u64,
        limit: Option<Duration>,
    ) -> bool {
        let mut rx = c.watch_life();
        let done = async {
            loop {
                if rx.borrow_and_update().exits > exits_before || !rx.borrow().running {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        };
        match limit {
            Some(t) => tokio::time::timeout(t, done).await.is_ok(),
            None => {
                done.await;
                true
            }
        }
    }

    /// `POST /containers/{id}/stop`: stop signal, then SIGKILL after the timeout.
    pub async fn stop_container(
        self: &Arc<Self>,
        name: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        self.stop_locked(&c, timeout, signal).await
    }

    pub(crate) async fn stop_locked(
        &self,
        c: &Arc<Container>,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let rec = c.record();
        if rec.state.status == Status::Restarting {
            c.with(|r| {
                r.manually_stopped = true;
                r.state.status = Status::Exited;
            });
            self.persist_container(c)?;
            self.container_event(c, "stop", &[]);
            return Ok(());
        }
        if !rec.state.status.is_alive() {
            return Err(EngineError::not_modified("container already stopped"));
        }
        let sig_name = signal
            .map(str::to_string)
            .or(rec.config.stop_signal.clone())
            .unwrap_or_else(|| "SIGTERM".into());
        let sig = parse_signal(&sig_name)
            .ok_or_else(|| EngineError::invalid(format!("Invalid signal: {sig_name}")))?;
        let timeout = timeout.or(rec.config.stop_timeout).unwrap_or(10);
        c.with(|r| r.manually_stopped = true);
        let exits = c.life.borrow().exits;
        if rec.state.status == Status::Paused {
            let _ = self.runtime().resume(&c.id);
        }
        self.signal(c, sig)?;
        self.container_event(c, "kill", &[("signal", sig.to_string())]);
        let limit = (timeout >= 0).then(|| Duration::from_secs(timeout as u64));
        if !Self::wait_exit(c, exits, limit).await {
            let _ = self.signal(c, libc::SIGKILL);
            self.container_event(c, "kill", &[("signal", libc::SIGKILL.to_string())]);
            Self::wait_exit(c, exits, Some(Duration::from_secs(30))).await;
        }
        self.container_event(c, "stop", &[]);
        Ok(())
    }

    /// `POST /containers/{id}/kill`.
    pub async fn kill_container(self: &Arc<Self>, name: &str, signal: Option<&str>) -> Result<()> {
        let c = self.container(name)?;
        let sig_name = signal.filter(|s| !s.is_empty()).unwrap_or("SIGKILL");
        let sig = parse_signal(sig_name)
            .ok_or_else(|| EngineError::invalid(format!("Invalid signal: {sig_name}")))?;
        let rec = c.record();
        if !rec.state.status.is_alive() {
            return Err(EngineError::conflict(format!(
                "cannot kill container: {name}: container {} is not running",
                rec.id
            )));
        }
        let stop_sig = rec
            .config
            .stop_signal
            .as_deref()
            .and_then(parse_signal)
            .unwrap_or(libc::SIGTERM);
        if sig == libc::SIGKILL || sig == stop_sig {
            c.with(|r| r.manually_stopped = true);
        }
        self.signal(&c, sig)?;
        self.container_event(&c, "kill", &[("signal", sig.to_string())]);
        Ok(())
    }

    /// `POST /containers/{id}/restart`: stop (if running) then start.
    pub async fn restart_container(
        self: &Arc<Self>,
        name: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        match self.stop_locked(&c, timeout, signal).await {
            Ok(()) => {}
            Err(e) if e.kind == crate::ErrorKind::NotModified => {}
            Err(e) => return Err(e),
        }
        c.with(|r| r.manually_stopped = false);
        self.start_locked(&c).await?;
        self.container_event(&c, "restart", &[]);
        Ok(())
    }
}
