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

/// `statfs(2)`'s filesystem type of `path` (`f_type`), e.g. `CGROUP2_SUPER_MAGIC`.
pub fn fs_magic(path: &Path) -> io::Result<i64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut buf = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `c` is a NUL-terminated path that outlives the call and `buf` is a
    // properly sized, writable statfs the kernel fills in; it is read only on success.
    let ret = unsafe { libc::statfs(c.as_ptr(), buf.as_mut_ptr()) };
    if ret != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statfs returned 0, so the kernel initialised the whole struct.
    Ok(unsafe { buf.assume_init() }.f_type)
}

/// Whether an open/read/write error means the cgroup directory was removed under us:
/// `ENOENT` for the path, or `ENODEV` for a file of an already-removed cgroup.
pub fn is_removed_cgroup(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENOENT | libc::ENODEV))
}
