//! Layer store: unpacked layers by chain id, shared between images, with Docker-style
//! short link names so overlay mount options stay short.
//!
//! Runs in berthd. Owns `root/layers/<chain-id-hex>/{diff,link,meta.json}`,
//! `root/l/<26-char id>` symlinks to `../layers/<hex>/diff`, and `root/locks/<hex>.lock`
//! (kept, never removed, so a waiting locker never holds a stale inode). [`LayerStore::ensure`]
//! unpacks into a temp dir next to the final one and renames it into place, under a
//! per-chain-id flock, so concurrent callers (threads or processes) unpack once.
//! Reference counting is the caller's job; temp dirs left by a crash (`.tmp-*`) are not
//! swept yet. Chain ids follow the OCI image spec (config.md, "Layer ChainID").

use std::collections::HashSet;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::sys::fs as sysfs;
use crate::unpack::{UnpackError, UnpackStats};

/// Length of the short link ids under `root/l/`.
const LINK_ID_LEN: usize = 26;

/// Why a layer store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// A chain id is not `sha256:<64 lowercase hex>`.
    #[error("invalid chain id {chain_id:?}")]
    InvalidChainId {
        /// The value given.
        chain_id: String,
    },
    /// The layer is not in the store.
    #[error("layer {chain_id} not found")]
    NotFound {
        /// The chain id.
        chain_id: String,
    },
    /// A filesystem step on the store failed.
    #[error("{step} {path}")]
    Io {
        /// What was being done.
        step: &'static str,
        /// The path involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// A layer's metadata file is not valid JSON of the expected shape.
    #[error("parsing layer metadata {path}")]
    ParseMeta {
        /// The metadata file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// Unpacking the layer failed; the temp dir has been removed.
    #[error("unpacking layer {chain_id}")]
    Unpack {
        /// The chain id being created.
        chain_id: String,
        /// Underlying error.
        #[source]
        source: UnpackError,
    },
    /// The unpacked content does not give the expected chain id.
    #[error("layer {chain_id}: unpacked diff id {diff_id} gives chain id {actual}")]
    DiffIdMismatch {
        /// The chain id asked for.
        chain_id: String,
        /// The diff id measured while unpacking.
        diff_id: String,
        /// The chain id it gives with the given parent.
        actual: String,
    },
}

/// One unpacked layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// `sha256:<hex>` chain id.
    pub chain_id: String,
    /// `sha256:<hex>` of the uncompressed layer tar.
    pub diff_id: String,
    /// Chain id of the layer below, if any.
    pub parent: Option<String>,
    /// Short id: `root/l/<link_id>` points at the diff dir.
    pub link_id: String,
    /// Size of the blob the layer was unpacked from.
    pub compressed_bytes: u64,
    /// Size of the uncompressed tar.
    pub uncompressed_bytes: u64,
    /// Tar entries in the layer.
    pub entries: u64,
    /// The unpacked tree (not stored in the metadata file).
    #[serde(skip)]
    pub diff_dir: PathBuf,
}

/// The chain id of a layer: its diff id for a base layer, else
/// `sha256("<parent chain id> <diff id>")` (OCI image spec).
pub fn chain_id(parent: Option<&str>, diff_id: &str) -> String {
    match parent {
        None => diff_id.to_owned(),
        Some(p) => crate::unpack::sha256_digest(format!("{p} {diff_id}").as_bytes()),
    }
}

/// The hex part of a valid `sha256:` chain id.
fn chain_hex(chain_id: &str) -> Result<&str, LayerError> {
    match chain_id.strip_prefix("sha256:") {
        Some(hex)
            if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok(hex)
        }
        _ => Err(LayerError::InvalidChainId {
            chain_id: chain_id.to_owned(),
        }),
    }
}

/// Unpacked layers under one root directory.
#[derive(Debug, Clone)]
pub struct LayerStore {
    root: PathBuf,
}

impl LayerStore {
    /// Opens (creating the directories of) the store at `root`.
    pub fn open(root: &Path) -> Result<Self, LayerError> {
        for sub in ["layers", "l", "locks"] {
            let dir = root.join(sub);
            fs::create_dir_all(&dir).map_err(io_err("creating store directory", &dir))?;
        }
        Ok(LayerStore {
            root: root.to_path_buf(),
        })
    }

