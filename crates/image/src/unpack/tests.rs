//! Tests of unpacking real tar streams as root into temp dirs: every entry type,
//! compression, whiteouts, and malicious archives.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use tar::{EntryType, Header};

use super::stream::sha256_digest;
use super::*;
use crate::sys::fs as sysfs;

/// Builds layer tars, writing names raw so that hostile names survive.
pub(super) struct Layer(tar::Builder<Vec<u8>>);

impl Layer {
    pub(super) fn new() -> Self {
        Layer(tar::Builder::new(Vec::new()))
    }

    fn header(name: &str, kind: EntryType, mode: u32, size: u64) -> Header {
        let mut h = Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_600_000_000);
        h.set_size(size);
        h
    }

    pub(super) fn raw(mut self, mut h: Header, data: &[u8]) -> Self {
        h.set_cksum();
        self.0.append(&h, data).unwrap();
        self
    }

    pub(super) fn file(self, name: &str, data: &[u8]) -> Self {
        let h = Self::header(name, EntryType::Regular, 0o644, data.len() as u64);
        self.raw(h, data)
    }

    pub(super) fn dir(self, name: &str) -> Self {
        self.raw(Self::header(name, EntryType::Directory, 0o755, 0), b"")
    }

    pub(super) fn link(self, kind: EntryType, name: &str, target: &str) -> Self {
        let mut h = Self::header(name, kind, 0o777, 0);
        h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
        self.raw(h, b"")
    }

    pub(super) fn pax(mut self, records: &[(&str, &[u8])]) -> Self {
        self.0
            .append_pax_extensions(records.iter().copied())
            .unwrap();
        self
    }

    pub(super) fn finish(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

pub(super) fn unpack_to(data: &[u8], dest: &Path) -> Result<UnpackStats, UnpackError> {
    unpack(data, dest, &UnpackOptions::default())
}

/// `security.capability` v2 value granting CAP_NET_BIND_SERVICE (bit 10) permitted+effective.
const CAP_NET_BIND: [u8; 20] = [1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

fn every_entry_type() -> Vec<u8> {
    let mut suid = Layer::header("bin/ping", EntryType::Regular, 0o4755, 4);
    suid.set_uid(1000);
    suid.set_gid(1001);
    suid.set_mtime(1_234_567_890);
    let mut sticky = Layer::header("tmp", EntryType::Directory, 0o1777, 0);
    sticky.set_mtime(1_111_111_111);
    let mut chr = Layer::header("dev/null", EntryType::Char, 0o666, 0);
    chr.set_device_major(1).unwrap();
    chr.set_device_minor(3).unwrap();
    let mut blk = Layer::header("dev/loop9", EntryType::Block, 0o660, 0);
    blk.set_device_major(7).unwrap();
    blk.set_device_minor(9).unwrap();
    let mut sl = Layer::header("bin/sh", EntryType::Symlink, 0o777, 0);
    sl.as_old_mut().linkname[..4].copy_from_slice(b"ping");
    sl.set_uid(5);
    Layer::new()
        .dir("bin")
        .pax(&[
            ("SCHILY.xattr.security.capability", &CAP_NET_BIND[..]),
            ("SCHILY.xattr.user.note", b"hello"),
            ("mtime", b"1234567890.5"),
        ])
        .raw(suid, b"ping")
        .raw(sl, b"")
        .link(EntryType::Link, "bin/ping6", "bin/ping")
        .raw(sticky, b"")
        .file("tmp/inner", b"x")
        .raw(chr, b"")
        .raw(blk, b"")
        .raw(Layer::header("run/fifo", EntryType::Fifo, 0o600, 0), b"")
        .finish()
}

#[test]
fn unpacks_every_entry_type_plain_gzip_and_zstd() {
    let tar = every_entry_type();
    for (label, data) in [
        ("tar", tar.clone()),
        ("gzip", gzip(&tar)),
        ("zstd", zstd(&tar)),
    ] {
        let dest = tempfile::tempdir().unwrap();
        let d = dest.path();
        let stats = unpack_to(&data, d).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(stats.diff_id, sha256_digest(&tar), "{label}");
        assert_eq!(stats.uncompressed_bytes, tar.len() as u64);
        assert_eq!(stats.compressed_bytes, data.len() as u64);
        assert_eq!(stats.entries, 9);

        let ping = fs::symlink_metadata(d.join("bin/ping")).unwrap();
        assert_eq!(fs::read(d.join("bin/ping")).unwrap(), b"ping");
        assert_eq!(ping.mode() & 0o7777, 0o4755, "setuid survives chown");
        assert_eq!((ping.uid(), ping.gid()), (1000, 1001));
        assert_eq!(
            (ping.mtime(), ping.mtime_nsec()),
            (1_234_567_890, 500_000_000)
        );
        assert_eq!(ping.nlink(), 2);
        assert_eq!(fs::metadata(d.join("bin/ping6")).unwrap().ino(), ping.ino());
        let cap = sysfs::lgetxattr(&d.join("bin/ping"), "security.capability").unwrap();
        assert_eq!(cap.as_deref(), Some(&CAP_NET_BIND[..]));
        let note = sysfs::lgetxattr(&d.join("bin/ping"), "user.note").unwrap();
        assert_eq!(note.as_deref(), Some(&b"hello"[..]));

        assert_eq!(fs::read_link(d.join("bin/sh")).unwrap(), Path::new("ping"));
        assert_eq!(fs::symlink_metadata(d.join("bin/sh")).unwrap().uid(), 5);
        let tmp = fs::metadata(d.join("tmp")).unwrap();
        assert_eq!(tmp.mode() & 0o7777, 0o1777);
        assert_eq!(
            tmp.mtime(),
            1_111_111_111,
            "dir mtime set after its children"
        );
        let null = fs::metadata(d.join("dev/null")).unwrap();
        assert!(null.file_type().is_char_device());
        assert_eq!((null.rdev(), null.mode() & 0o7777), (0x0103, 0o666));
        let lp = fs::metadata(d.join("dev/loop9")).unwrap();
        assert!(lp.file_type().is_block_device());
        assert_eq!(lp.rdev(), 0x0709);
        assert!(fs::metadata(d.join("run/fifo"))
            .unwrap()
            .file_type()
            .is_fifo());
        assert_eq!(fs::metadata(d.join("run")).unwrap().mode() & 0o7777, 0o755);
    }
}

#[test]
fn devices_can_be_skipped() {
    let dest = tempfile::tempdir().unwrap();
    let opts = UnpackOptions {
        allow_devices: false,
        ..UnpackOptions::default()
    };
    unpack(&every_entry_type()[..], dest.path(), &opts).unwrap();
    assert!(!dest.path().join("dev/null").exists());
    assert!(dest.path().join("run/fifo").exists());
}

pub(super) fn lower_layer() -> Vec<u8> {
    Layer::new()
        .file("a/x", b"x")
        .file("a/y", b"y")
        .file("d/old", b"old")
        .file("d/sub/f", b"f")
        .finish()
}

pub(super) fn upper_layer() -> Vec<u8> {
    Layer::new()
        .file("a/.wh.x", b"")
        .dir("d")
        .file("d/new", b"new")
        .file("d/.wh..wh..opq", b"")
        .file("d/.wh..wh.plnk", b"")
        .finish()
}

fn assert_whiteout(path: &Path) {
    let m = fs::symlink_metadata(path).unwrap();
    assert!(m.file_type().is_char_device(), "{}", path.display());
    assert_eq!(m.rdev(), 0);
}

#[test]
fn whiteouts_become_overlay_forms_and_apply_onto_existing_tree() {
    let upper = tempfile::tempdir().unwrap();
    unpack_to(&upper_layer(), upper.path()).unwrap();
    assert_whiteout(&upper.path().join("a/x"));
    let opq = sysfs::lgetxattr(&upper.path().join("d"), "trusted.overlay.opaque").unwrap();
    assert_eq!(opq.as_deref(), Some(&b"y"[..]));
    assert!(upper.path().join("d/new").exists(), "same-layer entry kept");
    assert!(!upper.path().join("d/.wh..wh.plnk").exists());

    // import-style: apply the upper layer on top of the lower tree.
    let merged = tempfile::tempdir().unwrap();
    unpack_to(&lower_layer(), merged.path()).unwrap();
    unpack_to(&upper_layer(), merged.path()).unwrap();
    assert_whiteout(&merged.path().join("a/x"));
    assert_eq!(fs::read(merged.path().join("a/y")).unwrap(), b"y");
    let mut names: Vec<_> = fs::read_dir(merged.path().join("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["new"]);
}

#[test]
fn write_tar_round_trips_whiteouts() {
    let upper = tempfile::tempdir().unwrap();
    unpack_to(&upper_layer(), upper.path()).unwrap();
    let tar = write_tar(upper.path(), Vec::new()).unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    let mut names = Vec::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let pax: Vec<String> = e
            .pax_extensions()
            .unwrap()
            .map(|x| x.map(|r| r.unwrap().key().unwrap().to_owned()).collect())
            .unwrap_or_default();
        assert!(
            pax.iter().all(|k| !k.contains("trusted.overlay")),
            "{pax:?}"
        );
        names.push(String::from_utf8(e.path_bytes().into_owned()).unwrap());
    }
    for want in ["a", "a/.wh.x", "d", "d/.wh..wh..opq", "d/new"] {
        assert!(
            names.iter().any(|n| n.trim_end_matches('/') == want),
            "{want} in {names:?}"
        );
    }
    // And back again: the same overlay forms.
    let again = tempfile::tempdir().unwrap();
    unpack_to(&tar, again.path()).unwrap();
    assert_whiteout(&again.path().join("a/x"));
    let opq = sysfs::lgetxattr(&again.path().join("d"), "trusted.overlay.opaque").unwrap();
    assert_eq!(opq.as_deref(), Some(&b"y"[..]));
}

/// A temp dir with `dest/` (empty) and `outside/secret`; returns the error of unpacking
/// `tar` and checks that `outside/` is exactly as before.
fn hostile_with(
    build: impl FnOnce(&str) -> Vec<u8>,
) -> (tempfile::TempDir, Result<UnpackStats, UnpackError>) {
    let top = tempfile::tempdir().unwrap();
    fs::create_dir(top.path().join("dest")).unwrap();
    fs::create_dir(top.path().join("outside")).unwrap();
    fs::write(top.path().join("outside/secret"), b"secret").unwrap();
    let tar = build(top.path().join("outside").to_str().unwrap());
    let res = unpack_to(&tar, &top.path().join("dest"));
    let names: Vec<_> = fs::read_dir(top.path().join("outside")).unwrap().collect();
    assert_eq!(names.len(), 1, "nothing created outside dest");
    let secret = fs::metadata(top.path().join("outside/secret")).unwrap();
    assert_eq!((secret.len(), secret.nlink()), (6, 1));
    assert_eq!(fs::read_dir(top.path()).unwrap().count(), 2);
    (top, res)
}

fn hostile(tar: &[u8]) -> (tempfile::TempDir, Result<UnpackStats, UnpackError>) {
    hostile_with(|_| tar.to_vec())
}

#[test]
fn refuses_dotdot_and_strips_absolute_paths() {
    let (_t, res) = hostile(&Layer::new().file("../x", b"x").finish());
    let err = res.unwrap_err();
    assert!(
        matches!(err, UnpackError::InvalidPath { ref path, .. } if path == "../x"),
        "{err}"
    );
    let (t, res) = hostile(&Layer::new().file("/abs/file", b"x").finish());
    res.unwrap();
    assert_eq!(fs::read(t.path().join("dest/abs/file")).unwrap(), b"x");
}

#[test]
fn refuses_writes_through_symlinks() {
    // Link to /etc, then a/passwd.
    let tar = Layer::new()
        .link(EntryType::Symlink, "a", "/etc")
        .file("a/passwd", b"root::0:0")
        .finish();
    let err = hostile(&tar).1.unwrap_err();
    assert!(
        matches!(err, UnpackError::ParentIsSymlink { ref path } if path == "a/passwd"),
        "{err}"
    );

    // A chain of relative links that climbs out of dest.
    let tar = Layer::new()
        .link(EntryType::Symlink, "l2", "../outside")
        .link(EntryType::Symlink, "l1", "l2")
        .file("l1/new", b"x")
        .finish();
    let err = hostile(&tar).1.unwrap_err();
    assert!(
        matches!(err, UnpackError::ParentIsSymlink { ref path } if path == "l1/new"),
        "{err}"
    );

    // Absolute link to the real outside dir, then a nested write.
    let (_t, res) = hostile_with(|outside| {
        Layer::new()
            .link(EntryType::Symlink, "o", outside)
            .dir("o/sub")
            .finish()
    });
    let err = res.unwrap_err();
    assert!(
        matches!(err, UnpackError::ParentIsSymlink { ref path } if path == "o/sub"),
        "{err}"
    );
}

#[test]
fn refuses_escaping_hard_links() {
    let tar = Layer::new()
        .link(EntryType::Link, "h", "../../etc/passwd")
        .finish();
    let err = hostile(&tar).1.unwrap_err();
    assert!(
        matches!(err, UnpackError::HardLinkTarget { ref path, .. } if path == "h"),
        "{err}"
    );

    let tar = Layer::new()
        .link(EntryType::Link, "h", "etc/passwd")
        .finish();
    let err = hostile(&tar).1.unwrap_err();
    assert!(
        matches!(err, UnpackError::HardLinkTarget { ref path, .. } if path == "h"),
        "{err}"
    );

    // Through a symlinked dir: the target is not an entry of this layer.
    let tar = Layer::new()
        .link(EntryType::Symlink, "s", "../outside")
        .link(EntryType::Link, "h", "s/secret")
        .finish();
    let err = hostile(&tar).1.unwrap_err();
    assert!(
        matches!(err, UnpackError::HardLinkTarget { ref path, .. } if path == "h"),
        "{err}"
    );

    // To a symlink that points out: links the symlink itself, never its target.
    let tar = Layer::new()
        .link(EntryType::Symlink, "s", "../outside/secret")
        .link(EntryType::Link, "h", "s")
        .finish();
    let (top, res) = hostile(&tar);
    res.unwrap();
    let h = fs::symlink_metadata(top.path().join("dest/h")).unwrap();
    assert!(h.file_type().is_symlink());
    assert_eq!(h.nlink(), 2);
}

#[test]
fn refuses_unknown_compression_and_too_many_entries() {
    let dest = tempfile::tempdir().unwrap();
    let err = unpack_to(b"BZh91AY&SY\x00\x00", dest.path()).unwrap_err();
    assert!(
        matches!(err, UnpackError::UnsupportedCompression { ref seen } if seen.contains("bzip2"))
    );
    let opts = UnpackOptions {
        max_entries: 2,
        ..UnpackOptions::default()
    };
    let err = unpack(&lower_layer()[..], dest.path(), &opts).unwrap_err();
    assert!(
        matches!(err, UnpackError::TooManyEntries { limit: 2 }),
        "{err}"
    );
}
