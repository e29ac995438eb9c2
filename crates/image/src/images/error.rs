//! `ImageError`: why an image store operation failed, with Docker's texts for the
//! user-visible cases (`No such image`, the `conflict: unable to delete …` family).
//!
//! Pure data; the API layer maps `NotFound` to 404 and the conflicts to 409.

use std::io;
use std::path::PathBuf;

use crate::digest::Digest;
use crate::layers::LayerError;
use crate::manifest::ConfigError;
use crate::reference::ReferenceError;
use crate::store::StoreError;

/// Why an image store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// No image matches the name or id (Docker's text).
    #[error("No such image: {reference}")]
    NotFound {
        /// The name or id as Docker would print it.
        reference: String,
    },
    /// The name is not a valid reference.
    #[error("invalid reference {reference:?}")]
    InvalidReference {
        /// The input.
        reference: String,
        /// Why it was rejected.
        #[source]
        source: ReferenceError,
    },
    /// `tag` was given a reference with a digest (Docker's text).
    #[error("refusing to create a tag with a digest reference")]
    TagWithDigest {
        /// The reference.
        reference: String,
    },
    /// A repo digest reference has no digest.
    #[error("repo digest reference {reference} has no digest")]
    NotCanonical {
        /// The reference.
        reference: String,
    },
    /// Deleting by id an image tagged in several repositories without force.
    #[error(
        "conflict: unable to delete {short_id} (must be forced) - image is referenced in multiple repositories"
    )]
    ReferencedInMultipleRepositories {
        /// The image id, truncated to 12 hex digits.
        short_id: String,
    },
    /// A running container uses the image.
    #[error(
        "conflict: unable to delete {short_id} (cannot be forced) - image is being used by running container {container}"
    )]
    UsedByRunningContainer {
        /// The image id, truncated to 12 hex digits.
        short_id: String,
        /// The container id, truncated to 12 characters.
        container: String,
    },
    /// A stopped container uses the image and force was not given.
    #[error(
        "conflict: unable to delete {short_id} (must be forced) - image is being used by stopped container {container}"
    )]
    UsedByStoppedContainer {
        /// The image id, truncated to 12 hex digits.
        short_id: String,
        /// The container id, truncated to 12 characters.
        container: String,
    },
    /// Untagging the last reference of an image a container uses, without force.
    #[error(
        "conflict: unable to remove repository reference {reference:?} (must force) - container {container} is using its referenced image {short_id}"
    )]
    ReferenceInUse {
        /// The reference as given.
        reference: String,
        /// The container id, truncated to 12 characters.
        container: String,
        /// The image id, truncated to 12 hex digits.
        short_id: String,
    },
    /// A layer the image needs is not in the layer store.
    #[error("image {id} needs layer {chain_id}, which is not in the layer store")]
    MissingLayer {
        /// The image.
        id: Digest,
        /// The layer's chain id.
        chain_id: Digest,
    },
    /// A filesystem step on the store's files failed.
    #[error("{step} {path}")]
    Io {
        /// What was being done.
        step: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A record or index file is not valid JSON of the expected shape.
    #[error("decode {path}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Serialising a record or index failed.
    #[error("encode {what}")]
    Encode {
        /// What was being encoded.
        what: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The image config is not valid.
    #[error("image config {id}")]
    Config {
        /// The config digest.
        id: Digest,
        /// Why it was rejected.
        #[source]
        source: ConfigError,
    },
    /// A layer store step failed.
    #[error("layer store: {step} {chain_id}")]
    Layer {
        /// What was being done.
        step: &'static str,
        /// The layer's chain id.
        chain_id: String,
        /// Underlying error.
        #[source]
        source: LayerError,
    },
    /// Opening the layer store failed.
    #[error("open layer store")]
    OpenLayers {
        /// Underlying error.
        #[source]
        source: LayerError,
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
}

/// `io::Error` → [`ImageError::Io`] for `step` on `path`.
pub(crate) fn io_err(
    step: &'static str,
    path: &std::path::Path,
) -> impl Fn(io::Error) -> ImageError {
    let path = path.to_path_buf();
    move |source| ImageError::Io {
        step,
        path: path.clone(),
        source,
    }
}
