//! Packs a directory (an unpacked layer or an overlay upper dir) into an OCI layer tar,
//! turning overlayfs whiteouts back into `.wh.` entries.
//!
//! Runs in berthd for `export`, `save` and pushes of built layers. Reads the tree with
//! path-based calls (the tree is ours, not untrusted input) and owns nothing after it
//! returns. Entries are sorted by name so the same tree gives the same bytes; hard links
//! become tar link entries; sockets are skipped; `trusted.overlay.*` xattrs are not
//! written (opaque directories become a `.wh..wh..opq` entry instead).

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

use super::path::{whiteout_name, OPAQUE_MARKER};
use crate::sys::fs as sysfs;

const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Why a directory could not be packed.
#[derive(Debug, thiserror::Error)]
pub enum WriteTarError {
    /// Listing a directory or reading a node's metadata failed.
    #[error("reading {path}")]
    Walk {
        /// The path on disk.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// Reading a node's xattrs failed.
    #[error("reading xattrs of {path}")]
    ReadXattr {
        /// The path on disk.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// Writing an entry to the output failed.
    #[error("writing tar entry for {path}")]
    Append {
        /// The path on disk.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// Writing the end-of-archive blocks failed.
    #[error("finishing the tar stream")]
    Finish {
        /// Underlying error.
        #[source]
        source: io::Error,
    },
}

/// Writes the tree under `dir` (not `dir` itself) as an uncompressed layer tar to
/// `writer` and returns the writer.
pub fn write_tar<W: Write>(dir: &Path, writer: W) -> Result<W, WriteTarError> {
    let mut packer = Packer {
        builder: tar::Builder::new(writer),
        links: HashMap::new(),
    };
    packer.dir_children(dir, Path::new(""))?;
    packer
        .builder
        .into_inner()
        .map_err(|source| WriteTarError::Finish { source })
}

struct Packer<W: Write> {
    builder: tar::Builder<W>,
    /// (dev, inode) of multiply linked files → first archive path.
    links: HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> Packer<W> {
    fn dir_children(&mut self, disk: &Path, rel: &Path) -> Result<(), WriteTarError> {
        let walk_err = |source| WriteTarError::Walk {
            path: disk.to_path_buf(),
            source,
        };
        let mut names: Vec<_> = fs::read_dir(disk)
            .map_err(walk_err)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(walk_err)?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            self.node(&disk.join(&name), &rel.join(&name))?;
        }
        Ok(())
    }

    fn node(&mut self, disk: &Path, rel: &Path) -> Result<(), WriteTarError> {
        let meta = fs::symlink_metadata(disk).map_err(|source| WriteTarError::Walk {
            path: disk.to_path_buf(),
            source,
        })?;
        let ft = meta.file_type();
        if ft.is_socket() {
            return Ok(());
        }
        if ft.is_char_device() && meta.rdev() == 0 {
            let name = rel.file_name().map(|n| n.as_bytes()).unwrap_or_default();
            let wh = rel.with_file_name(std::ffi::OsStr::from_bytes(&whiteout_name(name)));
            let mut h = header(&meta, EntryType::Regular, 0);
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            return self.append(disk, &mut h, &wh, io::empty());
        }
        let xattrs = read_xattrs(disk)?;
        let opaque = xattrs.iter().any(|(k, v)| k == OPAQUE_XATTR && v == b"y");
        let pax: Vec<(String, &[u8])> = xattrs
            .iter()
            .filter(|(k, _)| !k.starts_with("trusted.overlay."))
            .map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.as_slice()))
            .collect();
        if !pax.is_empty() {
            self.builder
                .append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), *v)))
                .map_err(|source| append_err(disk, source))?;
        }
        if ft.is_dir() {
            let mut h = header(&meta, EntryType::Directory, 0);
            self.append(disk, &mut h, rel, io::empty())?;
            if opaque {
                let mut m = header(&meta, EntryType::Regular, 0);
                m.set_mode(0o644);
                self.append(disk, &mut m, &rel.join(OPAQUE_MARKER), io::empty())?;
            }
            return self.dir_children(disk, rel);
        }
        if ft.is_symlink() {
            let target = fs::read_link(disk).map_err(|source| WriteTarError::Walk {
                path: disk.to_path_buf(),
                source,
            })?;
            let mut h = header(&meta, EntryType::Symlink, 0);
            return self.link(disk, &mut h, rel, &target);
        }
        if ft.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key).cloned() {
                    let mut h = header(&meta, EntryType::Link, 0);
                    return self.link(disk, &mut h, rel, &first);
                }
                self.links.insert(key, rel.to_path_buf());
            }
            let file = File::open(disk).map_err(|source| WriteTarError::Walk {
                path: disk.to_path_buf(),
                source,
            })?;
            let mut h = header(&meta, EntryType::Regular, meta.len());
            return self.append(disk, &mut h, rel, file);
        }
        let kind = if ft.is_char_device() {
            EntryType::Char
        } else if ft.is_block_device() {
            EntryType::Block
        } else {
            EntryType::Fifo
        };
        let mut h = header(&meta, kind, 0);
        let (major, minor) = dev_split(meta.rdev());
        h.set_device_major(major)
            .map_err(|source| append_err(disk, source))?;
        h.set_device_minor(minor)
            .map_err(|source| append_err(disk, source))?;
        self.append(disk, &mut h, rel, io::empty())
    }

    fn append(
        &mut self,
        disk: &Path,
        h: &mut Header,
        rel: &Path,
        data: impl io::Read,
    ) -> Result<(), WriteTarError> {
        self.builder
            .append_data(h, rel, data)
            .map_err(|source| append_err(disk, source))
    }

    fn link(
        &mut self,
        disk: &Path,
        h: &mut Header,
        rel: &Path,
        target: &Path,
    ) -> Result<(), WriteTarError> {
        self.builder
            .append_link(h, rel, target)
            .map_err(|source| append_err(disk, source))
    }
}

fn header(meta: &Metadata, kind: EntryType, size: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(meta.mode() & 0o7777);
    h.set_uid(u64::from(meta.uid()));
    h.set_gid(u64::from(meta.gid()));
    h.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
    h.set_size(size);
    h
}

fn read_xattrs(path: &Path) -> Result<Vec<(String, Vec<u8>)>, WriteTarError> {
    let err = |source| WriteTarError::ReadXattr {
        path: path.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    for name in sysfs::llistxattr(path).map_err(err)? {
        if let Some(value) = sysfs::lgetxattr(path, &name).map_err(err)? {
            out.push((name, value));
        }
    }
    out.sort();
    Ok(out)
}

fn append_err(path: &Path, source: io::Error) -> WriteTarError {
    WriteTarError::Append {
        path: path.to_path_buf(),
        source,
    }
}

/// Splits a Linux `dev_t` into (major, minor) (glibc's `gnu_dev_major`/`minor` layout).
fn dev_split(dev: u64) -> (u32, u32) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0fff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0x00ff);
    (
        u32::try_from(major).unwrap_or(u32::MAX),
        u32::try_from(minor).unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::dev_split;

    #[test]
    fn splits_dev_numbers() {
        assert_eq!(dev_split(0), (0, 0));
        assert_eq!(dev_split(0x0103), (1, 3));
        // makedev(259, 0x10_0005) in glibc's layout.
        let minor = 0x10_0005u64;
        let dev = ((259u64 & 0xfff) << 8) | (minor & 0xff) | ((minor & !0xff) << 12);
        assert_eq!(dev_split(dev), (259, 0x10_0005));
    }
}
