//! `kill`: signal the init, or with `all` every process in the container's cgroup.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::Runtime;
use crate::cgroups::Cgroup;
use crate::error::{Error, Result};
use crate::state::Status;

impl Runtime {
    /// Send `signal` to the init, or with `all` to every process in the container's cgroup.
    pub fn kill(&self, id: &str, signal: i32, all: bool) -> Result<()> {
        let st = self.load(id)?;
        let sig =
            Signal::try_from(signal).map_err(|e| Error::sys(format!("signal {signal}"), e))?;
        if st.status == Status::Stopped {
            return Err(Error::BadStatus {
                op: "container not running",
                id: id.into(),
                status: st.status,
            });
        }
        if all {
            let cg = Cgroup::new(&st.cgroup_path)?;
            for pid in cg.pids()? {
                let _ = kill(Pid::from_raw(pid), sig);
            }
            // A frozen task cannot act on SIGKILL until thawed.
            if st.status == Status::Paused && sig == Signal::SIGKILL {
                cg.thaw()?;
            }
            return Ok(());
        }
        kill(Pid::from_raw(st.pid), sig)
            .map_err(|e| Error::sys(format!("kill {} {sig}", st.pid), e))
    }
}
