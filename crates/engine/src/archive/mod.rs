//! A container's filesystem from outside: `docker diff` (changes), `docker export`, and
//! `docker cp` (stat, archive a path, extract a tar into a directory).
//!
//! Runs in berthd; the walking and extracting runs on blocking threads. Every path a
//! client names is resolved *inside* the rootfs by the kernel: `openat2(RESOLVE_IN_ROOT)`
//! for the parts Docker resolves through symlinks, then `*at` calls with `O_NOFOLLOW` on
//! directory fds while walking, so neither a symlink nor a rename race in a running
//! container can make berthd read or write host files (CVE-2018-15664 class). Extraction
//! reuses berth-image's hardened layer unpacker rooted at the resolved directory's fd.
//!
//! A stopped container's rootfs is mounted for the duration of the call under the
//! container's operation lock (so a concurrent start/remove waits), then unmounted.
//! Limitation: volumes and bind mounts are not visible through the host's rootfs mount,
//! so `docker cp` sees the image/upper content beneath them.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_image::snapshot::Change;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use serde_json::{json, Value};

use crate::container::ContainerRecord;
use crate::error::{EngineError, ErrorKind, Result};
use crate::Engine;

/// Go `os.FileMode` bits (`io/fs`), as `docker cp` stat headers carry them.
pub mod go_mode {
    /// Directory.
    pub const DIR: u32 = 1 << 31;
    /// Symbolic link.
    pub const SYMLINK: u32 = 1 << 27;
    /// Device file.
    pub const DEVICE: u32 = 1 << 26;
    /// Named pipe.
    pub const NAMED_PIPE: u32 = 1 << 25;
    /// Unix socket.
    pub const SOCKET: u32 = 1 << 24;
    /// Setuid.
    pub const SETUID: u32 = 1 << 23;
    /// Setgid.
    pub const SETGID: u32 = 1 << 22;
    /// Character device (with `DEVICE`).
    pub const CHAR_DEVICE: u32 = 1 << 21;
    /// Sticky.
    pub const STICKY: u32 = 1 << 20;
}

/// A Unix `st_mode` as Go's `os.FileMode`.
pub fn go_file_mode(st_mode: u32) -> u32 {
    let mut m = st_mode & 0o777;
    match FileType::from_raw_mode(st_mode) {
        FileType::Directory => m |= go_mode::DIR,
        FileType::Symlink => m |= go_mode::SYMLINK,
        FileType::Fifo => m |= go_mode::NAMED_PIPE,
        FileType::Socket => m |= go_mode::SOCKET,
        FileType::CharacterDevice => m |= go_mode::DEVICE | go_mode::CHAR_DEVICE,
        FileType::BlockDevice => m |= go_mode::DEVICE,
        _ => {}
    }
    if st_mode & 0o4000 != 0 {
        m |= go_mode::SETUID;
    }
    if st_mode & 0o2000 != 0 {
        m |= go_mode::SETGID;
    }
    if st_mode & 0o1000 != 0 {
        m |= go_mode::STICKY;
    }
    m
}

/// What `HEAD /containers/{id}/archive` reports (`container.PathStat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    /// Base name of the path as asked.
    pub name: String,
    /// Size in bytes.
    pub size: i64,
    /// Go `os.FileMode`.
    pub mode: u32,
    /// Modification time, Unix ns.
    pub mtime: i64,
    /// Fully resolved in-container target for a symlink, else empty.
    pub link_target: String,
}

impl PathStat {
    /// The JSON object Docker base64-encodes into `X-Docker-Container-Path-Stat`.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "size": self.size,
            "mode": self.mode,
            "mtime": crate::time::rfc3339(self.mtime),
            "linkTarget": self.link_target,
        })
    }
}

/// A container path split as moby `container.ResolvePath`: the absolute, lexically
/// cleaned path (a trailing `/` or `/.` kept), the directory part (resolved through
/// symlinks) and the last element (never followed; `""` or `.` mean the directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitPath {
    /// The cleaned absolute path.
    pub abs: String,
    /// Directory part, absolute.
    pub dir: String,
    /// Last element.
    pub base: String,
}

