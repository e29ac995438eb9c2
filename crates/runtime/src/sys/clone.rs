//! clone3(2): create the container init (or an exec'd process) directly in new namespaces
//! and, on cgroup v2, directly in its cgroup (CLONE_INTO_CGROUP, Linux 5.7) so no
//! cgroup.procs write (and its RCU grace period) is needed.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The result of a fork-like clone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// We are the parent; the child's host pid.
    Parent(i32),
    /// We are the child.
    Child,
}

/// Mirror of the kernel's `struct clone_args` (include/uapi/linux/sched.h, version 2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Fork the calling process with `flags` (CLONE_NEW* bits) and SIGCHLD as exit signal,
/// optionally straight into the cgroup whose directory fd is `cgroup`.
///
/// clone3(2), Linux 5.3 (CLONE_INTO_CGROUP: 5.7). On ENOSYS (or E2BIG from an older
/// kernel) falls back to clone(2) without the cgroup; the caller then joins the cgroup by
/// writing cgroup.procs — `Ok((forked, false))` tells it so.
///
/// The caller must be single-threaded: the child continues with a copy of the parent's
/// address space and only the calling thread.
pub fn fork_into(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> io::Result<(Forked, bool)> {
    let mut args = CloneArgs {
        flags,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup =
            u64::try_from(fd.as_raw_fd()).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    }
    // With stack == 0 the child runs on a copy of our stack (fork semantics).
    // SAFETY: `args` is a live, initialised clone_args of the size passed; the caller is
    // single-threaded (documented contract), so no other thread holds a lock in the child.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            std::ptr::addr_of_mut!(args),
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if ret >= 0 {
        return Ok((to_forked(ret), cgroup.is_some()));
    }
    let err = io::Error::last_os_error();
    if !matches!(err.raw_os_error(), Some(libc::ENOSYS) | Some(libc::E2BIG)) {
        return Err(err);
    }
    let flags =
        libc::c_ulong::try_from(flags).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: raw clone(2) with a NULL stack behaves like fork(2); the same single-thread
    // requirement as above applies, and no tid/tls pointers are passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((to_forked(ret), false))
}

fn to_forked(ret: libc::c_long) -> Forked {
    if ret == 0 {
        Forked::Child
    } else {
        Forked::Parent(i32::try_from(ret).expect("pid fits in i32"))
    }
}
