//! The container's filesystem view: propagation, the spec's mounts, devices, pivot_root,
//! masked and read-only paths.
//!
//! Runs in the container init, in its new mount namespace. `prepare` runs before
//! pivot_root (host paths still visible), `pivot` switches root, `finalize` runs after.
//! Every mount lives in the container's mount namespace and disappears with it; nothing
//! here touches the host's mount table (the root is made rslave/rprivate first).

use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use oci_spec::runtime::{Mount, Spec};

use super::mount_opts::{self, MountOpts};
use super::secure_join::secure_join;
use crate::init::cgroup_mount;

/// Before pivot_root: propagation, bind the rootfs, mount everything, create devices.
pub fn prepare(
    spec: &Spec,
    rootfs: &Path,
    in_userns: bool,
    cgroup: &cgroup_mount::Plan,
) -> Result<(), String> {
    let linux = spec.linux().as_ref();
    let prop =
        mount_opts::rootfs_propagation(linux.and_then(|l| l.rootfs_propagation().as_deref()))?;
    mount(None::<&str>, "/", None::<&str>, prop, None::<&str>)
        .map_err(|e| format!("set propagation of /: {e}"))?;
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| format!("bind rootfs {}: {e}", rootfs.display()))?;
    let mut has_dev_tmpfs = false;
    for (i, m) in spec
        .mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if m.destination() == Path::new("/dev") && m.typ().as_deref() == Some("tmpfs") {
            has_dev_tmpfs = true;
        }
        mount_one(m, rootfs, in_userns, cgroup)
            .map_err(|e| format!("mounts[{i}] {}: {e}", m.destination().display()))?;
    }
    if has_dev_tmpfs {
        let extra = linux.and_then(|l| l.devices().clone()).unwrap_or_default();
        super::devices::create_all(rootfs, &extra, in_userns)?;
        super::devices::create_symlinks(rootfs)?;
    }
    Ok(())
}

fn mount_one(
    m: &Mount,
    rootfs: &Path,
    in_userns: bool,
    cgroup: &cgroup_mount::Plan,
) -> Result<(), String> {
    let typ = m.typ().as_deref();
    let opts = mount_opts::parse(m.options().as_deref().unwrap_or_default(), typ);
    let dest = secure_join(rootfs, m.destination())?;
    if typ == Some("cgroup") || typ == Some("cgroup2") {
        std::fs::create_dir_all(&dest).map_err(|e| format!("mkdir: {e}"))?;
        return cgroup.mount(&dest, &opts);
    }
    let source = m.source().as_deref();
    if opts.bind {
        let src = source.ok_or("bind mount without source")?;
        make_target(&dest, src.is_dir())?;
        mount(
            Some(src),
            &dest,
            None::<&str>,
            MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC),
            None::<&str>,
        )
        .map_err(|e| format!("bind {}: {e}", src.display()))?;
        remount_bind(&dest, &opts)?;
    } else {
        make_target(&dest, true)?;
        let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
        let flags = opts.flags & !MsFlags::MS_REC;
        match mount(source.or(Some(Path::new("none"))), &dest, typ, flags, data) {
            Ok(()) => {}
            // sysfs needs a network namespace owned by our user namespace; runc falls
            // back to a recursive bind of the host's /sys, read-only.
            Err(nix::errno::Errno::EPERM) if in_userns && typ == Some("sysfs") => {
                mount(
                    Some("/sys"),
                    &dest,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .map_err(|e| format!("bind /sys: {e}"))?;
                remount_bind(
                    &dest,
                    &MountOpts {
                        flags: opts.flags | MsFlags::MS_RDONLY,
                        ..opts.clone()
                    },
                )?;
            }
            Err(e) => {
                return Err(format!(
                    "mount {} type {}: {e}",
                    source.map(|s| s.display().to_string()).unwrap_or_default(),
                    typ.unwrap_or("none")
                ))
            }
        }
    }
    if !opts.propagation.is_empty() {
        mount(
            None::<&str>,
            &dest,
            None::<&str>,
            opts.propagation,
            None::<&str>,
        )
        .map_err(|e| format!("set propagation: {e}"))?;
    }
    Ok(())
}

