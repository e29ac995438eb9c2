//! overlayfs snapshots: a container's root filesystem built from an image's unpacked layers.
//!
//! Runs in berthd (any thread; nothing here changes the process cwd). A [`Snapshot`] owns
//! `dir/upper`, `dir/work` and the mount at `dir/merged` (or a caller-given target, which
//! the caller owns); [`Snapshot::remove`] unmounts and deletes them. Lowers belong to the
//! layer store and are never written. The strategy (one mount(2) call, the new mount API,
//! or relative names) is decided by the pure [`plan`] and recorded as a [`MountStrategy`].
//! Every mount sets `index=off`, `redirect_dir=nofollow` and `metacopy=off`: image layers
//! are untrusted, so overlayfs must never follow redirect or metacopy xattrs found in them
//! (a crafted xattr could splice in another layer's file); the price is that renaming a
//! lower directory in a container copies it (EXDEV, handled by `mv`). `xino` keeps the
//! kernel default. Spec: kernel `Documentation/filesystems/overlayfs.rst`.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

mod apply;
mod changes;
pub mod plan;

pub use changes::{changes, is_whiteout, Change, ChangeKind};
pub use plan::{MountStrategy, PlanError};

/// Unmounts an overlay mounted at `target` (lazily if busy); not mounted is success.
/// For callers that only know the mount point, e.g. after a daemon restart.
pub fn unmount_path(target: &Path) -> Result<(), SnapshotError> {
    apply::unmount(target)
}

