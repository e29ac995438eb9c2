//! berth-runtime: the OCI runtime as a library.
//!
//! Turns an OCI bundle (config.json + rootfs) into an isolated process and manages its
//! lifecycle (create/start/kill/delete/exec/pause/update). The runc-compatible binary in
//! `crates/runtime-cli` and the per-container shim both call this crate; it knows nothing
//! about images, networks or HTTP. All `unsafe` lives in [`sys`].
#![deny(unsafe_code)]
#![warn(missing_docs)]

/// Loading and validating `config.json`; every error names the field and value.
pub mod config;
/// Pseudo-terminals for `process.terminal` and the console socket hand-off.
pub mod console;
/// The container verbs: one file per operation.
pub mod container;
/// The default config.json printed by `spec` (like runc's).
pub mod default_spec;
/// The device cgroup rules every container gets on top of the spec's.
pub mod device_rules;
/// Top-level error type returned by the container verbs.
pub mod error;
/// The OCI runtime features document printed by `features`.
pub mod features;
/// OCI lifecycle hooks, run with the state JSON on stdin.
pub mod hooks;
/// Code that runs in the new container process between clone and execve.
mod init;
/// Applying process rlimits, clamped to what the host allows.
pub mod rlimits;
/// Re-executing from a sealed memfd copy of the runtime binary (CVE-2019-5736).
pub mod sealed_exe;
/// The on-disk container state records under the runtime root.
pub mod state;
/// Thin wrappers over raw syscalls; the only place `unsafe` is allowed.
#[allow(unsafe_code)]
pub mod sys;

/// cgroups v1 and v2 (the `berth-cgroups` crate).
pub use berth_cgroups as cgroups;
/// Seccomp compiler and loader (the `berth-seccomp` crate).
pub use berth_seccomp as seccomp;
pub use container::{CreateOptions, ExecOptions, Runtime};
pub use error::Error;
pub use state::{ContainerState, Status};
