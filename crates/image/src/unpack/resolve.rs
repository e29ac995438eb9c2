//! Opening a directory inside the unpack destination without ever following a symlink.
//!
//! Runs in berthd for the extractor. One openat2(2) call with `RESOLVE_NO_SYMLINKS |
//! RESOLVE_BENEATH` in the common case; a per-component `O_NOFOLLOW` walk when a
//! directory is missing (created 0755, root-owned), the kernel lacks openat2, or the
//! kernel's answer must be told apart (symlink vs. other non-directory). Returns owned fds.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use super::path::display;
use super::{Step, UnpackError};
use crate::sys::fs::{self as sysfs, ErrnoClass};

/// Why a path inside the destination could not be opened as a directory.
pub(super) enum ResolveError {
    Symlink,
    NotDir,
    Io(io::Error),
}

/// Opens `rel` under the destination as a directory, never through a symlink;
/// with `create`, missing directories are made (mode 0755, root-owned).
pub(super) fn resolve_dir(
    root: BorrowedFd<'_>,
    rel: &[u8],
    create: bool,
) -> Result<OwnedFd, ResolveError> {
    match sysfs::open_beneath(root, rel) {
        Ok(fd) => return Ok(fd),
        Err(e) => match sysfs::errno_class(&e) {
            ErrnoClass::Loop | ErrnoClass::CrossDevice => return Err(ResolveError::Symlink),
            // The walk below tells a symlink from another non-directory.
            ErrnoClass::NotDir | ErrnoClass::NoSys => {}
            ErrnoClass::NotFound if create => {}
            _ => return Err(ResolveError::Io(e)),
        },
    }
    let mut cur = sysfs::open_child_dir(root, OsStr::new(".")).map_err(ResolveError::Io)?;
    for comp in rel.split(|b| *b == b'/').filter(|c| !c.is_empty()) {
        let comp = OsStr::from_bytes(comp);
        cur = match sysfs::open_child_dir(cur.as_fd(), comp) {
            Ok(fd) => fd,
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                match sysfs::mkdir_at(cur.as_fd(), comp, 0o755) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(ResolveError::Io(e)),
                }
                let fd = sysfs::open_child_dir(cur.as_fd(), comp).map_err(ResolveError::Io)?;
                sysfs::fchmod(fd.as_fd(), 0o755).map_err(ResolveError::Io)?;
                fd
            }
            Err(e) => match sysfs::errno_class(&e) {
                ErrnoClass::Loop => return Err(ResolveError::Symlink),
                ErrnoClass::NotDir => {
                    return Err(match sysfs::is_symlink_at(cur.as_fd(), comp) {
                        Ok(true) => ResolveError::Symlink,
                        _ => ResolveError::NotDir,
                    })
                }
                _ => return Err(ResolveError::Io(e)),
            },
        };
    }
    Ok(cur)
}

/// Maps a resolution failure to the error naming entry `path`.
pub(super) fn resolve_err(e: ResolveError, path: &[u8]) -> UnpackError {
    match e {
        ResolveError::Symlink => UnpackError::ParentIsSymlink {
            path: display(path),
        },
        ResolveError::NotDir => UnpackError::ParentNotDirectory {
            path: display(path),
        },
        ResolveError::Io(source) => UnpackError::Apply {
            path: display(path),
            step: Step::ResolveParent,
            source,
        },
    }
}
