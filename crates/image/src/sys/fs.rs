//! File-level syscalls for unpacking and packing layers: `*at` creation relative to a
//! directory fd, mknod, xattrs, ownership, timestamps.
//!
//! Runs in berthd (and tests) as root. Every call goes through `rustix`'s safe wrappers,
//! so this module has no `unsafe` block; it exists so that kernel calls stay in `sys`.
//! Callers own the fds returned here. Paths inside a layer are always resolved relative
//! to a directory fd without following symlinks (openat2(2) `RESOLVE_NO_SYMLINKS |
//! RESOLVE_BENEATH`, Linux 5.6+, with a per-component `O_NOFOLLOW` walk as fallback).

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{
    AtFlags, Dir, FileType, Gid, Mode, OFlags, ResolveFlags, Timespec, Timestamps, Uid, XattrFlags,
};

/// Seconds and nanoseconds since the epoch, as stored in a tar header or PAX record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileTime {
    /// Whole seconds.
    pub secs: i64,
    /// Nanoseconds, below 1e9.
    pub nanos: u32,
}

impl FileTime {
    fn timestamps(self) -> Timestamps {
        let ts = Timespec {
            tv_sec: self.secs,
            tv_nsec: i64::from(self.nanos),
        };
        Timestamps {
            last_access: ts,
            last_modification: ts,
        }
    }
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Opens the directory `path` (a directory on the host, trusted) as an fd.
pub fn open_dir_path(path: &Path) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(path, DIR_FLAGS, Mode::empty())?)
}

/// Opens `rel` (components joined by `/`, no `..`, may be empty) beneath `root` in one
/// openat2(2) call that fails with `ELOOP` on any symlink and `EXDEV` on any escape.
/// Returns `ENOSYS` on kernels before 5.6; callers then walk with [`open_child_dir`].
pub fn open_beneath(root: BorrowedFd<'_>, rel: &[u8]) -> io::Result<OwnedFd> {
    let rel: &OsStr = if rel.is_empty() {
        OsStr::new(".")
    } else {
        OsStr::from_bytes(rel)
    };
    let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
    Ok(rustix::fs::openat2(
        root,
        rel,
        DIR_FLAGS,
        Mode::empty(),
        resolve,
    )?)
}

/// Opens the directory `name` (one component) in `dir` without following a symlink:
/// `ELOOP`/`ENOTDIR` when it is a symlink or not a directory. openat(2) with `O_NOFOLLOW`.
pub fn open_child_dir(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(dir, name, DIR_FLAGS, Mode::empty())?)
}

/// Creates the directory `name` in `dir` with `mode` (before umask). mkdirat(2).
pub fn mkdir_at(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    Ok(rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(mode))?)
}

/// Creates a new regular file `name` in `dir` for writing; `EEXIST` if anything is
/// there, and never follows a symlink. openat(2) with `O_CREAT | O_EXCL | O_NOFOLLOW`.
pub fn create_file_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<std::fs::File> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600))?;
    Ok(std::fs::File::from(fd))
}

/// Creates the symlink `name` → `target` in `dir`. symlinkat(2).
pub fn symlink_at(target: &OsStr, dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::symlinkat(target, dir, name)?)
}

/// Hard-links `from_dir/from` to `to_dir/to` without following a symlink at `from`
/// (linkat(2) with no `AT_SYMLINK_FOLLOW`: a symlink is linked, never its target).
pub fn link_at(
    from_dir: BorrowedFd<'_>,
    from: &OsStr,
    to_dir: BorrowedFd<'_>,
    to: &OsStr,
) -> io::Result<()> {
    Ok(rustix::fs::linkat(
        from_dir,
        from,
        to_dir,
        to,
        AtFlags::empty(),
    )?)
}

/// Kind of node made by [`mknod_at`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// Character device.
    Char,
    /// Block device.
    Block,
    /// Named pipe.
    Fifo,
}

/// Creates a device node or fifo `name` in `dir`. mknodat(2); devices need
/// `CAP_MKNOD` (the caller reports `EPERM`).
pub fn mknod_at(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    kind: NodeKind,
    major: u32,
    minor: u32,
) -> io::Result<()> {
    let ft = match kind {
        NodeKind::Char => FileType::CharacterDevice,
        NodeKind::Block => FileType::BlockDevice,
        NodeKind::Fifo => FileType::Fifo,
    };
    let dev = rustix::fs::makedev(major, minor);
    Ok(rustix::fs::mknodat(
        dir,
        name,
        ft,
        Mode::from_raw_mode(0o600),
        dev,
    )?)
}

/// Sets owner and group of `name` in `dir` without following a symlink.
/// fchownat(2) with `AT_SYMLINK_NOFOLLOW`; clears setuid/setgid and file capabilities,
/// so it must come before chmod and xattrs.
pub fn lchown_at(dir: BorrowedFd<'_>, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
    let (u, g) = (Uid::from_raw(uid), Gid::from_raw(gid));
    Ok(rustix::fs::chownat(
        dir,
        name,
        Some(u),
        Some(g),
        AtFlags::SYMLINK_NOFOLLOW,
    )?)
}

/// Sets owner and group of an open file. fchown(2).
pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    let (u, g) = (Uid::from_raw(uid), Gid::from_raw(gid));
    Ok(rustix::fs::fchown(fd, Some(u), Some(g))?)
}

/// Sets the permission bits (incl. setuid/setgid/sticky) of an open file. fchmod(2).
pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    Ok(rustix::fs::fchmod(fd, Mode::from_raw_mode(mode & 0o7777))?)
}

