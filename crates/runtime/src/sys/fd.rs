//! File-descriptor hygiene: nothing from the host may survive into the container
//! (CVE-2024-21626) except stdio and the fds the caller asked to preserve.

use std::io;

/// Mark every fd from `first` upward close-on-exec.
///
/// close_range(2) with CLOSE_RANGE_CLOEXEC, Linux 5.11. On ENOSYS/EINVAL falls back to
/// walking /proc/self/fd and setting FD_CLOEXEC one by one.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range only changes fd flags in our own table; no memory is passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds {
        if u32::try_from(fd).is_ok_and(|f| f >= first) {
            // SAFETY: F_SETFD on an fd number only touches our fd table; a stale number
            // (the read_dir fd itself, already closed) just returns EBADF, which we ignore.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
    Ok(())
}

/// Clear close-on-exec on `fd` so it survives execve (for preserved fds).
pub fn clear_cloexec(fd: i32) -> io::Result<()> {
    // SAFETY: F_SETFD with 0 only changes the flag of this fd in our table.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// dup2(2): make `target` (e.g. 0, 1, 2) refer to the same file as `fd`.
pub fn dup_onto(fd: std::os::fd::BorrowedFd<'_>, target: i32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: dup2 only manipulates our fd table; `fd` is live for the call, and replacing
    // `target` (a stdio slot the caller owns) is the intended effect.
    if unsafe { libc::dup2(fd.as_raw_fd(), target) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Take ownership of an fd number received from the kernel (e.g. over SCM_RIGHTS).
pub fn owned(fd: std::os::fd::RawFd) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: callers pass an fd the kernel has just installed in our table for us
    // (recvmsg SCM_RIGHTS); nothing else refers to it, so this is its only owner.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
}
