//! Builds the busybox rootfs fixture once per target dir and hands out its path.
//!
//! Runs in the test process. The rootfs is built by `tests/fixtures/make-busybox-rootfs.sh`
//! into a temp dir next to the final one and renamed into place under an exclusive
//! `flock`, so parallel test binaries neither race nor see half-built trees. The cached
//! tree is never modified by tests: bundles take private copies (see `bundle.rs`).

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where fixtures are cached: `$BERTH_FIXTURES_DIR` or `<target dir>/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("BERTH_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::select::target_dir().join("fixtures"))
}

/// Path of the rootfs build script in this repository.
pub fn rootfs_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/make-busybox-rootfs.sh")
}

/// Returns the cached busybox rootfs, building it first if needed.
pub fn busybox_rootfs() -> PathBuf {
    let base = fixtures_dir();
    let dst = base.join("busybox-rootfs");
    if dst.join("bin/busybox").is_file() {
        return dst;
    }
    fs::create_dir_all(&base).unwrap_or_else(|e| panic!("create {}: {e}", base.display()));
    let lock = File::create(base.join(".busybox-rootfs.lock")).expect("create fixture lock");
    // SAFETY: `lock` is an open file owned by this function for the whole call; flock only
    // takes a lock tied to that open file description, released when `lock` is dropped.
    let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(
        rc,
        0,
        "flock fixture lock: {}",
        std::io::Error::last_os_error()
    );
    if dst.join("bin/busybox").is_file() {
        return dst;
    }
    let tmp = base.join(format!(".busybox-rootfs.tmp.{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let out = Command::new("sh")
        .arg(rootfs_script())
        .arg(&tmp)
        .output()
        .expect("run make-busybox-rootfs.sh");
    assert!(
        out.status.success(),
        "make-busybox-rootfs.sh failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = fs::remove_dir_all(&dst);
    fs::rename(&tmp, &dst).unwrap_or_else(|e| panic!("rename fixture into place: {e}"));
    drop(lock);
    dst
}
