//! `StoreError`: one variant per failed step of a blob store operation.
//!
//! Pure data; each variant names the path or digest involved.

use std::io;
use std::path::PathBuf;

use crate::digest::Digest;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Creating a store directory failed.
    #[error("create directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Creating or opening a temp file failed.
    #[error("create temp file {path}")]
    CreateTemp {
        /// The temp file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Locking a resumable temp file failed.
    #[error("lock temp file {path}")]
    Lock {
        /// The temp file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Writing into a temp file failed.
    #[error("write temp file {path}")]
    Write {
        /// The temp file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The blob's size is not what was expected.
    #[error("blob {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The expected digest.
        digest: Digest,
        /// Expected size.
        expected: u64,
        /// Size written (or that would have been written).
        actual: u64,
    },
    /// The content does not hash to the expected digest.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The expected digest.
        expected: Digest,
        /// The digest of the content received.
        actual: Digest,
    },
    /// fsync of a file or directory failed.
    #[error("fsync {path}")]
    Sync {
        /// What was being synced.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Moving the verified temp file into place failed.
    #[error("rename {from} to {to}")]
    Rename {
        /// The temp file.
        from: PathBuf,
        /// The blob path.
        to: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The blob is not in the store.
    #[error("blob {digest} not found")]
    NotFound {
        /// The digest asked for.
        digest: Digest,
    },
    /// Opening or stat-ing a blob failed.
    #[error("open blob {path}")]
    Open {
        /// The blob path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Reading a blob or temp file failed.
    #[error("read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A blob is larger than the caller's cap.
    #[error("blob {digest} is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The blob.
        digest: Digest,
        /// Its size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// A stored blob no longer hashes to its name.
    #[error("blob {digest} is corrupt: content hashes to {actual}")]
    Corrupt {
        /// The blob.
        digest: Digest,
        /// What its content hashes to.
        actual: Digest,
    },
    /// Removing a blob or temp file failed.
    #[error("remove {path}")]
    Remove {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Listing a store directory failed.
    #[error("list {path}")]
    List {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}
