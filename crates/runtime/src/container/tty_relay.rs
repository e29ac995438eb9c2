//! Foreground terminal for `run` and `exec` without `--console-socket`, as runc does it:
//! the runtime receives the pty master itself, puts its own terminal in raw mode, copies
//! bytes both ways and passes window-size changes on, then restores the terminal.
//!
//! Runs in the runtime process after the container process has started. Owns the master
//! fd, two copy threads (stdin → master, master → stdout) and the saved termios, which
//! is restored on drop. The stdin thread may stay blocked in read until we exit.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{self, SetArg, Termios};

use crate::error::{Error, Result};

/// The runtime's end of a private console socket pair.
#[derive(Debug)]
pub(super) struct ConsolePeer(pub UnixStream);

/// A private socket pair: (init's end, ours).
pub(super) fn console_pair() -> Result<(OwnedFd, ConsolePeer)> {
    let (a, b) = UnixStream::pair().map_err(|e| Error::sys("console socketpair", e))?;
    Ok((OwnedFd::from(a), ConsolePeer(b)))
}

impl ConsolePeer {
    /// Receive the pty master the container process sent (SCM_RIGHTS).
    pub(super) fn receive_master(&self) -> Result<OwnedFd> {
        let mut name = [0u8; 128];
        let mut iov = [std::io::IoSliceMut::new(&mut name)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = recvmsg::<()>(
            self.0.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| Error::sys("receive pty master", e))?;
        for cmsg in msg
            .cmsgs()
            .map_err(|e| Error::sys("receive pty master", e))?
        {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                if let Some(&fd) = fds.first() {
                    // The fd came to us over SCM_RIGHTS and nothing else owns it.
                    return Ok(crate::sys::fd::owned(fd));
                }
            }
        }
        Err(Error::Init(
            "the container process sent no pty master".into(),
        ))
    }
}

/// The running relay; dropping it restores the terminal.
#[derive(Debug)]
pub(super) struct Relay {
    master: OwnedFd,
    saved: Option<Termios>,
    output_done: mpsc::Receiver<()>,
}

impl Relay {
    /// Start copying between our stdio and `master`.
    pub(super) fn start(master: OwnedFd) -> Result<Self> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok();
        if let Some(t) = &saved {
            let mut raw = t.clone();
            termios::cfmakeraw(&mut raw);
            termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)
                .map_err(|e| Error::sys("set terminal raw", e))?;
        }
        let (tx, rx) = mpsc::channel();
        let relay = Relay {
            master,
            saved,
            output_done: rx,
        };
        relay.resize();
        let mut to_master = std::fs::File::from(
            relay
                .master
                .try_clone()
                .map_err(|e| Error::sys("dup pty master", e))?,
        );
        let mut from_master = std::fs::File::from(
            relay
                .master
                .try_clone()
                .map_err(|e| Error::sys("dup pty master", e))?,
        );
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut to_master);
        });
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let mut out = std::io::stdout().lock();
            // EIO once every slave fd is closed: the container's side is gone.
            while let Ok(n @ 1..) = from_master.read(&mut buf) {
                if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                    break;
                }
            }
            let _ = tx.send(());
        });
        Ok(relay)
    }

    /// Copy our terminal's window size to the container's (on start and on SIGWINCH).
    pub(super) fn resize(&self) {
        if let Ok(ws) = crate::sys::tty::get_winsize(std::io::stdin().as_fd()) {
            let _ = crate::sys::tty::set_winsize(self.master.as_fd(), &ws);
        }
    }

    /// Wait briefly for the last output to be copied after the process exited.
    pub(super) fn drain(&self) {
        let _ = self.output_done.recv_timeout(Duration::from_millis(500));
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}
