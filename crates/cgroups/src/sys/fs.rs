//! Open cgroup directories as fds (open(2) flags beyond what std names).
//!
//! Runs in the runtime process; the returned `OwnedFd` belongs to the caller.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// `open(path, O_PATH|O_DIRECTORY|O_CLOEXEC)` — the fd clone3(2) takes for
/// `CLONE_INTO_CGROUP` (Linux 5.7; older kernels ignore nothing here, the caller falls
/// back to writing cgroup.procs).
pub fn open_dir_path(path: &Path) -> io::Result<OwnedFd> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(path)?;
    Ok(f.into())
}

/// `open(path, O_RDONLY|O_DIRECTORY|O_CLOEXEC)` — bpf(2) rejects `O_PATH` fds as attach
/// targets.
pub fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)?;
    Ok(f.into())
}

/// Whether an open/read/write error means the cgroup directory was removed under us:
/// `ENOENT` for the path, or `ENODEV` for a file of an already-removed cgroup.
pub fn is_removed_cgroup(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENOENT | libc::ENODEV))
}
