//! Layer tar streams → directories and back: decompression, diff ids, whiteouts in
//! overlayfs form, and hardening against entries that try to leave the destination.
//!
//! Runs in berthd (and tests) as root. [`unpack`] streams one layer (gzip, zstd or plain
//! tar) into `dest`, which must be a fresh, empty temp dir owned by the caller: on any
//! error the partial tree is left in place and the caller removes the whole directory.
//! [`write_tar`] packs a directory back into an OCI layer tar. Implements the OCI image
//! spec's layer format (changesets, whiteouts); bzip2/xz layers are refused, and
//! `trusted.overlay.*` xattrs inside a layer are dropped.

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

mod extract;
mod meta;
mod path;
mod resolve;
mod stream;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_overlay;
mod write;

pub(crate) use stream::sha256_digest;
pub use stream::Compression;
pub use write::{write_tar, WriteTarError};

use extract::Extractor;
use stream::{detect, read_prefix, Counting, Hashing};

/// Limits and switches for [`unpack`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackOptions {
    /// Create char/block device nodes (needs `CAP_MKNOD`); when false they are skipped.
    /// Fifos and whiteouts are created either way.
    pub allow_devices: bool,
    /// Most tar entries one layer may have.
    pub max_entries: u64,
    /// Longest entry path in bytes.
    pub max_path_len: usize,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions {
            allow_devices: true,
            max_entries: 4_000_000,
            max_path_len: 4096,
        }
    }
}

/// What [`unpack`] measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackStats {
    /// sha256 of the uncompressed tar stream, `sha256:<hex>`.
    pub diff_id: String,
    /// Bytes read from the (possibly compressed) input.
    pub compressed_bytes: u64,
    /// Bytes of the uncompressed tar stream.
    pub uncompressed_bytes: u64,
    /// Tar entries seen (incl. whiteouts).
    pub entries: u64,
}

/// The step of creating an entry that failed, for [`UnpackError::Apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Opening the entry's parent directory.
    ResolveParent,
    /// Removing what was at the entry's path before.
    RemoveExisting,
    /// Creating a regular file.
    CreateFile,
    /// Reading file content from the archive.
    ReadContent,
    /// Writing file content.
    WriteFile,
    /// Creating a directory.
    CreateDir,
    /// Opening a directory.
    OpenDir,
    /// Listing a directory (opaque marker).
    ListDir,
    /// Creating a symlink.
    Symlink,
    /// Creating a hard link.
    HardLink,
    /// Creating a device node, fifo or whiteout.
    Mknod,
    /// Setting owner and group.
    Chown,
    /// Setting permission bits.
    Chmod,
    /// Setting access and modification times.
    SetTimes,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Step::ResolveParent => "opening the parent directory",
            Step::RemoveExisting => "removing the existing path",
            Step::CreateFile => "creating the file",
            Step::ReadContent => "reading the content",
            Step::WriteFile => "writing the file",
            Step::CreateDir => "creating the directory",
            Step::OpenDir => "opening the directory",
            Step::ListDir => "listing the directory",
            Step::Symlink => "creating the symlink",
            Step::HardLink => "creating the hard link",
            Step::Mknod => "creating the node",
            Step::Chown => "setting the owner",
            Step::Chmod => "setting the mode",
            Step::SetTimes => "setting the times",
        };
        f.write_str(s)
    }
}

