//! Docker v2 schema2 and OCI manifests and indexes: typed, validated parsing of untrusted
//! registry bytes, plus platform selection and image configs in submodules.
//!
//! Pure code used by berthd's pull and image-inspect paths; owns no resources. Implements
//! the OCI image spec (manifest, index, descriptor) and Docker's schema2 equivalents.
//! Schema 1 manifests are recognised only to be refused; artifact manifests (non-image
//! config types) are refused too.

pub mod config;
pub mod media_type;
pub mod platform;

use std::collections::BTreeMap;

use serde::Deserialize;

pub use config::{chain_id, chain_ids, ConfigError, ImageConfig};
pub use platform::{select, Platform, PlatformError};

use crate::digest::{Digest, DigestError};

/// Largest manifest or index accepted, in bytes (Docker's limit).
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;
/// Largest image config a descriptor may declare, in bytes.
pub const MAX_CONFIG_SIZE: u64 = 8 << 20;
/// Largest layer a descriptor may declare, in bytes (sanity limit: 1 TiB).
pub const MAX_LAYER_SIZE: u64 = 1 << 40;

/// Why manifest bytes were rejected.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The document is bigger than [`MAX_MANIFEST_SIZE`].
    #[error("manifest is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Size of the document.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The bytes are not a JSON manifest document.
    #[error("decode manifest json")]
    Decode {
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A schema 1 manifest, which Docker no longer supports.
    #[error("unsupported schema 1 manifest: the image must be pushed as OCI or Docker schema 2")]
    Schema1,
    /// `schemaVersion` is missing or not 2.
    #[error("unsupported manifest schemaVersion {version:?}")]
    SchemaVersion {
        /// The declared version, if any.
        version: Option<i64>,
    },
    /// The Content-Type or `mediaType` is not a manifest or index type.
    #[error("unsupported manifest media type {media_type:?}")]
    UnsupportedMediaType {
        /// The media type.
        media_type: String,
    },
    /// The document's `mediaType` contradicts the Content-Type it was served with.
    #[error("manifest served as {content_type:?} declares mediaType {declared:?}")]
    MediaTypeMismatch {
        /// The Content-Type.
        content_type: String,
        /// The `mediaType` field.
        declared: String,
    },
    /// A required field is absent.
    #[error("{media_type} is missing {field:?}")]
    MissingField {
        /// The manifest kind.
        media_type: String,
        /// The JSON field.
        field: &'static str,
    },
    /// A descriptor's digest is invalid.
    #[error("descriptor {field} has an invalid digest")]
    InvalidDigest {
        /// Which descriptor (`config`, `layers[2]`, `manifests[0]`).
        field: String,
        /// What is wrong with it.
        #[source]
        source: DigestError,
    },
    /// A descriptor declares a negative size.
    #[error("descriptor {digest} has negative size {size}")]
    NegativeSize {
        /// The descriptor's digest.
        digest: Digest,
        /// The declared size.
        size: i64,
    },
    /// A descriptor declares a size over the sanity limit for its kind.
    #[error("descriptor {digest} declares {size} bytes, over the {limit}-byte limit")]
    SizeLimit {
        /// The descriptor's digest.
        digest: Digest,
        /// The declared size.
        size: u64,
        /// The limit for this kind of blob.
        limit: u64,
    },
    /// The config descriptor is not an image config (e.g. an OCI artifact).
    #[error("unsupported config media type {media_type:?}")]
    UnknownConfigMediaType {
        /// The media type.
        media_type: String,
    },
    /// A layer's media type is not one we can unpack.
    #[error("unsupported layer media type {media_type:?} for layer {digest}")]
    UnknownLayerMediaType {
        /// The media type.
        media_type: String,
        /// The layer's digest.
        digest: Digest,
    },
}

/// A validated content descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Media type of the referenced content.
    pub media_type: String,
    /// Digest of the referenced content.
    pub digest: Digest,
    /// Size of the referenced content in bytes.
    pub size: u64,
    /// Alternate download locations (foreign layers).
    pub urls: Vec<String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Platform of the referenced manifest (index entries only).
    pub platform: Option<Platform>,
}

/// A validated single-image manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// [`media_type::DOCKER_MANIFEST`] or [`media_type::OCI_MANIFEST`].
    pub media_type: String,
    /// The image config.
    pub config: Descriptor,
    /// The layers, base first; each has a known layer media type.
    pub layers: Vec<Descriptor>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

/// A validated multi-platform index (OCI index or Docker manifest list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// [`media_type::DOCKER_MANIFEST_LIST`] or [`media_type::OCI_INDEX`].
    pub media_type: String,
    /// The entries; media types are not restricted (attestations appear here).
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

/// The result of [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A single-image manifest.
    Manifest(Manifest),
    /// A multi-platform index.
    Index(Index),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDocument {
    schema_version: Option<i64>,
    media_type: Option<String>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDescriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    size: i64,
    #[serde(default)]
    urls: Vec<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    platform: Option<Platform>,
}