/// Splits and cleans a client path; `..` cannot climb above `/`.
pub fn split_path(path: &str) -> SplitPath {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut abs = format!("/{}", parts.join("/"));
    let trailing_dot = path.ends_with("/.") || path == ".";
    let trailing_sep = path.ends_with('/') && abs != "/";
    let base = if trailing_dot {
        abs = if abs == "/" {
            "/.".into()
        } else {
            format!("{abs}/.")
        };
        ".".to_string()
    } else if trailing_sep {
        abs.push('/');
        String::new()
    } else {
        parts.last().map(|s| s.to_string()).unwrap_or_default()
    };
    let dir = if base.is_empty() || base == "." {
        format!("/{}", parts.join("/"))
    } else {
        format!("/{}", parts[..parts.len() - 1].join("/"))
    };
    SplitPath { abs, dir, base }
}

impl SplitPath {
    /// Go's `filepath.Base` of the absolute path (the stat name and rebase name).
    pub fn go_base(&self) -> String {
        let t = self.abs.trim_end_matches('/');
        if t.is_empty() {
            return "/".into();
        }
        t.rsplit('/').next().unwrap_or("/").to_string()
    }
}

fn in_root_flags() -> ResolveFlags {
    ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS | ResolveFlags::NO_XDEV
}

/// Opens `path` (absolute, in-container) under `root` with symlinks resolved inside it.
pub fn open_in_root(root: BorrowedFd<'_>, path: &str, flags: OFlags) -> io::Result<OwnedFd> {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    let mut res = in_root_flags();
    if flags.contains(OFlags::NOFOLLOW) {
        res |= ResolveFlags::NO_SYMLINKS;
    }
    let f = flags | OFlags::CLOEXEC;
    match rustix::fs::openat2(root, rel, f, Mode::empty(), res) {
        // Some volumes sit on other mounts; retry without NO_XDEV, still inside the root.
        Err(rustix::io::Errno::XDEV) => Ok(rustix::fs::openat2(
            root,
            rel,
            f,
            Mode::empty(),
            res - ResolveFlags::NO_XDEV,
        )?),
        r => Ok(r?),
    }
}

fn fd_path(fd: BorrowedFd<'_>) -> io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// The path's target: the dir fd and the element within it (`None`: the dir itself).
struct Resolved {
    dir: OwnedFd,
    base: Option<OsString>,
    stat: Stat,
}

fn not_found(err: io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP)
    )
}

