//! `run`: create with the handshake channel as the start gate, start at once, and in the
//! foreground wait for the process and delete the container afterwards (as runc does).

use nix::unistd::Pid;

use super::{CreateOptions, Runtime};
use crate::error::{Error, Result};
use crate::init::sync::Msg;
use crate::state::{self, Status};

impl Runtime {
    /// Create and start; unless `detach`, wait and return the exit code (128+signal if killed).
    pub fn run(&self, opts: &CreateOptions, detach: bool) -> Result<i32> {
        let created = self.create_with_gate(opts, None, false, !detach)?;
        let mut st = created.state;
        let started = created
            .channel
            .send(&Msg::Start)
            .map_err(|e| Error::sys("handshake", e))
            .and_then(|()| match created.channel.recv() {
                Ok(Msg::Eof) => Ok(()),
                Ok(Msg::Error(e)) => Err(Error::Init(e)),
                Ok(m) => Err(Error::Init(format!("unexpected handshake message {m:?}"))),
                Err(e) => Err(Error::sys("handshake", e)),
            });
        if let Err(e) = started {
            let _ = self.delete(&opts.id, true);
            return Err(e);
        }
        st.status = Status::Running;
        state::save(&self.root, &st)?;
        self.poststart(&st, Some(&created.spec));
        if detach {
            return Ok(0);
        }
        let code =
            super::wait::wait_foreground(Pid::from_raw(st.pid), created.console_peer.as_ref())?;
        // We reaped the init ourselves: tear down without re-reading state or config.
        self.remove(&st, &created.cgroup, Some(&created.spec))?;
        Ok(code)
    }
}
