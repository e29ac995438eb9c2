//! Shared pieces of the archive formats: file names, the OCI manifest berth writes for
//! images that lack one, image-name annotations, and layer compression sniffing and
//! diff-id measurement.
//!
//! Pure code plus reads of files the caller owns (staged members, stored blobs).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde_json::{json, Value};

use super::ArchiveError;
use crate::digest::{Algorithm, Digest, Hasher};
use crate::manifest::media_type;
use crate::reference::Reference;

/// Docker's per-archive image list.
pub(crate) const MANIFEST_JSON: &str = "manifest.json";
/// The OCI layout's entry point.
pub(crate) const INDEX_JSON: &str = "index.json";
/// The OCI layout marker file.
pub(crate) const OCI_LAYOUT: &str = "oci-layout";
/// Docker's legacy repository → tag → top layer map.
pub(crate) const REPOSITORIES: &str = "repositories";
/// containerd's (and Docker 25+'s) full image name annotation.
pub(crate) const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// The OCI reference name annotation (Docker writes the tag here).
pub(crate) const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Compression of a layer, sniffed from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    /// A plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

impl Compression {
    /// Sniffs the magic bytes at the start of `prefix`.
    pub fn sniff(prefix: &[u8]) -> Compression {
        if prefix.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// Sniffs the file at `path`.
    pub fn of_file(path: &Path) -> io::Result<Compression> {
        let mut prefix = [0u8; 4];
        let mut f = File::open(path)?;
        let mut n = 0;
        while n < prefix.len() {
            match f.read(&mut prefix[n..])? {
                0 => break,
                k => n += k,
            }
        }
        Ok(Compression::sniff(&prefix[..n]))
    }

    /// The OCI layer media type for this compression.
    pub fn oci_media_type(self) -> &'static str {
        match self {
            Compression::None => media_type::OCI_LAYER,
            Compression::Gzip => media_type::OCI_LAYER_GZIP,
            Compression::Zstd => media_type::OCI_LAYER_ZSTD,
        }
    }

    /// A reader of the uncompressed stream.
    pub fn decoder<'r>(self, r: impl Read + 'r) -> io::Result<Box<dyn Read + 'r>> {
        let r = BufReader::with_capacity(256 * 1024, r);
        Ok(match self {
            Compression::None => Box::new(r),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(r)?),
        })
    }
}

/// The diff id (sha256 of the uncompressed tar) of the layer file at `path`, whose own
/// sha256 is `digest`.
pub(crate) fn diff_id_of(path: &Path, digest: &Digest) -> io::Result<Digest> {
    let compression = Compression::of_file(path)?;
    if compression == Compression::None {
        return Ok(digest.clone());
    }
    let mut decoded = compression.decoder(File::open(path)?)?;
    let mut hasher = Hasher::new(Algorithm::Sha256);
    io::copy(&mut decoded, &mut hasher)?;
    Ok(hasher.finish())
}

/// One layer of a manifest to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LayerBlob {
    /// The blob's digest.
    pub digest: Digest,
    /// The blob's size.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
}

/// An OCI image manifest for a config and layers.
pub(crate) fn oci_manifest(config: &Digest, config_size: u64, layers: &[LayerBlob]) -> Vec<u8> {
    let layers: Vec<Value> = layers
        .iter()
        .map(|l| json!({"mediaType": l.media_type, "digest": l.digest, "size": l.size}))
        .collect();
    let doc = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": {"mediaType": media_type::OCI_CONFIG, "digest": config, "size": config_size},
        "layers": layers,
    });
    // A json! value of strings and numbers always serialises.
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// The image name an index entry's annotations give: containerd's full name, or a
/// `ref.name` that is a whole reference (a bare tag such as `latest` names no repository).
pub(crate) fn annotated_name(annotations: &BTreeMap<String, String>) -> Option<Reference> {
    if let Some(name) = annotations.get(ANNOTATION_IMAGE_NAME) {
        return Reference::parse(name).ok();
    }
    let r = annotations.get(ANNOTATION_REF_NAME)?;
    if r.contains(':') || r.contains('/') {
        Reference::parse(r).ok()
    } else {
        None
    }
}

/// A tag reference from an archive: must parse and carry a tag, not a digest.
pub(crate) fn parse_tag(s: &str) -> Result<Reference, ArchiveError> {
    let r = Reference::parse(s).map_err(|source| ArchiveError::InvalidTag {
        reference: s.to_owned(),
        source: Some(source),
    })?;
    if r.digest().is_some() || r.tag().is_none() {
        return Err(ArchiveError::InvalidTag {
            reference: s.to_owned(),
            source: None,
        });
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_compression() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::sniff(b"etc/"), Compression::None);
    }

    #[test]
    fn names_from_annotations() {
        let mut a = BTreeMap::new();
        a.insert(ANNOTATION_REF_NAME.to_owned(), "latest".to_owned());
        assert_eq!(annotated_name(&a), None);
        a.insert(ANNOTATION_REF_NAME.to_owned(), "app:1".to_owned());
        assert_eq!(annotated_name(&a).unwrap().familiar(), "app:1");
        a.insert(
            ANNOTATION_IMAGE_NAME.to_owned(),
            "docker.io/library/busybox:latest".to_owned(),
        );
        assert_eq!(annotated_name(&a).unwrap().familiar(), "busybox:latest");
    }

    #[test]
    fn tags_must_not_be_digests() {
        assert!(parse_tag("busybox:1").is_ok());
        let d = format!("busybox@sha256:{}", "a".repeat(64));
        assert!(matches!(
            parse_tag(&d),
            Err(ArchiveError::InvalidTag { .. })
        ));
    }
}
