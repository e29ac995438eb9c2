//! Waiting for a child we spawned (`run`, `exec` in the foreground) while forwarding the
//! signals the user sends us to it, the way runc does for a non-detached process.

use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::tty_relay::Relay;
use crate::error::{Error, Result};

const FORWARDED: &[Signal] = &[
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

/// Block the signals we forward (and SIGCHLD) in this thread, before any helper thread
/// is spawned so those inherit the mask and never take them.
pub(super) fn block_signals() -> Result<SigSet> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    for s in FORWARDED {
        set.add(*s);
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
        .map_err(|e| Error::sys("block signals", e))?;
    Ok(set)
}

/// Wait for `pid` to exit, forwarding signals; returns its exit code (128+n if killed).
/// With a terminal relay, SIGWINCH resizes the container's terminal instead.
pub(super) fn wait_forwarding(pid: Pid, set: &SigSet, relay: Option<&Relay>) -> Result<i32> {
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) => {}
            Err(nix::errno::Errno::ECHILD) => return Ok(0),
            Err(e) => return Err(Error::sys("waitpid", e)),
        }
        let sig = set.wait().map_err(|e| Error::sys("sigwait", e))?;
        match (sig, relay) {
            (Signal::SIGCHLD, _) => {}
            (Signal::SIGWINCH, Some(r)) => r.resize(),
            _ => {
                let _ = kill(pid, sig);
            }
        }
    }
}

/// Block signals, start the terminal relay if there is one, wait, drain its output.
pub(super) fn wait_foreground(
    pid: Pid,
    console: Option<&super::tty_relay::ConsolePeer>,
) -> Result<i32> {
    let set = block_signals()?;
    let relay = match console {
        Some(peer) => Some(Relay::start(peer.receive_master()?)?),
        None => None,
    };
    let code = wait_forwarding(pid, &set, relay.as_ref())?;
    if let Some(r) = &relay {
        r.drain();
    }
    Ok(code)
}
