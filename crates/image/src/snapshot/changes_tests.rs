//! Unit tests for the changes walker: hand-built upper and lower trees (root needed for
//! whiteout device nodes and trusted xattrs; the tests fail, never skip, without it).

use std::fs::{self, File, FileTimes};
use std::os::unix::fs::PermissionsExt;

use nix::sys::stat::{mknod, Mode, SFlag};

use super::*;

fn whiteout(path: &Path) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    mknod(path, SFlag::S_IFCHR, Mode::from_bits_truncate(0o600), 0).unwrap();
}

fn opaque_dir(path: &Path) {
    fs::create_dir_all(path).unwrap();
    xattr::set(path, OPAQUE_XATTR, b"y").unwrap();
}

fn file(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

/// Makes `dst` a directory with `src`'s mode and mtime, as an overlayfs copy-up does.
fn copied_up_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    let meta = fs::metadata(src).unwrap();
    fs::set_permissions(dst, fs::Permissions::from_mode(meta.permissions().mode())).unwrap();
    let times = FileTimes::new()
        .set_modified(meta.modified().unwrap())
        .set_accessed(meta.accessed().unwrap());
    File::open(dst).unwrap().set_times(times).unwrap();
}

fn listing(changes: &[Change]) -> Vec<String> {
    changes.iter().map(|c| c.to_string()).collect()
}

#[test]
fn reports_added_changed_deleted_and_opaque_like_docker_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let (lower, upper) = (tmp.path().join("lower"), tmp.path().join("upper"));
    for (path, content) in [
        ("etc/passwd", "root"),
        ("etc/hosts", "localhost"),
        ("bin/sh", "elf"),
        ("bin/ls", "elf"),
        ("var/old/x", "x"),
    ] {
        file(&lower.join(path), content);
    }
    fs::create_dir_all(&upper).unwrap();
    copied_up_dir(&lower.join("etc"), &upper.join("etc"));
    file(&upper.join("etc/passwd"), "root\nuser");
    file(&upper.join("etc/new.conf"), "new");
    copied_up_dir(&lower.join("bin"), &upper.join("bin"));
    whiteout(&upper.join("bin/sh"));
    file(&upper.join("newdir/sub/file"), "f");
    opaque_dir(&upper.join("var/old"));
    file(&upper.join("var/old/y"), "y");
    // Copy-up restores the parent's times after creating the child in it; mimic that.
    copied_up_dir(&lower.join("var"), &upper.join("var"));

    let got = changes(&upper, std::slice::from_ref(&lower)).unwrap();
    assert_eq!(
        listing(&got),
        [
            "C /bin",
            "D /bin/sh",
            "C /etc",
            "A /etc/new.conf",
            "C /etc/passwd",
            "A /newdir",
            "A /newdir/sub",
            "A /newdir/sub/file",
            "C /var/old",
            "D /var/old/x",
            "A /var/old/y",
        ]
    );
}

#[test]
fn unchanged_copied_up_parents_are_not_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (lower, upper) = (tmp.path().join("lower"), tmp.path().join("upper"));
    file(&lower.join("a/b/c.txt"), "1");
    file(&upper.join("a/b/c.txt"), "2");
    copied_up_dir(&lower.join("a/b"), &upper.join("a/b"));
    copied_up_dir(&lower.join("a"), &upper.join("a"));
    let got = changes(&upper, &[lower]).unwrap();
    assert_eq!(listing(&got), ["C /a/b/c.txt"]);
}

#[test]
fn lower_whiteouts_and_opaque_dirs_hide_deeper_layers() {
    let tmp = tempfile::tempdir().unwrap();
    let (top, bottom, upper) = (
        tmp.path().join("top"),
        tmp.path().join("bottom"),
        tmp.path().join("upper"),
    );
    // The image itself deleted /a/f and replaced /b: both count as absent below.
    file(&bottom.join("a/f"), "old");
    file(&bottom.join("a/keep"), "k");
    file(&bottom.join("b/old"), "old");
    fs::create_dir_all(top.join("a")).unwrap();
    whiteout(&top.join("a/f"));
    opaque_dir(&top.join("b"));
    copied_up_dir(&top.join("a"), &upper.join("a"));
    file(&upper.join("a/f"), "new");
    file(&upper.join("a/keep"), "changed");
    copied_up_dir(&top.join("b"), &upper.join("b"));
    file(&upper.join("b/old"), "new");
    let got = changes(&upper, &[top, bottom]).unwrap();
    assert_eq!(
        listing(&got),
        ["C /a", "A /a/f", "C /a/keep", "C /b", "A /b/old"]
    );
}

#[test]
fn opaque_dir_lists_deleted_lower_entries_across_layers() {
    let tmp = tempfile::tempdir().unwrap();
    let (top, bottom, upper) = (
        tmp.path().join("top"),
        tmp.path().join("bottom"),
        tmp.path().join("upper"),
    );
    file(&bottom.join("d/one"), "1");
    file(&bottom.join("d/two"), "2");
    file(&bottom.join("d/three"), "3");
    file(&top.join("d/four"), "4");
    whiteout(&top.join("d/two"));
    opaque_dir(&upper.join("d"));
    file(&upper.join("d/one"), "replaced");
    file(&upper.join("d/one-more"), "new");
    let got = changes(&upper, &[top, bottom]).unwrap();
    assert_eq!(
        listing(&got),
        [
            "C /d",
            "D /d/four",
            "C /d/one",
            "A /d/one-more",
            "D /d/three",
        ]
    );
}

#[test]
fn without_lowers_everything_is_added_and_whiteouts_are_deletions() {
    let tmp = tempfile::tempdir().unwrap();
    let upper = tmp.path().join("upper");
    file(&upper.join("x/y"), "y");
    whiteout(&upper.join("gone"));
    let got = changes(&upper, &[]).unwrap();
    assert_eq!(listing(&got), ["D /gone", "A /x", "A /x/y"]);
    assert!(is_whiteout(
        &fs::symlink_metadata(upper.join("gone")).unwrap()
    ));
    assert_eq!(ChangeKind::Modified.docker_code(), 0);
    assert_eq!(ChangeKind::Added.docker_code(), 1);
    assert_eq!(ChangeKind::Deleted.docker_code(), 2);
}

#[test]
fn missing_upper_is_a_read_error_naming_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    let err = changes(&missing, &[]).unwrap_err();
    assert!(matches!(err, SnapshotError::ReadUpper { ref path, .. } if path == &missing));
}
