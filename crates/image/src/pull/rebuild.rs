//! Push helper: a new config and manifest for an image whose layers were repacked.
//!
//! Pure data. The config keeps every field as it was (it is edited as JSON, not through
//! `ImageConfig`, so unknown fields survive) except `rootfs.diff_ids` of repacked layers.

use serde_json::{json, Value};

use super::PushError;
use crate::digest::Digest;
use crate::manifest::{media_type, Descriptor};

/// `config` with `rootfs.diff_ids[i]` replaced where `new_diff_ids[i]` is set.
pub(crate) fn config(config: &[u8], new_diff_ids: &[Option<Digest>]) -> Result<Vec<u8>, PushError> {
    let err = |source| PushError::RewriteConfig { source };
    let mut doc: Value = serde_json::from_slice(config).map_err(err)?;
    let mut ids: Vec<Value> = doc["rootfs"]["diff_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (slot, new) in ids.iter_mut().zip(new_diff_ids) {
        if let Some(d) = new {
            *slot = Value::String(d.to_string());
        }
    }
    doc["rootfs"]["diff_ids"] = Value::Array(ids);
    serde_json::to_vec(&doc).map_err(err)
}

/// A descriptor with no urls, annotations or platform.
pub(crate) fn descriptor(media_type: &str, digest: Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest,
        size,
        urls: Vec::new(),
        annotations: Default::default(),
        platform: None,
    }
}

/// A descriptor as manifest JSON.
pub(crate) fn descriptor_json(media_type: &str, digest: &Digest, size: u64) -> Value {
    json!({ "mediaType": media_type, "digest": digest.to_string(), "size": size })
}

/// A schema 2 (Docker or OCI) manifest for `config` and `layers`, and its media type.
pub(crate) fn manifest(
    docker: bool,
    config: Value,
    layers: &[Descriptor],
) -> Result<(Vec<u8>, String), PushError> {
    let media_type = if docker {
        media_type::DOCKER_MANIFEST
    } else {
        media_type::OCI_MANIFEST
    };
    let layers: Vec<Value> = layers
        .iter()
        .map(|d| descriptor_json(&d.media_type, &d.digest, d.size))
        .collect();
    let doc = json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config,
        "layers": layers,
    });
    let bytes =
        serde_json::to_vec(&doc).map_err(|source| PushError::SerializeManifest { source })?;
    Ok((bytes, media_type.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_rewrite_keeps_other_fields() {
        let old = Digest::sha256_of(b"old");
        let keep = Digest::sha256_of(b"keep");
        let new = Digest::sha256_of(b"new");
        let cfg = json!({
            "architecture": "amd64", "os": "linux", "x-extra": 1,
            "rootfs": { "type": "layers", "diff_ids": [keep.to_string(), old.to_string()] },
        });
        let out = config(
            &serde_json::to_vec(&cfg).unwrap(),
            &[None, Some(new.clone())],
        )
        .unwrap();
        let doc: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(doc["x-extra"], 1);
        assert_eq!(
            doc["rootfs"]["diff_ids"],
            json!([keep.to_string(), new.to_string()])
        );
    }
}