/// Sets the permission bits of `name` in `dir`, which the caller just created as a
/// device node or fifo (fchmodat(2) cannot refuse symlinks on Linux).
pub fn chmod_at(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    Ok(rustix::fs::chmodat(
        dir,
        name,
        Mode::from_raw_mode(mode & 0o7777),
        AtFlags::empty(),
    )?)
}

/// Sets atime and mtime of an open file. futimens(2).
pub fn futimes(fd: BorrowedFd<'_>, time: FileTime) -> io::Result<()> {
    Ok(rustix::fs::futimens(fd, &time.timestamps())?)
}

/// Sets atime and mtime of `name` in `dir` without following a symlink.
/// utimensat(2) with `AT_SYMLINK_NOFOLLOW`.
pub fn lutimes_at(dir: BorrowedFd<'_>, name: &OsStr, time: FileTime) -> io::Result<()> {
    Ok(rustix::fs::utimensat(
        dir,
        name,
        &time.timestamps(),
        AtFlags::SYMLINK_NOFOLLOW,
    )?)
}

/// Sets the xattr `key` on an open file. fsetxattr(2).
pub fn fsetxattr(fd: BorrowedFd<'_>, key: &str, value: &[u8]) -> io::Result<()> {
    Ok(rustix::fs::fsetxattr(fd, key, value, XattrFlags::empty())?)
}

/// Sets the xattr `key` on `name` in `dir` without following a symlink, for nodes that
/// cannot be opened (symlinks, devices, fifos): lsetxattr(2) on
/// `/proc/self/fd/<dir>/<name>`, where only the directory goes through the magic link.
pub fn lsetxattr_at(dir: BorrowedFd<'_>, name: &OsStr, key: &str, value: &[u8]) -> io::Result<()> {
    let path = fd_child_path(dir, name);
    Ok(rustix::fs::lsetxattr(
        path,
        key,
        value,
        XattrFlags::empty(),
    )?)
}

fn fd_child_path(dir: BorrowedFd<'_>, name: &OsStr) -> OsString {
    use std::os::fd::AsRawFd;
    let mut p = OsString::from(format!("/proc/self/fd/{}/", dir.as_raw_fd()));
    p.push(name);
    p
}

/// Reads the xattr `key` of `path` without following a symlink; `None` if unset.
/// lgetxattr(2).
pub fn lgetxattr(path: &Path, key: &str) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 256];
    loop {
        match rustix::fs::lgetxattr(path, key, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(rustix::io::Errno::NODATA) => return Ok(None),
            Err(rustix::io::Errno::RANGE) if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Lists the xattr names of `path` without following a symlink. llistxattr(2).
pub fn llistxattr(path: &Path) -> io::Result<Vec<String>> {
    let mut buf = vec![0u8; 1024];
    let n = loop {
        match rustix::fs::llistxattr(path, &mut buf[..]) {
            Ok(n) => break n,
            Err(rustix::io::Errno::RANGE) if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            Err(e) => return Err(e.into()),
        }
    };
    Ok(buf[..n]
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect())
}

/// Whether `name` in `dir` is a directory (`None` if absent), not following symlinks.
pub fn is_dir_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<bool>> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(
            FileType::from_raw_mode(st.st_mode) == FileType::Directory,
        )),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether `name` in `dir` is a symlink, not following it; `false` if absent.
pub fn is_symlink_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<bool> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(FileType::from_raw_mode(st.st_mode) == FileType::Symlink),
        Err(rustix::io::Errno::NOENT) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Names in the directory `dir`, without `.` and `..`. getdents64(2).
pub fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    let mut d = Dir::read_from(dir)?;
    while let Some(ent) = d.read() {
        let ent = ent?;
        let name = ent.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(OsStr::from_bytes(name).to_os_string());
        }
    }
    Ok(names)
}

/// Removes `name` in `dir` and, if it is a directory, everything below it, never
/// following symlinks. Absent is not an error. unlinkat(2), recursively.
pub fn remove_all_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    match is_dir_at(dir, name)? {
        None => Ok(()),
        Some(false) => Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?),
        Some(true) => {
            let child = open_child_dir(dir, name)?;
            for entry in list_dir(child.as_fd())? {
                remove_all_at(child.as_fd(), &entry)?;
            }
            Ok(rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR)?)
        }
    }
}

/// The error numbers that path resolution decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrnoClass {
    /// `ELOOP`: a symlink where none may be.
    Loop,
    /// `EXDEV`: resolution would leave the root (openat2 `RESOLVE_BENEATH`).
    CrossDevice,
    /// `ENOTDIR`: a path component is not a directory.
    NotDir,
    /// `ENOENT`.
    NotFound,
    /// `ENOSYS`: the syscall is missing (openat2 before Linux 5.6).
    NoSys,
    /// Anything else.
    Other,
}

/// Classifies an error from this module by errno.
pub fn errno_class(e: &io::Error) -> ErrnoClass {
    use rustix::io::Errno;
    match e.raw_os_error().map(Errno::from_raw_os_error) {
        Some(Errno::LOOP) => ErrnoClass::Loop,
        Some(Errno::XDEV) => ErrnoClass::CrossDevice,
        Some(Errno::NOTDIR) => ErrnoClass::NotDir,
        Some(Errno::NOENT) => ErrnoClass::NotFound,
        Some(Errno::NOSYS) => ErrnoClass::NoSys,
        _ => ErrnoClass::Other,
    }
}

/// Opens (creating if needed) the lock file `path` and takes an exclusive flock(2) on
/// it, waiting for other holders; the lock is released when the returned guard drops.
/// flock locks belong to the open file description, so threads of one process exclude
/// each other as well as other processes.
pub fn lock_exclusive(path: &Path) -> io::Result<nix::fcntl::Flock<std::fs::File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, errno)| io::Error::from(errno))
}
