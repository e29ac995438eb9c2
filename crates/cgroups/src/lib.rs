#![deny(unsafe_code)]
#![warn(missing_docs)]
//! cgroups v1 and v2 for one container: create, apply limits, join, account, freeze, destroy.
//!
//! Runs in the runtime process (host namespaces). The hierarchy is detected at run time
//! from /proc/self/mountinfo. INTERFACE STUB — implemented by the cgroups work item.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

/// Errors from cgroup operations.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Placeholder until implemented.
    #[error("cgroups not implemented")]
    Unimplemented,
}

/// Resource usage of a container, shaped like runc's `events --stats` "data" object.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {}

/// One container's cgroup (all hierarchies on v1, one directory on v2).
#[derive(Debug, Clone)]
pub struct Cgroup {
    /// `linux.cgroupsPath`, relative to each hierarchy's root.
    pub path: PathBuf,
}

impl Cgroup {
    /// Resolve the cgroup for `cgroups_path` (absolute within the hierarchy; relative paths
    /// are taken relative to the root) on this host's hierarchy.
    pub fn new(cgroups_path: &Path) -> Result<Self, CgroupError> {
        Ok(Self { path: cgroups_path.to_path_buf() })
    }
    /// Create the directories and apply `resources`; on error remove what was created.
    pub fn create(&self, _resources: Option<&LinuxResources>) -> Result<(), CgroupError> {
        Err(CgroupError::Unimplemented)
    }
    /// On v2, an O_PATH|O_DIRECTORY fd of the cgroup dir for clone3's CLONE_INTO_CGROUP.
    pub fn clone_into_fd(&self) -> Option<OwnedFd> {
        None
    }
    /// Move `pid` (a whole thread group) into the cgroup on every hierarchy.
    pub fn add_pid(&self, _pid: i32) -> Result<(), CgroupError> {
        Err(CgroupError::Unimplemented)
    }
    /// Apply new limits to an existing cgroup (`update`).
    pub fn apply(&self, _resources: &LinuxResources) -> Result<(), CgroupError> {
        Err(CgroupError::Unimplemented)
    }
    /// Freeze every process in the cgroup and wait until frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        Err(CgroupError::Unimplemented)
    }
    /// Thaw the cgroup.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        Err(CgroupError::Unimplemented)
    }
    /// Whether the cgroup is currently frozen.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        Err(CgroupError::Unimplemented)
    }
    /// Pids of all processes in the cgroup.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        Err(CgroupError::Unimplemented)
    }
    /// Current resource usage.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        Err(CgroupError::Unimplemented)
    }
    /// Remove the cgroup directories (the cgroup must be empty); missing dirs are fine.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        Err(CgroupError::Unimplemented)
    }
}
