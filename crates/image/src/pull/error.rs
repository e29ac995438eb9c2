//! `PullError` and `PushError`: one variant per failed step of a pull or push.
//!
//! Pure data; each variant names the reference, blob digest or chain id involved so a
//! caller (the API layer) can map it to Docker's status codes without parsing messages.

use berth_registry::RegistryError;

use crate::digest::Digest;
use crate::layers::LayerError;
use crate::manifest::{ConfigError, ManifestError, PlatformError};
use crate::store::StoreError;
use crate::unpack::WriteTarError;

/// Why a pull failed.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// No registry client could be made for the reference's host.
    #[error("creating a registry client for {host}")]
    Client {
        /// Registry host.
        host: String,
        /// Underlying error.
        #[source]
        source: RegistryError,
    },
    /// Fetching a manifest or index failed.
    #[error("resolving {reference}")]
    Resolve {
        /// Reference or `repo@digest` asked for.
        reference: String,
        /// Underlying error.
        #[source]
        source: RegistryError,
    },
    /// A manifest fetched by digest hashes to something else.
    #[error("manifest {expected}: content hashes to {actual}")]
    ManifestDigest {
        /// Digest asked for.
        expected: Digest,
        /// Digest of the bytes served.
        actual: Digest,
    },
    /// The manifest or index is not valid.
    #[error("parsing manifest {digest}")]
    ParseManifest {
        /// Manifest digest.
        digest: Digest,
        /// Underlying error.
        #[source]
        source: ManifestError,
    },
    /// No index entry matches the wanted platform.
    #[error("selecting a platform for {reference}")]
    Platform {
        /// The reference pulled.
        reference: String,
        /// Underlying error (names the platform).
        #[source]
        source: PlatformError,
    },
    /// An index entry points at another index.
    #[error("index entry {digest} is itself an index")]
    NestedIndex {
        /// Digest of the entry.
        digest: Digest,
    },
    /// Downloading a blob failed (after the allowed resumes).
    #[error("downloading blob {digest}")]
    Download {
        /// Blob digest.
        digest: Digest,
        /// Underlying error.
        #[source]
        source: RegistryError,
    },
    /// A blob's content does not hash to its descriptor digest; nothing was kept.
    #[error("blob {digest}: content hashes to {actual}")]
    BlobDigest {
        /// Descriptor digest.
        digest: Digest,
        /// Digest of the bytes received.
        actual: Digest,
    },
    /// A blob's size differs from its descriptor; nothing was kept.
    #[error("blob {digest}: expected {expected} bytes, got {actual}")]
    BlobSize {
        /// Descriptor digest.
        digest: Digest,
        /// Descriptor size.
        expected: u64,
        /// Bytes received (or that would have been).
        actual: u64,
    },
    /// Writing or reading a blob in the local store failed.
    #[error("storing blob {digest}")]
    Store {
        /// Blob digest.
        digest: Digest,
        /// Underlying error.
        #[source]
        source: StoreError,
    },
    /// The image config is not valid.
    #[error("parsing image config {digest}")]
    ParseConfig {
        /// Config digest.
        digest: Digest,
        /// Underlying error.
        #[source]
        source: ConfigError,
    },
    /// The config lists a different number of diff ids than the manifest has layers.
    #[error("config {config} lists {diff_ids} diff ids but the manifest has {layers} layers")]
    LayerCount {
        /// Config digest.
        config: Digest,
        /// Diff ids in the config.
        diff_ids: usize,
        /// Layers in the manifest.
        layers: usize,
    },
    /// Unpacking a layer (or checking its diff id) failed; nothing was kept.
    #[error("unpacking layer {digest}")]
    Unpack {
        /// Compressed layer digest.
        digest: Digest,
        /// Underlying error.
        #[source]
        source: LayerError,
    },
    /// The worker thread unpacking a layer panicked or was cancelled.
    #[error("unpack worker for layer {digest} died")]
    Worker {
        /// Compressed layer digest.
        digest: Digest,
        /// Underlying error.
        #[source]
        source: tokio::task::JoinError,
    },
    /// The pull was abandoned because another layer failed first.
    #[error("layer {digest}: abandoned after another layer failed")]
    Abandoned {
        /// Compressed layer digest.
        digest: Digest,
    },
}

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// No registry client could be made for the target's host.
    #[error("creating a registry client for {host}")]
    Client {
        /// Registry host.
        host: String,
        /// Underlying error.
        #[source]
        source: RegistryError,
    },
    /// The stored manifest or the config is not valid.
    #[error("parsing the image to push")]
    ParseManifest {
        /// Underlying error.
        #[source]
        source: ManifestError,
    },
    /// The image config is not valid.
    #[error("parsing the image config to push")]
    ParseConfig {
        /// Underlying error.
        #[source]
        source: ConfigError,
    },
    /// The image lists a different number of layers than its config has diff ids.
    #[error("image has {layers} layers but its config lists {diff_ids} diff ids")]
    LayerCount {
        /// Layers given.
        layers: usize,
        /// Diff ids in the config.
        diff_ids: usize,
    },
    /// The config could not be rewritten with the repacked layers' diff ids.
    #[error("rewriting the image config with new diff ids")]
    RewriteConfig {
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A layer has neither a stored compressed blob nor an unpacked directory.
    #[error("layer {chain_id} is not in the layer store")]
    LayerMissing {
        /// Chain id of the layer.
        chain_id: Digest,
        /// Underlying error.
        #[source]
        source: LayerError,
    },
    /// Packing an unpacked layer back into a tar failed.
    #[error("packing layer {chain_id}")]
    Pack {
        /// Chain id of the layer.
        chain_id: Digest,
        /// Underlying error.
        #[source]
        source: WriteTarError,
    },
    /// Writing a repacked blob into the store failed.
    #[error("storing repacked blob for layer {chain_id}")]
    Store {
        /// Chain id of the layer.
        chain_id: Digest,
        /// Underlying error.
        #[source]
        source: StoreError,
    },
    /// The worker thread packing a layer panicked or was cancelled.
    #[error("pack worker for layer {chain_id} died")]
    Worker {
        /// Chain id of the layer.
        chain_id: Digest,
        /// Underlying error.
        #[source]
        source: tokio::task::JoinError,
    },
    /// Pushing a blob (layer or config) failed.
    #[error("pushing blob {digest}")]
    PushBlob {
        /// Blob digest.
        digest: Digest,
        /// Underlying error.
        #[source]
        source: RegistryError,
    },
    /// Serializing a rebuilt manifest failed.
    #[error("serializing the rebuilt manifest")]
    SerializeManifest {
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// Uploading the manifest failed.
    #[error("pushing manifest to {reference}")]
    PushManifest {
        /// Target reference.
        reference: String,
        /// Underlying error.
        #[source]
        source: RegistryError,
    },
    /// The registry answered with a manifest digest that is not a valid digest.
    #[error("registry returned an invalid manifest digest {digest:?}")]
    ManifestDigest {
        /// The string returned.
        digest: String,
    },
}
