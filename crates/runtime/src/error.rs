//! The error returned by the container verbs in [`crate::container`].
//!
//! Each variant names the step that failed; module errors are wrapped, not flattened,
//! so a caller can still match on them (e.g. to map "no such container" to 404).

use std::io;
use std::path::PathBuf;

use crate::cgroups::CgroupError;
use crate::config::ConfigError;
use crate::seccomp::SeccompError;

/// Errors from the container lifecycle operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bundle's config.json is missing, malformed or contradictory.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A cgroup operation failed.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// The seccomp profile could not be compiled or loaded.
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    /// No container with this id exists under the runtime root.
    #[error("container \"{0}\" does not exist")]
    NotFound(String),
    /// A container with this id already exists.
    #[error("container with id exists: {0}")]
    Exists(String),
    /// The container id is not acceptable (empty, path separators, `..`).
    #[error("invalid container id {0:?}: must match ^[\\w+-.]+$ and not be . or ..")]
    InvalidId(String),
    /// The operation is not allowed in the container's current status.
    #[error("{op}: container {id} is {status}")]
    BadStatus {
        /// What was attempted.
        op: &'static str,
        /// The container id.
        id: String,
        /// Its status at the time.
        status: crate::state::Status,
    },
    /// The container init reported a failure while setting itself up.
    #[error("container init failed: {0}")]
    Init(String),
    /// A lifecycle hook failed.
    #[error(transparent)]
    Hook(#[from] crate::hooks::HookError),
    /// A system call failed at a named step.
    #[error("{step}: {source}")]
    Sys {
        /// The step that failed, e.g. "clone3" or "write pid file /x/y".
        step: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Reading or writing the state record failed.
    #[error("state file {path}: {source}")]
    State {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The terminal / console socket hand-off failed.
    #[error(transparent)]
    Console(#[from] crate::console::ConsoleError),
    /// A requested feature is not supported by this runtime.
    #[error("{0} is not supported")]
    Unsupported(&'static str),
}

impl Error {
    /// Wrap an I/O error with the step that produced it.
    pub fn sys(step: impl Into<String>, source: impl Into<io::Error>) -> Self {
        Error::Sys {
            step: step.into(),
            source: source.into(),
        }
    }
}

/// Result alias for the container verbs.
pub type Result<T, E = Error> = std::result::Result<T, E>;
