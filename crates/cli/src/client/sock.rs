//! Socket writes that never raise SIGPIPE: `send(…, MSG_NOSIGNAL)` on the daemon socket.
//!
//! Runs in the CLI process. The CLI restores the default SIGPIPE disposition so that a
//! closed stdout ends it quietly (as Go's runtime does for Docker); writes to the daemon
//! socket must then report EPIPE as an error instead of killing the process.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{send, MsgFlags};

/// A writer over a borrowed or owned `UnixStream` using `MSG_NOSIGNAL`.
#[derive(Debug)]
pub struct NoSigPipe<S: AsFd>(pub S);

impl<S: AsFd> Write for NoSigPipe<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match send(self.0.as_fd().as_raw_fd(), buf, MsgFlags::MSG_NOSIGNAL) {
                Ok(n) => return Ok(n),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(io::Error::from(e)),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `NoSigPipe` over a borrowed stream.
pub fn writer(s: &UnixStream) -> NoSigPipe<&UnixStream> {
    NoSigPipe(s)
}