fn resolve(root: BorrowedFd<'_>, sp: &SplitPath) -> io::Result<Resolved> {
    let dir = open_in_root(root, &sp.dir, OFlags::PATH | OFlags::DIRECTORY)?;
    if sp.base.is_empty() || sp.base == "." {
        let stat = rustix::fs::fstat(&dir)?;
        return Ok(Resolved {
            dir,
            base: None,
            stat,
        });
    }
    let stat = rustix::fs::statat(&dir, sp.base.as_str(), AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(Resolved {
        dir,
        base: Some(OsString::from(&sp.base)),
        stat,
    })
}

fn stat_of(root: BorrowedFd<'_>, root_path: &Path, sp: &SplitPath) -> io::Result<PathStat> {
    let r = resolve(root, sp)?;
    let mut link_target = String::new();
    if FileType::from_raw_mode(r.stat.st_mode) == FileType::Symlink {
        link_target = match open_in_root(root, &sp.abs, OFlags::PATH) {
            Ok(fd) => fd_path(fd.as_fd())
                .ok()
                .and_then(|p| p.strip_prefix(root_path).ok().map(Path::to_path_buf))
                .map(|p| format!("/{}", p.display()))
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        if link_target.is_empty() {
            if let Some(b) = &r.base {
                let t = rustix::fs::readlinkat(&r.dir, b.as_os_str(), Vec::new())?;
                link_target = String::from_utf8_lossy(t.as_bytes()).into_owned();
            }
        }
    }
    Ok(PathStat {
        name: sp.go_base(),
        size: r.stat.st_size,
        mode: go_file_mode(r.stat.st_mode),
        mtime: r.stat.st_mtime * 1_000_000_000 + r.stat.st_mtime_nsec as i64,
        link_target,
    })
}

/// Packs a tree reached through directory fds, never following a symlink.
pub struct FdTar<W: Write> {
    builder: tar::Builder<W>,
    links: HashMap<(u64, u64), String>,
}

fn header(st: &Stat, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
    h.set_size(size);
    h
}

impl<W: Write> FdTar<W> {
    /// A packer writing to `w`.
    pub fn new(w: W) -> Self {
        let mut builder = tar::Builder::new(w);
        builder.mode(tar::HeaderMode::Complete);
        Self {
            builder,
            links: HashMap::new(),
        }
    }

    /// Finishes the archive.
    pub fn finish(self) -> io::Result<W> {
        self.builder.into_inner()
    }

    /// Appends directory `fd` as `name/` (or nothing for `""`) and everything below it.
    pub fn dir(&mut self, fd: &OwnedFd, name: &str) -> io::Result<()> {
        let st = rustix::fs::fstat(fd)?;
        if !name.is_empty() {
            let mut h = header(&st, tar::EntryType::Directory, 0);
            self.builder.append_data(
                &mut h,
                format!("{}/", name.trim_end_matches('/')),
                io::empty(),
            )?;
        }
        let mut names: Vec<OsString> = Vec::new();
        for e in rustix::fs::Dir::read_from(fd)? {
            let e = e?;
            let n = e.file_name().to_bytes();
            if n != b"." && n != b".." {
                names.push(OsStr::from_bytes(n).to_os_string());
            }
        }
        names.sort();
        for n in names {
            let child = if name.is_empty() {
                n.to_string_lossy().into_owned()
            } else {
                format!("{}/{}", name.trim_end_matches('/'), n.to_string_lossy())
            };
            self.entry(fd.as_fd(), &n, &child)?;
        }
        Ok(())
    }

    /// Appends `name` of directory `parent` as `tar_name` (recursing into directories).
    pub fn entry(
        &mut self,
        parent: BorrowedFd<'_>,
        name: &OsStr,
        tar_name: &str,
    ) -> io::Result<()> {
        let st = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => {
                let fd = rustix::fs::openat(
                    parent,
                    name,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                self.dir(&fd, tar_name)
            }
            FileType::RegularFile => {
                let fd = rustix::fs::openat(
                    parent,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
                    Mode::empty(),
                )?;
                let st = rustix::fs::fstat(&fd)?;
                if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                    return Ok(()); // swapped under us: skip
                }
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key).cloned() {
                        let mut h = header(&st, tar::EntryType::Link, 0);
                        return self.builder.append_link(&mut h, tar_name, first);
                    }
                    self.links.insert(key, tar_name.to_string());
                }
                let size = u64::try_from(st.st_size).unwrap_or(0);
                let mut h = header(&st, tar::EntryType::Regular, size);
                // Exactly `size` bytes even if the file changes while read.
                let data = File::from(fd).take(size).chain(io::repeat(0)).take(size);
                self.builder.append_data(&mut h, tar_name, data)
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(parent, name, Vec::new())?;
                let mut h = header(&st, tar::EntryType::Symlink, 0);
                self.builder
                    .append_link(&mut h, tar_name, OsStr::from_bytes(target.as_bytes()))
            }
            FileType::Socket | FileType::Unknown => Ok(()),
            kind => {
                let t = match kind {
                    FileType::CharacterDevice => tar::EntryType::Char,
                    FileType::BlockDevice => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                };
                let mut h = header(&st, t, 0);
                h.set_device_major(rustix::fs::major(st.st_rdev))?;
                h.set_device_minor(rustix::fs::minor(st.st_rdev))?;
                self.builder.append_data(&mut h, tar_name, io::empty())
            }
        }
    }
}

