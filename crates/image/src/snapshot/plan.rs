//! Pure mount planning: which overlay mount strategy to use and the exact kernel arguments.
//!
//! No I/O and no syscalls; `snapshot::Snapshot::mount` applies the plan in a short loop.
//! Order of preference: one classic mount(2) with absolute paths if its data string fits in
//! a page; else the new mount API with one `lowerdir+` per layer (Linux 6.8); else, on older
//! kernels, classic mount(2) with lower paths relative to their common parent, performed by
//! a helper thread that unshares its cwd (`CLONE_FS`) so no other thread sees the chdir.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Largest classic mount data string, including its NUL: the kernel copies one page, and
/// 4096 is the smallest page size we run on.
pub const CLASSIC_DATA_MAX: usize = 4096;

/// Most lower layers overlayfs stacks (`OVL_MAX_STACK`).
pub const MAX_LOWERS: usize = 500;

/// Options always passed: no inode index (the upper stays independent of the lower inodes),
/// never follow or create redirect xattrs, never trust metacopy xattrs.
pub const HARDENING_OPTIONS: [(&CStr, &CStr); 3] = [
    (c"index", c"off"),
    (c"redirect_dir", c"nofollow"),
    (c"metacopy", c"off"),
];

/// Which way an overlay (or bind) mount is made; returned by `Snapshot::mount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountStrategy {
    /// One mount(2) call, absolute paths in the data string.
    Classic,
    /// One mount(2) call from a helper thread chdir'd to the lowers' common parent.
    ClassicRelative,
    /// fsopen/fsconfig(`lowerdir+` per layer)/fsmount/move_mount.
    NewApi,
    /// Read-only bind mount of the single layer (overlayfs needs two lowers without upper).
    ReadOnlyBind,
}

/// What the kernel offers, as far as planning is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelCaps {
    /// fsopen(2) exists and overlayfs accepts `lowerdir+` (Linux 6.8).
    pub lowerdir_append: bool,
}

/// The directories an overlay mount is made from.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    /// Lower layers, top first; absolute paths (symlinks allowed).
    pub lowers: &'a [PathBuf],
    /// Upper and work dir, absent for a read-only view.
    pub upper_work: Option<(&'a Path, &'a Path)>,
    /// overlayfs `volatile` (Linux 5.10): no syncs of the upper layer, so unmounting
    /// costs no filesystem sync. For throw-away upper layers only: after a crash the
    /// kernel refuses to mount that upper dir again.
    pub volatile: bool,
}

/// One `fsconfig` call of the new-API strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsParam {
    /// Parameter name, e.g. `lowerdir+`.
    pub key: &'static CStr,
    /// String value (already escaped where overlayfs unescapes).
    pub value: CString,
}

/// The kernel calls to make, computed up front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountPlan {
    /// mount(2) with `data`, after a chdir to `cwd` in a helper thread when present.
    Classic {
        /// Directory the lower paths are relative to.
        cwd: Option<PathBuf>,
        /// Complete overlay data string.
        data: CString,
        /// Mount read-only (and nosuid, nodev).
        read_only: bool,
    },
    /// The new mount API, `params` in order, then create/fsmount/move_mount.
    NewApi {
        /// `fsconfig(FSCONFIG_SET_STRING)` calls in order.
        params: Vec<FsParam>,
        /// Mount read-only (and nosuid, nodev).
        read_only: bool,
    },
    /// Read-only bind of a single directory.
    Bind {
        /// The directory to bind.
        source: PathBuf,
    },
}

impl MountPlan {
    /// The strategy this plan implements.
    pub fn strategy(&self) -> MountStrategy {
        match self {
            MountPlan::Classic { cwd: None, .. } => MountStrategy::Classic,
            MountPlan::Classic { cwd: Some(_), .. } => MountStrategy::ClassicRelative,
            MountPlan::NewApi { .. } => MountStrategy::NewApi,
            MountPlan::Bind { .. } => MountStrategy::ReadOnlyBind,
        }
    }
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// Overlayfs needs at least one lower layer.
    #[error("no lower layers given")]
    NoLowers,
    /// More layers than overlayfs can stack.
    #[error("{count} lower layers exceed the overlayfs limit of {MAX_LOWERS}")]
    TooManyLayers {
        /// Number of lowers given.
        count: usize,
    },
    /// A path is relative (it would resolve against the process cwd).
    #[error("layer path {path:?} is not absolute")]
    RelativePath {
        /// The offending path.
        path: PathBuf,
    },
    /// A path contains a NUL byte.
    #[error("layer path {path:?} contains a NUL byte")]
    NulInPath {
        /// The offending path.
        path: PathBuf,
    },
    /// No strategy fits: data string too long and no `lowerdir+` support.
    #[error("overlay mount data needs {len} bytes even with relative paths (limit {CLASSIC_DATA_MAX}) and the kernel lacks lowerdir+")]
    DataTooLong {
        /// Bytes needed by the shortest classic data string, including NUL.
        len: usize,
    },
}

/// Chooses the strategy for `layout` and computes its arguments.
pub fn mount_plan(layout: &Layout<'_>, caps: KernelCaps) -> Result<MountPlan, PlanError> {
    validate(layout)?;
    if layout.upper_work.is_none() && layout.lowers.len() == 1 {
        return Ok(MountPlan::Bind {
            source: layout.lowers[0].clone(),
        });
    }
    let read_only = layout.upper_work.is_none();
    let absolute = classic_data(layout.lowers.iter().map(|p| p.as_path()), layout);
    if fits(&absolute) {
        return Ok(classic(None, absolute, read_only));
    }
    if caps.lowerdir_append {
        return Ok(new_api_plan(layout));
    }
    let (cwd, data) = relative_data(layout);
    if fits(&data) {
        return Ok(classic(Some(cwd), data, read_only));
    }
    Err(PlanError::DataTooLong {
        len: data.len() + 1,
    })
}

