//! Network namespaces made ahead of time.
//!
//! Creating a network namespace costs the kernel about a millisecond, and a container
//! on a bridge cannot get its veth pair before its namespace exists. So berthd keeps a
//! few namespaces ready under `<exec-root>/netns/` (bind-mounted, `lo` already up): a
//! starting container takes one, its OCI spec joins it by path, and its veth pairs
//! are plugged in while the shim and the runtime are still starting, instead of after.
//! A background thread makes the next one. The namespace is the container's until
//! its exit, when [`Engine::release_network`](crate::Engine) unmounts it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::{EngineError, Result};

/// Namespaces kept ready: enough for a burst of two starts without waiting.
const READY: usize = 2;

/// The pool. Dropping it (or [`NetnsPool::shutdown`]) removes the unused namespaces.
#[derive(Debug)]
pub(crate) struct NetnsPool {
    shared: Arc<Shared>,
    kick: Mutex<Option<Sender<()>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    ready: Mutex<Vec<PathBuf>>,
}

impl Shared {
    fn make(&self) -> Result<PathBuf> {
        let path = self.dir.join(&crate::ids::random_id()[..16]);
        berth_network::link::create_netns(&path)
            .map_err(|e| EngineError::internal(format!("network namespace: {e}")))?;
        Ok(path)
    }

    fn fill(&self) {
        while self.ready.lock().expect("netns pool").len() < READY {
            match self.make() {
                Ok(path) => self.ready.lock().expect("netns pool").push(path),
                Err(e) => {
                    // Starts then make their own, and report the error themselves.
                    eprintln!("berthd: {e}");
                    return;
                }
            }
        }
    }
}

impl NetnsPool {
    /// Deletes every namespace file under `dir` that `keep` does not name (leftovers of
    /// a previous run), then starts filling the pool in the background.
    pub(crate) fn open(dir: &Path, keep: &HashSet<PathBuf>) -> Result<NetnsPool> {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir.display(), e))?;
        let entries = std::fs::read_dir(dir).map_err(|e| EngineError::io(dir.display(), e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if !keep.contains(&path) {
                let _ = berth_network::link::remove_netns(&path);
            }
        }
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            ready: Mutex::new(Vec::new()),
        });
        let (tx, rx) = channel::<()>();
        let worker = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("netns-pool".into())
                .spawn(move || refill(&shared, &rx))
                .map_err(|e| EngineError::io("netns pool thread", e))?
        };
        let _ = tx.send(());
        Ok(NetnsPool {
            shared,
            kick: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
        })
    }

    /// A ready namespace (made now if none is), now owned by the caller.
    pub(crate) fn take(&self) -> Result<PathBuf> {
        let ready = self.shared.ready.lock().expect("netns pool").pop();
        if let Some(tx) = self.kick.lock().expect("netns pool").as_ref() {
            let _ = tx.send(());
        }
        match ready {
            Some(path) => Ok(path),
            None => self.shared.make(),
        }
    }

    /// Stops the refill thread and removes the namespaces nobody took.
    pub(crate) fn shutdown(&self) {
        drop(self.kick.lock().expect("netns pool").take());
        if let Some(worker) = self.worker.lock().expect("netns pool").take() {
            let _ = worker.join();
        }
        for path in self.shared.ready.lock().expect("netns pool").drain(..) {
            let _ = berth_network::link::remove_netns(&path);
        }
    }
}

impl Drop for NetnsPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn refill(shared: &Shared, kicks: &Receiver<()>) {
    while kicks.recv().is_ok() {
        // Coalesce a burst of kicks into one fill.
        while kicks.try_recv().is_ok() {}
        shared.fill();
    }
}
