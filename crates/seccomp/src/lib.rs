#![deny(unsafe_code)]
#![warn(missing_docs)]
//! Seccomp: compile the spec's `linux.seccomp` section to a BPF program, cache it by
//! profile hash, and load it in the container init just before execve.
//!
//! Compiling runs in berthd (or the runtime before clone). berth generates the program
//! itself (a bitmap search over syscall numbers, far shorter than libseccomp's chain),
//! asking libseccomp only for syscall numbers; plans it does not handle go to libseccomp's
//! generator. libseccomp never loads the filter or sets no_new_privs; loading runs in the
//! container init. Docker's default profile is embedded, with a converter from Docker's
//! profile format (`archMap`, `includes`/`excludes`) to the OCI section. SCMP_ACT_NOTIFY
//! (user-notification agents) is deliberately not supported.

/// libseccomp's generator, for the plans berth's own does not handle.
mod bpf;
/// The on-disk cache of compiled programs.
mod cache;
/// `compile`: validate, consult the cache, generate.
mod compile;
/// Docker's profile format, the embedded default profile and the OCI conversion.
mod docker_profile;
/// The compile/load error type.
mod error;
/// berth's own BPF generator.
mod generator;
/// Kernel `major.minor` versions for `minKernel` conditions.
mod kernel_version;
/// `load`: install a compiled filter with seccomp(2).
mod load;
/// Validation of `linux.seccomp` into a pure filter plan.
mod plan;
/// Raw syscalls (the only place with `unsafe`).
#[allow(unsafe_code)]
mod sys;

pub use cache::CacheError;
pub use compile::{compile, compile_with_status, CacheStatus, CompiledFilter};
pub use docker_profile::{
    docker_default_profile, docker_profile_to_oci, docker_profile_to_oci_for, native_docker_arch,
    ProfileError, ProfileTarget, DOCKER_DEFAULT_PROFILE_JSON,
};
pub use error::SeccompError;
pub use kernel_version::{KernelVersion, KernelVersionError, ParseKernelVersionError};
pub use load::{load, unsupported_flags};
