//! Read-mostly verbs: `state`/`list` (status refreshed from the live system), `ps`,
//! `events --stats`, `pause`, `resume`, `update`.

use oci_spec::runtime::LinuxResources;

use super::Runtime;
use crate::cgroups::{Cgroup, Stats};
use crate::error::{Error, Result};
use crate::state::{self, ContainerState, Status};

impl Runtime {
    /// Load a container's record with its status refreshed from the live system.
    pub fn load(&self, id: &str) -> Result<ContainerState> {
        let mut st = state::load(&self.root, id)?;
        st.status = if st.pid == 0 {
            Status::Creating
        } else if !st.init_alive() {
            Status::Stopped
        } else if state::dir(&self.root, id).join("exec.fifo").exists() {
            Status::Created
        } else if Cgroup::new(&st.cgroup_path)
            .and_then(|c| c.is_frozen())
            .unwrap_or(false)
        {
            Status::Paused
        } else {
            Status::Running
        };
        Ok(st)
    }

    /// All containers under the root, statuses refreshed.
    pub fn list(&self) -> Result<Vec<ContainerState>> {
        state::list_ids(&self.root)?
            .iter()
            .map(|id| self.load(id))
            .filter(|r| !matches!(r, Err(Error::NotFound(_))))
            .collect()
    }

    /// Host pids of every process in the container.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        let st = self.load(id)?;
        Ok(Cgroup::new(&st.cgroup_path)?.pids()?)
    }

    /// Resource usage from the container's cgroup.
    pub fn stats(&self, id: &str) -> Result<Stats> {
        let st = self.load(id)?;
        Ok(Cgroup::new(&st.cgroup_path)?.stats()?)
    }

    /// Freeze all processes of the container.
    pub fn pause(&self, id: &str) -> Result<()> {
        let st = self.load(id)?;
        if st.status != Status::Running {
            return Err(Error::BadStatus {
                op: "cannot pause container",
                id: id.into(),
                status: st.status,
            });
        }
        Ok(Cgroup::new(&st.cgroup_path)?.freeze()?)
    }

    /// Thaw a paused container.
    pub fn resume(&self, id: &str) -> Result<()> {
        let st = self.load(id)?;
        if st.status != Status::Paused {
            return Err(Error::BadStatus {
                op: "cannot resume container",
                id: id.into(),
                status: st.status,
            });
        }
        Ok(Cgroup::new(&st.cgroup_path)?.thaw()?)
    }

    /// Change the container's resource limits.
    pub fn update(&self, id: &str, resources: &LinuxResources) -> Result<()> {
        let st = self.load(id)?;
        if st.status == Status::Stopped {
            return Err(Error::BadStatus {
                op: "cannot update container",
                id: id.into(),
                status: st.status,
            });
        }
        Ok(Cgroup::new(&st.cgroup_path)?.apply(resources)?)
    }
}
