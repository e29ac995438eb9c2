//! Terminal handling for interactive containers: tty detection, raw mode (restored on
//! drop), window size, and a signalfd (SIGWINCH for resizes, INT/TERM/… for the signal
//! proxy).
//!
//! Runs in the CLI process. `RawMode` owns the saved termios of stdin and restores it when
//! dropped. `signal_fd` blocks the given signals in the calling thread (and so in every
//! thread spawned afterwards) and returns a signalfd that receives them; it must be
//! called before other threads are started. The only `unsafe` is the TIOCGWINSZ ioctl.

use std::io;
use std::os::fd::AsFd;

use nix::sys::signal::{SigSet, Signal};
use nix::sys::termios::{self, SetArg, Termios};

/// Restores the default SIGPIPE action (Rust ignores it), so writing to a closed stdout
/// ends the CLI quietly like Docker's. Socket writes use `MSG_NOSIGNAL` (`client::sock`).
pub fn default_sigpipe() {
    use nix::sys::signal::{signal, SigHandler};
    // SAFETY: SigDfl installs no handler function, so there is no handler code whose
    // async-signal-safety could matter; this runs in main before any thread starts.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// True when `fd` is a terminal.
pub fn is_tty(fd: impl AsFd) -> bool {
    nix::unistd::isatty(fd).unwrap_or(false)
}

/// Stdin in raw mode until dropped.
#[derive(Debug)]
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Puts stdin into raw mode (cfmakeraw), remembering the old settings.
    pub fn enable() -> io::Result<Self> {
        let stdin = io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd())?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // Nothing useful to do if the terminal went away.
        let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// The terminal size of stdout (or stdin) as (rows, columns), if either is a terminal.
pub fn size() -> Option<(u16, u16)> {
    use std::os::fd::AsRawFd;
    for fd in [io::stdout().as_raw_fd(), io::stdin().as_raw_fd()] {
        let mut ws = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // The fd is stdout/stdin, owned by the process for its whole life; on error the
        // kernel writes nothing and we ignore the struct.
        // SAFETY: `ws` is a live, properly aligned `winsize` that TIOCGWINSZ fills in.
        let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
        if rc == 0 && ws.ws_row > 0 {
            return Some((ws.ws_row, ws.ws_col));
        }
    }
    None
}

/// Blocks `signals` in this thread and its future children and returns a non-blocking
/// signalfd that receives them instead. Call before spawning other threads.
///
/// A signalfd rather than a thread in `sigwait`: the attached session polls it beside
/// the connection, so `run` needs no extra thread (a thread costs its creation and, at
/// exit, up to a few tenths of a millisecond on a loaded machine).
pub fn signal_fd(signals: &[Signal]) -> io::Result<nix::sys::signalfd::SignalFd> {
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    let mut set = SigSet::empty();
    for s in signals {
        set.add(*s);
    }
    set.thread_block()?;
    Ok(SignalFd::with_flags(
        &set,
        SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
    )?)
}

/// Parses `--detach-keys` (`ctrl-p,ctrl-q`, `a`, `ctrl-@`…) into bytes.
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for key in s.split(',') {
        let k = key.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = match c.as_bytes() {
                [b @ b'a'..=b'z'] => b - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => return Err(format!("Unknown character: '{k}'")),
            };
            out.push(b);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            return Err(format!("Unknown character: '{k}'"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys("a,ctrl-@").unwrap(), vec![b'a', 0]);
        assert!(parse_detach_keys("ctrl-1").is_err());
        assert!(parse_detach_keys("abc").is_err());
    }
}
