//! cgroup v2: one directory under the unified hierarchy, limits via interface files,
//! devices via an attached BPF program.
//!
//! Runs in the runtime process. A [`V2`] owns the container's directory `root/rel`;
//! `destroy` removes it and empty ancestors (the kernel frees the attached BPF program with
//! it). Follows Documentation/admin-guide/cgroup-v2.rst: controllers are enabled top-down
//! in each ancestor's `cgroup.subtree_control`; freezing via `cgroup.freeze` and the
//! `frozen` key of `cgroup.events`.

mod devices;
mod plan;
mod stats;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oci_spec::runtime::LinuxResources;

use crate::plan::Write;
use crate::{cgfs, CgroupError, Stats};

/// How long `freeze` waits for `frozen 1`.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// A container's cgroup on a pure v2 host (or on any cgroup2 mount).
#[derive(Debug, Clone)]
pub struct V2 {
    pub(crate) root: PathBuf,
    rel: PathBuf,
}

impl V2 {
    /// The cgroup `rel` (relative, validated) under the cgroup2 mount `root`.
    pub fn new(root: PathBuf, rel: PathBuf) -> Self {
        Self { root, rel }
    }

    fn dir(&self) -> PathBuf {
        self.root.join(&self.rel)
    }

    /// Create the directory (enabling controllers above it) and apply `r`; roll back on
    /// error.
    pub fn create(&self, r: Option<&LinuxResources>) -> Result<(), CgroupError> {
        let plan = r.map(plan::writes).transpose()?.unwrap_or_default();
        let rules = match r.and_then(|r| r.devices().as_ref()) {
            Some(d) => Some(crate::devices::normalize(d)?),
            None => None,
        };
        let created = cgfs::create_dirs(&self.root, &self.rel, &mut |_| Ok(()))?;
        let applied = self
            .enable_controllers()
            .and_then(|()| self.write_all(&plan))
            .and_then(|()| match &rules {
                Some(rules) => devices::apply_device_rules(&self.dir(), rules),
                None => Ok(()),
            });
        applied.inspect_err(|_| cgfs::remove_created(&created))
    }

    /// Enable every controller the root offers in each ancestor's `cgroup.subtree_control`
    /// (root first), so later `apply` calls find their files.
    fn enable_controllers(&self) -> Result<(), CgroupError> {
        let available = cgfs::read(&self.root.join("cgroup.controllers"))?;
        let all: Vec<String> = available
            .split_whitespace()
            .map(|c| format!("+{c}"))
            .collect();
        if all.is_empty() {
            return Ok(());
        }
        let joined = all.join(" ");
        let mut dir = self.root.clone();
        let parents: Vec<_> = self.rel.components().collect();
        for c in &parents[..parents.len().saturating_sub(1)] {
            enable_in(&dir, &joined, &all);
            dir.push(c);
        }
        enable_in(&dir, &joined, &all);
        Ok(())
    }

    fn write_all(&self, plan: &[Write]) -> Result<(), CgroupError> {
        let dir = self.dir();
        for w in plan {
            cgfs::write(&dir.join(&w.file), &w.value)?;
        }
        Ok(())
    }

    /// Apply `r` to the existing cgroup (devices: replace the BPF program).
    pub fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let plan = plan::writes(r)?;
        let rules = r
            .devices()
            .as_ref()
            .map(|d| crate::devices::normalize(d))
            .transpose()?;
        self.write_all(&plan)?;
        match rules {
            Some(rules) => devices::apply_device_rules(&self.dir(), &rules),
            None => Ok(()),
        }
    }

    /// O_PATH fd of the directory for clone3(CLONE_INTO_CGROUP).
    pub fn clone_into_fd(&self) -> Option<OwnedFd> {
        crate::sys::fs::open_dir_path(&self.dir()).ok()
    }

    /// Write `pid` to `cgroup.procs`.
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        cgfs::write(&self.dir().join("cgroup.procs"), &pid.to_string())
    }

    /// Write `1` to `cgroup.freeze` and wait for `frozen 1` in `cgroup.events`.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        let dir = self.dir();
        cgfs::write(&dir.join("cgroup.freeze"), "1")?;
        let events = dir.join("cgroup.events");
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            if frozen(&cgfs::read(&events)?) {
                return Ok(());
            }
            if start.elapsed() > FREEZE_TIMEOUT {
                // Leave the cgroup runnable; the timeout is what the caller must see.
                let _ = cgfs::write(&dir.join("cgroup.freeze"), "0");
                return Err(CgroupError::FreezeTimeout {
                    path: events,
                    state: "frozen 0".to_string(),
                    waited_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    /// Write `0` to `cgroup.freeze`.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        cgfs::write(&self.dir().join("cgroup.freeze"), "0")
    }

    /// Whether `cgroup.events` says `frozen 1`.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        Ok(frozen(&cgfs::read(&self.dir().join("cgroup.events"))?))
    }

    /// Pids in the cgroup and its descendants.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let mut out = Vec::new();
        cgfs::collect_procs(&self.dir(), &mut out)?;
        Ok(out)
    }

    /// Usage counters.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        stats::read_stats(&self.dir())
    }

    /// OOM kills so far (`memory.events`); 0 without the memory controller.
    pub fn oom_kills(&self) -> Result<u64, CgroupError> {
        stats::read_oom_kills(&self.dir())
    }

    /// Remove the directory (ancestors stay, as with runc: they are shared).
    pub fn destroy(&self) -> Result<(), CgroupError> {
        cgfs::remove_cgroup(&self.dir(), Instant::now() + cgfs::RMDIR_PATIENCE)
    }
}

/// Write all controllers at once; if the kernel refuses (one controller cannot be enabled
/// here), enable them one by one and skip the refused ones — a resource that needs one
/// then fails with the missing interface file named.
fn enable_in(dir: &Path, joined: &str, each: &[String]) {
    let file = dir.join("cgroup.subtree_control");
    if cgfs::write(&file, joined).is_ok() {
        return;
    }
    for c in each {
        // Deliberately best-effort, see above.
        let _ = cgfs::write(&file, c);
    }
}

fn frozen(events: &str) -> bool {
    events.lines().any(|l| l.trim() == "frozen 1")
}
