//! All-or-nothing writes for `load` and `import`: every layer, blob and record created
//! through a [`Rollback`] is removed again if it is dropped before [`Rollback::commit`].
//!
//! Runs in berthd. Undo skips anything an image record uses by then (a concurrent pull
//! may have started sharing a layer), so it never breaks another image; what it could
//! not remove is only disk space, left for a later prune.

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::path::Path;

use super::error::blob_err;
use super::ArchiveError;
use crate::digest::Digest;
use crate::images::{ImageRecord, ImageStore};
use crate::unpack::{unpack, UnpackOptions};

/// Things created so far, undone on drop unless committed.
#[derive(Debug)]
pub(crate) struct Rollback<'s> {
    store: &'s ImageStore,
    layers: Vec<String>,
    blobs: Vec<Digest>,
    records: Vec<Digest>,
    armed: bool,
}

impl<'s> Rollback<'s> {
    /// Starts tracking changes to `store`.
    pub fn new(store: &'s ImageStore) -> Self {
        Rollback {
            store,
            layers: Vec::new(),
            blobs: Vec::new(),
            records: Vec::new(),
            armed: true,
        }
    }

    /// Makes sure layer `chain_id` exists, unpacking the (maybe compressed) tar at `file`.
    pub fn ensure_layer(
        &mut self,
        chain_id: &Digest,
        parent: Option<&Digest>,
        file: &Path,
        opts: &UnpackOptions,
    ) -> Result<(), ArchiveError> {
        let key = chain_id.to_string();
        let layers = self.store.layers();
        if layers.exists(&key) {
            return Ok(());
        }
        let parent = parent.map(ToString::to_string);
        let f = File::open(file).map_err(|source| ArchiveError::Read {
            what: file.display().to_string(),
            source,
        })?;
        layers
            .ensure(&key, parent.as_deref(), |dir| unpack(f, dir, opts))
            .map_err(|source| ArchiveError::Layer {
                chain_id: key.clone(),
                source,
            })?;
        self.layers.push(key);
        Ok(())
    }

    /// Stores `bytes` as a blob.
    pub fn put_bytes(&mut self, bytes: &[u8]) -> Result<Digest, ArchiveError> {
        let digest = Digest::sha256_of(bytes);
        if !self.store.blobs().exists(&digest) {
            self.store
                .blobs()
                .put(bytes)
                .map_err(blob_err(format!("put {digest}")))?;
            self.blobs.push(digest.clone());
        }
        Ok(digest)
    }

    /// Stores the file at `path` as the blob `digest` of `size` bytes (verified again).
    pub fn put_file(
        &mut self,
        path: &Path,
        digest: &Digest,
        size: u64,
    ) -> Result<(), ArchiveError> {
        let blobs = self.store.blobs();
        if blobs.exists(digest) {
            return Ok(());
        }
        let step = || format!("write {digest}");
        let mut w = blobs
            .begin(digest.clone(), Some(size))
            .map_err(blob_err(step()))?;
        let mut f = File::open(path).map_err(|source| ArchiveError::Read {
            what: path.display().to_string(),
            source,
        })?;
        io::copy(&mut f, &mut w).map_err(|source| ArchiveError::Write {
            what: step(),
            source,
        })?;
        w.commit().map_err(blob_err(step()))?;
        self.blobs.push(digest.clone());
        Ok(())
    }

    /// Adds an image record; a record that already existed is not undone.
    pub fn add_record(&mut self, rec: ImageRecord) -> Result<ImageRecord, ArchiveError> {
        let existed = self.store.get(&rec.id).is_ok();
        let added = self.store.add(rec)?;
        if !existed {
            self.records.push(added.id.clone());
        }
        Ok(added)
    }

    /// Keeps everything created.
    pub fn commit(mut self) {
        self.armed = false;
    }
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // Best effort throughout: the error that caused the rollback is what the caller
        // reports; anything left here is unreferenced and removable by prune.
        for id in self.records.iter().rev() {
            let _ = self.store.remove(&id.to_string(), true, &|_| None);
        }
        let records = self.store.list();
        let used_layers: HashSet<String> = records
            .iter()
            .flat_map(|r| r.chain_ids.iter().map(ToString::to_string))
            .collect();
        let used_blobs: HashSet<Digest> = records.iter().flat_map(|r| r.blobs()).collect();
        for key in self.layers.iter().rev() {
            if !used_layers.contains(key) {
                let _ = self.store.layers().remove(key);
            }
        }
        for blob in &self.blobs {
            if !used_blobs.contains(blob) {
                let _ = self.store.blobs().delete(blob);
            }
        }
    }
}
