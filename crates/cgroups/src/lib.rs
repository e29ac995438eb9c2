#![deny(unsafe_code)]
#![warn(missing_docs)]
//! cgroups v1 and v2 for one container: create, apply limits, join, account, freeze, destroy.
//!
//! Runs in the runtime process (host namespaces). The hierarchy is detected at run time
//! from /proc/self/mountinfo each time a [`Cgroup`] is built (nothing cached in statics).
//! A [`Cgroup`] owns the container's cgroup directories once `create` succeeds; `destroy`
//! removes them. Limits follow the OCI runtime spec's `linux.resources` with runc's
//! conversions for v2; RDMA limits and v1 kernel-memory limits are not supported.

/// Cgroupfs reads, writes, mkdir/rmdir with path-naming errors.
mod cgfs;
/// Host hierarchy detection from /proc/self/mountinfo.
mod detect;
/// Device rules normalised for v1 files and the v2 BPF program.
mod devices;
/// The error type.
mod error;
/// The write-plan data type shared by v1 and v2.
mod plan;
/// Usage statistics types (runc `events --stats` shape).
mod stats;
/// Raw syscalls (bpf, open flags); the only module allowed `unsafe`.
#[allow(unsafe_code)]
mod sys;
/// cgroup v1 / hybrid hierarchies.
mod v1;
/// Pure cgroup v2.
mod v2;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;

pub use detect::{Hierarchy, V1Mount, HIERARCHY_ENV};
pub use error::CgroupError;
pub use stats::{
    BlkioEntry, BlkioStats, CpuStats, CpuUsage, HugetlbStats, MemoryEntry, MemoryStats, PidsStats,
    Stats, Throttling,
};

/// One container's cgroup (all hierarchies on v1, one directory on v2).
#[derive(Debug, Clone)]
pub struct Cgroup {
    /// `linux.cgroupsPath`, relative to each hierarchy's root.
    pub path: PathBuf,
    backend: Backend,
}

/// The version-specific implementation.
#[derive(Debug, Clone)]
enum Backend {
    V1(v1::V1),
    V2(v2::V2),
}

impl Cgroup {
    /// Resolve the cgroup for `cgroups_path` (absolute within the hierarchy; relative paths
    /// are taken relative to the root) on this host's hierarchy.
    pub fn new(cgroups_path: &Path) -> Result<Self, CgroupError> {
        Self::with_hierarchy(cgroups_path, Hierarchy::current()?)
    }

    /// Like [`Cgroup::new`] on an explicitly given hierarchy (e.g. a v2 cgroup on a hybrid
    /// host's `/sys/fs/cgroup/unified`).
    pub fn with_hierarchy(cgroups_path: &Path, hierarchy: Hierarchy) -> Result<Self, CgroupError> {
        let rel = cgfs::relative_path(cgroups_path)?;
        let backend = match hierarchy {
            Hierarchy::V1 { mounts, unified } => {
                Backend::V1(v1::V1::new(mounts, unified, rel.clone()))
            }
            Hierarchy::V2 { root } => Backend::V2(v2::V2::new(root, rel.clone())),
        };
        Ok(Self { path: rel, backend })
    }

    /// The host hierarchy this cgroup was resolved on (no new mountinfo read).
    pub fn hierarchy(&self) -> Hierarchy {
        match &self.backend {
            Backend::V1(c) => c.hierarchy(),
            Backend::V2(c) => Hierarchy::V2 {
                root: c.root.clone(),
            },
        }
    }

    /// Whether this cgroup lives on a pure v2 hierarchy.
    pub fn is_v2(&self) -> bool {
        matches!(self.backend, Backend::V2(_))
    }

    /// Create the directories and apply `resources`; on error remove what was created.
    pub fn create(&self, resources: Option<&LinuxResources>) -> Result<(), CgroupError> {
        let resources = resources.map(zero_means_unset);
        match &self.backend {
            Backend::V1(c) => c.create(resources.as_ref()),
            Backend::V2(c) => c.create(resources.as_ref()),
        }
    }

    /// Whether [`Cgroup::create`] may run after the process was cloned into
    /// [`Cgroup::clone_into_fd`] (v1, where the cgroup2 part carries no limits), so the
    /// caller can overlap the mkdirs with the child's own setup. On v2 the limits live
    /// in the clone target itself: create it fully first.
    pub fn can_create_after_clone(&self) -> bool {
        matches!(self.backend, Backend::V1(_))
    }

    /// Create just the directory [`Cgroup::clone_into_fd`] opens (v1 hybrid: the
    /// `unified` one); [`Cgroup::create`] later creates the rest and tolerates it.
    pub fn create_clone_target(&self) -> Result<(), CgroupError> {
        match &self.backend {
            Backend::V1(c) => c.create_clone_target(),
            Backend::V2(c) => c.create(None),
        }
    }

    /// An O_PATH|O_DIRECTORY fd of the cgroup2 directory for clone3's CLONE_INTO_CGROUP:
    /// the cgroup on v2, the `unified` hierarchy's directory on a hybrid host.
    pub fn clone_into_fd(&self) -> Option<OwnedFd> {
        match &self.backend {
            Backend::V1(c) => c.clone_into_fd(),
            Backend::V2(c) => c.clone_into_fd(),
        }
    }

