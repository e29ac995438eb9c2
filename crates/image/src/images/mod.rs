//! The image metadata store under `<root>/images/`: image records keyed by id (the config
//! digest), the tag index, Docker's lookup rules, and reference-counted removal.
//!
//! Runs in berthd. Owns `<root>/images/records/<hex>.json` (one record per image) and
//! `<root>/images/references.json` (full reference → id), each written temp + rename
//! while the store's mutex is held, and mirrored in memory for lookups. Removal deletes
//! layers (`<root>/layers`) and blobs (`<root>/blobs`) that no remaining image uses; the
//! caller says which containers use an image. Parent/child image links (built images) are
//! not tracked yet, so Docker's "image has dependent child images" conflict never fires.

mod error;
mod inspect;
mod lookup;
mod record;
mod remove;
#[cfg(test)]
mod tests;
/// RFC 3339 timestamps as Docker writes them.
pub mod timestamp;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub use error::ImageError;
pub use record::{short_id, ContainerUse, Deleted, HistoryEntry, ImageRecord};
pub use remove::PruneReport;

use error::io_err;
use lookup::ref_key;

use crate::digest::Digest;
use crate::layers::LayerStore;
use crate::reference::Reference;
use crate::store::BlobStore;

const REFERENCES_FILE: &str = "references.json";

/// Image records, tags, and the blob and layer stores they point into.
#[derive(Debug)]
pub struct ImageStore {
    dir: PathBuf,
    blobs: BlobStore,
    layers: LayerStore,
    state: Mutex<State>,
}

/// The in-memory mirror of the files.
#[derive(Debug, Default)]
struct State {
    records: BTreeMap<Digest, ImageRecord>,
    /// Full reference (`docker.io/library/busybox:latest`, `…@sha256:…`) → image id.
    refs: BTreeMap<String, Digest>,
}

impl State {
    /// References pointing at `id`, parsed.
    fn refs_of(&self, id: &Digest) -> Vec<Reference> {
        self.refs
            .iter()
            .filter(|(_, v)| *v == id)
            .filter_map(|(k, _)| Reference::parse(k).ok())
            .collect()
    }

    /// `rec` with its tags and repo digests from the index, sorted by familiar form.
    fn fill(&self, rec: &ImageRecord) -> ImageRecord {
        let mut out = rec.clone();
        let mut refs = self.refs_of(&rec.id);
        refs.sort_by_key(Reference::familiar);
        out.repo_tags = refs
            .iter()
            .filter(|r| r.digest().is_none())
            .map(ref_key)
            .collect();
        out.repo_digests = refs
            .iter()
            .filter(|r| r.digest().is_some())
            .map(ref_key)
            .collect();
        out
    }

    /// The id `input` names under Docker's rules.
    fn resolve(&self, input: &str) -> Result<Digest, ImageError> {
        let plan = lookup::plan(input)?;
        let not_found = || ImageError::NotFound {
            reference: plan.display.clone(),
        };
        if let Some(id) = &plan.exact {
            return self
                .records
                .contains_key(id)
                .then(|| id.clone())
                .ok_or_else(not_found);
        }
        if let Some(named) = &plan.named {
            if let Some(id) = self.refs.get(&ref_key(named)) {
                if self.records.contains_key(id) {
                    return Ok(id.clone());
                }
            }
        }
        if let Some(prefix) = &plan.prefix {
            let mut hits = self
                .records
                .keys()
                .filter(|id| id.hex().starts_with(prefix.as_str()));
            if let (Some(id), None) = (hits.next(), hits.next()) {
                return Ok(id.clone());
            }
        }
        Err(not_found())
    }
}

impl ImageStore {
    /// Opens (creating if needed) the store under `root`: records in `root/images`, blobs
    /// in `root/blobs`, layers in `root/layers`. References to missing records are dropped.
    pub fn open(root: &Path) -> Result<ImageStore, ImageError> {
        let dir = root.join("images");
        let records_dir = dir.join("records");
        fs::create_dir_all(&records_dir).map_err(io_err("create directory", &records_dir))?;
        let blobs = BlobStore::open(root).map_err(|source| ImageError::Blob {
            step: "open".into(),
            source,
        })?;
        let layers = LayerStore::open(root).map_err(|source| ImageError::OpenLayers { source })?;
        let mut state = State::default();
        for entry in fs::read_dir(&records_dir).map_err(io_err("list", &records_dir))? {
            let path = entry.map_err(io_err("list", &records_dir))?.path();
            let is_record = path.extension().is_some_and(|e| e == "json")
                && !path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if !is_record {
                continue;
            }
            let rec: ImageRecord = read_json(&path)?;
            state.records.insert(rec.id.clone(), rec);
        }
        let refs_path = dir.join(REFERENCES_FILE);
        if refs_path.exists() {
            let refs: BTreeMap<String, Digest> = read_json(&refs_path)?;
            state.refs = refs
                .into_iter()
                .filter(|(_, id)| state.records.contains_key(id))
                .collect();
        }
        Ok(ImageStore {
            dir,
            blobs,
            layers,
            state: Mutex::new(state),
        })
    }

    /// The blob store the records point into.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// The layer store the records point into.
    pub fn layers(&self) -> &LayerStore {
        &self.layers
    }