/// Apply ro/nosuid/nodev/noexec to a bind mount (they are ignored by the first call).
/// Flags the kernel has locked on the source (in a user namespace) are kept.
pub fn remount_bind(dest: &Path, opts: &MountOpts) -> Result<(), String> {
    let wanted = opts.flags
        & (MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV
            | MsFlags::MS_NOEXEC
            | MsFlags::MS_NOATIME
            | MsFlags::MS_RELATIME
            | MsFlags::MS_STRICTATIME
            | MsFlags::MS_NODIRATIME);
    if wanted.is_empty() {
        return Ok(());
    }
    let locked = locked_flags(dest);
    mount(
        None::<&str>,
        dest,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | wanted | locked,
        None::<&str>,
    )
    .map_err(|e| format!("remount {} {:?}: {e}", dest.display(), wanted))
}

fn locked_flags(path: &Path) -> MsFlags {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(st) = statvfs(path) else {
        return MsFlags::empty();
    };
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if f.contains(fs) {
            out |= ms;
        }
    }
    out
}

fn make_target(dest: &Path, dir: bool) -> Result<(), String> {
    if dir {
        std::fs::create_dir_all(dest).map_err(|e| format!("mkdir {}: {e}", dest.display()))
    } else {
        if let Some(p) = dest.parent() {
            std::fs::create_dir_all(p).map_err(|e| format!("mkdir {}: {e}", p.display()))?;
        }
        if !dest.exists() {
            std::fs::File::create(dest).map_err(|e| format!("create {}: {e}", dest.display()))?;
        }
        Ok(())
    }
}

/// Make `rootfs` the root: pivot_root(".", ".") then detach the old root stacked on it.
pub fn pivot(rootfs: &Path, no_pivot: bool) -> Result<(), String> {
    nix::unistd::chdir(rootfs).map_err(|e| format!("chdir {}: {e}", rootfs.display()))?;
    if no_pivot {
        mount(
            Some(rootfs),
            "/",
            None::<&str>,
            MsFlags::MS_MOVE,
            None::<&str>,
        )
        .map_err(|e| format!("move rootfs: {e}"))?;
        nix::unistd::chroot(".").map_err(|e| format!("chroot: {e}"))?;
    } else {
        nix::unistd::pivot_root(".", ".")
            .map_err(|e| format!("pivot_root {}: {e}", rootfs.display()))?;
        // The old root now sits on top of the new one; make sure its unmount cannot
        // propagate to the host, then detach it.
        mount(
            None::<&str>,
            ".",
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| format!("make old root rslave: {e}"))?;
        umount2(".", MntFlags::MNT_DETACH).map_err(|e| format!("detach old root: {e}"))?;
    }
    nix::unistd::chdir("/").map_err(|e| format!("chdir /: {e}"))
}

/// After pivot_root: masked paths, read-only paths, read-only root.
pub fn finalize(spec: &Spec) -> Result<(), String> {
    let linux = spec.linux().as_ref();
    for p in linux
        .and_then(|l| l.masked_paths().as_deref())
        .unwrap_or_default()
    {
        mask(Path::new(p))?;
    }
    for p in linux
        .and_then(|l| l.readonly_paths().as_deref())
        .unwrap_or_default()
    {
        readonly(Path::new(p))?;
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        let opts = MountOpts {
            flags: MsFlags::MS_RDONLY,
            ..MountOpts::default()
        };
        remount_bind(Path::new("/"), &opts).map_err(|e| format!("root.readonly: {e}"))?;
    }
    Ok(())
}

fn mask(p: &Path) -> Result<(), String> {
    let res = if p.is_dir() {
        mount(
            Some("tmpfs"),
            p,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            Some("size=0k"),
        )
    } else {
        mount(
            Some("/dev/null"),
            p,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    };
    match res {
        Ok(()) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(format!("linux.maskedPaths: {}: {e}", p.display())),
    }
}

fn readonly(p: &Path) -> Result<(), String> {
    match mount(
        Some(p),
        p,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    ) {
        Ok(()) => {}
        Err(nix::errno::Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(format!("linux.readonlyPaths: {}: {e}", p.display())),
    }
    let opts = MountOpts {
        flags: MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        ..MountOpts::default()
    };
    remount_bind(p, &opts).map_err(|e| format!("linux.readonlyPaths: {e}"))
}