/// Why a layer could not be unpacked. Entry paths are relative to the layer root.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The stream is not gzip, zstd or tar.
    #[error("unsupported layer compression: saw {seen}")]
    UnsupportedCompression {
        /// What the first bytes looked like.
        seen: String,
    },
    /// Reading the first bytes of the stream failed.
    #[error("reading the start of the layer stream")]
    ReadPrefix {
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// The zstd decoder could not start.
    #[error("starting the zstd decoder")]
    ZstdInit {
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// The destination directory could not be opened.
    #[error("opening the unpack destination {path}")]
    OpenDest {
        /// The destination.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// The tar stream (or its decompression) failed between entries.
    #[error("reading the layer tar stream after {entries} entries")]
    ReadArchive {
        /// Entries read successfully before.
        entries: u64,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// An entry's PAX records or header fields could not be read.
    #[error("reading the header of entry {path}")]
    ReadEntryHeader {
        /// The entry.
        path: String,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// More entries than [`UnpackOptions::max_entries`].
    #[error("layer has more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: u64,
    },
    /// An entry's path (or link target) is not acceptable.
    #[error("entry {path} {problem}")]
    InvalidPath {
        /// The entry as named in the archive.
        path: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// An entry's parent path goes through a symlink.
    #[error("entry {path}: its parent path goes through a symlink")]
    ParentIsSymlink {
        /// The entry.
        path: String,
    },
    /// An entry's parent path contains a non-directory.
    #[error("entry {path}: its parent path contains a non-directory")]
    ParentNotDirectory {
        /// The entry.
        path: String,
    },
    /// A hard link's target is not an earlier non-directory entry of this layer.
    #[error("entry {path}: hard link target {target} is not an earlier file of this layer")]
    HardLinkTarget {
        /// The entry.
        path: String,
        /// Its link target as written in the archive.
        target: String,
    },
    /// An entry of a type layers do not use.
    #[error("entry {path}: unsupported tar entry type {kind:?}")]
    UnsupportedEntryType {
        /// The entry.
        path: String,
        /// The tar type flag.
        kind: char,
    },
    /// Creating an entry failed at `step`.
    #[error("entry {path}: {step}")]
    Apply {
        /// The entry.
        path: String,
        /// What was being done.
        step: Step,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// Setting an extended attribute failed.
    #[error("entry {path}: setting xattr {name}")]
    SetXattr {
        /// The entry.
        path: String,
        /// The attribute.
        name: String,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// Reading the end of the stream (after the last entry) failed.
    #[error("reading the end of the layer stream")]
    ReadTrailer {
        /// Underlying error.
        #[source]
        source: io::Error,
    },
}

/// Unpacks one layer from `reader` into `dest` and returns its diff id and sizes.
///
/// `dest` must be an existing, empty directory that the caller created for this call
/// (or, for `import`, a directory the caller owns); on error the caller removes it.
/// Compression is detected from the magic bytes; the diff id is computed over the
/// uncompressed stream while unpacking, with no temporary copy.
pub fn unpack(
    reader: impl Read,
    dest: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats, UnpackError> {
    let (mut counted, compressed) = Counting::new(reader);
    let prefix = read_prefix(&mut counted).map_err(|source| UnpackError::ReadPrefix { source })?;
    let compression =
        detect(&prefix).map_err(|seen| UnpackError::UnsupportedCompression { seen })?;
    let raw = io::Cursor::new(prefix).chain(counted);
    let decoded: Box<dyn Read> = match compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            128 * 1024,
            raw,
        ))),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(raw)
                .map_err(|source| UnpackError::ZstdInit { source })?,
        ),
    };
    let mut archive =
        tar::Archive::new(Hashing::new(BufReader::with_capacity(256 * 1024, decoded)));
    let mut extractor = Extractor::new(dest, opts)?;
    {
        let read_err = |entries, source| UnpackError::ReadArchive { entries, source };
        let entries = archive.entries().map_err(|e| read_err(0, e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| read_err(extractor.entries(), e))?;
            extractor.apply(&mut entry)?;
        }
    }
    extractor.finish()?;
    let (diff_id, uncompressed_bytes) = archive
        .into_inner()
        .finish()
        .map_err(|source| UnpackError::ReadTrailer { source })?;
    Ok(UnpackStats {
        diff_id,
        compressed_bytes: compressed.get(),
        uncompressed_bytes,
        entries: extractor.entries(),
    })
}
