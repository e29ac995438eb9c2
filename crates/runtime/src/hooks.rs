//! OCI lifecycle hooks.

/// A hook failed to run or exited non-zero.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The hook could not be started.
    #[error("{kind} hook {path}: {source}")]
    Spawn {
        /// Which lifecycle point.
        kind: &'static str,
        /// The hook binary.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The hook exited unsuccessfully or timed out.
    #[error("{kind} hook {path}: {status}")]
    Failed {
        /// Which lifecycle point.
        kind: &'static str,
        /// The hook binary.
        path: std::path::PathBuf,
        /// Exit status or "timed out after Ns".
        status: String,
    },
}
