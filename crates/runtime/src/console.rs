//! Pseudo-terminals: allocate in the container, send the master over the console socket.

/// Failures allocating a pty or handing it to the console socket.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Connecting to the console socket failed.
    #[error("connect console socket {path}: {source}")]
    Connect {
        /// Socket path.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
