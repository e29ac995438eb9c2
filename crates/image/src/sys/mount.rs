//! Mount syscalls for overlay snapshots: classic mount(2)/umount2(2) and the new mount API.
//!
//! Runs in berthd, on whatever thread calls it; nothing here changes the cwd or other
//! per-process state. Owns only transient fds (an fs context from `fsopen`, a detached
//! mount from `fsmount`), returned as `OwnedFd` and closed on drop; the mounts it attaches
//! belong to the caller (`snapshot::Snapshot`), which unmounts them.
//! Implements mount(2), umount(2), fsopen(2), fsconfig(2), fsmount(2), move_mount(2);
//! `open_tree`/`mount_setattr` are deliberately left out (nothing here needs them yet).

use std::ffi::{c_long, c_uint, CStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::mount::{MntFlags, MsFlags};

/// `FSOPEN_CLOEXEC` from `<linux/mount.h>`.
const FSOPEN_CLOEXEC: c_uint = 0x1;
/// `FSCONFIG_SET_FLAG` (`enum fsconfig_command`).
const FSCONFIG_SET_FLAG: c_uint = 0;
/// `FSCONFIG_SET_STRING` (`enum fsconfig_command`).
const FSCONFIG_SET_STRING: c_uint = 1;
/// `FSCONFIG_CMD_CREATE` (`enum fsconfig_command`).
const FSCONFIG_CMD_CREATE: c_uint = 6;
/// `FSMOUNT_CLOEXEC` from `<linux/mount.h>`.
const FSMOUNT_CLOEXEC: c_uint = 0x1;
/// `MOVE_MOUNT_F_EMPTY_PATH`: the source is the fd itself.
const MOVE_MOUNT_F_EMPTY_PATH: c_uint = 0x4;

/// `MOUNT_ATTR_RDONLY` for [`fsmount`].
pub const MOUNT_ATTR_RDONLY: c_uint = 0x1;
/// `MOUNT_ATTR_NOSUID` for [`fsmount`].
pub const MOUNT_ATTR_NOSUID: c_uint = 0x2;
/// `MOUNT_ATTR_NODEV` for [`fsmount`].
pub const MOUNT_ATTR_NODEV: c_uint = 0x4;

/// Turns a raw syscall return value into an fd, or the thread's `errno`.
fn fd_result(ret: c_long) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let raw = i32::try_from(ret).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned `raw` as a new fd (ret >= 0); nothing else in this
    // process knows its number yet, so the OwnedFd is its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Turns a raw syscall return value of 0/-1 into `()` or the thread's `errno`.
fn unit_result(ret: c_long) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Classic overlay mount: `mount("overlay", target, "overlay", flags, data)`, see mount(2).
///
/// `data` must fit in one page (the kernel copies at most `PAGE_SIZE` bytes and silently
/// truncates); callers check that in their plan. Works on every kernel with overlayfs.
pub fn mount_overlay(target: &CStr, data: &CStr, read_only: bool) -> io::Result<()> {
    let mut flags = MsFlags::empty();
    if read_only {
        flags |= MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    }
    nix::mount::mount(
        Some(c"overlay"),
        target,
        Some(c"overlay"),
        flags,
        Some(data),
    )?;
    Ok(())
}

/// Read-only bind mount of `source` on `target` (mount(2) `MS_BIND`, then a
/// `MS_REMOUNT|MS_BIND|MS_RDONLY` remount, since the first call ignores `MS_RDONLY`).
///
/// If the remount fails the bind is detached again before returning the error.
pub fn bind_read_only(source: &CStr, target: &CStr) -> io::Result<()> {
    nix::mount::mount(
        Some(source),
        target,
        None::<&CStr>,
        MsFlags::MS_BIND,
        None::<&CStr>,
    )?;
    let ro = MsFlags::MS_REMOUNT
        | MsFlags::MS_BIND
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV;
    if let Err(errno) = nix::mount::mount(None::<&CStr>, target, None::<&CStr>, ro, None::<&CStr>) {
        // The writable bind must not stay behind; the remount error is the one to report.
        let _cleanup = nix::mount::umount2(target, MntFlags::MNT_DETACH);
        return Err(errno.into());
    }
    Ok(())
}

/// `umount2(target, 0)`, or with `MNT_DETACH` when `detach` is set; see umount(2).
pub fn umount(target: &CStr, detach: bool) -> io::Result<()> {
    let flags = if detach {
        MntFlags::MNT_DETACH
    } else {
        MntFlags::empty()
    };
    nix::mount::umount2(target, flags)?;
    Ok(())
}

/// `fsopen(fs_name, FSOPEN_CLOEXEC)`: a new filesystem context; see fsopen(2), Linux 5.2.
///
/// Fails with `ENOSYS` on older kernels; the caller falls back to classic mount(2).
pub fn fsopen(fs_name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `fs_name` is a NUL-terminated string borrowed for the whole call; the kernel
    // only reads it. The returned fd is taken over by `fd_result`.
    let ret = unsafe { libc::syscall(libc::SYS_fsopen, fs_name.as_ptr(), FSOPEN_CLOEXEC) };
    fd_result(ret)
}

/// `fsconfig(fs, FSCONFIG_SET_STRING, key, value, 0)`; see fsconfig(2), Linux 5.2.
///
/// Overlayfs accepts the append keys `lowerdir+`/`datadir+` only since Linux 6.8; older
/// kernels reject them with `EINVAL`.
pub fn fsconfig_set_string(fs: BorrowedFd<'_>, key: &CStr, value: &CStr) -> io::Result<()> {
    // SAFETY: `fs` is a live fd borrowed for the call; `key` and `value` are NUL-terminated
    // strings that outlive the call and are only read by the kernel.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    };
    unit_result(ret)
}

/// `fsconfig(fs, FSCONFIG_SET_FLAG, key, NULL, 0)`: a parameter without a value (such
/// as overlayfs' `volatile`); see fsconfig(2), Linux 5.2.
pub fn fsconfig_set_flag(fs: BorrowedFd<'_>, key: &CStr) -> io::Result<()> {
    // SAFETY: `fs` is a live fd borrowed for the call; `key` is a NUL-terminated string
    // that outlives the call and is only read; the value must be NULL for a flag.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_SET_FLAG,
            key.as_ptr(),
            std::ptr::null::<libc::c_char>(),
            0,
        )
    };
    unit_result(ret)
}

