//! Content-addressed blob store: `root/blobs/<algo>/<hex>`, written atomically and verified.
//!
//! Runs inside berthd. Owns the `blobs/` tree under the given root; temp files live in
//! `blobs/.tmp/` and are removed by their writer, or by [`BlobStore::clean_temp`] at
//! startup. A blob becomes visible only by `rename` after its size and digest were
//! checked and its data fsynced, so readers never see partial content. Garbage
//! collection (which blobs are still referenced) is the caller's business.

mod error;
mod writer;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub use error::StoreError;
pub use writer::BlobWriter;

use crate::digest::{Algorithm, Digest, Hasher};

/// Name of the temp directory inside `blobs/`.
const TEMP_DIR: &str = ".tmp";
/// How many unique temp names to try before giving up.
const TEMP_NAME_ATTEMPTS: u32 = 1000;

/// A content-addressed blob store rooted at a directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    blobs: PathBuf,
}

impl BlobStore {
    /// Opens (creating if needed) the store under `root`; blobs go to `root/blobs/`.
    pub fn open(root: impl AsRef<Path>) -> Result<BlobStore, StoreError> {
        let blobs = root.as_ref().join("blobs");
        let mut dirs = vec![blobs.join(TEMP_DIR)];
        dirs.extend([Algorithm::Sha256, Algorithm::Sha512].map(|a| blobs.join(a.name())));
        for path in dirs {
            fs::create_dir_all(&path).map_err(|source| StoreError::CreateDir { path, source })?;
        }
        Ok(BlobStore { blobs })
    }

