//! The parent ⇄ init handshake over a SOCK_SEQPACKET socketpair.
//!
//! One message per step, one tag byte each; an error carries its text. The init's end
//! is close-on-exec, so a successful execve shows up in the parent as end-of-file.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};

/// Messages of the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Parent → init: carry on (ids mapped, cgroup joined, hooks done); the payload is
    /// the state JSON for the in-container hooks once the pid is known (may be empty).
    Go(Vec<u8>),
    /// Init → parent: mounts are ready; run prestart/createRuntime hooks now.
    Hooks,
    /// Init → parent: set up, waiting for start.
    Ready,
    /// Parent → init (`run`): start the user process.
    Start,
    /// Init → parent: setup failed.
    Error(String),
    /// The peer closed its end (for the init: execve succeeded).
    Eof,
}

/// One end of the handshake.
#[derive(Debug)]
pub struct Channel(pub OwnedFd);

/// A connected pair: (parent end, init end).
pub fn pair() -> io::Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    Ok((Channel(a), Channel(b)))
}

impl Channel {
    /// Send one message.
    pub fn send(&self, msg: &Msg) -> io::Result<()> {
        let buf: Vec<u8> = match msg {
            Msg::Go(p) => [b"g".as_slice(), p].concat(),
            Msg::Hooks => b"h".to_vec(),
            Msg::Ready => b"r".to_vec(),
            Msg::Start => b"s".to_vec(),
            Msg::Error(e) => [b"e".as_slice(), e.as_bytes()].concat(),
            Msg::Eof => return Ok(()),
        };
        send(self.0.as_raw_fd(), &buf, MsgFlags::MSG_NOSIGNAL)?;
        Ok(())
    }

    /// Receive one message (blocking).
    pub fn recv(&self) -> io::Result<Msg> {
        let mut buf = vec![0u8; 8192];
        let n = loop {
            match recv(self.0.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r?,
            }
        };
        Ok(match buf.get(..n) {
            None | Some([]) => Msg::Eof,
            Some([b'g', rest @ ..]) => Msg::Go(rest.to_vec()),
            Some([b'h']) => Msg::Hooks,
            Some([b'r']) => Msg::Ready,
            Some([b's']) => Msg::Start,
            Some([b'e', rest @ ..]) => Msg::Error(String::from_utf8_lossy(rest).into_owned()),
            Some(other) => Msg::Error(format!("unexpected handshake message {other:?}")),
        })
    }

    /// Receive a Go message and return its payload.
    pub fn expect_go(&self) -> Result<Vec<u8>, String> {
        match self.recv().map_err(|e| format!("handshake: {e}"))? {
            Msg::Go(p) => Ok(p),
            Msg::Error(e) => Err(e),
            Msg::Eof => Err("peer exited during setup".into()),
            m => Err(format!("handshake: expected Go, got {m:?}")),
        }
    }

    /// Receive and require `want`; an error message or EOF becomes Err(text).
    pub fn expect(&self, want: Msg) -> Result<(), String> {
        match self.recv().map_err(|e| format!("handshake: {e}"))? {
            m if m == want => Ok(()),
            Msg::Error(e) => Err(e),
            Msg::Eof => Err("peer exited during setup".into()),
            m => Err(format!("handshake: expected {want:?}, got {m:?}")),
        }
    }
}