/// Why a snapshot step failed; each variant names the step and the path involved.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Making the snapshot dir or one of its subdirs.
    #[error("create snapshot directory {path:?}")]
    CreateDir {
        /// Directory being created.
        path: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// A lower layer could not be stat'ed (missing, dangling link).
    #[error("stat lower layer {path:?}")]
    StatLower {
        /// The lower as given.
        path: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// A lower layer is not a directory.
    #[error("lower layer {path:?} is not a directory")]
    LowerNotDir {
        /// The lower as given.
        path: PathBuf,
    },
    /// No mount plan fits (see [`PlanError`]).
    #[error("plan overlay mount at {target:?}")]
    Plan {
        /// Mount target.
        target: PathBuf,
        /// Why planning failed.
        source: PlanError,
    },
    /// Classic mount(2) of the overlay failed.
    #[error("mount overlay at {target:?}")]
    MountOverlay {
        /// Mount target.
        target: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// Preparing the helper thread for relative names (unshare CLONE_FS, chdir).
    #[error("enter layer directory {cwd:?} in mount helper thread")]
    EnterLayerDir {
        /// Directory the lower names are relative to.
        cwd: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// The mount helper thread could not be spawned or panicked.
    #[error("mount helper thread for {target:?} failed")]
    HelperThread {
        /// Mount target.
        target: PathBuf,
    },
    /// fsopen(2) failed.
    #[error("fsopen overlay")]
    Fsopen {
        /// Underlying error.
        source: io::Error,
    },
    /// The kernel has no `lowerdir+` (before 6.8) or no fsopen(2); classic fallback applies.
    #[error("kernel lacks the new mount API or overlayfs lowerdir+")]
    NewApiUnsupported {
        /// Underlying error.
        source: io::Error,
    },
    /// fsconfig(2) rejected a parameter.
    #[error("fsconfig overlay {key}={value:?}")]
    Fsconfig {
        /// Parameter name.
        key: String,
        /// Parameter value as sent.
        value: String,
        /// Underlying error.
        source: io::Error,
    },
    /// FSCONFIG_CMD_CREATE or fsmount(2) failed: the overlay superblock was refused.
    #[error("create overlay for {target:?}")]
    CreateOverlay {
        /// Mount target.
        target: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// move_mount(2) onto the target failed.
    #[error("attach overlay at {target:?}")]
    MoveMount {
        /// Mount target.
        target: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// Read-only bind of a single layer failed.
    #[error("bind {source_dir:?} read-only at {target:?}")]
    BindReadOnly {
        /// The layer being bound.
        source_dir: PathBuf,
        /// Mount target.
        target: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// umount2(2) failed, also with MNT_DETACH after EBUSY.
    #[error("unmount {target:?}")]
    Unmount {
        /// Mount target.
        target: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// Deleting snapshot directories; every path that failed is listed.
    #[error("remove snapshot directories ({} failed)", failures.len())]
    RemoveDirs {
        /// Each directory that could not be removed, with its error.
        failures: Vec<(PathBuf, io::Error)>,
    },
    /// Reading the upper dir for `changes`.
    #[error("read upper entry {path:?}")]
    ReadUpper {
        /// Entry being read.
        path: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// Reading a lower layer for `changes`.
    #[error("read lower entry {path:?}")]
    ReadLower {
        /// Entry being read.
        path: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
}

/// An overlay root filesystem: lower layers (top first), upper/work dirs, mount target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    dir: PathBuf,
    lowers: Vec<PathBuf>,
    upper_work: Option<(PathBuf, PathBuf)>,
    target: PathBuf,
    owns_target: bool,
    volatile: bool,
}

impl Snapshot {
    /// Creates `dir/upper`, `dir/work` and `dir/merged` for a writable rootfs over `lowers`
    /// (absolute, top first, symlinks allowed). Idempotent: call it again after a restart
    /// to get the same snapshot back. Nothing is mounted yet.
    pub fn prepare(dir: &Path, lowers: &[PathBuf]) -> Result<Snapshot, SnapshotError> {
        let dir = absolute(dir)?;
        let target = dir.join("merged");
        Self::create(dir, lowers, target, true, true)
    }

    /// Like [`Snapshot::prepare`] but mounts at `target` (created if missing, never
    /// removed: the caller owns it).
    pub fn prepare_at(
        dir: &Path,
        lowers: &[PathBuf],
        target: &Path,
    ) -> Result<Snapshot, SnapshotError> {
        let dir = absolute(dir)?;
        Self::create(dir, lowers, absolute(target)?, false, true)
    }

    /// A read-only, nosuid, nodev view of `lowers` at `dir/merged`, e.g. to export an
    /// image: overlay without upper, or a read-only bind when there is one layer.
    pub fn for_readonly_view(dir: &Path, lowers: &[PathBuf]) -> Result<Snapshot, SnapshotError> {
        let dir = absolute(dir)?;
        let target = dir.join("merged");
        Self::create(dir, lowers, target, true, false)
    }

    fn create(
        dir: PathBuf,
        lowers: &[PathBuf],
        target: PathBuf,
        owns_target: bool,
        writable: bool,
    ) -> Result<Snapshot, SnapshotError> {
        for lower in lowers {
            let meta = fs::metadata(lower).map_err(|source| SnapshotError::StatLower {
                path: lower.clone(),
                source,
            })?;
            if !meta.is_dir() {
                return Err(SnapshotError::LowerNotDir {
                    path: lower.clone(),
                });
            }
        }
        create_dir(&dir)?;
        let mut lowers = lowers.to_vec();
        if lowers.is_empty() {
            // A `FROM scratch` image: overlayfs still needs one (empty) lower.
            let empty = dir.join("empty");
            create_dir(&empty)?;
            lowers.push(empty);
        }
        let upper_work = if writable {
            let (upper, work) = (dir.join("upper"), dir.join("work"));
            create_dir(&upper)?;
            create_dir(&work)?;
            Some((upper, work))
        } else {
            None
        };
        create_dir(&target)?;
        Ok(Snapshot {
            dir,
            lowers,
            upper_work,
            target,
            owns_target,
            volatile: false,
        })
    }

    /// Mounts the upper layer `volatile` (no syncs; see [`plan::Layout::volatile`]):
    /// for containers whose upper layer is deleted after one run (`--rm`). Kernels
    /// without the option get a normal mount.
    pub fn set_volatile(&mut self, on: bool) {
        self.volatile = on;
    }

    /// Mounts the overlay at the target and says how. Mounting an already mounted
    /// snapshot stacks a second mount; callers track whether it is mounted.
    pub fn mount(&self) -> Result<MountStrategy, SnapshotError> {
        match self.mount_once() {
            Err(_) if self.volatile => Self {
                volatile: false,
                ..self.clone()
            }
            .mount_once(),
            done => done,
        }
    }

    fn mount_once(&self) -> Result<MountStrategy, SnapshotError> {
        let caps = plan::KernelCaps {
            lowerdir_append: true,
        };
        let plan = self.plan(caps)?;
        match apply::apply(&plan, &self.target) {
            Ok(()) => Ok(plan.strategy()),
            Err(SnapshotError::NewApiUnsupported { .. }) => {
                let caps = plan::KernelCaps {
                    lowerdir_append: false,
                };
                let plan = self.plan(caps)?;
                apply::apply(&plan, &self.target)?;
                Ok(plan.strategy())
            }
            Err(err) => Err(err),
        }
    }

    /// The mount plan for this snapshot on a kernel with `caps`.
    pub fn plan(&self, caps: plan::KernelCaps) -> Result<plan::MountPlan, SnapshotError> {
        let layout = plan::Layout {
            lowers: &self.lowers,
            upper_work: self
                .upper_work
                .as_ref()
                .map(|(u, w)| (u.as_path(), w.as_path())),
            volatile: self.volatile && self.upper_work.is_some(),
        };
        plan::mount_plan(&layout, caps).map_err(|source| SnapshotError::Plan {
            target: self.target.clone(),
            source,
        })
    }

    /// Unmounts the target; lazily (`MNT_DETACH`) if it is busy. Not mounted is success.
    pub fn unmount(&self) -> Result<(), SnapshotError> {
        apply::unmount(&self.target)
    }

    /// Unmounts if needed, then deletes upper, work, the target (if owned, and only when
    /// empty: never recursively through a mount) and `dir` if nothing else is left in it.
    /// Keeps going after a failed deletion and reports every failure.
    pub fn remove(&self) -> Result<(), SnapshotError> {
        self.unmount()?;
        let mut failures = Vec::new();
        let mut trees = Vec::new();
        if let Some((upper, work)) = &self.upper_work {
            trees.extend([upper.clone(), work.clone()]);
        }
        let empty = self.dir.join("empty");
        if self.lowers == [empty.clone()] {
            trees.push(empty);
        }
        for tree in trees {
            if let Err(err) = fs::remove_dir_all(&tree) {
                if err.kind() != io::ErrorKind::NotFound {
                    failures.push((tree, err));
                }
            }
        }
        let mut empties = vec![&self.dir];
        if self.owns_target {
            empties.insert(0, &self.target);
        }
        for dir in empties {
            match fs::remove_dir(dir) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) if dir == &self.dir && err.kind() == io::ErrorKind::DirectoryNotEmpty => {}
                Err(err) => failures.push((dir.clone(), err)),
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(SnapshotError::RemoveDirs { failures })
        }
    }

    /// `docker diff` of this snapshot's upper dir against its lowers (empty if read-only).
    pub fn changes(&self) -> Result<Vec<Change>, SnapshotError> {
        match &self.upper_work {
            Some((upper, _)) => changes(upper, &self.lowers),
            None => Ok(Vec::new()),
        }
    }

    /// The snapshot directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the rootfs is mounted.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The lower layers, top first (a private empty dir for a layerless image).
    pub fn lowers(&self) -> &[PathBuf] {
        &self.lowers
    }

    /// The upper dir, `None` for a read-only view.
    pub fn upper(&self) -> Option<&Path> {
        self.upper_work.as_ref().map(|(u, _)| u.as_path())
    }
}

fn create_dir(path: &Path) -> Result<(), SnapshotError> {
    match fs::create_dir_all(path) {
        Ok(()) => Ok(()),
        Err(source) => Err(SnapshotError::CreateDir {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, SnapshotError> {
    std::path::absolute(path).map_err(|source| SnapshotError::CreateDir {
        path: path.to_path_buf(),
        source,
    })
}

/// `path` as a C string for a syscall; planning already rejected NUL bytes in layer paths.
fn c_path(path: &Path) -> Result<CString, io::Error> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

#[cfg(test)]
mod mount_tests;