/// Archives the resolved path as moby `TarResourceRebase(path, base)` does.
fn archive_path<W: Write>(root: BorrowedFd<'_>, sp: &SplitPath, w: W) -> io::Result<W> {
    let r = resolve(root, sp)?;
    let mut t = FdTar::new(w);
    match &r.base {
        None => {
            let fd = rustix::fs::openat(
                &r.dir,
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            let name = if sp.base == "." {
                ".".to_string()
            } else {
                sp.go_base()
            };
            let name = if name == "/" { ".".to_string() } else { name };
            t.dir(&fd, &name)?;
        }
        Some(b) => t.entry(r.dir.as_fd(), b, &sp.base)?,
    }
    t.finish()
}

/// The names a tar stream will create, and its entry types (plain tars only).
fn scan_tar(file: &mut File) -> io::Result<Option<Vec<(String, bool)>>> {
    let mut magic = [0u8; 263];
    let n = file.read(&mut magic)?;
    file.rewind()?;
    if n < 263 || &magic[257..262] != b"ustar" {
        return Ok(None);
    }
    let mut out = Vec::new();
    {
        let mut ar = tar::Archive::new(&mut *file);
        for e in ar.entries()? {
            let e = e?;
            let p = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let is_dir = e.header().entry_type().is_dir();
            out.push((p, is_dir));
        }
    }
    file.rewind()?;
    Ok(Some(out))
}

fn normalised(name: &str) -> Option<String> {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    (!parts.is_empty() && !parts.contains(&"..")).then(|| parts.join("/"))
}

fn existing_is_dir(dest: BorrowedFd<'_>, rel: &str) -> Option<bool> {
    let fd = rustix::fs::openat2(
        dest,
        rel,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
    .ok()?;
    let st = rustix::fs::fstat(&fd).ok()?;
    Some(FileType::from_raw_mode(st.st_mode) == FileType::Directory)
}

/// `(uid, gid)` of a `User` value (`name`, `uid`, `uid:gid`, `name:group`) inside `root`.
fn lookup_user(root: BorrowedFd<'_>, user: &str) -> (u32, u32) {
    let read = |p: &str| -> String {
        open_in_root(root, p, OFlags::RDONLY)
            .ok()
            .map(File::from)
            .and_then(|mut f| {
                let mut s = String::new();
                f.read_to_string(&mut s).ok().map(|_| s)
            })
            .unwrap_or_default()
    };
    let (u, g) = user.split_once(':').unwrap_or((user, ""));
    // (third field, fourth field if numeric) of the line for `name`.
    let find = |file: &str, name: &str| -> Option<(u32, Option<u32>)> {
        read(file).lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 || f[0] != name {
                return None;
            }
            Some((f[2].parse().ok()?, f.get(3).and_then(|g| g.parse().ok())))
        })
    };
    let (uid, mut gid) = match u.parse::<u32>() {
        Ok(n) => (n, n),
        Err(_) if u.is_empty() => (0, 0),
        Err(_) => find("/etc/passwd", u)
            .map(|(a, b)| (a, b.unwrap_or(a)))
            .unwrap_or((0, 0)),
    };
    if !g.is_empty() {
        gid = g
            .parse()
            .ok()
            .or_else(|| find("/etc/group", g).map(|x| x.0))
            .unwrap_or(gid);
    }
    (uid, gid)
}

/// Options of `PUT /containers/{id}/archive`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractOptions {
    /// Refuse to replace a directory with a non-directory and vice versa.
    pub no_overwrite_dir_non_dir: bool,
    /// Chown what is extracted to the container's user.
    pub copy_uid_gid: bool,
}

