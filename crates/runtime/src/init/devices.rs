//! Device nodes and the standard /dev symlinks inside the container.
//!
//! Runs in the container init before pivot_root, on the container's /dev (a tmpfs from
//! the spec). Outside a user namespace nodes are made with mknod; inside one, where
//! mknod is not allowed, the host's node is bind-mounted onto an empty file (as runc does).

use std::os::unix::fs::symlink;
use std::path::Path;

use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknod, Mode, SFlag};
use nix::unistd::{chown, Gid, Uid};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::secure_join::secure_join;

/// The devices every container gets (OCI runtime spec, "Default Devices").
const DEFAULT: &[(&str, u64, u64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// Create the default devices plus `extra` under `rootfs`.
pub fn create_all(rootfs: &Path, extra: &[LinuxDevice], in_userns: bool) -> Result<(), String> {
    for &(path, major, minor) in DEFAULT {
        if extra.iter().any(|d| d.path() == Path::new(path)) {
            continue;
        }
        make(
            rootfs,
            Path::new(path),
            SFlag::S_IFCHR,
            major,
            minor,
            0o666,
            None,
            None,
            in_userns,
        )?;
    }
    for d in extra {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(format!(
                    "linux.devices: {}: type \"a\" is not a device node",
                    d.path().display()
                ))
            }
        };
        let major = u64::try_from(d.major())
            .map_err(|_| format!("linux.devices: {}: bad major", d.path().display()))?;
        let minor = u64::try_from(d.minor())
            .map_err(|_| format!("linux.devices: {}: bad minor", d.path().display()))?;
        let mode = d.file_mode().unwrap_or(0o666);
        make(
            rootfs,
            d.path(),
            kind,
            major,
            minor,
            mode,
            d.uid(),
            d.gid(),
            in_userns,
        )?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn make(
    rootfs: &Path,
    path: &Path,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
    in_userns: bool,
) -> Result<(), String> {
    let dest = secure_join(rootfs, path)?;
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    }
    let _ = std::fs::remove_file(&dest);
    if in_userns {
        std::fs::File::create(&dest).map_err(|e| format!("create {}: {e}", dest.display()))?;
        mount(
            Some(path),
            &dest,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| {
            format!(
                "bind device {} onto {}: {e}",
                path.display(),
                dest.display()
            )
        })?;
        return Ok(());
    }
    let perm = Mode::from_bits_truncate(mode & 0o7777);
    mknod(&dest, kind, perm, makedev(major, minor))
        .map_err(|e| format!("mknod {} {major}:{minor}: {e}", dest.display()))?;
    // mknod honours the umask; set the exact mode asked for.
    std::fs::set_permissions(
        &dest,
        std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777),
    )
    .map_err(|e| format!("chmod {}: {e}", dest.display()))?;
    if uid.is_some() || gid.is_some() {
        chown(&dest, uid.map(Uid::from_raw), gid.map(Gid::from_raw))
            .map_err(|e| format!("chown {}: {e}", dest.display()))?;
    }
    Ok(())
}

/// /dev/fd, stdin, stdout, stderr, core and ptmx symlinks (ptmx only with a devpts).
pub fn create_symlinks(rootfs: &Path) -> Result<(), String> {
    let dev = rootfs.join("dev");
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("/proc/kcore", "core"),
    ];
    if dev.join("pts/ptmx").exists() {
        links.push(("pts/ptmx", "ptmx"));
    }
    for (target, name) in links {
        let link = dev.join(name);
        if name == "ptmx" {
            let _ = std::fs::remove_file(&link);
        }
        match symlink(target, &link) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("symlink {} -> {target}: {e}", link.display())),
        }
    }
    Ok(())
}
