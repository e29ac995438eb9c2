//! `unpack::unpack` on arbitrary bytes (plain tar, gzip or zstd, detected from the
//! magic bytes) into a fresh directory per input. Errors are fine; panics are not,
//! and nothing may be created, changed or linked outside the destination.
//!
//! Layout, made once per process under $TMPDIR:
//!
//! ```text
//! berth-fuzz-unpack.XXXXXX/          outer: must only ever hold `box`
//!   box/                             must only ever hold dest, sentinel, canary
//!     dest/                          fresh for each input, removed after it
//!     sentinel/                      must stay empty
//!     canary                         must keep its content, mode and link count
//! ```
//!
//! An entry such as `../sentinel/x`, `../../x`, a symlink `dest/a -> ..` followed by
//! `a/x`, or a hard link to `../canary` shows up as a change to one of these.
#![no_main]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use berth_image::unpack::{unpack, UnpackOptions};
use libfuzzer_sys::fuzz_target;

const CANARY: &[u8] = b"canary: must never change\n";

struct Layout {
    // Kept so the whole tree is removed when the process exits normally.
    _outer: tempfile::TempDir,
    outer: PathBuf,
    boxdir: PathBuf,
    dest: PathBuf,
    sentinel: PathBuf,
    canary: PathBuf,
    canary_meta: (u32, u64, u64), // mode, nlink, ino
}

fn layout() -> &'static Layout {
    static L: OnceLock<Layout> = OnceLock::new();
    L.get_or_init(|| {
        let outer_td = tempfile::Builder::new()
            .prefix("berth-fuzz-unpack.")
            .tempdir()
            .expect("temp dir");
        let outer = outer_td.path().to_path_buf();
        let boxdir = outer.join("box");
        let sentinel = boxdir.join("sentinel");
        let canary = boxdir.join("canary");
        fs::create_dir(&boxdir).unwrap();
        fs::create_dir(&sentinel).unwrap();
        fs::write(&canary, CANARY).unwrap();
        let m = fs::symlink_metadata(&canary).unwrap();
        // libFuzzer ends the process with exit(), which never drops statics: remove the
        // tree from an atexit handler instead.
        CLEANUP_PATH.set(outer.clone()).ok();
        // SAFETY: `remove_outer` is a plain `extern "C" fn()` with no preconditions.
        unsafe { libc::atexit(remove_outer) };
        Layout {
            _outer: outer_td,
            dest: boxdir.join("dest"),
            outer,
            boxdir,
            sentinel,
            canary,
            canary_meta: (m.mode(), m.nlink(), m.ino()),
        }
    })
}

static CLEANUP_PATH: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_outer() {
    if let Some(p) = CLEANUP_PATH.get() {
        let _ = fs::remove_dir_all(p);
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn check_outside(l: &Layout, when: &str) {
    assert_eq!(
        names(&l.outer),
        ["box"],
        "{when}: something escaped into the outer dir"
    );
    let mut inner = names(&l.boxdir);
    inner.retain(|n| n != "dest");
    assert_eq!(
        inner,
        ["canary", "sentinel"],
        "{when}: something escaped next to the destination"
    );
    let s = fs::symlink_metadata(&l.sentinel).unwrap();
    assert!(s.file_type().is_dir(), "{when}: sentinel replaced");
    assert!(
        names(&l.sentinel).is_empty(),
        "{when}: sentinel dir is not empty"
    );
    let c = fs::symlink_metadata(&l.canary).unwrap();
    assert!(c.file_type().is_file(), "{when}: canary replaced");
    assert_eq!(
        (c.mode(), c.nlink(), c.ino()),
        l.canary_meta,
        "{when}: canary's mode / link count / inode changed (hard link or chmod through an escape)"
    );
    assert_eq!(
        fs::read(&l.canary).unwrap(),
        CANARY,
        "{when}: canary content changed"
    );
}

fn remove_dest(dest: &Path) {
    if fs::symlink_metadata(dest).is_err() {
        return;
    }
    if fs::remove_dir_all(dest).is_ok() {
        return;
    }
    // An entry may have made directories unwritable/unsearchable; as root that does
    // not matter, but unprivileged runs need the bits back first.
    let _ = std::process::Command::new("chmod")
        .args(["-R", "u+rwx"])
        .arg(dest)
        .status();
    fs::remove_dir_all(dest).unwrap_or_else(|e| panic!("cleaning {}: {e}", dest.display()));
}

fuzz_target!(|data: &[u8]| {
    let l = layout();
    remove_dest(&l.dest);
    fs::create_dir(&l.dest).unwrap();
    let _ = unpack(data, &l.dest, &UnpackOptions::default());
    check_outside(l, "after unpack");
    // The destination itself must still be a real directory where we made it.
    let d = fs::symlink_metadata(&l.dest).expect("dest vanished");
    assert!(
        d.file_type().is_dir(),
        "dest was replaced by a non-directory"
    );
    remove_dest(&l.dest);
    check_outside(l, "after cleanup");
});