    /// Whether the calling (single-threaded) process can join with [`Cgroup::join_self`]
    /// instead of being moved by pid: true on v1, where it avoids an RCU grace period.
    pub fn can_join_self(&self) -> bool {
        matches!(self.backend, Backend::V1(_))
    }

    /// Move the calling single-threaded process into the cgroup by writing "0" to each v1
    /// hierarchy's `tasks` (cheap: no global lock). `cloned_into` says the process was
    /// already placed in the cgroup2 hierarchy by CLONE_INTO_CGROUP.
    pub fn join_self(&self, cloned_into: bool) -> Result<(), CgroupError> {
        match &self.backend {
            Backend::V1(c) => c.join_self(cloned_into),
            Backend::V2(c) if cloned_into => Ok(()),
            Backend::V2(c) => c.add_pid(0),
        }
    }

    /// Move `pid` (a whole thread group) into the cgroup on every hierarchy.
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        match &self.backend {
            Backend::V1(c) => c.add_pid(pid),
            Backend::V2(c) => c.add_pid(pid),
        }
    }

    /// Apply new limits to an existing cgroup (`update`).
    pub fn apply(&self, resources: &LinuxResources) -> Result<(), CgroupError> {
        let resources = zero_means_unset(resources);
        match &self.backend {
            Backend::V1(c) => c.apply(&resources),
            Backend::V2(c) => c.apply(&resources),
        }
    }

    /// Freeze every process in the cgroup and wait until frozen (up to ~5 s).
    pub fn freeze(&self) -> Result<(), CgroupError> {
        match &self.backend {
            Backend::V1(c) => c.freeze(),
            Backend::V2(c) => c.freeze(),
        }
    }

    /// Thaw the cgroup.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        match &self.backend {
            Backend::V1(c) => c.thaw(),
            Backend::V2(c) => c.thaw(),
        }
    }

    /// Whether the cgroup is currently frozen.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        match &self.backend {
            Backend::V1(c) => c.is_frozen(),
            Backend::V2(c) => c.is_frozen(),
        }
    }

    /// Pids of all processes in the cgroup and its descendants, sorted, no duplicates.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let mut pids = match &self.backend {
            Backend::V1(c) => c.pids(),
            Backend::V2(c) => c.pids(),
        }?;
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Current resource usage.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        match &self.backend {
            Backend::V1(c) => c.stats(),
            Backend::V2(c) => c.stats(),
        }
    }

    /// How many processes the OOM killer killed in this cgroup so far; cheaper than
    /// [`Cgroup::stats`] when that is all the caller needs.
    pub fn oom_kills(&self) -> Result<u64, CgroupError> {
        match &self.backend {
            Backend::V1(c) => c.oom_kills(),
            Backend::V2(c) => c.oom_kills(),
        }
    }

    /// Remove the cgroup directories (the cgroup must be empty); missing dirs are fine.
    /// Ancestors are kept: they are shared with other containers (e.g. `/docker`), and
    /// removing and re-creating them on every run would cost a mkdir per hierarchy.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        match &self.backend {
            Backend::V1(c) => c.destroy(),
            Backend::V2(c) => c.destroy(),
        }
    }
}

/// runc treats 0 as "not set" for these limits, and dockerd relies on it (it always
/// sends `blkioWeight: 0`, which the kernel rejects as out of range).
fn zero_means_unset(r: &LinuxResources) -> LinuxResources {
    let mut r = r.clone();
    if let Some(mut m) = *r.memory() {
        if m.limit() == Some(0) {
            m.set_limit(None);
        }
        if m.reservation() == Some(0) {
            m.set_reservation(None);
        }
        if m.swap() == Some(0) {
            m.set_swap(None);
        }
        r.set_memory(Some(m));
    }
    if let Some(mut c) = r.cpu().clone() {
        if c.shares() == Some(0) {
            c.set_shares(None);
        }
        if c.quota() == Some(0) {
            c.set_quota(None);
        }
        if c.period() == Some(0) {
            c.set_period(None);
        }
        if c.realtime_runtime() == Some(0) {
            c.set_realtime_runtime(None);
        }
        if c.realtime_period() == Some(0) {
            c.set_realtime_period(None);
        }
        if c.cpus().as_deref() == Some("") {
            c.set_cpus(None);
        }
        if c.mems().as_deref() == Some("") {
            c.set_mems(None);
        }
        r.set_cpu(Some(c));
    }
    if let Some(mut b) = r.block_io().clone() {
        if b.weight() == Some(0) {
            b.set_weight(None);
        }
        if b.leaf_weight() == Some(0) {
            b.set_leaf_weight(None);
        }
        r.set_block_io(Some(b));
    }
    if r.pids().as_ref().is_some_and(|p| p.limit() == 0) {
        r.set_pids(None);
    }
    r
}

impl Cgroup {
    /// Remove the now-empty ancestors of this cgroup in every hierarchy, up to the
    /// hierarchy root; stops at the first one still in use. For callers that own a
    /// private parent (tests, a prefix per daemon) and want it gone with the last child.
    pub fn remove_empty_ancestors(&self) {
        match &self.backend {
            Backend::V1(c) => c.remove_empty_ancestors(),
            Backend::V2(c) => cgfs::remove_empty_ancestors(&c.root, &self.path),
        }
    }
}

/// `Ok` if no step failed, the error if one did, [`CgroupError::Destroy`] for several.
fn collect_errors(mut errors: Vec<CgroupError>) -> Result<(), CgroupError> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(CgroupError::Destroy(errors)),
    }
}
