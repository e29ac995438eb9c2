//! The one error type of this crate, [`CgroupError`].
//!
//! Runs in whichever process calls the crate (the runtime, host namespaces); owns nothing.
//! Each variant names the step that failed and the cgroupfs path (and value) involved. The
//! underlying `io::Error` is part of the message (runc-style one-line errors, e.g.
//! `write /sys/fs/cgroup/memory/x/memory.limit_in_bytes = "abc": Invalid argument`) and is
//! kept in the variant for matching on `kind()`, so it is deliberately not a `#[source]`.

use std::io;
use std::path::PathBuf;

/// Errors from cgroup operations.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// `linux.cgroupsPath` is not acceptable (`..` component, empty).
    #[error("invalid cgroups path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// /proc/self/mountinfo could not be read.
    #[error("read /proc/self/mountinfo: {err}")]
    ReadMountinfo {
        /// The read error.
        err: io::Error,
    },
    /// Neither a cgroup v1 controller nor a cgroup2 hierarchy is mounted.
    #[error("no cgroup hierarchy mounted (checked /proc/self/mountinfo)")]
    NoHierarchy,
    /// A resource was requested whose v1 controller is not mounted on this host.
    #[error("{resource} requested but the {controller} cgroup controller is not mounted")]
    ControllerMissing {
        /// The controller (`hugetlb`, `net_cls`, ...).
        controller: &'static str,
        /// The OCI resource that needs it.
        resource: &'static str,
    },
    /// A swap limit was requested but the kernel has no memsw accounting.
    #[error("memory.swap requested but {path} does not exist (kernel built without swap accounting or swapaccount=0)")]
    SwapUnsupported {
        /// The missing memsw file.
        path: PathBuf,
    },
    /// A resource value cannot be expressed in cgroupfs.
    #[error("invalid {field} value {value:?}: {reason}")]
    InvalidValue {
        /// Which OCI field.
        field: &'static str,
        /// The offending value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// Creating a cgroup directory failed.
    #[error("mkdir {path}: {err}")]
    Mkdir {
        /// The directory.
        path: PathBuf,
        /// The mkdir error.
        err: io::Error,
    },
    /// Writing a cgroupfs file failed.
    #[error("write {path} = {value:?}: {err}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What was written.
        value: String,
        /// The open or write error.
        err: io::Error,
    },
    /// Reading a cgroupfs file failed.
    #[error("read {path}: {err}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The read error.
        err: io::Error,
    },
    /// A cgroupfs file had unexpected contents.
    #[error("parse {path}: unexpected content {content:?}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The part that did not parse.
        content: String,
    },
    /// Removing a cgroup directory failed (after retrying while busy).
    #[error("rmdir {path}: {err}")]
    Rmdir {
        /// The directory.
        path: PathBuf,
        /// The last rmdir error.
        err: io::Error,
    },
    /// Opening the cgroup directory (for CLONE_INTO_CGROUP or BPF attach) failed.
    #[error("open {path}: {err}")]
    OpenDir {
        /// The directory.
        path: PathBuf,
        /// The open error.
        err: io::Error,
    },
    /// The freezer did not reach the wanted state in time.
    #[error("freeze {path}: still {state:?} after {waited_ms} ms")]
    FreezeTimeout {
        /// The state or events file polled.
        path: PathBuf,
        /// The last state seen.
        state: String,
        /// How long we waited.
        waited_ms: u64,
    },
    /// The kernel rejected the generated device-filter BPF program.
    #[error("load device BPF program for {path}: {err}; verifier log: {log}")]
    BpfLoad {
        /// The cgroup directory.
        path: PathBuf,
        /// The bpf(BPF_PROG_LOAD) error.
        err: io::Error,
        /// The verifier log (may be empty).
        log: String,
    },
    /// A bpf() step on an attached device program failed.
    #[error("{step} device BPF program on {path}: {err}")]
    Bpf {
        /// `attach`, `query`, `detach` or `get fd of`.
        step: &'static str,
        /// The cgroup directory.
        path: PathBuf,
        /// The bpf() error.
        err: io::Error,
    },
    /// Several teardown steps failed; all were attempted.
    #[error("destroy cgroup: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Destroy(Vec<CgroupError>),
}
