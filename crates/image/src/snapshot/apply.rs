//! Carries out a [`MountPlan`](super::plan::MountPlan) and unmounts snapshots.
//!
//! Runs in berthd on the caller's thread; a relative-name classic mount runs on a scoped
//! helper thread that unshares its filesystem context (`CLONE_FS`) before its chdir, so
//! the process cwd seen by every other thread never changes. Owns nothing after return:
//! the mount belongs to the `Snapshot`, transient fds close on drop.

use std::ffi::CStr;
use std::io;
use std::os::fd::AsFd;
use std::path::Path;

use nix::errno::Errno;
use nix::sched::CloneFlags;

use super::plan::{FsParam, MountPlan};
use super::{c_path, SnapshotError};
use crate::sys::mount as sys;

/// Makes the mount `plan` describes at `target` (absolute).
pub(super) fn apply(plan: &MountPlan, target: &Path) -> Result<(), SnapshotError> {
    let target_c = c_path(target).map_err(|source| SnapshotError::MountOverlay {
        target: target.to_path_buf(),
        source,
    })?;
    match plan {
        MountPlan::Classic {
            cwd: None,
            data,
            read_only,
        } => sys::mount_overlay(&target_c, data, *read_only).map_err(|source| {
            SnapshotError::MountOverlay {
                target: target.to_path_buf(),
                source,
            }
        }),
        MountPlan::Classic {
            cwd: Some(cwd),
            data,
            read_only,
        } => classic_from(cwd, target, &target_c, data, *read_only),
        MountPlan::NewApi { params, read_only } => new_api(params, *read_only, target, &target_c),
        MountPlan::Bind { source } => {
            let source_c = c_path(source).map_err(|err| bind_error(source, target, err))?;
            sys::bind_read_only(&source_c, &target_c).map_err(|err| bind_error(source, target, err))
        }
    }
}

fn bind_error(source: &Path, target: &Path, err: io::Error) -> SnapshotError {
    SnapshotError::BindReadOnly {
        source_dir: source.to_path_buf(),
        target: target.to_path_buf(),
        source: err,
    }
}

/// Classic mount(2) with lower names relative to `cwd`, from a helper thread whose cwd is
/// private (unshare `CLONE_FS`), so the chdir cannot race with other threads' path lookups.
fn classic_from(
    cwd: &Path,
    target: &Path,
    target_c: &CStr,
    data: &CStr,
    read_only: bool,
) -> Result<(), SnapshotError> {
    let enter = |source: io::Error| SnapshotError::EnterLayerDir {
        cwd: cwd.to_path_buf(),
        source,
    };
    let helper_failed = || SnapshotError::HelperThread {
        target: target.to_path_buf(),
    };
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("berth-mount".into())
            .spawn_scoped(scope, || {
                nix::sched::unshare(CloneFlags::CLONE_FS).map_err(|e| enter(e.into()))?;
                nix::unistd::chdir(cwd).map_err(|e| enter(e.into()))?;
                sys::mount_overlay(target_c, data, read_only).map_err(|source| {
                    SnapshotError::MountOverlay {
                        target: target.to_path_buf(),
                        source,
                    }
                })
            })
            .map_err(|_| helper_failed())?;
        helper.join().map_err(|_| helper_failed())?
    })
}

/// fsopen → fsconfig per parameter → create → fsmount → move_mount onto `target`.
fn new_api(
    params: &[FsParam],
    read_only: bool,
    target: &Path,
    target_c: &CStr,
) -> Result<(), SnapshotError> {
    let fs = sys::fsopen(c"overlay").map_err(|source| {
        if errno(&source) == Errno::ENOSYS {
            SnapshotError::NewApiUnsupported { source }
        } else {
            SnapshotError::Fsopen { source }
        }
    })?;
    for (i, param) in params.iter().enumerate() {
        let set = if param.value.is_empty() {
            sys::fsconfig_set_flag(fs.as_fd(), param.key)
        } else {
            sys::fsconfig_set_string(fs.as_fd(), param.key, &param.value)
        };
        set.map_err(|source| {
            // Before Linux 6.8 overlayfs rejects the unknown key `lowerdir+` right away.
            if i == 0 && errno(&source) == Errno::EINVAL {
                SnapshotError::NewApiUnsupported { source }
            } else {
                SnapshotError::Fsconfig {
                    key: param.key.to_string_lossy().into_owned(),
                    value: param.value.to_string_lossy().into_owned(),
                    source,
                }
            }
        })?;
    }
    let create = |source| SnapshotError::CreateOverlay {
        target: target.to_path_buf(),
        source,
    };
    sys::fsconfig_create(fs.as_fd()).map_err(create)?;
    let attrs = if read_only {
        sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV
    } else {
        0
    };
    let mnt = sys::fsmount(fs.as_fd(), attrs).map_err(create)?;
    sys::move_mount(mnt.as_fd(), target_c).map_err(|source| SnapshotError::MoveMount {
        target: target.to_path_buf(),
        source,
    })
}

fn errno(err: &io::Error) -> Errno {
    Errno::from_raw(err.raw_os_error().unwrap_or(0))
}

/// Unmounts `target`; on `EBUSY` detaches it lazily instead. A target that is not a
/// mount point (`EINVAL`) or does not exist (`ENOENT`) counts as unmounted.
pub(super) fn unmount(target: &Path) -> Result<(), SnapshotError> {
    let failed = |source| SnapshotError::Unmount {
        target: target.to_path_buf(),
        source,
    };
    let target_c = c_path(target).map_err(failed)?;
    match sys::umount(&target_c, false) {
        Ok(()) => Ok(()),
        Err(err) => match errno(&err) {
            Errno::EINVAL | Errno::ENOENT => Ok(()),
            Errno::EBUSY => sys::umount(&target_c, true).map_err(failed),
            _ => Err(failed(err)),
        },
    }
}
