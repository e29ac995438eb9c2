//! `BlobWriter`: one in-progress blob write into the store's temp directory.
//!
//! Runs in berthd's pull and build paths. Owns one temp file under `blobs/.tmp/`: a
//! plain writer removes it when dropped uncommitted; a resumable writer (from
//! `begin_or_resume`) keeps it for the next attempt and holds an exclusive `flock` on it
//! while alive. `commit` verifies size and digest, fsyncs, and renames into place.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::StoreError;
use crate::digest::{Digest, Hasher};

/// An in-progress, verified write of one blob; see [`super::BlobStore::begin`].
#[derive(Debug)]
pub struct BlobWriter {
    file: File,
    temp: PathBuf,
    target: PathBuf,
    expected: Digest,
    expected_size: Option<u64>,
    hasher: Hasher,
    written: u64,
    keep_on_drop: bool,
    finished: bool,
}

impl BlobWriter {
    /// Wraps an open temp file that already holds `written` bytes hashed into `hasher`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        file: File,
        temp: PathBuf,
        target: PathBuf,
        expected: Digest,
        expected_size: Option<u64>,
        hasher: Hasher,
        written: u64,
        keep_on_drop: bool,
    ) -> BlobWriter {
        BlobWriter {
            file,
            temp,
            target,
            expected,
            expected_size,
            hasher,
            written,
            keep_on_drop,
            finished: false,
        }
    }

    /// Bytes in the temp file so far (including bytes from a resumed earlier attempt).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The digest this blob must have.
    pub fn expected(&self) -> &Digest {
        &self.expected
    }

    /// Path of the temp file (for diagnostics).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Verifies size and digest, fsyncs, and moves the blob into place. If the blob is
    /// already stored (another writer won), the temp file is dropped and this succeeds.
    /// On a mismatch the temp file is removed and nothing becomes visible.
    pub fn commit(mut self) -> Result<(), StoreError> {
        self.finished = true;
        let result = self.verify_and_publish();
        if result.is_err() {
            remove_quietly(&self.temp);
        }
        result
    }

    /// Abandons the write and removes the temp file, resumable or not.
    pub fn abort(mut self) {
        self.finished = true;
        remove_quietly(&self.temp);
    }

    fn verify_and_publish(&mut self) -> Result<(), StoreError> {
        if let Some(expected) = self.expected_size {
            if expected != self.written {
                return Err(StoreError::SizeMismatch {
                    digest: self.expected.clone(),
                    expected,
                    actual: self.written,
                });
            }
        }
        let actual = self.hasher.current();
        if actual != self.expected {
            return Err(StoreError::DigestMismatch {
                expected: self.expected.clone(),
                actual,
            });
        }
        self.file.sync_all().map_err(|source| StoreError::Sync {
            path: self.temp.clone(),
            source,
        })?;
        if self.target.exists() {
            remove_quietly(&self.temp);
            return Ok(());
        }
        fs::rename(&self.temp, &self.target).map_err(|source| StoreError::Rename {
            from: self.temp.clone(),
            to: self.target.clone(),
            source,
        })?;
        let dir = self.target.parent().unwrap_or(Path::new("/"));
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| StoreError::Sync {
                path: dir.to_owned(),
                source,
            })
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(limit) = self.expected_size {
            if self.written + buf.len() as u64 > limit {
                let err = StoreError::SizeMismatch {
                    digest: self.expected.clone(),
                    expected: limit,
                    actual: self.written + buf.len() as u64,
                };
                return Err(io::Error::new(io::ErrorKind::InvalidData, err));
            }
        }
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.finished && !self.keep_on_drop {
            remove_quietly(&self.temp);
        }
    }
}

/// Best-effort removal of a temp file; leftovers are swept by `BlobStore::clean_temp`.
fn remove_quietly(path: &Path) {
    // Not security-relevant: a stray temp file is invisible to readers of the store.
    let _ = fs::remove_file(path);
}
