//! Applies tar entries to a destination directory without ever leaving it.
//!
//! Runs in berthd. Holds an fd on the destination and resolves every parent with
//! openat2(2) `RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH` (or an `O_NOFOLLOW` walk), so a
//! symlink created by the layer is never followed; leaves are created with `*at` calls
//! that do not follow either. Owns only fds, closed on drop; on error the partial tree
//! stays behind for the caller to remove. Whiteouts become overlayfs forms (0/0 char
//! device, `trusted.overlay.opaque=y`).

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use tar::EntryType;

use super::meta::EntryMeta;
use super::path::{display, join, normalise, split_parent, whiteout_kind, Whiteout};
use super::resolve::{resolve_dir, resolve_err, ResolveError};
use super::{Step, UnpackError, UnpackOptions};
use crate::sys::fs::{self as sysfs, FileTime, NodeKind};

const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// State of one unpack: destination fd, what this layer created, deferred dir times.
pub(super) struct Extractor<'o> {
    root: OwnedFd,
    opts: &'o UnpackOptions,
    entries: u64,
    /// Paths created by this layer → whether it is a directory.
    created: HashMap<Vec<u8>, bool>,
    dir_times: Vec<(Vec<u8>, FileTime)>,
    cached_parent: Option<(Vec<u8>, OwnedFd)>,
    buf: Vec<u8>,
}

impl<'o> Extractor<'o> {
    pub(super) fn new(dest: &Path, opts: &'o UnpackOptions) -> Result<Self, UnpackError> {
        let root = sysfs::open_dir_path(dest).map_err(|source| UnpackError::OpenDest {
            path: dest.to_path_buf(),
            source,
        })?;
        Ok(Extractor {
            root,
            opts,
            entries: 0,
            created: HashMap::new(),
            dir_times: Vec::new(),
            cached_parent: None,
            buf: vec![0; 256 * 1024],
        })
    }

    pub(super) fn entries(&self) -> u64 {
        self.entries
    }

