//! `docker save`: stored images to a docker save archive (OCI layout + `manifest.json` +
//! `repositories`, Docker 25+'s layout, which Docker 20.10+ also loads) or a plain OCI
//! image layout.
//!
//! Runs in berthd; reads the stores and writes only to the caller's writer. Blobs are
//! copied byte for byte (layers as stored, possibly compressed), so ids and manifest
//! digests survive. An image without a stored manifest gets an OCI manifest generated
//! for the archive. Names follow Docker: `repo` alone saves every tag of the repository,
//! `repo:tag` that tag, an id the image with no tags.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};

use serde_json::{json, Value};

use super::error::{blob_err, write_err};
use super::layout::{
    oci_manifest, Compression, LayerBlob, ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, INDEX_JSON,
    MANIFEST_JSON, OCI_LAYOUT, REPOSITORIES,
};
use super::ArchiveError;
use crate::digest::Digest;
use crate::images::{ImageError, ImageRecord, ImageStore};
use crate::manifest::{self, media_type, Parsed, MAX_MANIFEST_SIZE};
use crate::reference::Reference;

fn blob_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm(), d.hex())
}

/// Which archive `save` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveFormat {
    /// `docker save`: OCI layout plus `manifest.json` and `repositories`.
    Docker,
    /// A plain OCI image layout (`oci-layout`, `index.json`, `blobs/`).
    Oci,
}

/// One image to write, with the tags to name it by.
struct Selected {
    record: ImageRecord,
    tags: Vec<Reference>,
}

/// Docker's name selection: see the module docs.
fn select(store: &ImageStore, names: &[&str]) -> Result<Vec<Selected>, ArchiveError> {
    let mut out: Vec<Selected> = Vec::new();
    let mut push = |record: ImageRecord, tag: Option<Reference>| {
        let i = match out.iter().position(|s| s.record.id == record.id) {
            Some(i) => i,
            None => {
                out.push(Selected {
                    record,
                    tags: Vec::new(),
                });
                out.len() - 1
            }
        };
        if let Some(t) = tag {
            if !out[i].tags.contains(&t) {
                out[i].tags.push(t);
            }
        }
    };
    for &name in names {
        let record = store.resolve(name);
        let by_id = record
            .as_ref()
            .is_ok_and(|r| r.id.to_string().starts_with(name) || r.id.hex().starts_with(name));
        if by_id {
            push(record?, None);
            continue;
        }
        let name_only = !name.contains('@') && !name.rsplit('/').next().unwrap_or("").contains(':');
        let parsed = Reference::parse(name).map_err(|source| ImageError::InvalidReference {
            reference: name.to_owned(),
            source,
        })?;
        if name_only {
            let mut found = false;
            for rec in store.list() {
                for tag in rec
                    .repo_tags
                    .iter()
                    .filter_map(|t| Reference::parse(t).ok())
                {
                    if tag.name() == parsed.name() {
                        found = true;
                        push(rec.clone(), Some(tag));
                    }
                }
            }
            if found {
                continue;
            }
        }
        let record = record?;
        push(record, parsed.digest().is_none().then_some(parsed));
    }
    if out.is_empty() {
        return Err(ArchiveError::NothingToSave);
    }
    Ok(out)
}

/// What goes into the archive for one image.
struct Parts {
    manifest: Vec<u8>,
    layers: Vec<Digest>,
}

/// The image's stored manifest, or a generated OCI one.
fn parts(store: &ImageStore, rec: &ImageRecord) -> Result<Parts, ArchiveError> {
    let blobs = store.blobs();
    if let Some(d) = rec.manifest_digest.as_ref().filter(|d| blobs.exists(d)) {
        let bytes = blobs
            .read(d, MAX_MANIFEST_SIZE)
            .map_err(blob_err(format!("read manifest {d}")))?;
        let parsed = manifest::parse(&bytes, None).map_err(|source| ArchiveError::Manifest {
            path: d.to_string(),
            source,
        })?;
        if let Parsed::Manifest(m) = parsed {
            let layers = m.layers.into_iter().map(|l| l.digest).collect();
            return Ok(Parts {
                manifest: bytes,
                layers,
            });
        }
    }
    let mut layers = Vec::new();
    for d in &rec.layer_blobs {
        let path = blobs.path_of(d);
        let size = blobs.size(d).map_err(blob_err(format!("stat layer {d}")))?;
        let compression = Compression::of_file(&path).map_err(|source| ArchiveError::Read {
            what: path.display().to_string(),
            source,
        })?;
        layers.push(LayerBlob {
            digest: d.clone(),
            size,
            media_type: compression.oci_media_type().to_owned(),
        });
    }
    let config_size = blobs
        .size(&rec.id)
        .map_err(blob_err(format!("stat config {}", rec.id)))?;
    Ok(Parts {
        manifest: oci_manifest(&rec.id, config_size, &layers),
        layers: rec.layer_blobs.clone(),
    })
}

