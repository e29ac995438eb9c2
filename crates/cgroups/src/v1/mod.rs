//! cgroup v1 (and hybrid): one directory per mounted hierarchy, limits per controller.
//!
//! Runs in the runtime process. A [`V1`] owns the container's directory `rel` under every
//! v1 hierarchy (controllers and named ones such as `name=systemd`) and, on hybrid hosts,
//! under the controller-less cgroup2 mount; `destroy` removes them plus empty ancestors.
//! Follows Documentation/admin-guide/cgroup-v1/ and runc's v1 behaviour (join every
//! hierarchy, copy cpuset.cpus/mems into new cpuset levels, freezer.state polling).

mod blkio;
mod cpu;
mod memory;
mod misc;
mod stats;

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oci_spec::runtime::LinuxResources;

use crate::detect::V1Mount;
use crate::plan::Write;
use crate::{cgfs, devices, CgroupError, Stats};

/// How long `freeze` waits for `FROZEN`.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// A container's cgroup on a v1/hybrid host.
#[derive(Debug, Clone)]
pub struct V1 {
    mounts: Vec<V1Mount>,
    unified: Option<PathBuf>,
    rel: PathBuf,
}

impl V1 {
    /// The cgroup `rel` (relative, validated) on these hierarchies.
    pub fn new(mounts: Vec<V1Mount>, unified: Option<PathBuf>, rel: PathBuf) -> Self {
        Self {
            mounts,
            unified,
            rel,
        }
    }

    /// Every hierarchy root this cgroup lives under (v1 mounts, then the unified one).
    fn roots(&self) -> impl Iterator<Item = &Path> {
        self.mounts
            .iter()
            .map(|m| m.mountpoint.as_path())
            .chain(self.unified.as_deref())
    }

    fn mount_of(&self, controller: &str) -> Option<&V1Mount> {
        self.mounts.iter().find(|m| m.has(controller))
    }

    /// The container's directory in the hierarchy of `controller`.
    pub fn dir_of(&self, controller: &str) -> Option<PathBuf> {
        self.mount_of(controller)
            .map(|m| m.mountpoint.join(&self.rel))
    }

    /// Decide every write for `r`. Reads only what the decision needs: the memsw limit
    /// when both limit and swap change on an existing cgroup, and which blkio weight file
    /// the kernel has when a weight is set.
    fn plan(&self, r: &LinuxResources, existing: bool) -> Result<Vec<Write>, CgroupError> {
        let mut w = Vec::new();
        if let Some(mem) = r.memory() {
            let mut current_memsw = u64::MAX;
            if mem.swap().is_some() {
                let root = self
                    .mount_of("memory")
                    .map(|m| m.mountpoint.join(memory::MEMSW_LIMIT));
                match root {
                    Some(p) if !p.exists() => return Err(CgroupError::SwapUnsupported { path: p }),
                    _ => {}
                }
                if existing && mem.limit().is_some() {
                    if let Some(dir) = self.dir_of("memory") {
                        current_memsw = cgfs::read_u64(&dir.join(memory::MEMSW_LIMIT))?;
                    }
                }
            }
            w.extend(memory::memory_writes(mem, current_memsw));
        }
        if let Some(c) = r.cpu() {
            w.extend(cpu::cpu_writes(c));
        }
        w.extend(misc::pids_writes(r));
        if let Some(bio) = r.block_io() {
            let mut files = blkio::WeightFiles::Cfq;
            if blkio::needs_weight_files(bio) {
                let root = self
                    .mount_of("blkio")
                    .map(|m| m.mountpoint.join("blkio.weight"));
                if root.is_some_and(|p| !p.exists()) {
                    files = blkio::WeightFiles::Bfq;
                }
            }
            w.extend(blkio::blkio_writes(bio, files));
        }
        w.extend(misc::hugetlb_writes(r)?);
        w.extend(misc::net_writes(r));
        if let Some(d) = r.devices() {
            w.extend(devices::v1_writes(&devices::normalize(d)?));
        }
        for x in &w {
            if self.mount_of(x.controller).is_none() {
                return Err(CgroupError::ControllerMissing {
                    controller: x.controller,
                    resource: resource_name(x.controller),
                });
            }
        }
        Ok(w)
    }