    /// Where the blob `digest` lives (whether or not it exists).
    pub fn path_of(&self, digest: &Digest) -> PathBuf {
        self.blobs
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    fn temp_dir(&self) -> PathBuf {
        self.blobs.join(TEMP_DIR)
    }

    /// Starts writing the blob `expected` into a fresh temp file. Concurrent writers of
    /// the same blob each get their own temp file; all of them can commit.
    pub fn begin(
        &self,
        expected: Digest,
        expected_size: Option<u64>,
    ) -> Result<BlobWriter, StoreError> {
        let stem = format!("{}-{}", expected.algorithm(), expected.hex());
        let pid = std::process::id();
        let mut attempt = 0;
        let (file, temp) = loop {
            let temp = self.temp_dir().join(format!("{stem}-{pid}-{attempt}.tmp"));
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => break (file, temp),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    attempt += 1;
                    if attempt == TEMP_NAME_ATTEMPTS {
                        return Err(StoreError::CreateTemp {
                            path: temp,
                            source: e,
                        });
                    }
                }
                Err(source) => return Err(StoreError::CreateTemp { path: temp, source }),
            }
        };
        let hasher = Hasher::new(expected.algorithm());
        let target = self.path_of(&expected);
        Ok(BlobWriter::new(
            file,
            temp,
            target,
            expected,
            expected_size,
            hasher,
            0,
            false,
        ))
    }

    /// Starts or continues a resumable download of `expected`: returns the writer and the
    /// offset to resume from (bytes already in the temp file, re-hashed). The temp file is
    /// kept when the writer is dropped uncommitted, so a later call can continue it. If
    /// another writer holds the resumable file, this falls back to [`BlobStore::begin`]
    /// at offset 0.
    pub fn begin_or_resume(
        &self,
        expected: Digest,
        expected_size: Option<u64>,
    ) -> Result<(BlobWriter, u64), StoreError> {
        let temp = self.temp_dir().join(format!(
            "{}-{}.partial",
            expected.algorithm(),
            expected.hex()
        ));
        let Some(mut file) = lock_partial(&temp)? else {
            return Ok((self.begin(expected, expected_size)?, 0));
        };
        let mut hasher = Hasher::new(expected.algorithm());
        let mut written = io::copy(&mut file, &mut hasher).map_err(|source| StoreError::Read {
            path: temp.clone(),
            source,
        })?;
        if expected_size.is_some_and(|size| written > size) {
            file.set_len(0).map_err(|source| StoreError::CreateTemp {
                path: temp.clone(),
                source,
            })?;
            hasher = Hasher::new(expected.algorithm());
            written = 0;
        }
        let target = self.path_of(&expected);
        let writer = BlobWriter::new(
            file,
            temp,
            target,
            expected,
            expected_size,
            hasher,
            written,
            true,
        );
        Ok((writer, written))
    }

    /// Stores `bytes` as a sha256 blob and returns its digest.
    pub fn put(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        let digest = Digest::sha256_of(bytes);
        let mut writer = self.begin(digest.clone(), Some(bytes.len() as u64))?;
        io::Write::write_all(&mut writer, bytes).map_err(|source| StoreError::Write {
            path: writer.temp_path().to_owned(),
            source,
        })?;
        writer.commit()?;
        Ok(digest)
    }

    /// Opens the blob `digest` for reading. The content is not re-verified.
    pub fn open_blob(&self, digest: &Digest) -> Result<File, StoreError> {
        let path = self.path_of(digest);
        File::open(&path).map_err(|source| {
            not_found_or(digest, source, |source| StoreError::Open { path, source })
        })
    }

    /// Reads a whole blob of at most `max_size` bytes (manifests, configs) and checks
    /// that it still hashes to its digest.
    pub fn read(&self, digest: &Digest, max_size: u64) -> Result<Vec<u8>, StoreError> {
        let size = self.size(digest)?;
        if size > max_size {
            return Err(StoreError::TooLarge {
                digest: digest.clone(),
                size,
                limit: max_size,
            });
        }
        let file = self.open_blob(digest)?;
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.take(max_size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|source| StoreError::Read {
                path: self.path_of(digest),
                source,
            })?;
        let actual = Digest::of(digest.algorithm(), &bytes);
        if &actual != digest {
            return Err(StoreError::Corrupt {
                digest: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Whether the blob is stored.
    pub fn exists(&self, digest: &Digest) -> bool {
        self.path_of(digest).is_file()
    }

    /// Size of the stored blob in bytes.
    pub fn size(&self, digest: &Digest) -> Result<u64, StoreError> {
        let path = self.path_of(digest);
        fs::metadata(&path).map(|m| m.len()).map_err(|source| {
            not_found_or(digest, source, |source| StoreError::Open { path, source })
        })
    }

    /// Removes the blob; `Ok(false)` if it was not there.
    pub fn delete(&self, digest: &Digest) -> Result<bool, StoreError> {
        let path = self.path_of(digest);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StoreError::Remove { path, source }),
        }
    }

    /// Every stored blob, sorted. Files whose names are not valid hex are ignored.
    pub fn list(&self) -> Result<Vec<Digest>, StoreError> {
        let mut out = Vec::new();
        for algorithm in [Algorithm::Sha256, Algorithm::Sha512] {
            let dir = self.blobs.join(algorithm.name());
            let entries = fs::read_dir(&dir).map_err(|source| StoreError::List {
                path: dir.clone(),
                source,
            })?;
            for entry in entries {
                let entry = entry.map_err(|source| StoreError::List {
                    path: dir.clone(),
                    source,
                })?;
                if let Some(name) = entry.file_name().to_str() {
                    if let Ok(digest) = Digest::new(algorithm, name) {
                        out.push(digest);
                    }
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Removes every temp file, including resumable partial downloads. Call only when no
    /// writer of this store is alive (daemon startup); returns how many were removed.
    pub fn clean_temp(&self) -> Result<usize, StoreError> {
        let dir = self.temp_dir();
        let entries = fs::read_dir(&dir).map_err(|source| StoreError::List {
            path: dir.clone(),
            source,
        })?;
        let mut removed = 0;
        for entry in entries {
            let path = entry
                .map_err(|source| StoreError::List {
                    path: dir.clone(),
                    source,
                })?
                .path();
            fs::remove_file(&path).map_err(|source| StoreError::Remove { path, source })?;
            removed += 1;
        }
        Ok(removed)
    }
}

fn not_found_or(
    digest: &Digest,
    source: io::Error,
    other: impl FnOnce(io::Error) -> StoreError,
) -> StoreError {
    if source.kind() == io::ErrorKind::NotFound {
        StoreError::NotFound {
            digest: digest.clone(),
        }
    } else {
        other(source)
    }
}

/// Opens and exclusively locks the resumable temp file at `path`; `None` if another
/// writer holds it. Retries if the file was renamed into place between open and lock.
fn lock_partial(path: &Path) -> Result<Option<File>, StoreError> {
    loop {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|source| StoreError::CreateTemp {
                path: path.to_owned(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Ok(None),
            Err(fs::TryLockError::Error(source)) => {
                return Err(StoreError::Lock {
                    path: path.to_owned(),
                    source,
                })
            }
        }
        let locked = file.metadata().map_err(|source| StoreError::Lock {
            path: path.to_owned(),
            source,
        })?;
        match fs::metadata(path) {
            Ok(now) if now.dev() == locked.dev() && now.ino() == locked.ino() => {
                return Ok(Some(file))
            }
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(StoreError::Lock {
                    path: path.to_owned(),
                    source,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
