//! Deleting directory trees off the request path.
//!
//! Removing a container's directories (the overlay's upper and work trees, the bundle,
//! the log, the shim's dir) takes a millisecond or more of unlinks, and `docker run
//! --rm` waits for the removal. [`Trash::discard`] instead renames the tree into a
//! `trash` directory on the same filesystem (one rename) and a background thread
//! deletes it. The tree is gone from its old place the moment `discard` returns, so
//! nothing can find or reuse it; entries left by a crash are deleted at the next start.
//! [`Trash::flush`] waits for the queue on a clean shutdown.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;

/// Name of the trash directory under each root.
const TRASH: &str = "trash";

/// Background deletion of directory trees under a set of roots.
#[derive(Debug)]
pub struct Trash {
    /// `<root>/trash` for every root trees may come from.
    bins: Vec<(PathBuf, PathBuf)>,
    queue: Mutex<Option<Sender<PathBuf>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    next: AtomicU64,
}

impl Trash {
    /// Creates `<root>/trash` under every root and queues whatever a previous run left
    /// there.
    pub fn open(roots: &[&Path]) -> io::Result<Trash> {
        let (tx, rx) = channel::<PathBuf>();
        let mut bins = Vec::new();
        for root in roots {
            let bin = root.join(TRASH);
            std::fs::create_dir_all(&bin)?;
            for entry in std::fs::read_dir(&bin)? {
                let _ = tx.send(entry?.path());
            }
            bins.push((root.to_path_buf(), bin));
        }
        let worker = std::thread::Builder::new()
            .name("trash".into())
            .spawn(move || {
                for tree in rx {
                    remove_tree(&tree);
                }
            })?;
        Ok(Trash {
            bins,
            queue: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
            next: AtomicU64::new(0),
        })
    }

    /// Moves `tree` out of the way and deletes it in the background. A missing tree is
    /// fine. When it cannot be renamed (no root holds it, another filesystem, the
    /// queue is closed), it is deleted here and now instead.
    pub fn discard(&self, tree: &Path) -> io::Result<()> {
        let queue = self.queue.lock().expect("trash queue");
        let bin = self
            .bins
            .iter()
            .filter(|(root, _)| tree.starts_with(root))
            .max_by_key(|(root, _)| root.as_os_str().len())
            .map(|(_, bin)| bin);
        if let (Some(bin), Some(tx)) = (bin, queue.as_ref()) {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let dest = bin.join(format!("{}-{n}", std::process::id()));
            match std::fs::rename(tree, &dest) {
                Ok(()) => {
                    let _ = tx.send(dest);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(_) => {}
            }
        }
        drop(queue);
        match std::fs::remove_dir_all(tree) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Deletes everything queued and stops the worker; later discards delete inline.
    pub fn flush(&self) {
        drop(self.queue.lock().expect("trash queue").take());
        if let Some(worker) = self.worker.lock().expect("trash worker").take() {
            let _ = worker.join();
        }
    }
}

impl Drop for Trash {
    fn drop(&mut self) {
        self.flush();
    }
}

fn remove_tree(tree: &Path) {
    if let Err(e) = std::fs::remove_dir_all(tree) {
        if e.kind() != io::ErrorKind::NotFound {
            eprintln!("berthd: delete {}: {e}", tree.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path, name: &str) -> PathBuf {
        let t = root.join(name);
        std::fs::create_dir_all(t.join("a/b")).unwrap();
        std::fs::write(t.join("a/b/f"), "x").unwrap();
        t
    }

    #[test]
    fn discarded_trees_vanish_at_once_and_are_deleted_by_flush() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let t = tree(&root, "containers/c1");
        let trash = Trash::open(&[&root]).unwrap();
        trash.discard(&t).unwrap();
        assert!(!t.exists());
        trash.discard(&root.join("containers/missing")).unwrap();
        trash.flush();
        assert_eq!(std::fs::read_dir(root.join(TRASH)).unwrap().count(), 0);
        // After flush, discards delete inline.
        let t2 = tree(&root, "containers/c2");
        trash.discard(&t2).unwrap();
        assert!(!t2.exists());
    }

    #[test]
    fn leftovers_of_a_crash_are_deleted_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        tree(&root, "trash/1-0");
        let trash = Trash::open(&[&root]).unwrap();
        trash.flush();
        assert_eq!(std::fs::read_dir(root.join(TRASH)).unwrap().count(), 0);
    }

    #[test]
    fn trees_outside_every_root_are_deleted_inline() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let other = tree(dir.path(), "elsewhere");
        let trash = Trash::open(&[&root]).unwrap();
        trash.discard(&other).unwrap();
        assert!(!other.exists());
    }
}