    /// `root/images`, where the store keeps its files (and archive code its temp dirs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves files and memory consistent (every change
        // is written before the map is updated), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `record` (replacing one with the same id, keeping its tag time). Tags in
    /// the record are ignored; use [`ImageStore::tag`]. Every layer must be present; the
    /// size is recomputed from them. Returns the stored record with its current tags.
    pub fn add(&self, mut record: ImageRecord) -> Result<ImageRecord, ImageError> {
        let mut size = 0;
        for chain_id in &record.chain_ids {
            let layer =
                self.layers
                    .get(&chain_id.to_string())
                    .map_err(|_| ImageError::MissingLayer {
                        id: record.id.clone(),
                        chain_id: chain_id.clone(),
                    })?;
            size += layer.uncompressed_bytes;
        }
        record.size = size;
        record.repo_tags.clear();
        record.repo_digests.clear();
        let mut state = self.lock();
        if let Some(old) = state.records.get(&record.id) {
            record.last_tag_time = record.last_tag_time.or(old.last_tag_time.clone());
        }
        self.write_record(&record)?;
        let filled = state.fill(&record);
        state.records.insert(record.id.clone(), record);
        Ok(filled)
    }

    /// The image with id `id`.
    pub fn get(&self, id: &Digest) -> Result<ImageRecord, ImageError> {
        let state = self.lock();
        state
            .records
            .get(id)
            .map(|r| state.fill(r))
            .ok_or_else(|| ImageError::NotFound {
                reference: id.to_string(),
            })
    }

    /// Every image, sorted by id.
    pub fn list(&self) -> Vec<ImageRecord> {
        let state = self.lock();
        state.records.values().map(|r| state.fill(r)).collect()
    }

    /// The image `name_or_id` names: a full id (with or without `sha256:`), a reference
    /// (tag defaulting to `latest`, or `name@digest`), or an unambiguous id prefix.
    pub fn resolve(&self, name_or_id: &str) -> Result<ImageRecord, ImageError> {
        let state = self.lock();
        let id = state.resolve(name_or_id)?;
        Ok(state.fill(&state.records[&id]))
    }

    /// Points the tag `reference` (tag defaulting to `latest`) at image `id`, moving it
    /// off any other image (which may become dangling). Returns that other image's id.
    pub fn tag(&self, id: &Digest, reference: &str) -> Result<Option<Digest>, ImageError> {
        let r = parse_ref(reference)?;
        if r.digest().is_some() {
            return Err(ImageError::TagWithDigest {
                reference: reference.to_owned(),
            });
        }
        self.set_ref(id, &r)
    }

    /// Records the repo digest `reference` (`name@sha256:…`, any tag ignored) for `id`.
    pub fn add_repo_digest(&self, id: &Digest, reference: &str) -> Result<(), ImageError> {
        let r = parse_ref(reference)?;
        if r.digest().is_none() {
            return Err(ImageError::NotCanonical {
                reference: reference.to_owned(),
            });
        }
        self.set_ref(id, &r).map(|_| ())
    }

    fn set_ref(&self, id: &Digest, r: &Reference) -> Result<Option<Digest>, ImageError> {
        let mut state = self.lock();
        if !state.records.contains_key(id) {
            return Err(ImageError::NotFound {
                reference: id.to_string(),
            });
        }
        let mut refs = state.refs.clone();
        let previous = refs.insert(ref_key(r), id.clone());
        self.write_refs(&refs)?;
        state.refs = refs;
        if r.digest().is_none() {
            let mut rec = state.records[id].clone();
            rec.last_tag_time = Some(timestamp::now());
            self.write_record(&rec)?;
            state.records.insert(id.clone(), rec);
        }
        Ok(previous.filter(|p| p != id))
    }

    /// Removes the tag or digest reference `reference`; the image stays (maybe dangling).
    /// Returns the id it pointed at.
    pub fn untag(&self, reference: &str) -> Result<Digest, ImageError> {
        let r = parse_ref(reference)?;
        let mut state = self.lock();
        let mut refs = state.refs.clone();
        let id = refs
            .remove(&ref_key(&r))
            .ok_or_else(|| ImageError::NotFound {
                reference: r.familiar(),
            })?;
        self.write_refs(&refs)?;
        state.refs = refs;
        Ok(id)
    }

    fn record_path(&self, id: &Digest) -> PathBuf {
        self.dir.join("records").join(format!("{}.json", id.hex()))
    }

    fn write_record(&self, rec: &ImageRecord) -> Result<(), ImageError> {
        let bytes = serde_json::to_vec(rec).map_err(|source| ImageError::Encode {
            what: format!("image record {}", rec.id),
            source,
        })?;
        write_atomic(&self.record_path(&rec.id), &bytes)
    }

    fn write_refs(&self, refs: &BTreeMap<String, Digest>) -> Result<(), ImageError> {
        let bytes = serde_json::to_vec_pretty(refs).map_err(|source| ImageError::Encode {
            what: "reference index".into(),
            source,
        })?;
        write_atomic(&self.dir.join(REFERENCES_FILE), &bytes)
    }

    fn delete_record_file(&self, id: &Digest) -> Result<(), ImageError> {
        let path = self.record_path(id);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("remove", &path)(e)),
            _ => Ok(()),
        }
    }
}

fn parse_ref(reference: &str) -> Result<Reference, ImageError> {
    Reference::parse(reference).map_err(|source| ImageError::InvalidReference {
        reference: reference.to_owned(),
        source,
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ImageError> {
    let bytes = fs::read(path).map_err(io_err("read", path))?;
    serde_json::from_slice(&bytes).map_err(|source| ImageError::Decode {
        path: path.to_owned(),
        source,
    })
}

/// Writes `bytes` to `path` via a fsynced temp file in the same directory and a rename.
/// Callers hold the store mutex, so one temp name per process is enough.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".tmp-{name}-{}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp); // best effort; the write error is what matters
        return Err(io_err("write", &tmp)(e));
    }
    fs::rename(&tmp, path).map_err(io_err("rename into place", path))
}
