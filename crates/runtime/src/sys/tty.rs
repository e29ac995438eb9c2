//! Terminal ioctls for the container's console.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// ioctl(TIOCSCTTY): make `fd` (a pty slave) the controlling terminal of our session.
pub fn set_controlling_tty(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an int argument by value (0 = do not steal); `fd` is a live
    // descriptor borrowed for the duration of the call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// ioctl(TIOCSWINSZ): set the window size of a terminal.
pub fn set_winsize(fd: BorrowedFd<'_>, ws: &libc::winsize) -> io::Result<()> {
    // SAFETY: TIOCSWINSZ reads one `struct winsize` through the pointer, which points to
    // a live value for the whole call; the kernel does not keep it.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, std::ptr::from_ref(ws)) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// ioctl(TIOCGWINSZ): read the window size of a terminal.
pub fn get_winsize(fd: BorrowedFd<'_>) -> io::Result<libc::winsize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` through the pointer, which points to
    // a live, writable value for the whole call.
    let ret = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TIOCGWINSZ,
            std::ptr::from_mut(&mut ws),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ws)
}
