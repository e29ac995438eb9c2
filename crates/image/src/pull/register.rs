//! Recording a pulled image: the step between `pull` (blobs and layers on disk) and an
//! image users can name — the record, its tag and its repo digest (`name@sha256:…`).
//!
//! Runs in berthd (or tests) after a pull; owns nothing beyond what the image store
//! persists. Docker semantics: pulling `name:tag` moves the tag to the new image, and a
//! pull by digest records only the repo digest.

use berth_registry::ClientConfig;

use super::{pull, PullContext, PullError, PulledImage};
use crate::images::{ImageError, ImageRecord, ImageStore};
use crate::manifest::Platform;
use crate::pull::ProgressFn;
use crate::reference::Reference;
use crate::unpack::UnpackOptions;

/// Failures of [`pull_into`].
#[derive(Debug, thiserror::Error)]
pub enum PullIntoError {
    /// The pull itself failed.
    #[error(transparent)]
    Pull(#[from] PullError),
    /// The pulled config could not become an image record.
    #[error("record image {id}: {source}")]
    Config {
        /// The image id (config digest).
        id: String,
        /// Why.
        #[source]
        source: crate::manifest::config::ConfigError,
    },
    /// The image store refused the record or the tag.
    #[error(transparent)]
    Store(#[from] ImageError),
}

/// Record `pulled` in `store`: add the image, tag it when pulled by tag, and remember
/// its repo digest. Returns the stored record.
pub fn register(store: &ImageStore, pulled: &PulledImage) -> Result<ImageRecord, PullIntoError> {
    let layer_blobs = pulled
        .layers
        .iter()
        .map(|l| l.descriptor.digest.clone())
        .collect();
    let mut record = ImageRecord::from_config(
        &pulled.config,
        Some(pulled.manifest_digest.clone()),
        layer_blobs,
    )
    .map_err(|source| PullIntoError::Config {
        id: pulled.config_digest.to_string(),
        source,
    })?;
    record
        .other_blobs
        .extend(pulled.index_digest.iter().cloned());
    let record = store.add(record)?;
    let name = pulled.reference.name();
    if pulled.reference.digest().is_none() {
        if let Some(tag) = pulled.reference.tag() {
            store.tag(&record.id, &format!("{name}:{tag}"))?;
        }
    }
    let repo_digest = pulled
        .index_digest
        .as_ref()
        .unwrap_or(&pulled.manifest_digest);
    store.add_repo_digest(&record.id, &format!("{name}@{repo_digest}"))?;
    Ok(store.get(&record.id)?)
}

/// Pull `reference` for `platform` into `store`'s blobs and layers, then [`register`] it.
pub async fn pull_into(
    store: &ImageStore,
    client: &ClientConfig,
    unpack: &UnpackOptions,
    reference: &Reference,
    platform: &Platform,
    progress: ProgressFn<'_>,
) -> Result<ImageRecord, PullIntoError> {
    let ctx = PullContext {
        blobs: store.blobs(),
        layers: store.layers(),
        client,
        unpack,
        max_concurrent: super::DEFAULT_CONCURRENCY,
    };
    let pulled = pull(&ctx, reference, platform, progress).await?;
    register(store, &pulled)
}