    fn write_all(&self, plan: &[Write]) -> Result<(), CgroupError> {
        for w in plan {
            let dir = self
                .dir_of(w.controller)
                .ok_or(CgroupError::ControllerMissing {
                    controller: w.controller,
                    resource: resource_name(w.controller),
                })?;
            cgfs::write(&dir.join(&w.file), &w.value)?;
        }
        Ok(())
    }

    /// Create the directory in every hierarchy and apply `r`; roll back on error.
    /// Create only the cgroup2 (`unified`) directory, the target of CLONE_INTO_CGROUP.
    pub fn create_clone_target(&self) -> Result<(), CgroupError> {
        match &self.unified {
            Some(u) => cgfs::create_dirs(u, &self.rel, &mut |_| Ok(())).map(drop),
            None => Ok(()),
        }
    }

    pub fn create(&self, r: Option<&LinuxResources>) -> Result<(), CgroupError> {
        let plan = match r {
            Some(r) => self.plan(r, false)?,
            None => Vec::new(),
        };
        let mut created = Vec::new();
        for m in &self.mounts {
            let cpuset = m.has("cpuset");
            let mut fill = |dir: &Path| {
                if cpuset {
                    copy_cpuset_from_parent(dir)
                } else {
                    Ok(())
                }
            };
            match cgfs::create_dirs(&m.mountpoint, &self.rel, &mut fill) {
                Ok(c) => created.extend(c),
                Err(e) => {
                    cgfs::remove_created(&created);
                    return Err(e);
                }
            }
        }
        if let Some(u) = &self.unified {
            match cgfs::create_dirs(u, &self.rel, &mut |_| Ok(())) {
                Ok(c) => created.extend(c),
                Err(e) => {
                    cgfs::remove_created(&created);
                    return Err(e);
                }
            }
        }
        self.write_all(&plan)
            .inspect_err(|_| cgfs::remove_created(&created))
    }

