//! `ArchiveError`: why a save, load, import or export failed, one variant per step.
//!
//! Pure data. `InvalidChange` carries Docker's exact text for a bad `--change`.

use std::io;

use crate::digest::Digest;
use crate::images::ImageError;
use crate::layers::LayerError;
use crate::manifest::{ConfigError, ManifestError, PlatformError};
use crate::reference::ReferenceError;
use crate::store::StoreError;
use crate::unpack::WriteTarError;

/// Why an archive operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// An image store step failed (lookup, record, tag).
    #[error("image store")]
    Store {
        /// Underlying error.
        #[source]
        source: ImageError,
    },
    /// A blob store step failed.
    #[error("blob store: {step}")]
    Blob {
        /// What was being done (names the digest).
        step: String,
        /// Underlying error.
        #[source]
        source: StoreError,
    },
    /// A layer store step failed (unpacking included).
    #[error("layer {chain_id}")]
    Layer {
        /// The layer's chain id.
        chain_id: String,
        /// Underlying error.
        #[source]
        source: LayerError,
    },
    /// Reading the input stream or the outer archive failed.
    #[error("read {what}")]
    Read {
        /// What was being read.
        what: String,
        /// The OS or tar error.
        #[source]
        source: io::Error,
    },
    /// Writing the output or a staging file failed.
    #[error("write {what}")]
    Write {
        /// What was being written.
        what: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A member path or a path in `manifest.json` leaves the archive or is absolute.
    #[error("unsafe path {path:?} in archive")]
    UnsafePath {
        /// The path as found.
        path: String,
    },
    /// A member is bigger than allowed, or the archive as a whole is.
    #[error("archive member {path:?} exceeds the {limit}-byte limit")]
    TooLarge {
        /// The member.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// The archive has more members than allowed.
    #[error("archive has more than {limit} members")]
    TooManyMembers {
        /// The limit.
        limit: u64,
    },
    /// A file the archive's metadata names is not in it.
    #[error("archive has no file {path:?}")]
    Missing {
        /// The path named.
        path: String,
    },
    /// Symbolic links in the archive loop or chain too deep.
    #[error("too many levels of links resolving {path:?}")]
    LinkLoop {
        /// The path being resolved.
        path: String,
    },
    /// Neither `manifest.json` nor `index.json` is present.
    #[error("archive has neither manifest.json nor index.json")]
    NoManifest,
    /// A JSON file of the archive does not have the expected shape.
    #[error("decode {path}")]
    Decode {
        /// The member.
        path: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A manifest or index of the archive is invalid.
    #[error("manifest {path}")]
    Manifest {
        /// The member.
        path: String,
        /// Why it was rejected.
        #[source]
        source: ManifestError,
    },
    /// No manifest of an index matches this host.
    #[error("index {path}")]
    Platform {
        /// The member.
        path: String,
        /// Why no entry matched.
        #[source]
        source: PlatformError,
    },
    /// An image config is invalid.
    #[error("image config {path}")]
    Config {
        /// The member.
        path: String,
        /// Why it was rejected.
        #[source]
        source: ConfigError,
    },
    /// A `blobs/<alg>/<hex>` member does not hash to its name.
    #[error("blob {path} has digest {actual}")]
    BlobDigest {
        /// The member.
        path: String,
        /// What it hashes to.
        actual: Digest,
    },
    /// A blob uses an algorithm other than sha256.
    #[error("unsupported digest algorithm in {path}")]
    UnsupportedDigest {
        /// The member or digest.
        path: String,
    },
    /// The config lists a different number of layers than the manifest.
    #[error("image config {config} lists {expected} layers, manifest has {actual}")]
    LayerCount {
        /// The config member.
        config: String,
        /// Diff ids in the config.
        expected: usize,
        /// Layers in the manifest.
        actual: usize,
    },
    /// A layer's uncompressed content does not match the config's diff id.
    #[error("invalid diffID for layer {layer}: expected {expected}, got {actual}")]
    DiffId {
        /// The layer member.
        layer: String,
        /// The diff id in the config.
        expected: Digest,
        /// The diff id measured.
        actual: Digest,
    },
    /// A tag in the archive (or given to import) is not a valid tag reference.
    #[error("invalid tag {reference:?}")]
    InvalidTag {
        /// The reference.
        reference: String,
        /// Why it was rejected, if parsing failed.
        #[source]
        source: Option<ReferenceError>,
    },
    /// Nothing to save.
    #[error("no images to save")]
    NothingToSave,
    /// A `--change` names an instruction import does not allow (Docker's text).
    #[error("{instruction} is not a valid change command")]
    InvalidChange {
        /// The instruction, lowercased as Docker prints it.
        instruction: String,
    },
    /// A `--change` has an allowed instruction with bad arguments.
    #[error("{instruction}: {problem}")]
    ChangeSyntax {
        /// The instruction, upper case.
        instruction: String,
        /// What is wrong (Docker's wording where it has one).
        problem: String,
    },
    /// Packing a root filesystem failed.
    #[error("pack root filesystem")]
    Pack {
        /// Underlying error.
        #[source]
        source: WriteTarError,
    },
}

impl From<ImageError> for ArchiveError {
    fn from(source: ImageError) -> Self {
        ArchiveError::Store { source }
    }
}

/// `StoreError` → [`ArchiveError::Blob`] for `step`.
pub(crate) fn blob_err(step: impl Into<String>) -> impl FnOnce(StoreError) -> ArchiveError {
    let step = step.into();
    move |source| ArchiveError::Blob { step, source }
}

/// `io::Error` → [`ArchiveError::Write`] for `what`.
pub(crate) fn write_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ArchiveError {
    let what = what.into();
    move |source| ArchiveError::Write { what, source }
}
