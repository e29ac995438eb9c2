//! `docker import`: a root filesystem tarball (plain, gzip or zstd) becomes a one-layer
//! image whose config carries the `--change` directives.
//!
//! Runs in berthd. Changes and the tag are validated before anything is written. The
//! input is decompressed once into a staging file under `<root>/images/` (hashing the
//! diff id on the way), which is then unpacked as the layer and stored as the layer blob
//! (uncompressed, like Docker 25+'s save); the staging file is removed on return and a
//! failure removes whatever was created. Like Docker, the history comment names the
//! source (`Imported from -`).

use std::fs::{self, File};
use std::io::{self, Cursor, Read, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::change::{apply_changes, to_value};
use super::error::write_err;
use super::layout::{oci_manifest, parse_tag, Compression, LayerBlob};
use super::rollback::Rollback;
use super::ArchiveError;
use crate::digest::{Algorithm, Digest, Hasher};
use crate::images::{timestamp, ImageRecord, ImageStore};
use crate::manifest::config::ContainerConfig;
use crate::manifest::{media_type, Platform, MAX_LAYER_SIZE};
use crate::unpack::UnpackOptions;

/// Removes a staging file on drop.
struct StagingFile(PathBuf);

impl Drop for StagingFile {
    fn drop(&mut self) {
        // Best effort: a leftover file is only disk space, and drop cannot report.
        let _ = fs::remove_file(&self.0);
    }
}

/// Imports the rootfs tarball from `reader` as a new image, applies `changes` to its
/// config, tags it `tag` if given, and returns its id.
pub fn import(
    store: &ImageStore,
    reader: impl Read,
    changes: &[String],
    tag: Option<&str>,
) -> Result<Digest, ArchiveError> {
    let mut run = ContainerConfig::default();
    apply_changes(&mut run, changes)?;
    let tag = tag.map(parse_tag).transpose()?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let staging = StagingFile(
        store
            .dir()
            .join(format!(".import-{}-{nanos}.tar", std::process::id())),
    );
    let (diff_id, size) = decompress_to(reader, &staging.0)?;

    let mut rollback = Rollback::new(store);
    rollback.ensure_layer(&diff_id, None, &staging.0, &UnpackOptions::default())?;
    rollback.put_file(&staging.0, &diff_id, size)?;
    let config_bytes = config_json(&run, &diff_id);
    let config_digest = rollback.put_bytes(&config_bytes)?;
    let layer = LayerBlob {
        digest: diff_id.clone(),
        size,
        media_type: media_type::OCI_LAYER.to_owned(),
    };
    let manifest = oci_manifest(&config_digest, config_bytes.len() as u64, &[layer]);
    let manifest_digest = rollback.put_bytes(&manifest)?;
    let rec = ImageRecord::from_config(&config_bytes, Some(manifest_digest), vec![diff_id])
        .map_err(|source| ArchiveError::Config {
            path: "generated config".into(),
            source,
        })?;
    let id = rollback.add_record(rec)?.id;
    if let Some(tag) = tag {
        store.tag(&id, &tag.to_string())?;
    }
    rollback.commit();
    Ok(id)
}

/// Writes the uncompressed tar from `reader` to `path`; returns its digest and size.
fn decompress_to(mut reader: impl Read, path: &PathBuf) -> Result<(Digest, u64), ArchiveError> {
    let read_err = |source| ArchiveError::Read {
        what: "import stream".into(),
        source,
    };
    let mut prefix = Vec::with_capacity(4);
    (&mut reader)
        .take(4)
        .read_to_end(&mut prefix)
        .map_err(read_err)?;
    let compression = Compression::sniff(&prefix);
    let mut decoded = compression
        .decoder(Cursor::new(prefix).chain(reader))
        .map_err(read_err)?
        .take(MAX_LAYER_SIZE + 1);
    let what = || format!("staging file {}", path.display());
    let mut out = File::create(path).map_err(write_err(what()))?;
    let mut hasher = Hasher::new(Algorithm::Sha256);
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match decoded.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_err(e)),
        };
        size += n as u64;
        if size > MAX_LAYER_SIZE {
            return Err(ArchiveError::TooLarge {
                path: "import stream".into(),
                limit: MAX_LAYER_SIZE,
            });
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(write_err(what()))?;
    }
    Ok((hasher.finish(), size))
}

/// The image config Docker's import writes.
fn config_json(run: &ContainerConfig, diff_id: &Digest) -> Vec<u8> {
    let host = Platform::host();
    let now = timestamp::now();
    let comment = "Imported from -";
    let mut config = json!({
        "architecture": host.architecture,
        "comment": comment,
        "config": to_value(run),
        "created": now,
        "history": [{"created": now, "comment": comment}],
        "os": host.os,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    });
    if let Some(v) = host.variant {
        config["variant"] = json!(v);
    }
    // A json! value of strings always serialises.
    serde_json::to_vec(&config).unwrap_or_default()
}