/// `fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0)`: create the superblock; see
/// fsconfig(2), Linux 5.2. Layer paths are resolved and checked here or earlier.
pub fn fsconfig_create(fs: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: `fs` is a live fd borrowed for the call; key and value must be NULL for
    // FSCONFIG_CMD_CREATE, so the kernel dereferences no pointer of ours.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    unit_result(ret)
}

/// `fsmount(fs, FSMOUNT_CLOEXEC, attrs)`: a detached mount of the created superblock; see
/// fsmount(2), Linux 5.2. `attrs` is a mask of the `MOUNT_ATTR_*` constants above.
pub fn fsmount(fs: BorrowedFd<'_>, attrs: c_uint) -> io::Result<OwnedFd> {
    // SAFETY: `fs` is a live fd borrowed for the call and all other arguments are plain
    // integers; the returned fd is taken over by `fd_result`.
    let ret = unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) };
    fd_result(ret)
}

/// `move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)`: attach a detached mount
/// at `target`; see move_mount(2), Linux 5.2. A relative `target` resolves against the
/// process cwd, so callers pass absolute paths.
pub fn move_mount(mnt: BorrowedFd<'_>, target: &CStr) -> io::Result<()> {
    // SAFETY: `mnt` is a live fd borrowed for the call; the empty source path and `target`
    // are NUL-terminated strings that outlive the call and are only read by the kernel.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    unit_result(ret)
}
