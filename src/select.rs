//! Chooses the OCI runtime binary under test and locates the cargo target directory.
//!
//! Runs in the test process. `BERTH_TEST_RUNTIME` is a path or a name looked up in `PATH`;
//! without it the workspace's own `berth-runtime` from the test binary's profile dir is
//! used. Missing binaries and missing root are hard failures, never skips.

use std::path::{Path, PathBuf};

/// The family of runtime being driven; berth-only tests check this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    /// The workspace's `berth-runtime` (or any binary not recognised as another runtime).
    Berth,
    /// runc, the reference implementation.
    Runc,
    /// crun.
    Crun,
}

/// Panics unless the test runs as real root (euid 0); privileged tests never skip.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "runtime tests need real root (euid 0); refusing to skip"
    );
}

/// The cargo profile directory the test binary lives in (`<target>/<profile>`).
pub fn profile_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        // <target>/<profile>/deps/<test-binary>
        if let Some(dir) = exe.parent().and_then(Path::parent) {
            if exe.parent().and_then(Path::file_name) == Some("deps".as_ref()) {
                return dir.to_path_buf();
            }
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("debug")
}

/// The cargo target directory (`CARGO_TARGET_DIR` or `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    let profile = profile_dir();
    profile.parent().map(Path::to_path_buf).unwrap_or(profile)
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Resolves the runtime binary and its kind; panics with a hint when it is missing.
pub fn runtime_binary() -> (PathBuf, RuntimeKind) {
    let bin = match std::env::var("BERTH_TEST_RUNTIME") {
        Ok(v) if !v.is_empty() => {
            if v.contains('/') {
                PathBuf::from(v)
            } else {
                find_in_path(&v)
                    .unwrap_or_else(|| panic!("BERTH_TEST_RUNTIME={v}: not found in PATH"))
            }
        }
        _ => profile_dir().join("berth-runtime"),
    };
    assert!(
        bin.is_file(),
        "runtime binary {} does not exist; run `cargo build -p berth-runtime-cli` or set \
         BERTH_TEST_RUNTIME=runc",
        bin.display()
    );
    let kind = match bin.file_name().and_then(|n| n.to_str()) {
        Some("runc") => RuntimeKind::Runc,
        Some("crun") => RuntimeKind::Crun,
        _ => RuntimeKind::Berth,
    };
    (bin, kind)
}
