//! berth-engine: the container and image model behind berthd.
//!
//! Owns the metadata store (redb), the in-memory view that `ps`/`inspect` read, container
//! lifecycles (create/start/stop/kill/wait/remove/restart policies), the per-container
//! `berth-shim` processes, exec, events and the image store. Knows nothing about HTTP:
//! `berth-api` turns requests into calls here. The runtime library is used only for
//! operations that do not fork (kill, pause, stats, update); everything that forks runs
//! in `berth-shim` or the `berth-runtime` binary, never in a tokio thread.
#![deny(unsafe_code)]

/// `docker diff`, `export` and `cp`: the container filesystem from outside, resolved in its root.
pub mod archive;
pub mod config;
pub mod container;
pub mod error;
pub mod events;
pub mod exec;
pub mod ids;
pub mod images;
/// json-file log reading: rotation, tail, since/until, follow.
pub mod logs;
pub mod network;
pub mod shim;
pub mod spec;
/// `docker stats`: cgroup samples as Docker's stats JSON.
pub mod stats;
pub mod store;
pub mod time;
/// `docker top`: host `ps` filtered to the container's pids.
pub mod top;
/// Background deletion of container directories.
pub mod trash;
pub mod validate;
pub mod volumes;

mod engine;

pub use config::EngineConfig;
pub use engine::Engine;
pub use error::{EngineError, ErrorKind, Result};
