//! `delete`: remove every trace of a container: its processes (with `force`), cgroup,
//! state directory; then the poststop hooks. Runs in the runtime process.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::Runtime;
use crate::cgroups::Cgroup;
use crate::error::{Error, Result};
use crate::hooks::{self, Kind};
use crate::state::{self, ContainerState, Status};

impl Runtime {
    /// Remove every trace of a stopped (or created) container; `force` kills a running one.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let st = self.load(id)?;
        let cg = Cgroup::new(&st.cgroup_path)?;
        match st.status {
            Status::Stopped => {}
            Status::Created | Status::Creating => self.kill_and_wait(&st, &cg)?,
            Status::Running | Status::Paused if force => self.kill_and_wait(&st, &cg)?,
            status => {
                return Err(Error::BadStatus {
                    op: "cannot delete container that is not stopped",
                    id: id.into(),
                    status,
                });
            }
        }
        let spec = crate::config::load(&st.bundle).ok().map(|b| b.spec);
        self.remove(&st, &cg, spec.as_ref())
    }

    /// Tear down a container whose init is gone: stragglers, cgroup, state dir, then the
    /// poststop hooks of `spec` (if the bundle's config is still readable).
    pub(super) fn remove(
        &self,
        st: &ContainerState,
        cg: &Cgroup,
        spec: Option<&oci_spec::runtime::Spec>,
    ) -> Result<()> {
        // Stragglers (e.g. exec'd processes outliving the init with a shared pid ns).
        if !cg.pids().unwrap_or_default().is_empty() {
            self.kill_and_wait(st, cg)?;
        }
        let destroyed = cg.destroy();
        let mut final_state = st.clone();
        final_state.status = Status::Stopped;
        let removed = std::fs::remove_dir_all(state::dir(&self.root, &st.id));
        if let Some(spec) = spec {
            let json = serde_json::to_vec(&final_state.oci()).unwrap_or_default();
            if let Err(e) = hooks::run(spec, Kind::Poststop, &json) {
                eprintln!("berth-runtime: {e}");
            }
        }
        destroyed?;
        removed.map_err(|e| Error::sys(format!("remove state dir of {}", st.id), e))
    }

    /// SIGKILL the init and everything in the cgroup, then wait until they are gone.
    fn kill_and_wait(&self, st: &ContainerState, cg: &Cgroup) -> Result<()> {
        if st.init_alive() {
            let _ = kill(Pid::from_raw(st.pid), Signal::SIGKILL);
        }
        for pid in cg.pids().unwrap_or_default() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        if cg.is_frozen().unwrap_or(false) {
            cg.thaw()?;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while st.init_alive() || !cg.pids().unwrap_or_default().is_empty() {
            if Instant::now() > deadline {
                return Err(Error::Init(format!(
                    "processes of {} did not exit after SIGKILL",
                    st.id
                )));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }
}
