//! `docker diff` for a container: added, changed and deleted paths, read from the upper dir.
//!
//! Runs in berthd; a read-only directory walk (lstat, readdir, getxattr), no mounts, no
//! writes. Whiteouts (0/0 char devices) are deletions; an opaque dir
//! (`trusted.overlay.opaque=y`) hides every lower entry beneath it. Telling "added" from
//! "changed" needs the lower layers, so they are passed in, top first. Left out: overlayfs
//! xwhiteouts and `opaque=x` (never produced by our unpacker or by overlayfs for us).

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::SnapshotError;

/// The xattr overlayfs sets on a directory that hides its lower contents.
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// What happened to a path, with Docker's numeric codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// Existed in the image and was modified or replaced (`C`, code 0).
    Modified,
    /// Did not exist in the image (`A`, code 1).
    Added,
    /// Existed in the image and was removed (`D`, code 2).
    Deleted,
}

impl ChangeKind {
    /// Docker's `Kind` number in `GET /containers/{id}/changes`.
    pub fn docker_code(self) -> u8 {
        match self {
            ChangeKind::Modified => 0,
            ChangeKind::Added => 1,
            ChangeKind::Deleted => 2,
        }
    }

    /// The letter `docker diff` prints.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One changed path, absolute inside the container (`/etc/passwd`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Path inside the container, starting with `/`.
    pub path: PathBuf,
    /// What happened to it.
    pub kind: ChangeKind,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.letter(), self.path.display())
    }
}

/// Changes recorded in `upper` relative to `lowers` (top first), sorted by path.
///
/// A directory is reported `C` when its own metadata changed or it directly gained or lost
/// an entry; directories that were only copied up on the way to a changed file are not.
pub fn changes(upper: &Path, lowers: &[PathBuf]) -> Result<Vec<Change>, SnapshotError> {
    let walk = Walk { upper, lowers };
    let mut out = Vec::new();
    walk.dir(Path::new(""), Below::Visible, &mut out)?;
    out.sort();
    Ok(out)
}

/// How much of the lower layers a directory's entries can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Below<'s> {
    /// Look entries up in the lowers.
    Visible,
    /// Opaque directory: only these names existed below (so they are `C`, the rest `A`).
    Replaced(&'s BTreeSet<OsString>),
    /// Nothing below: everything is `A`.
    None,
}

struct Walk<'a> {
    upper: &'a Path,
    lowers: &'a [PathBuf],
}