fn extract(
    root: BorrowedFd<'_>,
    rec: &ContainerRecord,
    spool_dir: &Path,
    path: &str,
    name: &str,
    body: &mut dyn Read,
    opts: ExtractOptions,
) -> Result<()> {
    let sp = split_path(path);
    let dest = open_in_root(root, &sp.abs, OFlags::RDONLY | OFlags::DIRECTORY).map_err(|e| {
        if e.raw_os_error() == Some(libc::ENOTDIR) {
            EngineError::invalid("extraction point is not a directory")
        } else if not_found(e) {
            EngineError::not_found(format!(
                "Could not find the file {path} in container {name}"
            ))
        } else {
            EngineError::internal(format!("open {path} in container {name}"))
        }
    })?;
    // Spool the body: the checks below need to look at every entry before writing any.
    let spool = spool_dir.join(format!(".cp-{}", crate::ids::random_id()));
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&spool)
        .map_err(|e| EngineError::io("create copy spool", e))?;
    let _ = std::fs::remove_file(&spool);
    io::copy(body, &mut file).map_err(|e| EngineError::invalid(format!("read archive: {e}")))?;
    file.rewind()
        .map_err(|e| EngineError::io("rewind spool", e))?;
    let names = scan_tar(&mut file)
        .map_err(|e| EngineError::invalid(format!("invalid tar archive: {e}")))?;
    if opts.no_overwrite_dir_non_dir {
        for (entry, is_dir) in names.iter().flatten() {
            let Some(rel) = normalised(entry) else {
                continue;
            };
            match existing_is_dir(dest.as_fd(), &rel) {
                Some(true) if !is_dir => {
                    return Err(EngineError::invalid(format!(
                        "cannot overwrite directory \"{}\" with non-directory \"{rel}\"",
                        sp.abs
                    )))
                }
                Some(false) if *is_dir => {
                    return Err(EngineError::invalid(format!(
                        "cannot overwrite non-directory \"{}\" with directory \"{rel}\"",
                        sp.abs
                    )))
                }
                _ => {}
            }
        }
    }
    // The unpacker opens its destination by path with O_NOFOLLOW on the last component:
    // `/proc/self/fd/N/.` reaches exactly the directory we resolved (the magic link is
    // followed to our fd's dentry, no path re-walk), so no race can redirect it.
    let dest_path = PathBuf::from(format!("/proc/self/fd/{}/.", dest.as_raw_fd()));
    let unpack_opts = berth_image::unpack::UnpackOptions {
        allow_devices: false,
        ..Default::default()
    };
    berth_image::unpack::unpack(&mut file, &dest_path, &unpack_opts).map_err(|e| {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(&format!(": {s}"));
            src = s.source();
        }
        EngineError::new(
            ErrorKind::InvalidParameter,
            format!("extract archive: {msg}"),
        )
    })?;
    if opts.copy_uid_gid {
        let (uid, gid) = lookup_user(root, rec.config.user.as_deref().unwrap_or(""));
        for (entry, _) in names.iter().flatten() {
            let Some(rel) = normalised(entry) else {
                continue;
            };
            if let Ok(fd) = rustix::fs::openat2(
                &dest,
                rel.as_str(),
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
            ) {
                let _ = rustix::fs::chownat(
                    &fd,
                    "",
                    Some(rustix::fs::Uid::from_raw(uid)),
                    Some(rustix::fs::Gid::from_raw(gid)),
                    AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW,
                );
            }
        }
    }
    Ok(())
}

/// The container's root, open, for a closure run on a blocking thread.
pub struct RootfsView {
    /// The rootfs directory.
    pub root: OwnedFd,
    /// Its host path (`<container dir>/merged`).
    pub path: PathBuf,
    /// The record at the time of the call.
    pub rec: ContainerRecord,
}

fn map_path_err(e: io::Error, path: &str, name: &str) -> EngineError {
    if not_found(io::Error::from_raw_os_error(e.raw_os_error().unwrap_or(0))) {
        EngineError::not_found(format!(
            "Could not find the file {path} in container {name}"
        ))
    } else {
        EngineError::internal(format!("{path} in container {name}: {e}"))
    }
}

impl Engine {
    /// `GET /containers/{id}/changes`.
    pub fn container_changes(&self, name: &str) -> Result<Vec<Change>> {
        let c = self.container(name)?;
        let rec = c.record();
        self.snapshot(&rec)?
            .changes()
            .map_err(|e| EngineError::internal(format!("changes of {}: {e}", rec.id)))
    }