    fn layer_dir(&self, hex: &str) -> PathBuf {
        self.root.join("layers").join(hex)
    }

    /// Whether the layer is fully present.
    pub fn exists(&self, chain_id: &str) -> bool {
        chain_hex(chain_id).is_ok_and(|hex| self.layer_dir(hex).join("meta.json").is_file())
    }

    /// Reads a present layer.
    pub fn get(&self, chain_id: &str) -> Result<Layer, LayerError> {
        let hex = chain_hex(chain_id)?;
        let dir = self.layer_dir(hex);
        let path = dir.join("meta.json");
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(LayerError::NotFound {
                    chain_id: chain_id.to_owned(),
                })
            }
            Err(e) => return Err(io_err("reading layer metadata", &path)(e)),
        };
        let mut layer: Layer =
            serde_json::from_slice(&bytes).map_err(|source| LayerError::ParseMeta {
                path: path.clone(),
                source,
            })?;
        layer.diff_dir = dir.join("diff");
        Ok(layer)
    }

    /// `root/l/<link id>`, a symlink to the layer's diff dir, for overlay `lowerdir=`.
    pub fn short_link_path(&self, chain_id: &str) -> Result<PathBuf, LayerError> {
        let layer = self.get(chain_id)?;
        Ok(self.root.join("l").join(layer.link_id))
    }

    /// Returns the layer, unpacking it first with `unpack_into(tmp_diff_dir)` if absent.
    ///
    /// `unpack_into` gets a fresh, empty directory (mode 0755) and must fill it; on error
    /// that directory is removed. The measured diff id must give `chain_id` together with
    /// `parent`. Concurrent calls for the same chain id run `unpack_into` once; the others
    /// wait on the lock and then return the stored layer.
    pub fn ensure<F>(
        &self,
        chain_id: &str,
        parent: Option<&str>,
        unpack_into: F,
    ) -> Result<Layer, LayerError>
    where
        F: FnOnce(&Path) -> Result<UnpackStats, UnpackError>,
    {
        let hex = chain_hex(chain_id)?;
        if self.exists(chain_id) {
            return self.get(chain_id);
        }
        let lock_path = self.root.join("locks").join(format!("{hex}.lock"));
        let _lock = sysfs::lock_exclusive(&lock_path).map_err(io_err("locking", &lock_path))?;
        if self.exists(chain_id) {
            return self.get(chain_id);
        }
        let tmp = self
            .root
            .join("layers")
            .join(format!(".tmp-{hex}-{}", random_id()?));
        let res = self.build(&tmp, hex, chain_id, parent, unpack_into);
        if res.is_err() {
            // Best effort: the error being returned matters more than a leftover temp dir.
            let _ = fs::remove_dir_all(&tmp);
        }
        res
    }

    fn build<F>(
        &self,
        tmp: &Path,
        hex: &str,
        chain_id: &str,
        parent: Option<&str>,
        unpack_into: F,
    ) -> Result<Layer, LayerError>
    where
        F: FnOnce(&Path) -> Result<UnpackStats, UnpackError>,
    {
        let diff = tmp.join("diff");
        fs::create_dir_all(&diff).map_err(io_err("creating temp layer dir", &diff))?;
        fs::set_permissions(&diff, fs::Permissions::from_mode(0o755))
            .map_err(io_err("setting mode of", &diff))?;
        let stats = unpack_into(&diff).map_err(|source| LayerError::Unpack {
            chain_id: chain_id.to_owned(),
            source,
        })?;
        let actual = self::chain_id(parent, &stats.diff_id);
        if actual != chain_id {
            return Err(LayerError::DiffIdMismatch {
                chain_id: chain_id.to_owned(),
                diff_id: stats.diff_id,
                actual,
            });
        }
        let link_id = self.make_short_link(hex)?;
        let layer = Layer {
            chain_id: chain_id.to_owned(),
            diff_id: stats.diff_id,
            parent: parent.map(str::to_owned),
            link_id: link_id.clone(),
            compressed_bytes: stats.compressed_bytes,
            uncompressed_bytes: stats.uncompressed_bytes,
            entries: stats.entries,
            diff_dir: self.layer_dir(hex).join("diff"),
        };
        let link_file = tmp.join("link");
        fs::write(&link_file, &link_id).map_err(io_err("writing", &link_file))?;
        let meta_file = tmp.join("meta.json");
        let json = serde_json::to_vec_pretty(&layer).map_err(|source| LayerError::ParseMeta {
            path: meta_file.clone(),
            source,
        })?;
        fs::write(&meta_file, json).map_err(io_err("writing", &meta_file))?;
        let dest = self.layer_dir(hex);
        if let Err(e) = fs::rename(tmp, &dest) {
            let link = self.root.join("l").join(&link_id);
            let _ = fs::remove_file(&link); // best effort; the rename error is reported
            return Err(io_err("renaming layer into place", &dest)(e));
        }
        Ok(layer)
    }

    /// Creates `root/l/<new id>` → `../layers/<hex>/diff` and returns the id.
    fn make_short_link(&self, hex: &str) -> Result<String, LayerError> {
        let target = Path::new("../layers").join(hex).join("diff");
        loop {
            let id = random_id()?;
            let link = self.root.join("l").join(&id);
            match symlink(&target, &link) {
                Ok(()) => return Ok(id),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err("creating short link", &link)(e)),
            }
        }
    }

    /// Deletes a layer's files and short link. The caller makes sure nothing uses it.
    pub fn remove(&self, chain_id: &str) -> Result<(), LayerError> {
        let hex = chain_hex(chain_id)?;
        let lock_path = self.root.join("locks").join(format!("{hex}.lock"));
        let _lock = sysfs::lock_exclusive(&lock_path).map_err(io_err("locking", &lock_path))?;
        let layer = self.get(chain_id)?;
        let link = self.root.join("l").join(&layer.link_id);
        match fs::remove_file(&link) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("removing short link", &link)(e)),
        }
        // Rename first so a half-removed layer never looks present.
        let dir = self.layer_dir(hex);
        let doomed = self
            .root
            .join("layers")
            .join(format!(".rm-{hex}-{}", random_id()?));
        fs::rename(&dir, &doomed).map_err(io_err("renaming layer for removal", &dir))?;
        fs::remove_dir_all(&doomed).map_err(io_err("removing layer", &doomed))
    }

    /// All present layers, sorted by chain id.
    pub fn list(&self) -> Result<Vec<Layer>, LayerError> {
        let dir = self.root.join("layers");
        let read_err = io_err("listing layers", &dir);
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(&read_err)? {
            let name = entry.map_err(&read_err)?.file_name();
            let Some(name) = name.to_str() else { continue };
            let chain_id = format!("sha256:{name}");
            if chain_hex(&chain_id).is_ok() && self.exists(&chain_id) {
                out.push(self.get(&chain_id)?);
            }
        }
        out.sort_by(|a, b| a.chain_id.cmp(&b.chain_id));
        Ok(out)
    }

    /// Disk usage of the layer's diff dir in bytes (allocated blocks, hard links once).
    pub fn size(&self, chain_id: &str) -> Result<u64, LayerError> {
        let layer = self.get(chain_id)?;
        let mut seen = HashSet::new();
        disk_usage(&layer.diff_dir, &mut seen)
    }
}

