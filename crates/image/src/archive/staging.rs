//! Reading an untrusted archive: every regular member is streamed into a numbered file in
//! a private staging dir (hashed on the way), links are recorded as path aliases, and
//! later lookups by name go through [`clean`] so nothing can leave the archive.
//!
//! Runs in berthd. [`Staged`] owns the staging dir and removes it on drop. Member names
//! are never used as filesystem paths. Directories, devices and fifos are ignored;
//! `blobs/sha256/<hex>` members must hash to their name.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::PathBuf;

use super::error::write_err;
use super::ArchiveError;
use crate::digest::{Algorithm, Digest, Hasher};

/// Most links followed when resolving one name.
const MAX_LINK_HOPS: usize = 16;

/// Limits for reading an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Most bytes of member content in total.
    pub total_bytes: u64,
    /// Most members.
    pub members: u64,
}

/// One staged regular member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// The staging file.
    pub file: PathBuf,
    /// sha256 of the content.
    pub digest: Digest,
    /// Content size.
    pub size: u64,
}

/// The staged members of one archive.
#[derive(Debug)]
pub(crate) struct Staged {
    dir: PathBuf,
    files: BTreeMap<String, Member>,
    links: BTreeMap<String, String>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Best effort: a leftover staging dir is only disk space, and drop cannot report.
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A member or metadata path made relative and `..`-free; `None` if it is absolute or
/// would leave the archive root.
pub(crate) fn clean(path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    join_within(&[], path)
}

/// `target` (a symlink's content) resolved against the directory `dir` of the link,
/// staying within the archive root.
pub(crate) fn join_within(dir: &[&str], target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = dir.to_vec();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The digest a `blobs/<alg>/<hex>` path names, or `None` for other paths.
pub(crate) fn blob_path_digest(path: &str) -> Option<Result<Digest, ArchiveError>> {
    let rest = path.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    Some(match Algorithm::from_name(alg) {
        Some(Algorithm::Sha256) => {
            Digest::new(Algorithm::Sha256, hex).map_err(|_| ArchiveError::UnsupportedDigest {
                path: path.to_owned(),
            })
        }
        _ => Err(ArchiveError::UnsupportedDigest {
            path: path.to_owned(),
        }),
    })
}

impl Staged {
    /// Streams the tar `reader` into a new staging dir `dir` (which must not exist).
    pub fn read(reader: impl Read, dir: PathBuf, limits: Limits) -> Result<Staged, ArchiveError> {
        fs::create_dir(&dir).map_err(write_err(format!("staging dir {}", dir.display())))?;
        let mut staged = Staged {
            dir,
            files: BTreeMap::new(),
            links: BTreeMap::new(),
        };
        let read_err = |source| ArchiveError::Read {
            what: "archive".into(),
            source,
        };
        let mut archive = tar::Archive::new(reader);
        let (mut count, mut total) = (0u64, 0u64);
        for entry in archive.entries().map_err(read_err)? {
            let mut entry = entry.map_err(read_err)?;
            count += 1;
            if count > limits.members {
                return Err(ArchiveError::TooManyMembers {
                    limit: limits.members,
                });
            }
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                continue;
            }
            let name = clean(&raw).ok_or(ArchiveError::UnsafePath { path: raw.clone() })?;
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry.link_name_bytes().unwrap_or_default();
                let target = String::from_utf8_lossy(&target).into_owned();
                let dir: Vec<&str> = name.split('/').collect();
                let base = if kind.is_symlink() {
                    &dir[..dir.len() - 1]
                } else {
                    &[][..]
                };
                let resolved =
                    join_within(base, &target).ok_or(ArchiveError::UnsafePath { path: target })?;
                staged.links.insert(name, resolved);
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let member = staged.stage_member(&mut entry, &name, limits.total_bytes - total)?;
            total += member.size;
            if let Some(expected) = blob_path_digest(&name) {
                if expected? != member.digest {
                    return Err(ArchiveError::BlobDigest {
                        path: name,
                        actual: member.digest,
                    });
                }
            }
            staged.links.remove(&name);
            staged.files.insert(name, member);
        }
        Ok(staged)
    }

    fn stage_member(
        &self,
        entry: &mut impl Read,
        name: &str,
        budget: u64,
    ) -> Result<Member, ArchiveError> {
        let file = self.dir.join(self.files.len().to_string());
        let mut out = File::create(&file).map_err(write_err(format!("staging {name}")))?;
        let mut hasher = Hasher::new(Algorithm::Sha256);
        let mut limited = entry.take(budget.saturating_add(1));
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = match limited.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ArchiveError::Read {
                        what: format!("archive member {name}"),
                        source,
                    })
                }
            };
            size += n as u64;
            if size > budget {
                return Err(ArchiveError::TooLarge {
                    path: name.to_owned(),
                    limit: budget,
                });
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(write_err(format!("staging {name}")))?;
        }
        Ok(Member {
            file,
            digest: hasher.finish(),
            size,
        })
    }

    /// The member `name` (a path from the archive's metadata), following links.
    pub fn get(&self, name: &str) -> Result<&Member, ArchiveError> {
        let mut cur = clean(name).ok_or(ArchiveError::UnsafePath {
            path: name.to_owned(),
        })?;
        for _ in 0..MAX_LINK_HOPS {
            if let Some(m) = self.files.get(&cur) {
                return Ok(m);
            }
            match self.links.get(&cur) {
                Some(next) => cur = next.clone(),
                None => {
                    return Err(ArchiveError::Missing {
                        path: name.to_owned(),
                    })
                }
            }
        }
        Err(ArchiveError::LinkLoop {
            path: name.to_owned(),
        })
    }

    /// Whether the archive has `name` (file or link).
    pub fn has(&self, name: &str) -> bool {
        self.files.contains_key(name) || self.links.contains_key(name)
    }

    /// The whole content of a small member (JSON), refused above `limit` bytes.
    pub fn read_small(&self, name: &str, limit: u64) -> Result<Vec<u8>, ArchiveError> {
        let m = self.get(name)?;
        if m.size > limit {
            return Err(ArchiveError::TooLarge {
                path: name.to_owned(),
                limit,
            });
        }
        fs::read(&m.file).map_err(|source| ArchiveError::Read {
            what: format!("staged {name}"),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_refuses_escapes() {
        assert_eq!(clean("./a//b/./c").as_deref(), Some("a/b/c"));
        assert_eq!(clean("a/../b").as_deref(), Some("b"));
        assert_eq!(clean("../../x"), None);
        assert_eq!(clean("a/../../x"), None);
        assert_eq!(clean("/etc/passwd"), None);
        assert_eq!(clean("."), None);
    }

    #[test]
    fn links_resolve_relative_to_their_dir() {
        assert_eq!(
            join_within(&["abc"], "../blobs/sha256/00").as_deref(),
            Some("blobs/sha256/00")
        );
        assert_eq!(join_within(&["abc"], "../../etc"), None);
        assert_eq!(join_within(&[], "/etc/passwd"), None);
    }

    #[test]
    fn blob_paths_name_digests() {
        let hex = "a".repeat(64);
        let d = blob_path_digest(&format!("blobs/sha256/{hex}"))
            .unwrap()
            .unwrap();
        assert_eq!(d.hex(), hex);
        assert!(blob_path_digest("manifest.json").is_none());
        assert!(blob_path_digest("blobs/md5/abc").unwrap().is_err());
    }
}