/// Parses untrusted manifest bytes served with `content_type` (the HTTP Content-Type,
/// parameters allowed). A missing or generic Content-Type (`application/json`) is
/// resolved from the document's `mediaType`, or from its shape when that is absent.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Parsed, ManifestError> {
    let size = bytes.len() as u64;
    if size > MAX_MANIFEST_SIZE {
        return Err(ManifestError::TooLarge {
            size,
            limit: MAX_MANIFEST_SIZE,
        });
    }
    let doc: RawDocument =
        serde_json::from_slice(bytes).map_err(|source| ManifestError::Decode { source })?;
    let kind = resolve_media_type(content_type, &doc)?;
    match doc.schema_version {
        Some(2) => {}
        Some(1) => return Err(ManifestError::Schema1),
        version => return Err(ManifestError::SchemaVersion { version }),
    }
    if media_type::is_index(&kind) {
        let raw = doc.manifests.ok_or_else(|| missing(&kind, "manifests"))?;
        let manifests = raw
            .into_iter()
            .enumerate()
            .map(|(i, d)| descriptor(d, &format!("manifests[{i}]"), MAX_MANIFEST_SIZE))
            .collect::<Result<_, _>>()?;
        return Ok(Parsed::Index(Index {
            media_type: kind,
            manifests,
            annotations: doc.annotations,
        }));
    }
    let raw_config = doc.config.ok_or_else(|| missing(&kind, "config"))?;
    let config = descriptor(raw_config, "config", MAX_CONFIG_SIZE)?;
    if !media_type::is_config(&config.media_type) {
        return Err(ManifestError::UnknownConfigMediaType {
            media_type: config.media_type,
        });
    }
    let raw_layers = doc.layers.ok_or_else(|| missing(&kind, "layers"))?;
    let mut layers = Vec::with_capacity(raw_layers.len());
    for (i, raw) in raw_layers.into_iter().enumerate() {
        let layer = descriptor(raw, &format!("layers[{i}]"), MAX_LAYER_SIZE)?;
        if media_type::layer_type(&layer.media_type).is_none() {
            return Err(ManifestError::UnknownLayerMediaType {
                media_type: layer.media_type,
                digest: layer.digest,
            });
        }
        layers.push(layer);
    }
    Ok(Parsed::Manifest(Manifest {
        media_type: kind,
        config,
        layers,
        annotations: doc.annotations,
    }))
}

fn missing(media_type: &str, field: &'static str) -> ManifestError {
    ManifestError::MissingField {
        media_type: media_type.to_owned(),
        field,
    }
}

/// Decides which manifest kind the document is, refusing contradictions and schema 1.
fn resolve_media_type(
    content_type: Option<&str>,
    doc: &RawDocument,
) -> Result<String, ManifestError> {
    let served = content_type
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|ct| !matches!(ct.as_str(), "" | "application/json" | "text/plain"))
        .filter(|ct| ct != "application/octet-stream");
    if let Some(ct) = &served {
        check_known(ct)?;
    }
    let declared = doc.media_type.as_deref();
    let kind = match (&served, declared) {
        (Some(ct), Some(d)) if ct != d => {
            return Err(ManifestError::MediaTypeMismatch {
                content_type: ct.clone(),
                declared: d.to_owned(),
            })
        }
        (Some(ct), _) => ct.clone(),
        (None, Some(d)) => d.to_owned(),
        (None, None) if doc.manifests.is_some() => media_type::OCI_INDEX.to_owned(),
        (None, None) if doc.config.is_some() => media_type::OCI_MANIFEST.to_owned(),
        (None, None) if doc.schema_version == Some(1) => return Err(ManifestError::Schema1),
        (None, None) => {
            return Err(ManifestError::UnsupportedMediaType {
                media_type: String::new(),
            })
        }
    };
    check_known(&kind)?;
    Ok(kind)
}

/// Refuses schema 1 and anything that is not a manifest or index type.
fn check_known(kind: &str) -> Result<(), ManifestError> {
    match kind {
        media_type::DOCKER_SCHEMA1_MANIFEST | media_type::DOCKER_SCHEMA1_SIGNED_MANIFEST => {
            Err(ManifestError::Schema1)
        }
        k if media_type::is_manifest(k) || media_type::is_index(k) => Ok(()),
        _ => Err(ManifestError::UnsupportedMediaType {
            media_type: kind.to_owned(),
        }),
    }
}

fn descriptor(raw: RawDescriptor, field: &str, limit: u64) -> Result<Descriptor, ManifestError> {
    let digest: Digest = raw
        .digest
        .parse()
        .map_err(|source| ManifestError::InvalidDigest {
            field: field.to_owned(),
            source,
        })?;
    let size = u64::try_from(raw.size).map_err(|_| ManifestError::NegativeSize {
        digest: digest.clone(),
        size: raw.size,
    })?;
    if size > limit {
        return Err(ManifestError::SizeLimit {
            digest,
            size,
            limit,
        });
    }
    Ok(Descriptor {
        media_type: raw.media_type,
        digest,
        size,
        urls: raw.urls,
        annotations: raw.annotations,
        platform: raw.platform,
    })
}

#[cfg(test)]
mod tests;