    /// Runs `f` on a blocking thread with the container's rootfs open: the live mount
    /// of a running container, or a temporary mount (under the op lock) otherwise.
    pub async fn with_rootfs<T, F>(self: &Arc<Self>, name: &str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(RootfsView) -> Result<T> + Send + 'static,
    {
        let c = self.container(name)?;
        let guard = c.op.lock().await;
        let rec = c.record();
        let alive = rec.state.status.is_alive();
        let _guard = if alive {
            drop(guard);
            None
        } else {
            Some(guard)
        };
        let engine = self.clone();
        let id = rec.id.clone();
        let join = |e: tokio::task::JoinError| EngineError::internal(e.to_string());
        let path = if alive {
            self.config.container_dir(&rec.id).join("merged")
        } else {
            let r = rec.clone();
            tokio::task::spawn_blocking(move || engine.mount_rootfs(&r))
                .await
                .map_err(join)??
        };
        let p = path.clone();
        let res = tokio::task::spawn_blocking(move || {
            let root = rustix::fs::open(
                &p,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| EngineError::internal(format!("open rootfs of {}: {e}", rec.id)))?;
            f(RootfsView { root, path: p, rec })
        })
        .await
        .map_err(join);
        if !alive {
            let engine = self.clone();
            let _ = tokio::task::spawn_blocking(move || engine.unmount_rootfs(&id)).await;
        }
        res?
    }

    /// `HEAD /containers/{id}/archive?path=`.
    pub async fn stat_container_path(self: &Arc<Self>, name: &str, path: &str) -> Result<PathStat> {
        let (n, p) = (name.to_string(), path.to_string());
        self.with_rootfs(name, move |v| {
            let root_path = fd_path(v.root.as_fd()).unwrap_or(v.path.clone());
            stat_of(v.root.as_fd(), &root_path, &split_path(&p))
                .map_err(|e| map_path_err(e, &p, &n))
        })
        .await
    }

    /// `GET /containers/{id}/archive?path=`: the path as a tar written to `out` (a
    /// blocking writer, e.g. feeding a channel). Call [`Engine::stat_container_path`]
    /// first for the stat header and the 404.
    pub async fn archive_container_path<W: Write + Send + 'static>(
        self: &Arc<Self>,
        name: &str,
        path: &str,
        out: W,
    ) -> Result<()> {
        let (n, p) = (name.to_string(), path.to_string());
        self.with_rootfs(name, move |v| {
            archive_path(v.root.as_fd(), &split_path(&p), out)
                .map(|_| ())
                .map_err(|e| map_path_err(e, &p, &n))
        })
        .await
    }

    /// `GET /containers/{id}/export`: the whole rootfs as a tar into `out`.
    pub async fn export_container<W: Write + Send + 'static>(
        self: &Arc<Self>,
        name: &str,
        out: W,
    ) -> Result<()> {
        self.with_rootfs(name, move |v| {
            let mut t = FdTar::new(out);
            t.dir(&v.root, "")
                .and_then(|_| t.finish().map(|_| ()))
                .map_err(|e| EngineError::io("export", e))
        })
        .await
    }

    /// `PUT /containers/{id}/archive?path=`: extracts the tar read from `body`.
    pub async fn extract_to_container<R: Read + Send + 'static>(
        self: &Arc<Self>,
        name: &str,
        path: &str,
        mut body: R,
        opts: ExtractOptions,
    ) -> Result<()> {
        let (n, p) = (name.to_string(), path.to_string());
        let spool_dir = self.config.data_root.join("containers");
        self.with_rootfs(name, move |v| {
            if v.rec.host_config.readonly_rootfs == Some(true) {
                return Err(EngineError::internal(
                    "container rootfs is marked read-only",
                ));
            }
            extract(v.root.as_fd(), &v.rec, &spool_dir, &p, &n, &mut body, opts)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
