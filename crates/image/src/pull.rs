//! Pulling images from and pushing them to registries.
//!
//! Runs in berthd on tokio; file work (blob writes, decompression, tar extraction) runs
//! on blocking threads. [`pull`] resolves a reference (through an index when needed),
//! stores manifest and config, then brings every layer into the `LayerStore`, up to
//! [`PullContext::max_concurrent`] at a time: each layer is unpacked *while* it
//! downloads (bytes go to the compressed blob and the unpacker in one pass) and only
//! becomes visible once its compressed digest and diff id check out. [`push`] uploads
//! blobs (skipping or mounting where it can), the config and then the manifest.
//! Owns nothing after a call returns: blobs and layers belong to their stores, and
//! every temp file or dir is removed on failure. Follows the OCI distribution spec;
//! foreign-layer `urls`, signatures and chunked uploads are left out.

mod error;
mod layer;
pub mod progress;
mod push;
mod rebuild;
mod register;
mod repack;
mod resolve;
mod tee;

use std::sync::atomic::{AtomicBool, Ordering};

use berth_registry::{Client, ClientConfig};
use futures_util::StreamExt as _;

pub use error::{PullError, PushError};
pub use progress::{Event, Phase, ProgressFn};
pub use push::{push, PushContext, PushImage, PushLayer, Pushed};
pub use register::{pull_into, register, PullIntoError};

use crate::digest::Digest;
use crate::layers::LayerStore;
use crate::manifest::{chain_ids, Descriptor, Platform};
use crate::reference::Reference;
use crate::store::BlobStore;
use crate::unpack::UnpackOptions;

/// Default number of layers pulled or pushed at the same time (Docker uses 3).
pub const DEFAULT_CONCURRENCY: usize = 3;

/// Where a pull stores things and how it reaches registries.
#[derive(Debug, Clone, Copy)]
pub struct PullContext<'a> {
    /// Compressed layers, manifests and configs.
    pub blobs: &'a BlobStore,
    /// Unpacked layers by chain id.
    pub layers: &'a LayerStore,
    /// Registry access (insecure hosts, credentials, resume attempts).
    pub client: &'a ClientConfig,
    /// Unpack limits.
    pub unpack: &'a UnpackOptions,
    /// Layers downloaded at the same time (at least 1).
    pub max_concurrent: usize,
}

/// How a layer got into the layer store during a pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerSource {
    /// Its chain id was already unpacked; nothing was downloaded. `blob_stored` says
    /// whether the compressed blob is in the blob store (a push needs it, or repacks).
    Exists {
        /// The compressed blob is present.
        blob_stored: bool,
    },
    /// Unpacked from a compressed blob already in the blob store.
    LocalBlob,
    /// Downloaded and unpacked while streaming.
    Downloaded,
}

/// One layer of a pulled image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledLayer {
    /// The compressed layer as the manifest describes it.
    pub descriptor: Descriptor,
    /// Digest of the uncompressed tar (from the config).
    pub diff_id: Digest,
    /// Chain id of this layer and everything below it.
    pub chain_id: Digest,
    /// How it got into the layer store.
    pub source: LayerSource,
}

/// The result of a pull: everything needed to record the image and run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledImage {
    /// The reference pulled, as given.
    pub reference: Reference,
    /// Digest of the index the manifest was selected from, if any.
    pub index_digest: Option<Digest>,
    /// Digest of the single-platform manifest.
    pub manifest_digest: Digest,
    /// Its media type (Docker schema 2 or OCI).
    pub manifest_media_type: String,
    /// Its bytes exactly as served (stored in the blob store too).
    pub manifest: Vec<u8>,
    /// Digest of the config: the image id.
    pub config_digest: Digest,
    /// The config's media type.
    pub config_media_type: String,
    /// The config bytes.
    pub config: Vec<u8>,
    /// The layers, base first.
    pub layers: Vec<PulledLayer>,
}

impl PulledImage {
    /// The diff ids, base first.
    pub fn diff_ids(&self) -> Vec<Digest> {
        self.layers.iter().map(|l| l.diff_id.clone()).collect()
    }

    /// The chain ids, base first; the last one is the image's top layer.
    pub fn chain_ids(&self) -> Vec<Digest> {
        self.layers.iter().map(|l| l.chain_id.clone()).collect()
    }
}

