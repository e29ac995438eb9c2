//! berth-shim: the per-container monitor and its protocol.
//!
//! The `berth-shim` binary (one per container, spawned by berthd) runs [`monitor::run`];
//! berthd and tests talk to it with [`client`]. The wire format is in [`protocol`]
//! (docs/design/shim-protocol.md). Raw syscalls live in [`sys`].
#![warn(missing_docs)]

/// Command-line flags of the binary.
pub mod args;
/// One client connection in the shim's loop.
pub mod attach;
/// Synchronous client for berthd and tests.
pub mod client;
/// Docker json-file logging with rotation.
pub mod log;
/// Start-up and the poll loop.
pub mod monitor;
/// Request and reply lines, exit records, attach frames.
pub mod protocol;
/// The go gate and the re-exec flags of a shim started ahead of time.
pub mod start;
/// Raw syscalls without a safe `nix` form.
pub mod sys;