    /// Apply `r` to the existing cgroup.
    pub fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        let plan = self.plan(r, true)?;
        self.write_all(&plan)
    }

    /// Write `pid` to `cgroup.procs` in every hierarchy.
    pub fn add_pid(&self, pid: i32) -> Result<(), CgroupError> {
        let pid = pid.to_string();
        for root in self.roots() {
            cgfs::write(&root.join(&self.rel).join("cgroup.procs"), &pid)?;
        }
        Ok(())
    }

    /// The unified (cgroup2) directory of a hybrid host, for CLONE_INTO_CGROUP.
    pub fn clone_into_fd(&self) -> Option<OwnedFd> {
        let unified = self.unified.as_ref()?;
        crate::sys::fs::open_dir_path(&unified.join(&self.rel)).ok()
    }

    /// Move the calling thread into every v1 hierarchy by writing "0" to `tasks`; with
    /// `skip_unified` the cgroup2 hierarchy is left alone (already joined via clone3).
    ///
    /// Writing "0" (current thread) to `tasks` lets the kernel skip the global
    /// cgroup_threadgroup_rwsem (cgroup_procs_write_start): no RCU grace period, ~30 µs
    /// instead of ~10 ms for the first pid written to `cgroup.procs`. The caller must be
    /// single-threaded so the thread is the whole process.
    pub fn join_self(&self, skip_unified: bool) -> Result<(), CgroupError> {
        for m in &self.mounts {
            cgfs::write(&m.mountpoint.join(&self.rel).join("tasks"), "0")?;
        }
        if let (Some(u), false) = (&self.unified, skip_unified) {
            cgfs::write(&u.join(&self.rel).join("cgroup.procs"), "0")?;
        }
        Ok(())
    }

    fn freezer_state(&self) -> Result<PathBuf, CgroupError> {
        self.dir_of("freezer")
            .map(|d| d.join("freezer.state"))
            .ok_or(CgroupError::ControllerMissing {
                controller: "freezer",
                resource: "freeze",
            })
    }

    /// Write `FROZEN` and poll `freezer.state` until it reads `FROZEN`.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        let state = self.freezer_state()?;
        cgfs::write(&state, "FROZEN")?;
        let start = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let now = cgfs::read(&state)?;
            if now.trim() == "FROZEN" {
                return Ok(());
            }
            if start.elapsed() > FREEZE_TIMEOUT {
                // Leave the cgroup runnable rather than half frozen; the timeout is the
                // error the caller needs to see.
                let _ = cgfs::write(&state, "THAWED");
                return Err(CgroupError::FreezeTimeout {
                    path: state,
                    state: now.trim().to_string(),
                    waited_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    /// Write `THAWED`.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        cgfs::write(&self.freezer_state()?, "THAWED")
    }

    /// Whether `freezer.state` reads `FROZEN`.
    pub fn is_frozen(&self) -> Result<bool, CgroupError> {
        Ok(cgfs::read(&self.freezer_state()?)?.trim() == "FROZEN")
    }

    /// Pids in the cgroup (and its descendants) of one hierarchy.
    pub fn pids(&self) -> Result<Vec<i32>, CgroupError> {
        let dir = ["pids", "memory", "freezer"]
            .iter()
            .find_map(|c| self.dir_of(c))
            .or_else(|| self.roots().next().map(|r| r.join(&self.rel)));
        let mut out = Vec::new();
        if let Some(d) = dir {
            cgfs::collect_procs(&d, &mut out)?;
        }
        Ok(out)
    }

    /// Usage counters.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        stats::read_stats(self)
    }

    /// OOM kills so far (`memory.oom_control`); 0 without the memory controller.
    pub fn oom_kills(&self) -> Result<u64, CgroupError> {
        stats::read_oom_kills(self)
    }

    /// Remove the directory (and now-empty ancestors) from every hierarchy.
    /// The hierarchy description this cgroup was built from.
    pub fn hierarchy(&self) -> crate::Hierarchy {
        crate::Hierarchy::V1 {
            mounts: self.mounts.clone(),
            unified: self.unified.clone(),
        }
    }

    /// See [`crate::Cgroup::remove_empty_ancestors`].
    pub fn remove_empty_ancestors(&self) {
        for root in self.roots() {
            cgfs::remove_empty_ancestors(root, &self.rel);
        }
    }

    pub fn destroy(&self) -> Result<(), CgroupError> {
        let mut errors = Vec::new();
        let deadline = Instant::now() + cgfs::RMDIR_PATIENCE;
        for root in self.roots() {
            match cgfs::remove_cgroup(&root.join(&self.rel), deadline) {
                Ok(()) => {}
                Err(e) => errors.push(e),
            }
        }
        crate::collect_errors(errors)
    }
}

/// Which OCI resource a controller serves (for `ControllerMissing`).
fn resource_name(controller: &str) -> &'static str {
    match controller {
        "memory" => "memory",
        "cpu" => "cpu",
        "cpuset" => "cpu.cpus/cpu.mems",
        "pids" => "pids",
        "blkio" => "blockIO",
        "hugetlb" => "hugepageLimits",
        "net_cls" => "network.classID",
        "net_prio" => "network.priorities",
        "devices" => "devices",
        _ => "resources",
    }
}

/// A new cpuset cgroup starts with empty cpus/mems and refuses tasks: copy the parent's
/// (filling the parent first if it is empty too, e.g. created concurrently).
fn copy_cpuset_from_parent(dir: &Path) -> Result<(), CgroupError> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let value = cpuset_value(dir.parent(), file)?;
        cgfs::write(&dir.join(file), &value)?;
    }
    Ok(())
}

fn cpuset_value(dir: Option<&Path>, file: &str) -> Result<String, CgroupError> {
    let Some(dir) = dir else {
        return Ok(String::new());
    };
    let value = cgfs::read(&dir.join(file))?.trim().to_string();
    if !value.is_empty() || !dir.join("..").join(file).exists() {
        return Ok(value);
    }
    let parent_value = cpuset_value(dir.parent(), file)?;
    cgfs::write(&dir.join(file), &parent_value)?;
    Ok(parent_value)
}
