//! Error values the CLI turns into messages and exit codes at the top of `main`.
//!
//! Runs in the CLI process. `DaemonError` is a non-2xx answer from the daemon (its
//! `message` field), `ConnectError` a socket that is missing or refuses connections, and
//! `StatusError` a finished command that wants a particular exit code (Docker's 125/126/127
//! for `run`, the container's own code, or 1 after a message already printed).

use std::fmt;

/// A non-2xx response from the daemon.
#[derive(Debug)]
pub struct DaemonError {
    /// HTTP status code.
    pub status: u16,
    /// The `message` field of the body (or the body text).
    pub message: String,
}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error response from daemon: {}", self.message)
    }
}

impl std::error::Error for DaemonError {}

/// The daemon socket is missing or refuses connections.
#[derive(Debug)]
pub struct ConnectError {
    /// The host as the user gave it (`unix:///run/berth/berth.sock`).
    pub host: String,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Cannot connect to the berth daemon at {}. Is berthd running? Start it with: sudo berthd",
            self.host
        )
    }
}

impl std::error::Error for ConnectError {}

/// A command outcome with a specific exit code and an optional message for stderr.
#[derive(Debug)]
pub struct StatusError {
    /// Process exit code.
    pub code: i32,
    /// Printed to stderr when present.
    pub message: Option<String>,
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.write_str(m),
            None => write!(f, "exit status {}", self.code),
        }
    }
}

impl std::error::Error for StatusError {}

/// Shorthand for an exit with `code` and no message.
pub fn exit_code(code: i32) -> anyhow::Error {
    StatusError {
        code,
        message: None,
    }
    .into()
}

/// Shorthand for an exit with `code` after printing `message`.
pub fn exit_with(code: i32, message: impl Into<String>) -> anyhow::Error {
    StatusError {
        code,
        message: Some(message.into()),
    }
    .into()
}

/// True when `err` is a daemon 404 (no such container/image).
pub fn is_not_found(err: &anyhow::Error) -> bool {
    err.downcast_ref::<DaemonError>()
        .is_some_and(|e| e.status == 404)
}
