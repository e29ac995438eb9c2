//! Pull, first half: reference → verified manifest (through an index when there is one)
//! → verified config, both stored in the blob store.
//!
//! Runs in berthd on tokio. Holds nothing after it returns; the only files it creates
//! are blobs committed through `BlobStore` (verified, atomic). Follows the OCI
//! distribution spec's manifest pulls and the image spec's index selection rules.

use berth_registry::media_type::ALL_MANIFESTS;
use berth_registry::Client;
use futures_util::StreamExt as _;

use super::PullError;
use crate::digest::{Algorithm, Digest};
use crate::manifest::{self, Descriptor, ImageConfig, Manifest, Parsed, Platform};
use crate::reference::Reference;
use crate::store::{BlobStore, StoreError};

/// A manifest as resolved: the chosen single-image manifest and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// Digest of the index the manifest was selected from, if any.
    pub index_digest: Option<Digest>,
    /// Manifest digest.
    pub digest: Digest,
    /// Manifest media type.
    pub media_type: String,
    /// Manifest bytes exactly as served.
    pub bytes: Vec<u8>,
    /// Parsed manifest.
    pub manifest: Manifest,
}

/// Resolves `reference` (tag or digest) to one image manifest for `platform`, storing
/// the index (if any) and the manifest in `blobs`.
pub(crate) async fn resolve(
    client: &Client,
    blobs: &BlobStore,
    reference: &Reference,
    platform: &Platform,
) -> Result<Resolved, PullError> {
    let repo = reference.path();
    let pinned = reference.digest().cloned();
    let wanted = match (&pinned, reference.tag()) {
        (Some(d), _) => d.to_string(),
        (None, Some(tag)) => tag.to_owned(),
        (None, None) => crate::reference::DEFAULT_TAG.to_owned(),
    };
    let (digest, media_type, bytes) =
        fetch_manifest(client, repo, &wanted, pinned.as_ref()).await?;
    let parsed = parse(&bytes, &media_type, &digest)?;
    store(blobs, &digest, &bytes)?;
    match parsed {
        Parsed::Manifest(manifest) => Ok(Resolved {
            index_digest: None,
            digest,
            media_type: manifest.media_type.clone(),
            bytes,
            manifest,
        }),
        Parsed::Index(index) => {
            let entry =
                manifest::select(&index, platform).map_err(|source| PullError::Platform {
                    reference: reference.to_string(),
                    source,
                })?;
            let (m_digest, m_type, m_bytes) =
                fetch_manifest(client, repo, &entry.digest.to_string(), Some(&entry.digest))
                    .await?;
            match parse(&m_bytes, &m_type, &m_digest)? {
                Parsed::Index(_) => Err(PullError::NestedIndex { digest: m_digest }),
                Parsed::Manifest(manifest) => {
                    store(blobs, &m_digest, &m_bytes)?;
                    Ok(Resolved {
                        index_digest: Some(digest),
                        digest: m_digest,
                        media_type: manifest.media_type.clone(),
                        bytes: m_bytes,
                        manifest,
                    })
                }
            }
        }
    }
}

/// `GET` one manifest; when `pinned`, checks that the bytes hash to it.
async fn fetch_manifest(
    client: &Client,
    repo: &str,
    wanted: &str,
    pinned: Option<&Digest>,
) -> Result<(Digest, String, Vec<u8>), PullError> {
    let m = client
        .resolve(repo, wanted, ALL_MANIFESTS)
        .await
        .map_err(|source| PullError::Resolve {
            reference: format!("{}/{repo}:{wanted}", client.host()),
            source,
        })?;
    let algorithm = pinned.map_or(Algorithm::Sha256, Digest::algorithm);
    let actual = Digest::of(algorithm, &m.bytes);
    if let Some(expected) = pinned.filter(|&e| e != &actual) {
        return Err(PullError::ManifestDigest {
            expected: expected.clone(),
            actual,
        });
    }
    Ok((actual, m.media_type, m.bytes.to_vec()))
}

fn parse(bytes: &[u8], media_type: &str, digest: &Digest) -> Result<Parsed, PullError> {
    let content_type = (!media_type.is_empty()).then_some(media_type);
    manifest::parse(bytes, content_type).map_err(|source| PullError::ParseManifest {
        digest: digest.clone(),
        source,
    })
}

/// Stores small, already verified bytes under `digest`.
fn store(blobs: &BlobStore, digest: &Digest, bytes: &[u8]) -> Result<(), PullError> {
    if blobs.exists(digest) {
        return Ok(());
    }
    let err = |source| PullError::Store {
        digest: digest.clone(),
        source,
    };
    let mut writer = blobs
        .begin(digest.clone(), Some(bytes.len() as u64))
        .map_err(err)?;
    std::io::Write::write_all(&mut writer, bytes).map_err(|source| {
        err(StoreError::Write {
            path: writer.temp_path().to_owned(),
            source,
        })
    })?;
    writer.commit().map_err(err)
}

/// Fetches (or reads from the store) the config blob, verified, and parses it.
pub(crate) async fn config(
    client: &Client,
    blobs: &BlobStore,
    repo: &str,
    desc: &Descriptor,
) -> Result<(Vec<u8>, ImageConfig), PullError> {
    let digest = &desc.digest;
    let bytes = match blobs.read(digest, manifest::MAX_CONFIG_SIZE) {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound { .. }) => {
            let bytes = download_small(client, repo, desc).await?;
            store(blobs, digest, &bytes)?;
            bytes
        }
        Err(source) => {
            return Err(PullError::Store {
                digest: digest.clone(),
                source,
            })
        }
    };
    let config = ImageConfig::parse(&bytes).map_err(|source| PullError::ParseConfig {
        digest: digest.clone(),
        source,
    })?;
    Ok((bytes, config))
}

/// Downloads a small blob into memory and checks its size and digest.
async fn download_small(
    client: &Client,
    repo: &str,
    desc: &Descriptor,
) -> Result<Vec<u8>, PullError> {
    let digest = &desc.digest;
    let err = |source| PullError::Download {
        digest: digest.clone(),
        source,
    };
    let (mut stream, _) = client
        .fetch_blob(repo, &digest.to_string(), 0)
        .await
        .map_err(err)?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(err)?;
        if (bytes.len() + chunk.len()) as u64 > desc.size {
            return Err(PullError::BlobSize {
                digest: digest.clone(),
                expected: desc.size,
                actual: (bytes.len() + chunk.len()) as u64,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    let actual = Digest::of(digest.algorithm(), &bytes);
    if &actual != digest {
        return Err(PullError::BlobDigest {
            digest: digest.clone(),
            actual,
        });
    }
    Ok(bytes)
}
