//! Raw kernel calls for this crate: `seccomp(2)`, `memfd_create(2)` and `geteuid(2)`.
//!
//! Runs in berthd (memfd for exporting BPF, euid for cache ownership checks, the action
//! probe while generating BPF) and in the
//! freshly cloned container init right before execve (`seccomp_set_mode_filter`).
//! Owns only the memfd it returns as an `OwnedFd`; the caller closes it by dropping it.
//! This is the only module of the crate allowed to use `unsafe`. Implements the calls as
//! documented in seccomp(2), memfd_create(2) and geteuid(2); SECCOMP_GET_NOTIF_SIZES and
//! user notification listeners are deliberately left out.

use std::ffi::CStr;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// `SECCOMP_FILTER_FLAG_TSYNC`: synchronize all threads to the new filter (Linux 3.17).
pub const FLAG_TSYNC: u32 = 1;
/// `SECCOMP_FILTER_FLAG_LOG`: log every action except ALLOW (Linux 4.14).
pub const FLAG_LOG: u32 = 1 << 1;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: keep Speculative Store Bypass enabled (Linux 4.17).
pub const FLAG_SPEC_ALLOW: u32 = 1 << 2;
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`: killable notifier wait (Linux 5.19).
pub const FLAG_WAIT_KILLABLE_RECV: u32 = 1 << 5;

/// Install a classic BPF program as a seccomp filter on the calling thread:
/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, &struct sock_fprog)`.
///
/// Man page: seccomp(2). Needs Linux 3.17 for the `seccomp` syscall itself; individual
/// `flags` need newer kernels (see the `FLAG_*` constants) and are refused with `EINVAL`
/// on older ones. There is no fallback to `prctl(PR_SET_SECCOMP)`: every kernel berth
/// supports has the syscall, and a missing one surfaces as `ENOSYS`.
/// The caller must hold CAP_SYS_ADMIN or have set no_new_privs, else `EACCES`.
///
/// Does not allocate, so it may run in a child cloned from a multi-threaded parent.
/// `program` must hold whole 8-byte `struct sock_filter` records in native byte order;
/// the caller checks its length (the kernel re-validates the program anyway).
pub fn seccomp_set_mode_filter(flags: u32, program: &[u8]) -> io::Result<()> {
    let Ok(len) = u16::try_from(program.len() / 8) else {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    };
    let fprog = libc::sock_fprog {
        len,
        // The kernel only reads this memory with copy_from_user, which has no alignment
        // requirement; Rust never dereferences the pointer, so an unaligned u8 buffer
        // is fine here.
        filter: program.as_ptr().cast::<libc::sock_filter>().cast_mut(),
    };
    // `fprog` points at `program`, at least `len * 8` bytes (len = program.len() / 8).
    // SAFETY: `fprog` and `program` live for the whole call; the kernel only reads them
    // and SECCOMP_SET_MODE_FILTER keeps no pointer after returning.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Ask the kernel whether it accepts `flags` for SECCOMP_SET_MODE_FILTER without
/// installing anything: passes a NULL program, so the kernel returns `EINVAL` when the
/// flags are rejected (it checks them first) and `EFAULT` once it tries to read the
/// program.
///
/// Man page: seccomp(2), Linux 3.17+. Returns `true` when the flags were accepted.
/// Does not allocate.
pub fn seccomp_flags_supported(flags: u32) -> bool {
    // The kernel validates the flags first, then fails copying the NULL program (EFAULT).
    // SAFETY: a NULL `sock_fprog` is never dereferenced by us and only copy_from_user'd
    // (failing) by the kernel; no filter is installed and no memory of ours is touched.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    if rc == 0 {
        // Cannot happen with a NULL program; treat as accepted.
        return true;
    }
    io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL)
}

/// Whether the kernel knows the filter return action `action` (a `SECCOMP_RET_*` value):
/// `seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action)`, as libseccomp checks it before
/// accepting SCMP_ACT_LOG or SCMP_ACT_KILL_PROCESS.
///
/// Man page: seccomp(2), Linux 4.14+. On older kernels the operation itself fails with
/// `EINVAL`, which means "not available" here, as for libseccomp. Does not allocate.
pub fn seccomp_action_available(action: u32) -> bool {
    // SAFETY: `action` is a live u32 for the whole call; the kernel only reads 4 bytes
    // from it and keeps no pointer.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32,
        )
    };
    rc == 0
}

/// Create an anonymous in-memory file with `memfd_create(name, MFD_CLOEXEC)`.
///
/// Man page: memfd_create(2), Linux 3.17+; on older kernels it fails with `ENOSYS`,
/// which the caller reports as an export error (no fallback).
pub fn memfd_create(name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid NUL-terminated C string borrowed for the whole call;
    // the kernel copies it and keeps no reference.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by memfd_create, is open, and nothing else in
    // this process knows it, so the new OwnedFd is its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The effective user id of the calling process (geteuid(2); cannot fail, all kernels).
pub fn geteuid() -> u32 {
    // SAFETY: geteuid takes no arguments, touches no memory and always succeeds.
    unsafe { libc::geteuid() }
}