fn disk_usage(path: &Path, seen: &mut HashSet<(u64, u64)>) -> Result<u64, LayerError> {
    let meta = fs::symlink_metadata(path).map_err(io_err("reading metadata of", path))?;
    if meta.nlink() > 1 && !meta.is_dir() && !seen.insert((meta.dev(), meta.ino())) {
        return Ok(0);
    }
    let mut total = meta.blocks() * 512;
    if meta.is_dir() {
        for entry in fs::read_dir(path).map_err(io_err("listing", path))? {
            let entry = entry.map_err(io_err("listing", path))?;
            total += disk_usage(&entry.path(), seen)?;
        }
    }
    Ok(total)
}

/// A random id of [`LINK_ID_LEN`] characters from `A-Z0-9` (from `/dev/urandom`).
fn random_id() -> Result<String, LayerError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut bytes = [0u8; LINK_ID_LEN];
    let urandom = Path::new("/dev/urandom");
    fs::File::open(urandom)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(io_err("reading", urandom))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

fn io_err<'a>(step: &'static str, path: &'a Path) -> impl Fn(io::Error) -> LayerError + 'a {
    move |source| LayerError::Io {
        step,
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::unpack::{unpack, UnpackOptions};

    fn layer_tar(content: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, "etc/hello", content).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn chain_ids_match_the_spec() {
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        assert_eq!(chain_id(None, &a), a);
        // printf 'sha256:aaa… sha256:bbb…' | sha256sum
        assert_eq!(
            chain_id(Some(&a), &b),
            "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c"
        );
        assert!(chain_hex("sha256:ABC").is_err());
        assert!(chain_hex(&a).is_ok());
    }

    #[test]
    fn ensure_once_under_concurrency_and_links_resolve() {
        let root = tempfile::tempdir().unwrap();
        let store = LayerStore::open(root.path()).unwrap();
        let tar = layer_tar(b"hi\n");
        let diff_id = crate::unpack::sha256_digest(&tar);
        let base = chain_id(None, &diff_id);
        let calls = Arc::new(AtomicUsize::new(0));
        let layers: Vec<Layer> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| {
                    let (store, tar, calls, base) = (&store, &tar, &calls, &base);
                    s.spawn(move || {
                        store
                            .ensure(base, None, |dir| {
                                calls.fetch_add(1, Ordering::SeqCst);
                                std::thread::sleep(std::time::Duration::from_millis(200));
                                unpack(&tar[..], dir, &UnpackOptions::default())
                            })
                            .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(layers.iter().all(|l| l == &layers[0]));
        let layer = store.get(&base).unwrap();
        assert_eq!(layer.diff_id, diff_id);
        assert_eq!(layer.link_id.len(), LINK_ID_LEN);
        let link = store.short_link_path(&base).unwrap();
        assert_eq!(
            fs::canonicalize(&link).unwrap(),
            fs::canonicalize(&layer.diff_dir).unwrap()
        );
        assert_eq!(fs::read(link.join("etc/hello")).unwrap(), b"hi\n");
        let recorded = fs::read_to_string(root.path().join("layers").join(&base[7..]).join("link"));
        assert_eq!(recorded.unwrap(), layer.link_id);
        assert!(store.size(&base).unwrap() > 0);

        // A child layer, then list and remove.
        let tar2 = layer_tar(b"second\n");
        let child = chain_id(Some(&base), &crate::unpack::sha256_digest(&tar2));
        let l2 = store
            .ensure(&child, Some(&base), |dir| {
                unpack(&tar2[..], dir, &UnpackOptions::default())
            })
            .unwrap();
        assert_eq!(l2.parent.as_deref(), Some(base.as_str()));
        let mut ids = vec![base.clone(), child.clone()];
        ids.sort();
        let listed: Vec<String> = store
            .list()
            .unwrap()
            .into_iter()
            .map(|l| l.chain_id)
            .collect();
        assert_eq!(listed, ids);
        store.remove(&child).unwrap();
        assert!(!store.exists(&child));
        assert!(!root.path().join("l").join(&l2.link_id).exists());
        assert!(matches!(
            store.get(&child),
            Err(LayerError::NotFound { .. })
        ));
    }

    #[test]
    fn ensure_rejects_wrong_diff_id_and_cleans_up() {
        let root = tempfile::tempdir().unwrap();
        let store = LayerStore::open(root.path()).unwrap();
        let tar = layer_tar(b"x");
        let wrong = format!("sha256:{}", "0".repeat(64));
        let err = store
            .ensure(&wrong, None, |dir| {
                unpack(&tar[..], dir, &UnpackOptions::default())
            })
            .unwrap_err();
        assert!(matches!(err, LayerError::DiffIdMismatch { .. }), "{err}");
        let left: Vec<_> = fs::read_dir(root.path().join("layers")).unwrap().collect();
        assert!(left.is_empty());
        assert_eq!(fs::read_dir(root.path().join("l")).unwrap().count(), 0);
    }
}