/// Pulls `reference` for `platform` into the stores of `ctx`, reporting per-blob
/// progress to `progress`.
///
/// Layers whose chain id is already unpacked are not downloaded. A layer whose blob
/// fails its digest check leaves no blob, no layer and no temp dir behind, and the
/// error names the layer's digest. The other layers stop at their next chunk.
pub async fn pull(
    ctx: &PullContext<'_>,
    reference: &Reference,
    platform: &Platform,
    progress: ProgressFn<'_>,
) -> Result<PulledImage, PullError> {
    let host = reference.registry_host();
    let client = Client::new(host, ctx.client).map_err(|source| PullError::Client {
        host: host.to_owned(),
        source,
    })?;
    let resolved = resolve::resolve(&client, ctx.blobs, reference, platform).await?;
    let manifest = &resolved.manifest;
    let (config_bytes, config) =
        resolve::config(&client, ctx.blobs, reference.path(), &manifest.config).await?;
    let diff_ids = config.rootfs.diff_ids;
    if diff_ids.len() != manifest.layers.len() {
        return Err(PullError::LayerCount {
            config: manifest.config.digest.clone(),
            diff_ids: diff_ids.len(),
            layers: manifest.layers.len(),
        });
    }
    let chains = chain_ids(&diff_ids);
    let wanted: Vec<layer::Wanted> = manifest
        .layers
        .iter()
        .enumerate()
        .map(|(i, desc)| layer::Wanted {
            desc: desc.clone(),
            chain_id: chains[i].clone(),
            parent: i.checked_sub(1).map(|p| chains[p].clone()),
        })
        .collect();
    let sources = progress::forwarding(progress, async move |events| {
        for w in &wanted {
            events.send(&w.desc.digest, Phase::Waiting, 0, Some(w.desc.size));
        }
        let failed = AtomicBool::new(false);
        let shared = layer::Shared {
            client: &client,
            repo: reference.path(),
            blobs: ctx.blobs,
            layers: ctx.layers,
            opts: ctx.unpack,
            max_resumes: ctx.client.max_resume_attempts,
            events: &events,
            failed: &failed,
        };
        fetch_all(&shared, wanted, ctx.max_concurrent).await
    })
    .await?;
    let layers = manifest
        .layers
        .iter()
        .zip(diff_ids)
        .zip(chains)
        .zip(sources)
        .map(|(((desc, diff_id), chain_id), source)| PulledLayer {
            descriptor: desc.clone(),
            diff_id,
            chain_id,
            source,
        })
        .collect();
    Ok(PulledImage {
        reference: reference.clone(),
        index_digest: resolved.index_digest,
        manifest_digest: resolved.digest,
        manifest_media_type: resolved.media_type,
        manifest: resolved.bytes,
        config_digest: manifest.config.digest.clone(),
        config_media_type: manifest.config.media_type.clone(),
        config: config_bytes,
        layers,
    })
}

/// Fetches every layer, `limit` at a time; on the first failure the rest are told to
/// stop, and every started layer is waited for (so no unpack thread outlives the call).
/// Returns the sources in layer order, or the first real error.
async fn fetch_all(
    shared: &layer::Shared<'_>,
    wanted: Vec<layer::Wanted>,
    limit: usize,
) -> Result<Vec<LayerSource>, PullError> {
    let count = wanted.len();
    let mut results: Vec<Option<LayerSource>> = vec![None; count];
    let mut first_err: Option<PullError> = None;
    let mut done = futures_util::stream::iter(wanted.into_iter().enumerate())
        .map(|(i, w)| async move { (i, layer::fetch(shared, w).await) })
        .buffer_unordered(limit.max(1));
    while let Some((i, res)) = done.next().await {
        match res {
            Ok(source) => results[i] = Some(source),
            Err(e) => {
                shared.failed.store(true, Ordering::Relaxed);
                let replace = match (&first_err, &e) {
                    (None, _) => true,
                    (Some(PullError::Abandoned { .. }), err) => {
                        !matches!(err, PullError::Abandoned { .. })
                    }
                    _ => false,
                };
                if replace {
                    first_err = Some(e);
                }
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every layer reported"))
        .collect())
}
