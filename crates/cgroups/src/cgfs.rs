//! cgroupfs file and directory steps with errors that name the path and value.
//!
//! Runs in the runtime process. Owns the directories it creates until [`create_dirs`]'s
//! caller hands them to a [`crate::Cgroup`] (which removes them in `destroy`). Follows the
//! kernel's cgroup-v1 and cgroup-v2 docs: one `write()` per value, `mkdir`/`rmdir` to create
//! and remove cgroups, `EBUSY` from `rmdir` while tasks are still leaving.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use crate::CgroupError;

/// How often `create_dirs` restarts when a concurrent destroy removed a parent.
const MKDIR_ATTEMPTS: usize = 20;
/// How long `rmdir` is retried while a cgroup is busy (tasks still exiting).
pub const RMDIR_PATIENCE: Duration = Duration::from_secs(1);
const RMDIR_BACKOFF: Duration = Duration::from_millis(10);

/// Turn `linux.cgroupsPath` into a path relative to a hierarchy root.
pub fn relative_path(path: &Path) -> Result<PathBuf, CgroupError> {
    let mut rel = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => rel.push(n),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(CgroupError::InvalidPath {
                    path: path.to_path_buf(),
                    reason: "must not contain ..",
                })
            }
        }
    }
    if rel.as_os_str().is_empty() {
        return Err(CgroupError::InvalidPath {
            path: path.to_path_buf(),
            reason: "must name a cgroup below the root",
        });
    }
    Ok(rel)
}

/// Write `value` to the existing cgroupfs file `path` in one `write()`.
pub fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    let res = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(value.as_bytes()));
    res.map_err(|err| CgroupError::Write {
        path: path.to_path_buf(),
        value: value.to_string(),
        err,
    })
}

/// Read a cgroupfs file.
pub fn read(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|err| CgroupError::Read {
        path: path.to_path_buf(),
        err,
    })
}

/// Read a file holding a single number (or `max`, read as `u64::MAX`).
pub fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    let text = read(path)?;
    parse_u64(text.trim()).ok_or_else(|| CgroupError::Parse {
        path: path.to_path_buf(),
        content: text.trim().to_string(),
    })
}

/// Parse a cgroupfs number; `max` is `u64::MAX`.
pub fn parse_u64(s: &str) -> Option<u64> {
    if s == "max" {
        Some(u64::MAX)
    } else {
        s.parse().ok()
    }
}

/// Create `root/rel` and any missing parents. `on_created` runs for each directory this
/// call created, top-down (v1 cpuset fills in cpus/mems there). Returns the created
/// directories, top-down; if a concurrent destroy removes a parent, start over.
pub fn create_dirs(
    root: &Path,
    rel: &Path,
    on_created: &mut dyn FnMut(&Path) -> Result<(), CgroupError>,
) -> Result<Vec<PathBuf>, CgroupError> {
    let mut created = Vec::new();
    let mut attempt = 0;
    'restart: loop {
        attempt += 1;
        let mut dir = root.to_path_buf();
        for c in rel.components() {
            dir.push(c);
            match fs::create_dir(&dir) {
                Ok(()) => {
                    created.push(dir.clone());
                    match on_created(&dir) {
                        Ok(()) => {}
                        // Removed again by a concurrent destroy before we filled it in.
                        Err(e) if is_gone(&e) && attempt < MKDIR_ATTEMPTS => continue 'restart,
                        Err(e) => {
                            remove_created(&created);
                            return Err(e);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < MKDIR_ATTEMPTS => {
                    continue 'restart;
                }
                Err(err) => {
                    remove_created(&created);
                    return Err(CgroupError::Mkdir { path: dir, err });
                }
            }
        }
        return Ok(created);
    }
}

/// Whether a read/write failed because the cgroup directory itself was removed.
fn is_gone(e: &CgroupError) -> bool {
    match e {
        CgroupError::Write { err, .. } | CgroupError::Read { err, .. } => {
            crate::sys::fs::is_removed_cgroup(err)
        }
        _ => false,
    }
}

/// Best-effort rollback of directories from [`create_dirs`] (bottom-up).
pub fn remove_created(created: &[PathBuf]) {
    for dir in created.iter().rev() {
        // Rollback after an earlier error: that error is what the caller reports; a
        // directory that cannot go now is left for `destroy`.
        let _ = fs::remove_dir(dir);
    }
}

/// Remove the cgroup `dir` (and, if busy because of child cgroups, those first), retrying
/// while busy until `deadline` (shared by all hierarchies of one destroy). A missing
/// directory is fine.
pub fn remove_cgroup(dir: &Path, deadline: Instant) -> Result<(), CgroupError> {
    let mut children_removed = false;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if is_busy(&e) => {
                if !children_removed {
                    children_removed = true;
                    remove_children(dir, deadline)?;
                    continue;
                }
                if Instant::now() >= deadline {
                    return Err(CgroupError::Rmdir {
                        path: dir.to_path_buf(),
                        err: e,
                    });
                }
                std::thread::sleep(RMDIR_BACKOFF);
            }
            Err(err) => {
                return Err(CgroupError::Rmdir {
                    path: dir.to_path_buf(),
                    err,
                })
            }
        }
    }
}

fn remove_children(dir: &Path, deadline: Instant) -> Result<(), CgroupError> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup(&entry.path(), deadline)?;
        }
    }
    Ok(())
}

fn is_busy(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ResourceBusy | io::ErrorKind::DirectoryNotEmpty
    )
}

/// Remove now-empty ancestors of `root/rel` up to, not including, `root`; stop at the
/// first one still in use.
pub fn remove_empty_ancestors(root: &Path, rel: &Path) {
    let mut cur = rel.parent();
    while let Some(p) = cur.filter(|p| !p.as_os_str().is_empty()) {
        match fs::remove_dir(root.join(p)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            // In use by another container (ENOTEMPTY/EBUSY) or not ours to remove: keep it.
            Err(_) => return,
        }
        cur = p.parent();
    }
}

/// Read `cgroup.procs` of `dir` and every descendant cgroup into `out`.
pub fn collect_procs(dir: &Path, out: &mut Vec<i32>) -> Result<(), CgroupError> {
    let procs = dir.join("cgroup.procs");
    let text = match fs::read_to_string(&procs) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(CgroupError::Read { path: procs, err }),
    };
    out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect_procs(&entry.path(), out)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative_path(Path::new("/berth/abc")).unwrap(),
            Path::new("berth/abc")
        );
        assert_eq!(
            relative_path(Path::new("berth/abc")).unwrap(),
            Path::new("berth/abc")
        );
        assert!(relative_path(Path::new("/berth/../etc")).is_err());
        assert!(relative_path(Path::new("/")).is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("max"), Some(u64::MAX));
        assert_eq!(parse_u64("42"), Some(42));
        assert_eq!(parse_u64("x"), None);
    }

    #[test]
    fn create_and_remove_plain_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let mut seen = Vec::new();
        let created = create_dirs(tmp.path(), Path::new("a/b/c"), &mut |d| {
            seen.push(d.to_path_buf());
            Ok(())
        })
        .unwrap();
        assert_eq!(created.len(), 3);
        assert_eq!(seen, created);
        let deadline = Instant::now() + RMDIR_PATIENCE;
        remove_cgroup(&tmp.path().join("a/b/c"), deadline).unwrap();
        remove_empty_ancestors(tmp.path(), Path::new("a/b/c"));
        assert!(!tmp.path().join("a").exists());
        remove_cgroup(&tmp.path().join("a/b/c"), deadline).unwrap();
    }
}
