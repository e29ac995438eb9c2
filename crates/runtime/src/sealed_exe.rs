//! Making sure the runtime binary cannot be overwritten through a container (CVE-2019-5736).
//!
//! Runs at the start of `exec`, and of `create`/`run` when the container shares a pid
//! namespace with other processes (see [`required_for`]); it re-executes the whole
//! process, so it is called before anything on the system has changed. A process inside the container could otherwise
//! open /proc/<pid>/exe of a runtime process that entered its namespaces and, once the
//! runtime exits, write through that handle into the host binary.
//!
//! The runtime re-executes itself from a detached, read-only bind mount of its own binary
//! (open_tree + mount_setattr, the approach runc 1.2 took in place of copying): every
//! runtime process then has an exe that only resolves to a read-only mount, so any
//! reopen for writing fails with EROFS. Nothing is copied, so the cost is one execve
//! (~1 ms) instead of a copy of the whole binary (~3 ms for 5 MB here). On kernels
//! without mount_setattr (< 5.12) it falls back to a sealed memfd copy. If the binary
//! already lives on a read-only mount, nothing is done. The init is also non-dumpable
//! until its execve, which keeps its /proc/<pid>/exe closed to unprivileged peers.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::statvfs::{fstatvfs, FsFlags};

use crate::error::{Error, Result};

const SEALS: SealFlag = SealFlag::F_SEAL_SEAL
    .union(SealFlag::F_SEAL_SHRINK)
    .union(SealFlag::F_SEAL_GROW)
    .union(SealFlag::F_SEAL_WRITE);

/// Whether `create`/`run` of this config must seal the binary first. Only processes that
/// share a pid namespace with container processes can be reached through
/// /proc/<pid>/exe: with a new pid namespace the init is alone in it until it has
/// exec'd the user's program, so re-executing (~1 ms) buys nothing there. Joining an
/// existing pid namespace, or none at all (host pids), needs the seal; so does `exec`.
pub fn required_for(spec: &oci_spec::runtime::Spec) -> bool {
    !crate::config::namespaces(spec)
        .iter()
        .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Pid && n.path().is_none())
}

/// Whether the running binary can no longer be written through /proc/self/exe.
pub fn is_sealed() -> bool {
    let Ok(exe) = File::open("/proc/self/exe") else {
        return false;
    };
    let on_ro_mount = fstatvfs(exe.as_fd()).is_ok_and(|s| s.flags().contains(FsFlags::ST_RDONLY));
    let sealed_memfd = fcntl(exe.as_fd(), FcntlArg::F_GET_SEALS)
        .is_ok_and(|s| SealFlag::from_bits_truncate(s).contains(SEALS));
    on_ro_mount || sealed_memfd
}

/// Ensure the current process runs from a binary that cannot be written through
/// /proc/self/exe, re-executing itself (same argv/env) if needed. Returns only when sealed.
pub fn ensure_sealed() -> Result<()> {
    ensure_sealed_with_args(&std::env::args_os().skip(1).collect::<Vec<_>>())
}

/// [`ensure_sealed`] for a process whose arguments did not come on its command line
/// (a shim started ahead of time reads them from a pipe, which is empty by then): the
/// re-executed process gets `args` after its own argv[0].
pub fn ensure_sealed_with_args(args: &[std::ffi::OsString]) -> Result<()> {
    if is_sealed() {
        return Ok(());
    }
    let target = match crate::sys::exe::readonly_clone("/proc/self/exe") {
        Ok(fd) => fd,
        Err(_) => {
            sealed_copy().map_err(|e| Error::sys("copy runtime binary to a sealed memfd", e))?
        }
    };
    let argv: Vec<CString> = std::env::args_os()
        .take(1)
        .chain(args.iter().cloned())
        .filter_map(|a| CString::new(a.into_vec()).ok())
        .collect();
    let envp: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            CString::new(kv).ok()
        })
        .collect();
    Err(Error::sys(
        "re-exec from a read-only copy of the runtime binary",
        crate::sys::exe::exec_fd(&target, &argv, &envp),
    ))
}

fn sealed_copy() -> io::Result<OwnedFd> {
    let exe = File::open("/proc/self/exe")?;
    let fd = memfd_create(
        c"berth-runtime",
        MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
    )?;
    // std's copy uses copy_file_range/sendfile: no userspace buffer.
    let mut out = File::from(fd);
    io::copy(&mut &exe, &mut out)?;
    let fd = OwnedFd::from(out);
    fcntl(fd.as_fd(), FcntlArg::F_ADD_SEALS(SEALS))?;
    Ok(fd)
}
