//! An attached session shared by `run`, `start -a`, `attach` and `exec`: stdin copying
//! with detach keys, output decoding, resize and signal forwarding, and the wait call.
//!
//! Runs in the CLI process. The calling thread reads the container's output until EOF,
//! and the forwarded signals from a signalfd polled beside it; a stdin thread (with `-i`)
//! copies input into the hijacked socket and half-closes it at EOF. The `/wait` request
//! is sent before start and its answer read after the output ended. Raw mode, if any, is
//! restored when the session ends.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread;

use anyhow::Result;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;
use serde_json::Value;

use crate::client::hijack::Hijacked;
use crate::client::{stream, Client, Response};
use crate::term;

/// Ctrl-P Ctrl-Q.
pub const DEFAULT_DETACH_KEYS: [u8; 2] = [16, 17];

/// How an attached session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The daemon closed the stream (the process exited).
    Ended,
    /// The user typed the detach keys.
    Detached,
}

/// What to do with the streams.
#[derive(Debug)]
pub struct Streams {
    /// The container has a TTY: raw output, raw mode, detach keys.
    pub tty: bool,
    /// Copy our stdin into the connection.
    pub stdin: bool,
    /// Detach sequence (TTY only).
    pub detach_keys: Vec<u8>,
}

/// Streams a hijacked connection until the output ends or the user detaches, forwarding
/// `signals` meanwhile.
pub fn stream(hj: Hijacked, s: &Streams, signals: Option<Signals>) -> Result<Outcome> {
    let _raw = if s.tty && s.stdin && term::is_tty(io::stdin()) {
        Some(term::RawMode::enable()?)
    } else {
        None
    };
    let detached = Arc::new(AtomicBool::new(false));
    if s.stdin {
        let writer = hj.writer.try_clone()?;
        let keys = if s.tty {
            s.detach_keys.clone()
        } else {
            Vec::new()
        };
        let flag = detached.clone();
        thread::Builder::new()
            .name("stdin".into())
            .spawn(move || copy_stdin(writer, &keys, &flag))?;
    }
    let res = match signals {
        Some(signals) => stream::copy_output(
            SignalAware {
                conn: hj.reader,
                signals,
            },
            s.tty,
        ),
        None => stream::copy_output(hj.reader, s.tty),
    };
    if detached.load(Ordering::SeqCst) {
        return Ok(Outcome::Detached);
    }
    match res {
        Ok(()) => Ok(Outcome::Ended),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(Outcome::Ended),
        Err(e) => Err(e.into()),
    }
}

/// Copies stdin into the connection, watching for the detach sequence; half-closes at EOF.
fn copy_stdin(w: std::os::unix::net::UnixStream, keys: &[u8], detached: &AtomicBool) {
    let mut stdin = io::stdin().lock();
    let mut buf = [0u8; 4096];
    let mut matched = 0usize;
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut out = Vec::with_capacity(n);
        for &b in &buf[..n] {
            if !keys.is_empty() && b == keys[matched] {
                matched += 1;
                if matched == keys.len() {
                    detached.store(true, Ordering::SeqCst);
                    let _ = w.shutdown(Shutdown::Both);
                    return;
                }
                continue;
            }
            // A partial match that broke off is sent as typed.
            out.extend_from_slice(&keys[..matched]);
            matched = 0;
            out.push(b);
        }
        if !out.is_empty() && crate::client::sock::writer(&w).write_all(&out).is_err() {
            return;
        }
    }
    let _ = w.shutdown(Shutdown::Write);
}

/// Result of `/wait`: exit status, or the daemon's wait error.
pub type WaitResult = Result<i64, String>;

/// A `/wait` that was sent: [`Waiter::result`] reads its answer.
#[derive(Debug)]
pub enum Waiter {
    /// The headers arrived (the wait is registered); the body comes at the exit.
    Registered(Response),
    /// API < 1.30: nothing arrives before the exit, so a thread waits for it.
    Thread(Receiver<WaitResult>),
}

impl Waiter {
    /// Blocks until the container exited (or was removed); None if the connection broke.
    pub fn result(self) -> Option<WaitResult> {
        match self {
            Waiter::Registered(resp) => Some(match resp.json::<Value>() {
                Ok(v) => match v
                    .get("Error")
                    .and_then(|e| e.get("Message"))
                    .and_then(Value::as_str)
                {
                    Some(m) if !m.is_empty() => Err(m.to_string()),
                    _ => Ok(v.get("StatusCode").and_then(Value::as_i64).unwrap_or(0)),
                },
                Err(e) => Err(format!("{e:#}")),
            }),
            Waiter::Thread(rx) => rx.recv().ok(),
        }
    }
}