/// Writes the images `names` to `writer` as `format`; returns the writer.
pub fn save<W: Write>(
    store: &ImageStore,
    names: &[&str],
    format: SaveFormat,
    writer: W,
) -> Result<W, ArchiveError> {
    let selected = select(store, names)?;
    let mut out = Writer::new(writer);
    out.dir("blobs/")?;
    out.dir("blobs/sha256/")?;
    let mut index = Vec::new();
    let mut docker_manifest = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for sel in &selected {
        let rec = &sel.record;
        let parts = parts(store, rec)?;
        out.blob(store, &rec.id)?;
        for layer in &parts.layers {
            out.blob(store, layer)?;
        }
        let manifest_digest = Digest::sha256_of(&parts.manifest);
        out.bytes(
            &format!("blobs/sha256/{}", manifest_digest.hex()),
            &parts.manifest,
        )?;
        let desc = |annotations: Value| {
            let mut d = json!({
                "mediaType": media_type::OCI_MANIFEST,
                "digest": manifest_digest,
                "size": parts.manifest.len(),
            });
            if let Ok(Parsed::Manifest(m)) = manifest::parse(&parts.manifest, None) {
                d["mediaType"] = json!(m.media_type);
            }
            if !annotations.is_null() {
                d["annotations"] = annotations;
            }
            d
        };
        if sel.tags.is_empty() {
            index.push(desc(Value::Null));
        }
        for tag in &sel.tags {
            index.push(desc(json!({
                ANNOTATION_IMAGE_NAME: tag.to_string(),
                ANNOTATION_REF_NAME: tag.tag().unwrap_or("latest"),
            })));
            if let (Some(t), Some(top)) = (tag.tag(), parts.layers.last()) {
                repositories
                    .entry(tag.familiar_name())
                    .or_default()
                    .insert(t.to_owned(), top.hex().to_owned());
            }
        }
        let repo_tags: Vec<String> = sel.tags.iter().map(Reference::familiar).collect();
        let layer_paths: Vec<String> = parts.layers.iter().map(blob_path).collect();
        docker_manifest.push(json!({
            "Config": blob_path(&rec.id),
            "RepoTags": if repo_tags.is_empty() { Value::Null } else { json!(repo_tags) },
            "Layers": layer_paths,
        }));
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": index,
    });
    out.json(INDEX_JSON, &index)?;
    if format == SaveFormat::Docker {
        out.json(MANIFEST_JSON, &Value::Array(docker_manifest))?;
        if !repositories.is_empty() {
            out.json(REPOSITORIES, &json!(repositories))?;
        }
    }
    out.json(OCI_LAYOUT, &json!({"imageLayoutVersion": "1.0.0"}))?;
    out.finish()
}

/// The outer tar: regular files 0644 and directories 0755, mtime 0, each blob once.
struct Writer<W: Write> {
    tar: tar::Builder<W>,
    written: BTreeSet<Digest>,
}

impl<W: Write> Writer<W> {
    fn new(w: W) -> Self {
        let mut tar = tar::Builder::new(w);
        tar.mode(tar::HeaderMode::Deterministic);
        Writer {
            tar,
            written: BTreeSet::new(),
        }
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(0);
        h
    }

    fn dir(&mut self, path: &str) -> Result<(), ArchiveError> {
        let mut h = Self::header(tar::EntryType::Directory, 0o755, 0);
        self.tar
            .append_data(&mut h, path, io::empty())
            .map_err(write_err(path))
    }

    fn entry(&mut self, path: &str, size: u64, data: impl Read) -> Result<(), ArchiveError> {
        let mut h = Self::header(tar::EntryType::Regular, 0o644, size);
        self.tar
            .append_data(&mut h, path, data)
            .map_err(write_err(path))
    }

    fn bytes(&mut self, path: &str, data: &[u8]) -> Result<(), ArchiveError> {
        if let Some(d) = path
            .strip_prefix("blobs/sha256/")
            .and_then(|h| format!("sha256:{h}").parse().ok())
        {
            if !self.written.insert(d) {
                return Ok(());
            }
        }
        self.entry(path, data.len() as u64, data)
    }

    fn json(&mut self, path: &str, v: &Value) -> Result<(), ArchiveError> {
        // A serde_json::Value always serialises.
        let bytes = serde_json::to_vec(v).unwrap_or_default();
        self.bytes(path, &bytes)
    }

    /// Copies the stored blob `d` in, once.
    fn blob(&mut self, store: &ImageStore, d: &Digest) -> Result<(), ArchiveError> {
        if !self.written.insert(d.clone()) {
            return Ok(());
        }
        let blobs = store.blobs();
        let size = blobs.size(d).map_err(blob_err(format!("stat {d}")))?;
        let f = blobs.open_blob(d).map_err(blob_err(format!("open {d}")))?;
        self.entry(&blob_path(d), size, f)
    }

    fn finish(self) -> Result<W, ArchiveError> {
        self.tar.into_inner().map_err(write_err("end of archive"))
    }
}