impl Walk<'_> {
    /// Records the changes inside upper dir `rel`; returns whether an entry was added or
    /// deleted directly in it.
    fn dir(
        &self,
        rel: &Path,
        below: Below<'_>,
        out: &mut Vec<Change>,
    ) -> Result<bool, SnapshotError> {
        let mut added_or_deleted = false;
        for name in self.names(rel)? {
            let child = rel.join(&name);
            let meta = self.upper_meta(&child)?;
            if is_whiteout(&meta) {
                out.push(change(&child, ChangeKind::Deleted));
                added_or_deleted = true;
                continue;
            }
            let lower = match below {
                Below::Visible => self.lower_lookup(&child)?.map(Some),
                Below::Replaced(names) if names.contains(&name) => Some(None),
                Below::Replaced(_) | Below::None => None,
            };
            let Some(lower_meta) = lower else {
                out.push(change(&child, ChangeKind::Added));
                added_or_deleted = true;
                if meta.is_dir() {
                    self.dir(&child, Below::None, out)?;
                }
                continue;
            };
            let changed = self.existing(&child, &meta, lower_meta.as_ref(), out)?;
            if changed {
                out.push(change(&child, ChangeKind::Modified));
            }
        }
        Ok(added_or_deleted)
    }

    /// An upper entry that also exists below (`lower` is its metadata when the lowers are
    /// visible); walks it if it is a directory and returns whether to report it `C`.
    fn existing(
        &self,
        child: &Path,
        meta: &Metadata,
        lower: Option<&Metadata>,
        out: &mut Vec<Change>,
    ) -> Result<bool, SnapshotError> {
        let Some(lower) = lower.filter(|_| meta.is_dir()) else {
            // A file, or a directory replacing something in an opaque parent.
            if meta.is_dir() {
                self.dir(child, Below::None, out)?;
            }
            return Ok(true);
        };
        if self.is_opaque(child)? {
            let visible = self.lower_names(child)?;
            let present: BTreeSet<OsString> = self.names(child)?.into_iter().collect();
            for gone in visible.difference(&present) {
                out.push(change(&child.join(gone), ChangeKind::Deleted));
            }
            self.dir(child, Below::Replaced(&visible), out)?;
            return Ok(true);
        }
        let direct = self.dir(child, Below::Visible, out)?;
        Ok(direct || !lower.is_dir() || metadata_differs(meta, lower))
    }

    /// Sorted entry names of upper dir `rel`.
    fn names(&self, rel: &Path) -> Result<Vec<OsString>, SnapshotError> {
        let path = self.upper.join(rel);
        let read_upper = |source| SnapshotError::ReadUpper {
            path: path.clone(),
            source,
        };
        let mut names = Vec::new();
        for entry in fs::read_dir(&path).map_err(read_upper)? {
            names.push(entry.map_err(read_upper)?.file_name());
        }
        names.sort();
        Ok(names)
    }

    fn upper_meta(&self, rel: &Path) -> Result<Metadata, SnapshotError> {
        let path = self.upper.join(rel);
        fs::symlink_metadata(&path).map_err(|source| SnapshotError::ReadUpper { path, source })
    }

    fn is_opaque(&self, rel: &Path) -> Result<bool, SnapshotError> {
        let path = self.upper.join(rel);
        is_opaque_dir(&path).map_err(|source| SnapshotError::ReadUpper { path, source })
    }

    /// Metadata of `rel` in the merged lower view, `None` if absent or whited out there.
    ///
    /// The walk only asks for children of directories visible below, so checking the
    /// immediate parent for opacity is enough to stop at the right layer.
    fn lower_lookup(&self, rel: &Path) -> Result<Option<Metadata>, SnapshotError> {
        for layer in self.lowers {
            let path = layer.join(rel);
            match fs::symlink_metadata(&path) {
                Ok(meta) if is_whiteout(&meta) => return Ok(None),
                Ok(meta) => return Ok(Some(meta)),
                Err(err) if is_absent(&err) => {
                    let parent = path.parent().unwrap_or(layer);
                    if is_opaque_dir(parent).map_err(|source| read_lower(parent, source))? {
                        return Ok(None);
                    }
                }
                Err(source) => return Err(read_lower(&path, source)),
            }
        }
        Ok(None)
    }

    /// Names visible in lower dir `rel` of the merged lower view.
    fn lower_names(&self, rel: &Path) -> Result<BTreeSet<OsString>, SnapshotError> {
        let mut seen = BTreeSet::new();
        let mut visible = BTreeSet::new();
        for layer in self.lowers {
            let dir = layer.join(rel);
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(err) if is_absent(&err) => continue,
                Err(source) => return Err(read_lower(&dir, source)),
            };
            for entry in entries {
                let entry = entry.map_err(|source| read_lower(&dir, source))?;
                let name = entry.file_name();
                if !seen.insert(name.clone()) {
                    continue;
                }
                let meta = entry
                    .metadata()
                    .map_err(|source| read_lower(&dir, source))?;
                if !is_whiteout(&meta) {
                    visible.insert(name);
                }
            }
            if is_opaque_dir(&dir).map_err(|source| read_lower(&dir, source))? {
                break;
            }
        }
        Ok(visible)
    }
}

fn change(rel: &Path, kind: ChangeKind) -> Change {
    Change {
        path: Path::new("/").join(rel),
        kind,
    }
}

fn read_lower(path: &Path, source: io::Error) -> SnapshotError {
    SnapshotError::ReadLower {
        path: path.to_path_buf(),
        source,
    }
}

/// Missing entry, or a path through a non-directory in this layer.
fn is_absent(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// An overlayfs whiteout: a character device with device number 0/0.
pub fn is_whiteout(meta: &Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

/// Whether `path` is a directory carrying `trusted.overlay.opaque=y` (no symlink follow).
fn is_opaque_dir(path: &Path) -> io::Result<bool> {
    match xattr::get(path, OPAQUE_XATTR) {
        Ok(value) => Ok(value.as_deref() == Some(b"y".as_slice())),
        Err(err) if is_absent(&err) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Whether an upper directory's own metadata differs from its lower copy.
fn metadata_differs(upper: &Metadata, lower: &Metadata) -> bool {
    upper.mode() != lower.mode()
        || upper.uid() != lower.uid()
        || upper.gid() != lower.gid()
        || upper.mtime() != lower.mtime()
        || upper.mtime_nsec() != lower.mtime_nsec()
}

#[cfg(test)]
#[path = "changes_tests.rs"]
mod tests;
