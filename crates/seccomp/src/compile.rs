//! Compile a `linux.seccomp` section to a BPF program, going through the cache first.
//!
//! Runs in berthd (or the runtime before it clones the container init). Steps: validate
//! the profile into a plan, look the profile up in the cache, and only on a miss generate
//! the program (berth's generator, or libseccomp's for plans it does not handle) and
//! store it. Owns nothing beyond the cache files described in [`crate::cache`]. Cache
//! problems are reported in [`CacheStatus`], never as errors.

use std::path::{Path, PathBuf};

use libseccomp::ScmpVersion;
use oci_spec::runtime::LinuxSeccomp;

use crate::bpf::bpf_program;
use crate::cache::{self, CacheError};
use crate::error::SeccompError;
use crate::generator;
use crate::plan::{filter_plan, FilterPlan};

/// A compiled filter: raw `struct sock_filter` instructions plus the seccomp(2) flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledFilter {
    /// `struct sock_filter` array (8 bytes per instruction) in the host's byte order
    /// (little-endian on x86_64 and aarch64).
    pub program: Vec<u8>,
    /// SECCOMP_FILTER_FLAG_* bits from `linux.seccomp.flags`.
    pub flags: u32,
}

impl CompiledFilter {
    /// Number of BPF instructions in the program.
    pub fn instructions(&self) -> usize {
        self.program.len() / 8
    }
}

/// Largest program the kernel accepts (BPF_MAXINSNS instructions of 8 bytes each).
pub(crate) const MAX_PROGRAM_BYTES: usize = 4096 * 8;

/// True for a non-empty program of whole instructions within the kernel's limit.
pub(crate) fn valid_program_len(len: usize) -> bool {
    len > 0 && len.is_multiple_of(8) && len <= MAX_PROGRAM_BYTES
}

/// What the cache did during a [`compile_with_status`] call.
#[derive(Debug)]
pub enum CacheStatus {
    /// No cache directory was given.
    Disabled,
    /// The program came from this file; nothing was generated.
    Hit {
        /// The cache file.
        path: PathBuf,
    },
    /// The program was generated.
    Miss {
        /// The cache file that was (or should have been) written.
        path: PathBuf,
        /// Why an existing file at `path` was ignored, if there was one.
        discarded: Option<CacheError>,
        /// Why storing the new program failed, if it did.
        store_error: Option<CacheError>,
    },
}

/// Validate and compile `profile`; reuse `cache_dir/<sha256>.bpf` when present.
///
/// Cache failures never fail the compile; use [`compile_with_status`] to see them.
pub fn compile(
    profile: &LinuxSeccomp,
    cache_dir: Option<&Path>,
) -> Result<CompiledFilter, SeccompError> {
    compile_with_status(profile, cache_dir).map(|(filter, _status)| filter)
}

/// Like [`compile`], and also report whether the cache was hit and any cache problem.
///
/// The profile is always validated, even on a cache hit, so an invalid profile cannot
/// slip through because an old cache file exists.
pub fn compile_with_status(
    profile: &LinuxSeccomp,
    cache_dir: Option<&Path>,
) -> Result<(CompiledFilter, CacheStatus), SeccompError> {
    let plan = filter_plan(profile)?;
    let Some(dir) = cache_dir else {
        let program = generate(&plan)?;
        let filter = CompiledFilter {
            program,
            flags: plan.flags,
        };
        return Ok((filter, CacheStatus::Disabled));
    };
    let version =
        ScmpVersion::current().map_err(|source| SeccompError::LibraryVersion { source })?;
    let path = cache::cache_path(dir, &cache::cache_key(profile, &version.to_string()));
    let discarded = match cache::read_cached(&path) {
        Ok(Some(filter)) if filter.flags == plan.flags => {
            return Ok((filter, CacheStatus::Hit { path }));
        }
        Ok(Some(filter)) => Some(CacheError::FlagsMismatch {
            path: path.clone(),
            found: filter.flags,
            expected: plan.flags,
        }),
        Ok(None) => None,
        Err(e) => Some(e),
    };
    let filter = CompiledFilter {
        program: generate(&plan)?,
        flags: plan.flags,
    };
    let store_error = cache::write_cached(&path, &filter).err();
    Ok((
        filter,
        CacheStatus::Miss {
            path,
            discarded,
            store_error,
        },
    ))
}

/// berth's program for `plan`, or libseccomp's for the plans berth's generator leaves to
/// it (see [`generator::Fallback`]: architectures other than x86_64, x32, x86, aarch64,
/// arm and riscv64, and argument rules with different actions on one syscall).
fn generate(plan: &FilterPlan) -> Result<Vec<u8>, SeccompError> {
    match generator::program(plan) {
        Ok(program) => Ok(program),
        Err(_fallback) => bpf_program(plan),
    }
}
