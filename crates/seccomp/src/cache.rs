//! On-disk cache of compiled filters, keyed by a SHA-256 of the profile.
//!
//! Runs in berthd. Owns files `<cache_dir>/<hex>.bpf` (4-byte little-endian flags, then
//! the program) and short-lived temp files in the same directory, which are renamed into
//! place or removed on failure. The key covers a format version, libseccomp's version,
//! the target architecture and the profile's serde_json serialization, so a library
//! upgrade never reuses stale programs. A file that is corrupt, not owned by our euid or
//! writable by group/other is treated as a miss and replaced. The cache has no MAC: the
//! directory must be as trusted as the daemon's own state directory.

use std::fs::{DirBuilder, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxSeccomp;
use sha2::{Digest, Sha256};

use crate::compile::{valid_program_len, CompiledFilter, MAX_PROGRAM_BYTES};
use crate::sys;

/// Bump when the file format or the compile logic changes. v2: berth's own generator
/// replaced libseccomp's for most profiles.
const FORMAT_VERSION: &str = "berth-seccomp-bpf-cache-v2";

/// Why a cache file was ignored or could not be written. Never fails a compile.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Opening or reading an existing cache file failed.
    #[error("reading seccomp cache file {path}")]
    Read {
        /// The cache file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file's length does not fit the format (4-byte flags + whole instructions).
    #[error("seccomp cache file {path} is corrupt ({len} bytes)")]
    Corrupt {
        /// The cache file.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
    },
    /// The file is not a regular file owned by us and closed to group/other writes.
    #[error("seccomp cache file {path} is untrusted (uid {uid}, mode {mode:o})")]
    Untrusted {
        /// The cache file.
        path: PathBuf,
        /// Its owner.
        uid: u32,
        /// Its mode bits.
        mode: u32,
    },
    /// The stored flags differ from the flags the (validated) profile asks for.
    #[error("seccomp cache file {path} has flags {found:#x}, profile wants {expected:#x}")]
    FlagsMismatch {
        /// The cache file.
        path: PathBuf,
        /// Flags in the file.
        found: u32,
        /// Flags from the profile.
        expected: u32,
    },
    /// Creating the cache directory failed.
    #[error("creating seccomp cache directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Creating or writing the temp file failed.
    #[error("writing a temp file in seccomp cache directory {dir}")]
    WriteTemp {
        /// The cache directory.
        dir: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Renaming the temp file into place failed.
    #[error("renaming temp file to seccomp cache file {path}")]
    Rename {
        /// The final cache file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// Hex SHA-256 cache key for `profile` compiled with libseccomp `library_version`.
pub(crate) fn cache_key(profile: &LinuxSeccomp, library_version: &str) -> String {
    let mut hasher = Sha256::new();
    // Length-prefix each part so no two different tuples hash the same input.
    let profile_json =
        serde_json::to_vec(profile).expect("LinuxSeccomp serializes: plain data, string keys");
    for part in [
        FORMAT_VERSION.as_bytes(),
        library_version.as_bytes(),
        std::env::consts::ARCH.as_bytes(),
        &profile_json,
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The cache file for `key` in `dir`.
pub(crate) fn cache_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.bpf"))
}

/// Read a cached filter. `Ok(None)` when there is no file.
pub(crate) fn read_cached(path: &Path) -> Result<Option<CompiledFilter>, CacheError> {
    let read_err = |source| CacheError::Read {
        path: path.to_owned(),
        source,
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_err(e)),
    };
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() || meta.uid() != sys::geteuid() || meta.mode() & 0o022 != 0 {
        return Err(CacheError::Untrusted {
            path: path.to_owned(),
            uid: meta.uid(),
            mode: meta.mode(),
        });
    }
    let mut bytes = Vec::new();
    file.take((MAX_PROGRAM_BYTES + 5) as u64)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    decode(&bytes).map(Some).ok_or_else(|| CacheError::Corrupt {
        path: path.to_owned(),
        len: bytes.len(),
    })
}

/// Parse the file format; `None` when it is malformed.
pub(crate) fn decode(bytes: &[u8]) -> Option<CompiledFilter> {
    let (flags, program) = bytes.split_first_chunk::<4>()?;
    if !valid_program_len(program.len()) {
        return None;
    }
    Some(CompiledFilter {
        program: program.to_vec(),
        flags: u32::from_le_bytes(*flags),
    })
}

/// Serialize a filter in the file format.
pub(crate) fn encode(filter: &CompiledFilter) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(4 + filter.program.len());
    bytes.extend_from_slice(&filter.flags.to_le_bytes());
    bytes.extend_from_slice(&filter.program);
    bytes
}

/// Atomically store `filter` at `path`: create the directory (0700) if needed, write a
/// temp file next to the target, fsync it and rename it into place.
pub(crate) fn write_cached(path: &Path, filter: &CompiledFilter) -> Result<(), CacheError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| CacheError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
    let write_err = |source| CacheError::WriteTemp {
        dir: dir.to_owned(),
        source,
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".seccomp-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(write_err)?;
    temp.write_all(&encode(filter)).map_err(write_err)?;
    temp.as_file().sync_all().map_err(write_err)?;
    // On failure the temp file is removed when the returned error's NamedTempFile drops.
    temp.persist(path).map_err(|e| CacheError::Rename {
        path: path.to_owned(),
        source: e.error,
    })?;
    Ok(())
}
