//! `attach`: a stream from the container's shim. Attaching to a container that is not
//! running waits for its next start (how `docker start -a` and `docker run` attach
//! before start); the shim connection is made before the process is let go, so no
//! output is lost.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::net::UnixStream;
use tokio::sync::oneshot;

use super::handle::PendingAttach;
use super::model::Status;
use super::Container;
use crate::error::{EngineError, Result};
use crate::Engine;

/// Which streams an attach wants.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttachOptions {
    /// Send stdin.
    pub stdin: bool,
    /// Receive stdout.
    pub stdout: bool,
    /// Receive stderr.
    pub stderr: bool,
}

/// A validated attach; `connect` yields the shim stream (frames unless `tty`).
pub struct AttachStream {
    /// The container has a tty (raw stream, no frames).
    pub tty: bool,
    container: Arc<Container>,
    opts: AttachOptions,
    shim_dir: std::path::PathBuf,
}

impl std::fmt::Debug for AttachStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachStream")
            .field("tty", &self.tty)
            .finish()
    }
}

impl AttachStream {
    /// The container id.
    pub fn container_id(&self) -> &str {
        &self.container.id
    }

    /// Connects now if a shim runs, else when the container next starts.
    pub async fn connect(self) -> Result<UnixStream> {
        let rx = {
            let mut waiting = self.container.pending_attach.lock().expect("attach");
            if self.container.shim_live.load(Ordering::SeqCst) {
                None
            } else {
                let (tx, rx) = oneshot::channel();
                waiting.push(PendingAttach {
                    opts: self.opts,
                    reply: tx,
                });
                Some(rx)
            }
        };
        match rx {
            None => {
                crate::shim::attach(
                    &self.shim_dir,
                    self.opts.stdin,
                    self.opts.stdout,
                    self.opts.stderr,
                )
                .await
            }
            Some(rx) => rx
                .await
                .map_err(|_| EngineError::internal("container removed before it started"))?,
        }
    }
}

impl Engine {
    /// Validates an attach (404, 409 when paused) and publishes `attach`.
    pub fn attach_container(&self, name: &str, opts: AttachOptions) -> Result<AttachStream> {
        let c = self.container(name)?;
        let rec = c.record();
        if rec.state.status == Status::Paused {
            return Err(EngineError::conflict(format!(
                "container {name} is paused, unpause the container before attach"
            )));
        }
        self.container_event(&c, "attach", &[]);
        Ok(AttachStream {
            tty: rec.tty(),
            shim_dir: self.config.shim_dir(&c.id),
            container: c,
            opts,
        })
    }

    /// `POST /containers/{id}/resize`.
    pub async fn resize_container(&self, name: &str, rows: u16, cols: u16) -> Result<()> {
        let c = self.container(name)?;
        if !c.record().state.status.is_alive() {
            return Err(EngineError::conflict(format!(
                "Container {} is not running",
                c.id
            )));
        }
        let reply = crate::shim::request(
            &self.config.shim_dir(&c.id),
            &format!("resize {rows} {cols}"),
        )
        .await
        .map_err(|e| EngineError::io("resize via shim", e))?;
        if reply != "ok" {
            return Err(EngineError::internal(reply));
        }
        self.container_event(
            &c,
            "resize",
            &[("height", rows.to_string()), ("width", cols.to_string())],
        );
        Ok(())
    }
}
