//! Pushing an image: layer blobs (skipped when present, mounted from the repository
//! they came from when it is on the same registry, else uploaded), then the config,
//! then the manifest.
//!
//! Runs in berthd on tokio; repacking runs on blocking threads. Owns nothing after it
//! returns; repacked blobs stay in the blob store. When every layer has its stored blob
//! and the stored manifest bytes are given, those exact bytes are pushed so the
//! manifest digest does not change. Otherwise the layers are repacked, the config gets
//! their new diff ids (a new image id) and a new manifest of the config's media type
//! family is built. Follows the OCI distribution spec's push section.

use berth_registry::{BlobSource, Client, ClientConfig, Progress, PushOutcome};
use bytes::Bytes;
use futures_util::StreamExt as _;

use super::progress::{self, Events, Phase, ProgressFn};
use super::rebuild;
use super::{PulledImage, PushError};
use crate::digest::Digest;
use crate::layers::LayerStore;
use crate::manifest::{media_type, Descriptor, ImageConfig};
use crate::reference::Reference;
use crate::store::BlobStore;

/// Where a push reads from and how it reaches registries.
#[derive(Debug, Clone, Copy)]
pub struct PushContext<'a> {
    /// Compressed layers and configs.
    pub blobs: &'a BlobStore,
    /// Unpacked layers, for layers without a stored blob.
    pub layers: &'a LayerStore,
    /// Registry access.
    pub client: &'a ClientConfig,
    /// Blobs pushed at the same time (at least 1).
    pub max_concurrent: usize,
}

/// One layer of an image to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushLayer {
    /// The compressed blob's descriptor, when the image has one (pulled or loaded).
    pub descriptor: Option<Descriptor>,
    /// Chain id, to find the unpacked layer when the blob must be repacked.
    pub chain_id: Digest,
}

/// An image to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushImage<'a> {
    /// The config bytes (their digest is the image id).
    pub config: &'a [u8],
    /// The config's media type.
    pub config_media_type: &'a str,
    /// The stored manifest bytes and media type, reused as is when every layer blob is
    /// stored.
    pub manifest: Option<(&'a [u8], &'a str)>,
    /// The layers, base first.
    pub layers: Vec<PushLayer>,
    /// Where the blobs came from; used to mount instead of upload when it is another
    /// repository on the target's registry.
    pub source: Option<&'a Reference>,
}

