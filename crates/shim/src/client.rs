//! A small synchronous client of the shim protocol, for berthd and tests.
//!
//! Runs in the caller's process (blocking std sockets; call it from a blocking thread in
//! tokio). Each function opens one connection to `D/shim.sock`, sends one request and
//! reads the reply; the returned attach stream is owned by the caller.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use crate::protocol::{parse_frame_header, ExitInfo, Request, State};

/// `D/shim.sock`.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join("shim.sock")
}

/// `D/exit`.
pub fn exit_path(dir: &Path) -> PathBuf {
    dir.join("exit")
}

fn read_line(s: &mut UnixStream) -> io::Result<String> {
    // Byte by byte: nothing after the `\n` may be consumed (attach output follows it).
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match s.read(&mut b)? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "shim closed the connection without a reply",
                ))
            }
            _ if b[0] == b'\n' => break,
            _ => line.push(b[0]),
        }
        if line.len() > 4096 {
            return Err(io::Error::other("shim reply line too long"));
        }
    }
    String::from_utf8(line).map_err(|_| io::Error::other("shim reply is not UTF-8"))
}

fn reply_error(line: &str) -> io::Error {
    match line.strip_prefix("err ") {
        Some(msg) => io::Error::other(msg.to_string()),
        None => io::Error::other(format!("unexpected shim reply {line:?}")),
    }
}

/// Sends `req` and returns the open connection and the reply line.
pub fn request(dir: &Path, req: Request) -> io::Result<(UnixStream, String)> {
    let mut s = UnixStream::connect(socket_path(dir))?;
    s.write_all(format!("{req}\n").as_bytes())?;
    let line = read_line(&mut s)?;
    Ok((s, line))
}

fn expect_ok(dir: &Path, req: Request) -> io::Result<()> {
    let (_, line) = request(dir, req)?;
    if line == "ok" {
        Ok(())
    } else {
        Err(reply_error(&line))
    }
}

/// Opens the start gate; returns the init's pid.
pub fn start(dir: &Path) -> io::Result<i32> {
    let (_, line) = request(dir, Request::Start)?;
    line.strip_prefix("ok ")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| reply_error(&line))
}

/// The container's state; after the shim is gone, the exit file's record.
pub fn state(dir: &Path) -> io::Result<State> {
    match request(dir, Request::State) {
        Ok((_, line)) => State::parse(&line).ok_or_else(|| reply_error(&line)),
        Err(e) => match read_exit_file(dir)? {
            Some(exit) => Ok(State::Exited(exit)),
            None => Err(e),
        },
    }
}

/// Blocks until the container has exited. Falls back to `D/exit` when the shim is gone
/// (or goes away while we wait).
pub fn wait(dir: &Path) -> io::Result<ExitInfo> {
    match request(dir, Request::Wait) {
        Ok((_, line)) => ExitInfo::parse(&line).ok_or_else(|| reply_error(&line)),
        Err(e) => match read_exit_file(dir)? {
            Some(exit) => Ok(exit),
            None => Err(e),
        },
    }
}

/// Sets the pty's window size.
pub fn resize(dir: &Path, rows: u16, cols: u16) -> io::Result<()> {
    expect_ok(dir, Request::Resize { rows, cols })
}

/// Closes the container's stdin.
pub fn close_stdin(dir: &Path) -> io::Result<()> {
    expect_ok(dir, Request::CloseStdin)
}

/// Attaches; the returned stream carries the output (frames, or raw bytes with a tty)
/// and takes stdin writes when `stdin` is set. `shutdown(Write)` half-closes stdin.
pub fn attach(dir: &Path, stdin: bool, stdout: bool, stderr: bool) -> io::Result<UnixStream> {
    let (s, line) = request(
        dir,
        Request::Attach {
            stdin,
            stdout,
            stderr,
        },
    )?;
    if line == "ok" {
        Ok(s)
    } else {
        Err(reply_error(&line))
    }
}

/// Reads one multiplexed frame: `Ok(None)` at a clean end of stream.
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
    let mut h = [0u8; 8];
    let mut got = 0;
    while got < h.len() {
        match r.read(&mut h[got..])? {
            0 if got == 0 => return Ok(None),
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => got += n,
        }
    }
    let (stream, len) = parse_frame_header(&h);
    let mut payload = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
    r.read_exact(&mut payload)?;
    Ok(Some((stream, payload)))
}

/// The exit record the shim left in `D/exit`, if it has written one.
pub fn read_exit_file(dir: &Path) -> io::Result<Option<ExitInfo>> {
    match std::fs::read_to_string(exit_path(dir)) {
        Ok(text) => ExitInfo::parse(&text)
            .map(Some)
            .ok_or_else(|| io::Error::other(format!("malformed exit file {text:?}"))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
