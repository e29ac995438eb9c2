//! The data the image store keeps and returns: [`ImageRecord`], the `rmi` result items
//! ([`Deleted`]), container usage reported by the caller ([`ContainerUse`]) and
//! `docker history` rows ([`HistoryEntry`]).
//!
//! Pure data plus constructors; persisted as JSON by the store (one file per record).

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::manifest::{chain_ids, ConfigError, ImageConfig};

/// One image: its config (id = config digest), layers and names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Image id: digest of the config blob (kept in the blob store).
    pub id: Digest,
    /// The parsed config (the original bytes stay in the blob store under `id`).
    pub config: ImageConfig,
    /// Digest of the image manifest in the blob store, if there is one.
    pub manifest_digest: Option<Digest>,
    /// Tags, full normalised names (`docker.io/library/busybox:latest`), sorted.
    /// Filled in by the store from its tag index; ignored by [`super::ImageStore::add`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repo_tags: Vec<String>,
    /// Repo digests, full names (`docker.io/library/busybox@sha256:…`), sorted.
    /// Filled in by the store from its tag index; ignored by [`super::ImageStore::add`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repo_digests: Vec<String>,
    /// Layer diff ids, base first (from the config).
    pub diff_ids: Vec<Digest>,
    /// Layer chain ids, base first (keys of the layer store).
    pub chain_ids: Vec<Digest>,
    /// Layer blobs in the blob store (as distributed, maybe compressed), base first.
    pub layer_blobs: Vec<Digest>,
    /// Other blobs this image keeps alive (e.g. the index it was pulled through).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_blobs: Vec<Digest>,
    /// The config's `created` time (RFC 3339), if any.
    pub created: Option<String>,
    /// Sum of the layers' uncompressed sizes in bytes (set by the store on `add`).
    #[serde(default)]
    pub size: u64,
    /// When a tag was last added (RFC 3339), for inspect's `Metadata.LastTagTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tag_time: Option<String>,
}

impl ImageRecord {
    /// A record for the config `config_bytes` (id = its sha256) with the given manifest
    /// and layer blobs; diff ids, chain ids and `created` come from the config.
    pub fn from_config(
        config_bytes: &[u8],
        manifest_digest: Option<Digest>,
        layer_blobs: Vec<Digest>,
    ) -> Result<ImageRecord, ConfigError> {
        let config = ImageConfig::parse(config_bytes)?;
        let diff_ids = config.rootfs.diff_ids.clone();
        Ok(ImageRecord {
            id: Digest::sha256_of(config_bytes),
            chain_ids: chain_ids(&diff_ids),
            diff_ids,
            created: config.created.clone(),
            config,
            manifest_digest,
            repo_tags: Vec::new(),
            repo_digests: Vec::new(),
            layer_blobs,
            other_blobs: Vec::new(),
            size: 0,
            last_tag_time: None,
        })
    }

    /// Every blob the image keeps alive: config, manifest, layers, others.
    pub fn blobs(&self) -> Vec<Digest> {
        let mut out = vec![self.id.clone()];
        out.extend(self.manifest_digest.iter().cloned());
        out.extend(self.layer_blobs.iter().cloned());
        out.extend(self.other_blobs.iter().cloned());
        out
    }

    /// Whether the image has no tags and no repo digests (`<none>:<none>`).
    pub fn is_dangling(&self) -> bool {
        self.repo_tags.is_empty() && self.repo_digests.is_empty()
    }
}

/// One item of an image removal, serialised as Docker's `{"Untagged": …}` /
/// `{"Deleted": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Deleted {
    /// A reference was removed (familiar form: `busybox:latest`).
    Untagged(String),
    /// An image (`sha256:<id>`) or layer (`sha256:<chain id>`) was deleted.
    Deleted(String),
}

/// A container that uses an image, as reported by the caller's usage callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUse {
    /// The container id.
    pub id: String,
    /// Whether it is running (a hard conflict) or stopped (overridden by force).
    pub running: bool,
}

/// One `docker history` row (newest first), serialised with Docker's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryEntry {
    /// The image id for the newest row, `<missing>` for the others.
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    /// The instruction that made the step.
    pub created_by: String,
    /// Familiar tags of the image, on the newest row.
    pub tags: Option<Vec<String>>,
    /// Uncompressed size of the step's layer (0 for empty layers).
    pub size: i64,
    /// The step's comment.
    pub comment: String,
}

/// The first 12 hex digits of a digest or an id (Docker's `TruncateID`).
pub fn short_id(id: &str) -> String {
    let hex = id.split_once(':').map_or(id, |(_, h)| h);
    hex.chars().take(12).collect()
}
