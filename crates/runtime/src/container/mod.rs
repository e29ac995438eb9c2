//! The container verbs, one file per operation, all methods of [`Runtime`].
//!
//! Runs in the runtime process on the host. [`Runtime`] is the context (runtime root
//! directory, cache directories); there is no process-global state.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxResources, Process};

use crate::cgroups::Stats;
use crate::error::Result;
use crate::state::ContainerState;

/// The runtime context: where state records and caches live.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// State root (`--root`), e.g. /run/berth-runtime.
    pub root: PathBuf,
}

/// Options of `create` and `run`.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Container id.
    pub id: String,
    /// Bundle directory holding config.json.
    pub bundle: PathBuf,
    /// Where to write the init's host pid.
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when `process.terminal` is true.
    pub console_socket: Option<PathBuf>,
    /// Number of fds after stdio (3..3+n) passed through to the container.
    pub preserve_fds: u32,
    /// Use chroot-like MS_MOVE instead of pivot_root (for ramfs roots).
    pub no_pivot: bool,
}

/// Options of `exec`.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Return as soon as the process has started.
    pub detach: bool,
    /// Where to write the process's host pid.
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when `process.terminal` is true.
    pub console_socket: Option<PathBuf>,
    /// Number of fds after stdio passed through.
    pub preserve_fds: u32,
}

impl Runtime {
    /// A runtime rooted at `root` (created on first use, mode 0700).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Directory of cached compiled seccomp programs.
    pub fn seccomp_cache_dir(&self) -> PathBuf {
        self.root.join(".seccomp-cache")
    }

    /// Load a container's record with its status refreshed from the live system.
    pub fn load(&self, id: &str) -> Result<ContainerState> {
        let _ = id;
        todo!()
    }

    /// Create the container: the init is set up and waits for `start`. Returns its state.
    pub fn create(&self, opts: &CreateOptions) -> Result<ContainerState> {
        let _ = opts;
        todo!()
    }

    /// Release a created container's init to execve the user process.
    pub fn start(&self, id: &str) -> Result<()> {
        let _ = id;
        todo!()
    }

    /// Create and start; unless `detach`, wait and return the exit code (128+signal if killed).
    pub fn run(&self, opts: &CreateOptions, detach: bool) -> Result<i32> {
        let _ = (opts, detach);
        todo!()
    }

    /// All containers under the root, statuses refreshed.
    pub fn list(&self) -> Result<Vec<ContainerState>> {
        todo!()
    }

    /// Send `signal` to the init, or with `all` to every process in the container's cgroup.
    pub fn kill(&self, id: &str, signal: i32, all: bool) -> Result<()> {
        let _ = (id, signal, all);
        todo!()
    }

    /// Remove every trace of a stopped (or created) container; `force` kills a running one.
    pub fn delete(&self, id: &str, force: bool) -> Result<()> {
        let _ = (id, force);
        todo!()
    }

    /// Run an additional process inside the container. Returns the exit code unless
    /// `opts.detach`, in which case returns 0 once the process has started.
    pub fn exec(&self, id: &str, process: &Process, opts: &ExecOptions) -> Result<i32> {
        let _ = (id, process, opts);
        todo!()
    }

    /// Freeze all processes of the container.
    pub fn pause(&self, id: &str) -> Result<()> {
        let _ = id;
        todo!()
    }

    /// Thaw a paused container.
    pub fn resume(&self, id: &str) -> Result<()> {
        let _ = id;
        todo!()
    }

    /// Host pids of every process in the container.
    pub fn pids(&self, id: &str) -> Result<Vec<i32>> {
        let _ = id;
        todo!()
    }

    /// Resource usage from the container's cgroup.
    pub fn stats(&self, id: &str) -> Result<Stats> {
        let _ = id;
        todo!()
    }

    /// Change the container's resource limits.
    pub fn update(&self, id: &str, resources: &LinuxResources) -> Result<()> {
        let _ = (id, resources);
        todo!()
    }
}

#[allow(dead_code)]
fn _path(_: &Path) {}