/// The new-API plan for `layout` regardless of length (also used by tests).
pub fn new_api_plan(layout: &Layout<'_>) -> MountPlan {
    let mut params = Vec::with_capacity(layout.lowers.len() + 2 + HARDENING_OPTIONS.len());
    for lower in layout.lowers {
        // `lowerdir+` values are taken verbatim (no unescaping), unlike upperdir/workdir.
        params.push(FsParam {
            key: c"lowerdir+",
            value: cstring(lower.as_os_str().as_bytes().to_vec()),
        });
    }
    if let Some((upper, work)) = layout.upper_work {
        params.push(FsParam {
            key: c"upperdir",
            value: cstring(escaped(upper)),
        });
        params.push(FsParam {
            key: c"workdir",
            value: cstring(escaped(work)),
        });
        if layout.volatile {
            params.push(FsParam {
                key: c"volatile",
                value: CString::default(),
            });
        }
    }
    for (key, value) in HARDENING_OPTIONS {
        params.push(FsParam {
            key,
            value: value.to_owned(),
        });
    }
    MountPlan::NewApi {
        params,
        read_only: layout.upper_work.is_none(),
    }
}

/// Classic plan with lowers relative to their common parent, regardless of length.
pub fn relative_plan(layout: &Layout<'_>) -> MountPlan {
    let (cwd, data) = relative_data(layout);
    classic(Some(cwd), data, layout.upper_work.is_none())
}

fn classic(cwd: Option<PathBuf>, data: Vec<u8>, read_only: bool) -> MountPlan {
    MountPlan::Classic {
        cwd,
        data: cstring(data),
        read_only,
    }
}

/// Checks the layer count and that every path is absolute and NUL-free.
fn validate(layout: &Layout<'_>) -> Result<(), PlanError> {
    let count = layout.lowers.len();
    if count == 0 {
        return Err(PlanError::NoLowers);
    }
    if count > MAX_LOWERS {
        return Err(PlanError::TooManyLayers { count });
    }
    let upper_work = layout.upper_work.into_iter().flat_map(|(u, w)| [u, w]);
    for path in layout.lowers.iter().map(|p| p.as_path()).chain(upper_work) {
        if !path.is_absolute() {
            return Err(PlanError::RelativePath { path: path.into() });
        }
        if path.as_os_str().as_bytes().contains(&0) {
            return Err(PlanError::NulInPath { path: path.into() });
        }
    }
    Ok(())
}

fn fits(data: &[u8]) -> bool {
    data.len() < CLASSIC_DATA_MAX
}

/// `lowerdir=a:b,upperdir=u,workdir=w,<safety options>` with every path escaped.
fn classic_data<'p>(lowers: impl Iterator<Item = &'p Path>, layout: &Layout<'_>) -> Vec<u8> {
    let mut data = b"lowerdir=".to_vec();
    for (i, lower) in lowers.enumerate() {
        if i > 0 {
            data.push(b':');
        }
        escape_into(&mut data, lower);
    }
    if let Some((upper, work)) = layout.upper_work {
        data.extend_from_slice(b",upperdir=");
        escape_into(&mut data, upper);
        data.extend_from_slice(b",workdir=");
        escape_into(&mut data, work);
        if layout.volatile {
            data.extend_from_slice(b",volatile");
        }
    }
    for (key, value) in HARDENING_OPTIONS {
        data.push(b',');
        data.extend_from_slice(key.to_bytes());
        data.push(b'=');
        data.extend_from_slice(value.to_bytes());
    }
    data
}

/// Classic data with lowers relative to `common_parent(lowers)`, and that directory.
fn relative_data(layout: &Layout<'_>) -> (PathBuf, Vec<u8>) {
    let base = common_parent(layout.lowers);
    let relative = layout.lowers.iter().map(|lower| {
        // Every lower lies strictly below `base` (it is a prefix of each parent).
        lower.strip_prefix(&base).unwrap_or(lower)
    });
    let data = classic_data(relative, layout);
    (base, data)
}

/// Deepest directory containing the parent of every lower, so each relative name is
/// non-empty (`/r/l/A`, `/r/l/B` → `/r/l`).
pub fn common_parent(lowers: &[PathBuf]) -> PathBuf {
    let mut parents = lowers.iter().map(|p| p.parent().unwrap_or(p));
    let Some(first) = parents.next() else {
        return PathBuf::from("/");
    };
    let mut common: Vec<Component<'_>> = first.components().collect();
    for parent in parents {
        let shared = common
            .iter()
            .zip(parent.components())
            .take_while(|(a, b)| *a == b)
            .count();
        common.truncate(shared);
    }
    common.iter().collect()
}

/// `path` with `\`, `:` and `,` backslash-escaped, as overlayfs splits options on `,`,
/// lowerdir on `:`, and unescapes upperdir, workdir and classic lowerdir values.
pub fn escaped(path: &Path) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.as_os_str().len());
    escape_into(&mut out, path);
    out
}

fn escape_into(out: &mut Vec<u8>, path: &Path) {
    for &byte in path.as_os_str().as_bytes() {
        if matches!(byte, b'\\' | b':' | b',') {
            out.push(b'\\');
        }
        out.push(byte);
    }
}

fn cstring(bytes: Vec<u8>) -> CString {
    // `validate` rejected NUL bytes in every path, and option names/values are literals.
    CString::new(bytes).expect("mount plan strings are validated to be NUL-free")
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
