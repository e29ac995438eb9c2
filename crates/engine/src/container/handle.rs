//! The in-memory container: its record behind a mutex (the `ps`/`inspect` view), a
//! watch channel of its life events (for `wait`), an operation lock (start/stop/remove
//! never interleave) and attach requests waiting for the next start.

use std::sync::Mutex;

use tokio::sync::{oneshot, watch};

use super::attach::AttachOptions;
use super::model::ContainerRecord;
use crate::error::Result;

/// Counters `wait` watches. Registered with the current value under the channel's lock,
/// so an exit right after registration is never missed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Life {
    /// The process is running (or paused).
    pub running: bool,
    /// Exits seen so far.
    pub exits: u64,
    /// Last exit code.
    pub exit_code: i64,
    /// The container has been removed.
    pub removed: bool,
}

/// An attach request that waits for the container's next start.
pub(crate) struct PendingAttach {
    pub opts: AttachOptions,
    pub reply: oneshot::Sender<Result<tokio::net::UnixStream>>,
}

/// One container.
pub struct Container {
    /// Its id.
    pub id: String,
    pub(crate) rec: Mutex<ContainerRecord>,
    pub(crate) life: watch::Sender<Life>,
    pub(crate) op: tokio::sync::Mutex<()>,
    pub(crate) pending_attach: Mutex<Vec<PendingAttach>>,
    /// A shim serves attach requests (set under `pending_attach`'s lock).
    pub(crate) shim_live: std::sync::atomic::AtomicBool,
    /// Host ports held (bound, not listening) while the container publishes them.
    pub(crate) port_holds: Mutex<Vec<berth_network::ports::Reservation>>,
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container").field("id", &self.id).finish()
    }
}

impl Container {
    pub(crate) fn new(rec: ContainerRecord) -> Self {
        let life = Life {
            running: rec.state.status.is_alive(),
            exits: 0,
            exit_code: rec.state.exit_code,
            removed: false,
        };
        Self {
            id: rec.id.clone(),
            rec: Mutex::new(rec),
            life: watch::channel(life).0,
            op: tokio::sync::Mutex::new(()),
            pending_attach: Mutex::new(Vec::new()),
            shim_live: std::sync::atomic::AtomicBool::new(false),
            port_holds: Mutex::new(Vec::new()),
        }
    }

    /// A copy of the record.
    pub fn record(&self) -> ContainerRecord {
        self.rec.lock().expect("container record").clone()
    }

    /// Runs `f` on the record under its lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut ContainerRecord) -> R) -> R {
        f(&mut self.rec.lock().expect("container record"))
    }

    /// Marks whether a shim is serving attach requests.
    pub(crate) fn set_shim_live(&self, live: bool) {
        let _g = self.pending_attach.lock().expect("attach");
        self.shim_live
            .store(live, std::sync::atomic::Ordering::SeqCst);
    }

    /// Subscribes to life changes.
    pub fn watch_life(&self) -> watch::Receiver<Life> {
        self.life.subscribe()
    }
}
