//! Re-exec from a sealed memfd copy of the runtime binary (CVE-2019-5736).
//!
//! Runs first thing in the runtime process for the verbs that put a process into a
//! container. A process inside the container could otherwise open /proc/<pid>/exe of
//! the runtime (or of the init before its execve) and, once we exit, overwrite the host
//! binary. A sealed memfd cannot be written, so there is nothing to overwrite. The init
//! is also made non-dumpable until execve, which keeps /proc/<pid>/exe closed to others.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};

use crate::error::{Error, Result};

const SEALS: SealFlag = SealFlag::F_SEAL_SEAL
    .union(SealFlag::F_SEAL_SHRINK)
    .union(SealFlag::F_SEAL_GROW)
    .union(SealFlag::F_SEAL_WRITE);

/// Ensure the current process runs from a sealed, read-only memfd copy of its binary,
/// re-executing itself (same argv/env) if it does not. Returns only when sealed.
pub fn ensure_sealed() -> Result<()> {
    let exe = File::open("/proc/self/exe").map_err(|e| Error::sys("open /proc/self/exe", e))?;
    if is_sealed(&exe) {
        return Ok(());
    }
    let memfd = sealed_copy(&exe).map_err(|e| Error::sys("copy runtime binary to a sealed memfd", e))?;
    let argv: Vec<CString> = std::env::args_os().filter_map(|a| CString::new(a.into_vec()).ok()).collect();
    let envp: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            CString::new(kv).ok()
        })
        .collect();
    let err = nix::unistd::fexecve(memfd.as_fd(), &argv, &envp);
    Err(Error::sys("re-exec from sealed memfd", err.map(|never| match never {}).unwrap_err()))
}

fn is_sealed(f: &File) -> bool {
    fcntl(f.as_fd(), FcntlArg::F_GET_SEALS)
        .map(|s| SealFlag::from_bits_truncate(s).contains(SEALS))
        .unwrap_or(false)
}

fn sealed_copy(exe: &File) -> io::Result<OwnedFd> {
    let fd = memfd_create(c"berth-runtime", MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)?;
    // std's copy uses copy_file_range/sendfile: no userspace buffer.
    let mut out = File::from(fd);
    io::copy(&mut &*exe, &mut out)?;
    let fd = OwnedFd::from(out);
    fcntl(fd.as_fd(), FcntlArg::F_ADD_SEALS(SEALS))?;
    Ok(fd)
}
