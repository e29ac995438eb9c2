//! Pseudo-terminals for `process.terminal`: the pty is allocated inside the container
//! (on its own devpts instance), the master is sent to the caller's console socket with
//! SCM_RIGHTS (as runc does), and the slave becomes the process's stdio and controlling
//! terminal.
//!
//! `connect` runs in the runtime process; `setup_in_container` in the init or exec'd
//! process after pivot_root / setns. The master fd is closed here once sent.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

/// Failures allocating a pty or handing it to the console socket.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Connecting to the console socket failed.
    #[error("connect console socket {path}: {source}")]
    Connect {
        /// Socket path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The process wants a terminal but no console socket was given.
    #[error("process.terminal is true but no --console-socket was given")]
    NoSocket,
}

/// Connect to the console socket (in the runtime process, before clone).
pub fn connect(path: &Path) -> Result<OwnedFd, ConsoleError> {
    UnixStream::connect(path)
        .map(OwnedFd::from)
        .map_err(|source| ConsoleError::Connect {
            path: path.into(),
            source,
        })
}

/// In the container: open a pty, send the master over `socket`, make the slave our
/// controlling terminal and stdio. `size` is (height, width) from `process.consoleSize`.
pub fn setup_in_container(socket: OwnedFd, size: Option<(u16, u16)>) -> Result<(), String> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| format!("open /dev/ptmx: {e}"))?;
    grantpt(&master).map_err(|e| format!("grantpt: {e}"))?;
    unlockpt(&master).map_err(|e| format!("unlockpt: {e}"))?;
    let slave_path = ptsname_r(&master).map_err(|e| format!("ptsname: {e}"))?;
    let slave: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&slave_path)
        .map_err(|e| format!("open {slave_path}: {e}"))?
        .into();
    if let Some((rows, cols)) = size {
        let ws = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        crate::sys::tty::set_winsize(slave.as_fd(), &ws)
            .map_err(|e| format!("set console size: {e}"))?;
    }
    // Bind the slave over /dev/console if the container has one to cover (runc does too).
    let _ = bind_console(&slave_path);
    let fds = [master.as_raw_fd()];
    let name = IoSlice::new(slave_path.as_bytes());
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[name],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| format!("send pty master to console socket: {e}"))?;
    drop(master);
    drop(socket);
    nix::unistd::setsid().ok();
    crate::sys::tty::set_controlling_tty(slave.as_fd()).map_err(|e| format!("TIOCSCTTY: {e}"))?;
    for target in 0..=2 {
        crate::sys::fd::dup_onto(slave.as_fd(), target)
            .map_err(|e| format!("dup2 pty to fd {target}: {e}"))?;
    }
    Ok(())
}

fn bind_console(slave: &str) -> Result<(), nix::Error> {
    let console = Path::new("/dev/console");
    if !console.exists() {
        std::fs::File::create(console).map_err(|_| nix::errno::Errno::EROFS)?;
    }
    nix::mount::mount(
        Some(slave),
        console,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
}

use std::os::unix::fs::OpenOptionsExt;