impl<'a> PushImage<'a> {
    /// The push form of a pulled image, with its repository as the mount source.
    pub fn from_pulled(image: &'a PulledImage) -> PushImage<'a> {
        PushImage {
            config: &image.config,
            config_media_type: &image.config_media_type,
            manifest: Some((&image.manifest, &image.manifest_media_type)),
            layers: image
                .layers
                .iter()
                .map(|l| PushLayer {
                    descriptor: Some(l.descriptor.clone()),
                    chain_id: l.chain_id.clone(),
                })
                .collect(),
            source: Some(&image.reference),
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// Digest of the pushed manifest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Digest of the pushed config (the image id; new when layers were repacked).
    pub config_digest: Digest,
    /// Whether layers were repacked, so config and manifest were rebuilt.
    pub rebuilt: bool,
    /// Per layer, base first, then the config: the blob and what the push did with it.
    pub blobs: Vec<(Digest, PushOutcome)>,
}

/// Pushes `image` to `target` (tag, or digest when the manifest is reused), reporting
/// per-blob progress to `progress`.
pub async fn push(
    ctx: &PushContext<'_>,
    image: &PushImage<'_>,
    target: &Reference,
    progress: ProgressFn<'_>,
) -> Result<Pushed, PushError> {
    let config =
        ImageConfig::parse(image.config).map_err(|source| PushError::ParseConfig { source })?;
    let diff_ids = &config.rootfs.diff_ids;
    if diff_ids.len() != image.layers.len() {
        return Err(PushError::LayerCount {
            layers: image.layers.len(),
            diff_ids: diff_ids.len(),
        });
    }
    let host = target.registry_host();
    let client = Client::new(host, ctx.client).map_err(|source| PushError::Client {
        host: host.to_owned(),
        source,
    })?;
    let mount_from = image
        .source
        .filter(|s| s.registry_host() == host && s.path() != target.path())
        .map(|s| s.path().to_owned());
    let docker = image.config_media_type == media_type::DOCKER_CONFIG;
    let layer_type = if docker {
        media_type::DOCKER_LAYER_GZIP
    } else {
        media_type::OCI_LAYER_GZIP
    };
    let blob_job = BlobJob {
        ctx,
        client: &client,
        repo: target.path(),
        mount_from: mount_from.as_deref(),
        layer_type,
    };
    progress::forwarding(progress, async |events| {
        let mut layer_results: Vec<(usize, Result<LayerPushed, PushError>)> =
            futures_util::stream::iter(image.layers.iter().enumerate())
                .map(|(i, layer)| {
                    let job = &blob_job;
                    let events = &events;
                    async move { (i, job.layer(layer, events).await) }
                })
                .buffer_unordered(ctx.max_concurrent.max(1))
                .collect()
                .await;
        layer_results.sort_by_key(|(i, _)| *i);
        let mut descriptors = Vec::new();
        let mut blobs = Vec::new();
        let mut new_diff_ids = Vec::new();
        for (_, res) in layer_results {
            let LayerPushed {
                desc,
                outcome,
                repacked,
            } = res?;
            new_diff_ids.push(repacked);
            blobs.push((desc.digest.clone(), outcome));
            descriptors.push(desc);
        }
        let rebuilt = new_diff_ids.iter().any(Option::is_some);
        let config_bytes = if rebuilt {
            rebuild::config(image.config, &new_diff_ids)?
        } else {
            image.config.to_vec()
        };
        let config_digest = Digest::sha256_of(&config_bytes);
        let config_size = config_bytes.len() as u64;
        let config_src = BlobSource::Bytes(Bytes::from(config_bytes));
        let outcome = blob_job
            .push_blob(&config_digest, &config_src, &events)
            .await?;
        blobs.push((config_digest.clone(), outcome));
        let (bytes, manifest_type) = match image.manifest {
            Some((bytes, mt)) if !rebuilt => (bytes.to_vec(), mt.to_owned()),
            _ => {
                let config_desc =
                    rebuild::descriptor_json(image.config_media_type, &config_digest, config_size);
                rebuild::manifest(docker, config_desc, &descriptors)?
            }
        };
        let reference = match (target.tag(), target.digest()) {
            (Some(tag), _) => tag.to_owned(),
            (None, Some(d)) => d.to_string(),
            (None, None) => crate::reference::DEFAULT_TAG.to_owned(),
        };
        let digest = client
            .put_manifest(target.path(), &reference, &manifest_type, bytes.into())
            .await
            .map_err(|source| PushError::PushManifest {
                reference: target.to_string(),
                source,
            })?;
        let digest = digest
            .parse()
            .map_err(|_| PushError::ManifestDigest { digest })?;
        Ok(Pushed {
            digest,
            media_type: manifest_type,
            config_digest,
            rebuilt,
            blobs,
        })
    })
    .await
}

/// One pushed layer: its descriptor, what the registry did, and its new diff id when
/// it was repacked.
struct LayerPushed {
    desc: Descriptor,
    outcome: PushOutcome,
    repacked: Option<Digest>,
}

/// What pushing one blob needs.
struct BlobJob<'a> {
    ctx: &'a PushContext<'a>,
    client: &'a Client,
    repo: &'a str,
    mount_from: Option<&'a str>,
    layer_type: &'static str,
}

impl BlobJob<'_> {
    /// Pushes one layer, repacking it first when its blob is not stored.
    async fn layer(&self, layer: &PushLayer, events: &Events) -> Result<LayerPushed, PushError> {
        let stored = layer
            .descriptor
            .as_ref()
            .filter(|d| self.ctx.blobs.exists(&d.digest));
        let (desc, repacked) = match stored {
            Some(desc) => (desc.clone(), None),
            None => {
                let (blobs, layers) = (self.ctx.blobs.clone(), self.ctx.layers.clone());
                let chain = layer.chain_id.clone();
                events.send(&chain, Phase::Packing, 0, None);
                let packed = tokio::task::spawn_blocking(move || {
                    super::repack::repack(&blobs, &layers, &chain)
                })
                .await
                .map_err(|source| PushError::Worker {
                    chain_id: layer.chain_id.clone(),
                    source,
                })??;
                let desc = rebuild::descriptor(self.layer_type, packed.digest, packed.size);
                (desc, Some(packed.diff_id))
            }
        };
        let source = BlobSource::File(self.ctx.blobs.path_of(&desc.digest));
        let outcome = self.push_blob(&desc.digest, &source, events).await?;
        Ok(LayerPushed {
            desc,
            outcome,
            repacked,
        })
    }

    async fn push_blob(
        &self,
        digest: &Digest,
        source: &BlobSource,
        events: &Events,
    ) -> Result<PushOutcome, PushError> {
        let forward = |p: Progress| {
            if let Ok(d) = p.digest.parse::<Digest>() {
                events.send(&d, phase(p.phase), p.current, p.total);
            }
        };
        self.client
            .push_blob(
                self.repo,
                &digest.to_string(),
                source,
                self.mount_from,
                &forward,
            )
            .await
            .map_err(|source| PushError::PushBlob {
                digest: digest.clone(),
                source,
            })
    }
}

fn phase(p: berth_registry::Phase) -> Phase {
    use berth_registry::Phase as R;
    match p {
        R::Waiting => Phase::Waiting,
        R::Downloading => Phase::Downloading,
        R::Verifying => Phase::Verifying,
        R::Done => Phase::Done,
        R::Exists => Phase::Exists,
        R::Mounted => Phase::Mounted,
        R::Pushing => Phase::Pushing,
    }
}