/// Sends `POST /containers/{id}/wait?condition=…` and returns once the response headers
/// arrived, that is once the daemon registered the wait (so a start after it cannot be
/// missed).
pub fn wait_start(c: &Client, id: &str, condition: &str) -> Result<Waiter> {
    if !c.version_at_least("1.30")? {
        // Before 1.30 there are no conditions and the headers only come at the end.
        let (tx, rx) = mpsc::channel();
        let (c, path) = (c.clone(), format!("/containers/{id}/wait"));
        thread::Builder::new().name("wait".into()).spawn(move || {
            let r = c
                .request("POST", &path, &[], None)
                .and_then(|r| r.json::<Value>())
                .map_err(|e| format!("{e:#}"))
                .map(|v| v.get("StatusCode").and_then(Value::as_i64).unwrap_or(0));
            let _ = tx.send(r);
        })?;
        return Ok(Waiter::Thread(rx));
    }
    let path = format!("/containers/{id}/wait?condition={condition}");
    Ok(Waiter::Registered(c.request("POST", &path, &[], None)?))
}

/// Resizes the container's (or exec's) TTY to our terminal: `base` is
/// `/containers/{id}` or `/exec/{id}`. Retried a few times while the process starts.
pub fn resize(c: &Client, base: &str) {
    let Some((h, w)) = term::size() else {
        return;
    };
    for _ in 0..10 {
        if c.request("POST", &format!("{base}/resize?h={h}&w={w}"), &[], None)
            .and_then(|r| r.discard())
            .is_ok()
        {
            return;
        }
        thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Signals forwarded to non-TTY containers (Docker forwards all but CHLD, PIPE, URG).
const PROXIED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// The signals an attached session forwards, and where to: SIGWINCH → resize (TTY on a
/// terminal), the others → `kill?signal=NAME` (non-TTY).
#[derive(Debug)]
pub struct Signals {
    fd: SignalFd,
    client: Client,
    base: String,
}

impl Signals {
    /// Forwards every signal that is pending.
    fn forward_pending(&mut self) {
        while let Ok(Some(info)) = self.fd.read_signal() {
            let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            if sig == Signal::SIGWINCH {
                resize(&self.client, &self.base);
            } else {
                let name = sig.as_str().trim_start_matches("SIG");
                let _ = self
                    .client
                    .request(
                        "POST",
                        &format!("{}/kill?signal={name}", self.base),
                        &[],
                        None,
                    )
                    .and_then(|r| r.discard());
            }
        }
    }
}

/// Blocks the signals an attached session forwards (`base` is `/containers/{id}` or
/// `/exec/{id}`); they are handled while [`stream`] runs. Call before other threads.
pub fn install_signals(c: &Client, base: String, tty: bool) -> Result<Option<Signals>> {
    let tty_term = tty && term::is_tty(io::stdout());
    let mut sigs = Vec::new();
    if tty_term {
        sigs.push(Signal::SIGWINCH);
    }
    let is_exec = base.starts_with("/exec/");
    if !tty && !is_exec {
        sigs.extend(PROXIED);
    }
    if sigs.is_empty() {
        return Ok(None);
    }
    Ok(Some(Signals {
        fd: term::signal_fd(&sigs)?,
        client: c.clone(),
        base,
    }))
}

/// The container's output, read only when it is readable; signals that arrive while it
/// is awaited are forwarded first.
struct SignalAware {
    conn: BufReader<UnixStream>,
    signals: Signals,
}

impl Read for SignalAware {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.conn.buffer().is_empty() {
            let mut fds = [
                PollFd::new(self.conn.get_ref().as_fd(), PollFlags::POLLIN),
                PollFd::new(self.signals.fd.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
            let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
            let (conn_ready, signalled) = (ready(&fds[0]), ready(&fds[1]));
            if signalled {
                self.signals.forward_pending();
            }
            if conn_ready {
                break;
            }
        }
        let n = {
            let available = self.conn.fill_buf()?;
            let n = available.len().min(buf.len());
            buf[..n].copy_from_slice(&available[..n]);
            n
        };
        self.conn.consume(n);
        Ok(n)
    }
}
