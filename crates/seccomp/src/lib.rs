#![deny(unsafe_code)]
#![warn(missing_docs)]
//! Seccomp: compile the spec's `linux.seccomp` section to a BPF program, cache it by
//! profile hash, and load it in the container init just before execve.
//!
//! INTERFACE STUB — to be implemented.

use std::path::Path;

use oci_spec::runtime::LinuxSeccomp;

/// Errors from compiling or loading a seccomp profile.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// Placeholder until implemented.
    #[error("seccomp not implemented")]
    Unimplemented,
}

/// A compiled filter: raw `struct sock_filter` instructions plus the seccomp(2) flags.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    /// Little-endian `struct sock_filter` array (8 bytes per instruction).
    pub program: Vec<u8>,
    /// SECCOMP_FILTER_FLAG_* bits from `linux.seccomp.flags`.
    pub flags: u32,
}

/// Validate and compile `profile`; reuse `cache_dir/<sha256>.bpf` when present.
pub fn compile(_profile: &LinuxSeccomp, _cache_dir: Option<&Path>) -> Result<CompiledFilter, SeccompError> {
    Err(SeccompError::Unimplemented)
}

/// Install `filter` on the calling thread. Async-signal-safe enough to call after clone.
pub fn load(_filter: &CompiledFilter) -> Result<(), SeccompError> {
    Err(SeccompError::Unimplemented)
}
