//! One client connection to `D/shim.sock`: its request line, then (for `attach`) the
//! output it receives and the stdin it sends, or (for `wait`) its pending reply.
//!
//! Runs in the shim's poll loop. Each [`Conn`] owns its socket (non-blocking). Output is
//! sent with MSG_DONTWAIT: a client whose socket buffer is full misses that chunk (a
//! frame cut in half would break the framing, so such a client is disconnected); the
//! container never waits for a slow client.

use std::io::{IoSlice, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use nix::errno::Errno;
use nix::sys::socket::{send, sendmsg, MsgFlags};

use crate::protocol::{frame_header, ParseError, Request};

const SEND_FLAGS: MsgFlags = MsgFlags::MSG_DONTWAIT.union(MsgFlags::MSG_NOSIGNAL);

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the request line.
    Request,
    /// Streaming output; reading stdin.
    Attached,
    /// Waiting for the exit to answer `wait`.
    Waiting,
}

/// Result of reading from a connection in [`Phase::Request`].
#[derive(Debug)]
pub enum RequestRead {
    /// No complete line yet.
    Incomplete,
    /// The request, plus any bytes that followed its `\n` (early stdin).
    Line(Result<Request, ParseError>, Vec<u8>),
    /// The client went away, or sent garbage.
    Gone,
}

/// A client connection.
#[derive(Debug)]
pub struct Conn {
    /// The socket (non-blocking).
    pub stream: UnixStream,
    /// Current phase.
    pub phase: Phase,
    req: [u8; 64],
    req_len: usize,
    /// Attach: the client's bytes feed the container's stdin.
    pub stdin: bool,
    /// Attach: send stdout.
    pub stdout: bool,
    /// Attach: send stderr.
    pub stderr: bool,
    /// The client half-closed (read returned 0); stop reading from it.
    pub read_closed: bool,
    /// To be dropped at the end of this loop iteration.
    pub dead: bool,
}

impl Conn {
    /// A freshly accepted connection.
    pub fn new(stream: UnixStream) -> Self {
        Self {
            stream,
            phase: Phase::Request,
            req: [0; 64],
            req_len: 0,
            stdin: false,
            stdout: false,
            stderr: false,
            read_closed: false,
            dead: false,
        }
    }

    /// Reads what is available of the request line.
    pub fn read_request(&mut self) -> RequestRead {
        let n = match self.stream.read(&mut self.req[self.req_len..]) {
            Ok(0) => return RequestRead::Gone,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return RequestRead::Incomplete,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                return RequestRead::Incomplete
            }
            Err(_) => return RequestRead::Gone,
        };
        self.req_len += n;
        let buf = &self.req[..self.req_len];
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let parsed = match std::str::from_utf8(&buf[..i]) {
                    Ok(line) => Request::parse(line),
                    Err(_) => Err(ParseError::Unknown("(not UTF-8)".into())),
                };
                RequestRead::Line(parsed, buf[i + 1..].to_vec())
            }
            None if self.req_len == self.req.len() => RequestRead::Gone,
            None => RequestRead::Incomplete,
        }
    }

    /// Sends a reply line (the socket buffer is empty at this point, so it fits).
    pub fn reply(&mut self, line: &str) {
        let mut msg = Vec::with_capacity(line.len() + 1);
        msg.extend_from_slice(line.as_bytes());
        msg.push(b'\n');
        if send(self.stream.as_raw_fd(), &msg, SEND_FLAGS) != Ok(msg.len()) {
            self.dead = true;
        }
    }

    /// Whether this client wants output of `stream` (protocol stream number).
    pub fn wants(&self, stream: u8) -> bool {
        self.phase == Phase::Attached
            && !self.dead
            && match stream {
                crate::protocol::STDOUT => self.stdout,
                crate::protocol::STDERR => self.stderr,
                _ => false,
            }
    }

    /// Sends raw pty bytes; what does not fit is dropped.
    pub fn send_raw(&mut self, data: &[u8]) {
        match send(self.stream.as_raw_fd(), data, SEND_FLAGS) {
            Ok(_) | Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(_) => self.dead = true,
        }
    }

    /// Sends one multiplexed frame; dropped if the socket is full, disconnected if only
    /// part of it went out.
    pub fn send_frame(&mut self, stream: u8, data: &[u8]) {
        let h = frame_header(stream, data.len());
        let iov = [IoSlice::new(&h), IoSlice::new(data)];
        match sendmsg::<()>(self.stream.as_raw_fd(), &iov, &[], SEND_FLAGS, None) {
            Ok(n) if n == h.len() + data.len() => {}
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Ok(_) | Err(_) => self.dead = true,
        }
    }
}
