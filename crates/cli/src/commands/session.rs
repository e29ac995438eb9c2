//! An attached session shared by `run`, `start -a`, `attach` and `exec`: stdin copying
//! with detach keys, output decoding, resize and signal forwarding, and the wait call.
//!
//! Runs in the CLI process. The calling thread reads the container's output until EOF; a
//! stdin thread copies input into the hijacked socket and half-closes it at EOF; a wait
//! thread reads the `/wait` body once its headers have arrived (so the wait is
//! registered before start). Raw mode, if any, is restored when the session ends.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread;

use anyhow::Result;
use nix::sys::signal::Signal;
use serde_json::Value;

use crate::client::hijack::Hijacked;
use crate::client::{stream, Client};
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

/// Streams a hijacked connection until the output ends or the user detaches.
pub fn stream(hj: Hijacked, s: &Streams) -> Result<Outcome> {
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
    let res = stream::copy_output(hj.reader, s.tty);
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

/// Sends `POST /containers/{id}/wait?condition=…`, returns once the response headers
/// arrived, and delivers the body on the returned channel.
pub fn wait_start(c: &Client, id: &str, condition: &str) -> Result<Receiver<WaitResult>> {
    let (tx, rx) = mpsc::channel();
    if !c.version_at_least("1.30")? {
        // Before 1.30 there are no conditions and the headers only come at the end.
        let (c, path) = (c.clone(), format!("/containers/{id}/wait"));
        thread::Builder::new().name("wait".into()).spawn(move || {
            let r = c
                .request("POST", &path, &[], None)
                .and_then(|r| r.json::<Value>())
                .map_err(|e| format!("{e:#}"))
                .map(|v| v.get("StatusCode").and_then(Value::as_i64).unwrap_or(0));
            let _ = tx.send(r);
        })?;
        return Ok(rx);
    }
    let path = format!("/containers/{id}/wait?condition={condition}");
    let resp = c.request("POST", &path, &[], None)?;
    thread::Builder::new().name("wait".into()).spawn(move || {
        let r = match resp.json::<Value>() {
            Ok(v) => match v
                .get("Error")
                .and_then(|e| e.get("Message"))
                .and_then(Value::as_str)
            {
                Some(m) if !m.is_empty() => Err(m.to_string()),
                _ => Ok(v.get("StatusCode").and_then(Value::as_i64).unwrap_or(0)),
            },
            Err(e) => Err(format!("{e:#}")),
        };
        let _ = tx.send(r);
    })?;
    Ok(rx)
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

/// Starts the signal thread for an attached session: SIGWINCH → resize (TTY on a
/// terminal), other signals → `kill?signal=NAME` (non-TTY). Call before other threads.
pub fn install_signals(c: &Client, base: String, tty: bool) -> Result<()> {
    let c = c.clone();
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
        return Ok(());
    }
    term::signal_thread(&sigs, move |sig| {
        if sig == Signal::SIGWINCH {
            resize(&c, &base);
        } else {
            let name = sig.as_str().trim_start_matches("SIG");
            let _ = c
                .request("POST", &format!("{base}/kill?signal={name}"), &[], None)
                .and_then(|r| r.discard());
        }
    })?;
    Ok(())
}