    /// Applies one tar entry.
    pub(super) fn apply<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), UnpackError> {
        self.entries += 1;
        if self.entries > self.opts.max_entries {
            return Err(UnpackError::TooManyEntries {
                limit: self.opts.max_entries,
            });
        }
        let raw = entry.path_bytes().into_owned();
        let path =
            normalise(&raw, self.opts.max_path_len).map_err(|p| UnpackError::InvalidPath {
                path: display(&raw),
                problem: p.describe(),
            })?;
        let mut kind = entry.header().entry_type();
        if kind == EntryType::XGlobalHeader {
            return Ok(());
        }
        if kind == EntryType::Regular && raw.ends_with(b"/") {
            kind = EntryType::Directory;
        }
        let meta = EntryMeta::read(entry).map_err(|source| UnpackError::ReadEntryHeader {
            path: display(&path),
            source,
        })?;
        if path.is_empty() {
            return self.root_entry(kind, &meta);
        }
        let (parent, leaf) = split_parent(&path);
        match whiteout_kind(leaf) {
            Whiteout::Remove(name) => return self.whiteout(parent, name, &path),
            Whiteout::Opaque => return self.opaque(parent, &path),
            Whiteout::Ignored => return Ok(()),
            Whiteout::None => {}
        }
        let pfd = self.take_parent(parent, &path)?;
        let res = self.create(
            pfd.as_fd(),
            OsStr::from_bytes(leaf),
            &path,
            kind,
            &meta,
            entry,
        );
        self.cached_parent = Some((parent.to_vec(), pfd));
        res
    }

    fn create<R: Read>(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        path: &[u8],
        kind: EntryType,
        meta: &EntryMeta,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), UnpackError> {
        let is_dir = match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                self.regular_file(dir, name, path, meta, entry)?;
                false
            }
            EntryType::Directory => {
                self.directory(dir, name, path, meta)?;
                true
            }
            EntryType::Symlink => {
                let target = link_target(entry, path)?;
                retry_exists(dir, name, path, Step::Symlink, || {
                    sysfs::symlink_at(OsStr::from_bytes(&target), dir, name)
                })?;
                self.node_meta(dir, name, path, meta, false)?;
                false
            }
            EntryType::Link => {
                self.hard_link(dir, name, path, entry)?;
                false
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let node = match kind {
                    EntryType::Char => NodeKind::Char,
                    EntryType::Block => NodeKind::Block,
                    _ => NodeKind::Fifo,
                };
                if node != NodeKind::Fifo && !self.opts.allow_devices {
                    return Ok(());
                }
                let h = entry.header();
                let major = h.device_major().ok().flatten().unwrap_or(0);
                let minor = h.device_minor().ok().flatten().unwrap_or(0);
                retry_exists(dir, name, path, Step::Mknod, || {
                    sysfs::mknod_at(dir, name, node, major, minor)
                })?;
                self.node_meta(dir, name, path, meta, true)?;
                false
            }
            other => {
                return Err(UnpackError::UnsupportedEntryType {
                    path: display(path),
                    kind: other.as_byte() as char,
                })
            }
        };
        self.created.insert(path.to_vec(), is_dir);
        Ok(())
    }

    fn regular_file<R: Read>(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        path: &[u8],
        meta: &EntryMeta,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), UnpackError> {
        let mut file = retry_exists(dir, name, path, Step::CreateFile, || {
            sysfs::create_file_at(dir, name)
        })?;
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(apply_err(path, Step::ReadContent, e)),
            };
            file.write_all(&self.buf[..n])
                .map_err(|e| apply_err(path, Step::WriteFile, e))?;
        }
        fd_meta(file.as_fd(), path, meta)?;
        sysfs::futimes(file.as_fd(), meta.mtime).map_err(|e| apply_err(path, Step::SetTimes, e))
    }

    fn directory(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        path: &[u8],
        meta: &EntryMeta,
    ) -> Result<(), UnpackError> {
        match sysfs::mkdir_at(dir, name, 0o700) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let is_dir = sysfs::is_dir_at(dir, name)
                    .map_err(|e| apply_err(path, Step::RemoveExisting, e))?;
                if is_dir != Some(true) {
                    sysfs::remove_all_at(dir, name)
                        .map_err(|e| apply_err(path, Step::RemoveExisting, e))?;
                    sysfs::mkdir_at(dir, name, 0o700)
                        .map_err(|e| apply_err(path, Step::CreateDir, e))?;
                }
            }
            Err(e) => return Err(apply_err(path, Step::CreateDir, e)),
        }
        let fd = sysfs::open_child_dir(dir, name).map_err(|e| apply_err(path, Step::OpenDir, e))?;
        fd_meta(fd.as_fd(), path, meta)?;
        self.dir_times.push((path.to_vec(), meta.mtime));
        Ok(())
    }

    fn hard_link<R: Read>(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        path: &[u8],
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), UnpackError> {
        let raw = link_target(entry, path)?;
        let escaping = || UnpackError::HardLinkTarget {
            path: display(path),
            target: display(&raw),
        };
        let target = normalise(&raw, self.opts.max_path_len).map_err(|_| escaping())?;
        if self.created.get(&target) != Some(&false) {
            return Err(escaping());
        }
        let (tparent, tleaf) = split_parent(&target);
        let tdir = self
            .resolve(tparent, false)
            .map_err(|e| resolve_err(e, path))?;
        retry_exists(dir, name, path, Step::HardLink, || {
            sysfs::link_at(tdir.as_fd(), OsStr::from_bytes(tleaf), dir, name)
        })
    }

    /// Ownership, mode, xattrs and times for nodes that cannot be opened.
    fn node_meta(
        &self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        path: &[u8],
        meta: &EntryMeta,
        chmod: bool,
    ) -> Result<(), UnpackError> {
        sysfs::lchown_at(dir, name, meta.uid, meta.gid)
            .map_err(|e| apply_err(path, Step::Chown, e))?;
        if chmod {
            sysfs::chmod_at(dir, name, meta.mode).map_err(|e| apply_err(path, Step::Chmod, e))?;
        }
        for (key, value) in &meta.xattrs {
            sysfs::lsetxattr_at(dir, name, key, value).map_err(|source| UnpackError::SetXattr {
                path: display(path),
                name: key.clone(),
                source,
            })?;
        }
        sysfs::lutimes_at(dir, name, meta.mtime).map_err(|e| apply_err(path, Step::SetTimes, e))
    }

    fn root_entry(&mut self, kind: EntryType, meta: &EntryMeta) -> Result<(), UnpackError> {
        if kind != EntryType::Directory {
            return Err(UnpackError::UnsupportedEntryType {
                path: "/".to_owned(),
                kind: kind.as_byte() as char,
            });
        }
        fd_meta(self.root.as_fd(), b"/", meta)?;
        self.dir_times.push((Vec::new(), meta.mtime));
        Ok(())
    }

    /// `.wh.<name>`: removes `<name>` from what is already in the destination and puts a
    /// 0/0 char device there, unless this layer itself created `<name>`.
    fn whiteout(&mut self, parent: &[u8], name: &[u8], path: &[u8]) -> Result<(), UnpackError> {
        if name.is_empty() || name == b"." || name == b".." {
            return Err(UnpackError::InvalidPath {
                path: display(path),
                problem: "is a whiteout without a valid name",
            });
        }
        let target = join(parent, name);
        if self.created.contains_key(&target) {
            return Ok(());
        }
        let pfd = self.take_parent(parent, path)?;
        let name = OsStr::from_bytes(name);
        let res = sysfs::remove_all_at(pfd.as_fd(), name)
            .map_err(|e| apply_err(path, Step::RemoveExisting, e))
            .and_then(|()| {
                sysfs::mknod_at(pfd.as_fd(), name, NodeKind::Char, 0, 0)
                    .map_err(|e| apply_err(path, Step::Mknod, e))
            });
        self.cached_parent = Some((parent.to_vec(), pfd));
        res?;
        self.created.insert(target, false);
        Ok(())
    }

    /// `.wh..wh..opq`: empties the parent of everything not from this layer and marks it
    /// opaque for overlayfs.
    fn opaque(&mut self, parent: &[u8], path: &[u8]) -> Result<(), UnpackError> {
        let keep: HashSet<&[u8]> = self
            .created
            .keys()
            .filter_map(|k| child_of(parent, k))
            .collect();
        let dir = if parent.is_empty() {
            sysfs::open_child_dir(self.root.as_fd(), OsStr::new("."))
                .map_err(|e| apply_err(path, Step::OpenDir, e))?
        } else {
            self.resolve(parent, true)
                .map_err(|e| resolve_err(e, path))?
        };
        let children =
            sysfs::list_dir(dir.as_fd()).map_err(|e| apply_err(path, Step::ListDir, e))?;
        for child in children.iter().filter(|c| !keep.contains(c.as_bytes())) {
            sysfs::remove_all_at(dir.as_fd(), child)
                .map_err(|e| apply_err(path, Step::RemoveExisting, e))?;
        }
        sysfs::fsetxattr(dir.as_fd(), OPAQUE_XATTR, b"y").map_err(|source| UnpackError::SetXattr {
            path: display(path),
            name: OPAQUE_XATTR.to_owned(),
            source,
        })
    }

    /// Sets directory times last (creating entries inside changes them). Directories
    /// replaced or removed by later entries are skipped.
    pub(super) fn finish(&mut self) -> Result<(), UnpackError> {
        self.cached_parent = None;
        for (path, time) in std::mem::take(&mut self.dir_times) {
            let fd = match self.resolve(&path, false) {
                Ok(fd) => fd,
                Err(ResolveError::Io(e)) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(apply_err(&path, Step::SetTimes, e))
                }
                Err(_) => continue,
            };
            sysfs::futimes(fd.as_fd(), time).map_err(|e| apply_err(&path, Step::SetTimes, e))?;
        }
        Ok(())
    }

    fn take_parent(&mut self, parent: &[u8], path: &[u8]) -> Result<OwnedFd, UnpackError> {
        if let Some((key, fd)) = self.cached_parent.take() {
            if key == parent {
                return Ok(fd);
            }
        }
        self.resolve(parent, true).map_err(|e| resolve_err(e, path))
    }

    fn resolve(&self, rel: &[u8], create: bool) -> Result<OwnedFd, ResolveError> {
        resolve_dir(self.root.as_fd(), rel, create)
    }
}

/// The first component below `parent` of `path`, if `path` is strictly inside it.
fn child_of<'a>(parent: &[u8], path: &'a [u8]) -> Option<&'a [u8]> {
    let rest = if parent.is_empty() {
        path
    } else {
        path.strip_prefix(parent)?.strip_prefix(b"/")?
    };
    rest.split(|b| *b == b'/').next().filter(|c| !c.is_empty())
}

/// Runs `op`; if the name is taken, removes whatever is there and runs it again.
fn retry_exists<T>(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    path: &[u8],
    step: Step,
    mut op: impl FnMut() -> io::Result<T>,
) -> Result<T, UnpackError> {
    match op() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            sysfs::remove_all_at(dir, name)
                .map_err(|e| apply_err(path, Step::RemoveExisting, e))?;
            op().map_err(|e| apply_err(path, step, e))
        }
        other => other.map_err(|e| apply_err(path, step, e)),
    }
}

/// chown, then chmod (chown clears setuid/setgid and capabilities), then xattrs.
fn fd_meta(fd: BorrowedFd<'_>, path: &[u8], meta: &EntryMeta) -> Result<(), UnpackError> {
    sysfs::fchown(fd, meta.uid, meta.gid).map_err(|e| apply_err(path, Step::Chown, e))?;
    sysfs::fchmod(fd, meta.mode).map_err(|e| apply_err(path, Step::Chmod, e))?;
    for (key, value) in &meta.xattrs {
        sysfs::fsetxattr(fd, key, value).map_err(|source| UnpackError::SetXattr {
            path: display(path),
            name: key.clone(),
            source,
        })?;
    }
    Ok(())
}

fn link_target<R: Read>(entry: &tar::Entry<'_, R>, path: &[u8]) -> Result<Vec<u8>, UnpackError> {
    match entry.link_name_bytes() {
        Some(t) if !t.is_empty() => Ok(t.into_owned()),
        _ => Err(UnpackError::InvalidPath {
            path: display(path),
            problem: "is a link without a target",
        }),
    }
}

fn apply_err(path: &[u8], step: Step, source: io::Error) -> UnpackError {
    UnpackError::Apply {
        path: display(path),
        step,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::child_of;

    #[test]
    fn child_of_paths() {
        assert_eq!(child_of(b"a", b"a/b/c"), Some(&b"b"[..]));
        assert_eq!(child_of(b"a", b"ab/c"), None);
        assert_eq!(child_of(b"a", b"a"), None);
        assert_eq!(child_of(b"", b"x/y"), Some(&b"x"[..]));
    }
}
