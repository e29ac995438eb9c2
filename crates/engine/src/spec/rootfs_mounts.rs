//! The spec's `mounts` list: Docker's default filesystems, then the user's mounts and the
//! container's network files sorted by depth, then the init binary (moby
//! `daemon/pkg/oci/defaults.go`, `daemon/oci_linux.go` withMounts, `daemon/volumes_unix.go`).

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, MountBuilder};

use super::mounts::MountKind;
use super::{SecurityOpts, SpecInput, DEFAULT_SHM_SIZE, INIT_PATH_IN_CONTAINER};

/// Mounts `--read-only` leaves writable (moby withMounts).
const WRITABLE_WITH_READONLY_ROOTFS: &[&str] =
    &["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"];

fn mount(destination: &str, typ: &str, source: &Path, options: &[&str]) -> Mount {
    MountBuilder::default()
        .destination(PathBuf::from(destination))
        .typ(typ.to_string())
        .source(source.to_path_buf())
        .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
        .build()
        .expect("every mount field is set")
}

/// Docker's default mounts, in its order: moby `daemon/pkg/oci/defaults.go`.
fn default_mounts(shm_size: i64) -> Vec<Mount> {
    let shm_size = format!("size={shm_size}");
    vec![
        mount(
            "/proc",
            "proc",
            Path::new("proc"),
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev",
            "tmpfs",
            Path::new("tmpfs"),
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            Path::new("devpts"),
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/sys",
            "sysfs",
            Path::new("sysfs"),
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            Path::new("cgroup"),
            &["ro", "nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            Path::new("mqueue"),
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            Path::new("shm"),
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_size],
        ),
    ]
}

fn clear_read_only(m: &mut Mount) {
    if let Some(opts) = m.options().clone() {
        m.set_options(Some(opts.into_iter().filter(|o| o != "ro").collect()));
    }
}

/// Number of `/` in a cleaned destination: Docker mounts parents before children.
fn depth(m: &Mount) -> usize {
    m.destination().to_string_lossy().matches('/').count()
}

/// The full, ordered `mounts` list.
pub(super) fn oci_mounts(input: &SpecInput<'_>, security: &SecurityOpts) -> Vec<Mount> {
    let host = input.host;
    let privileged = host.privileged.unwrap_or(false);
    let read_only_root = host.readonly_rootfs.unwrap_or(false);
    let ipc = host.ipc_mode.as_deref().unwrap_or("");

    // User mounts: volumes and binds, the network files, then tmpfs (as Docker collects
    // them), stably sorted by depth.
    let planned = |m: &super::PlannedMount| {
        let typ = match m.kind {
            MountKind::Bind | MountKind::Volume => "bind",
            MountKind::Tmpfs => "tmpfs",
        };
        let opts: Vec<&str> = m.options.iter().map(String::as_str).collect();
        mount(&m.destination, typ, &m.source, &opts)
    };
    let mut user: Vec<Mount> = input
        .mounts
        .iter()
        .filter(|m| m.kind != MountKind::Tmpfs)
        .map(planned)
        .collect();
    let network_opts: &[&str] = if read_only_root {
        &["rbind", "ro", "rprivate"]
    } else {
        &["rbind", "rprivate"]
    };
    for (dest, path) in [
        ("/etc/resolv.conf", input.resolv_conf_path),
        ("/etc/hostname", input.hostname_path),
        ("/etc/hosts", input.hosts_path),
    ] {
        let taken = input.mounts.iter().any(|m| m.destination == dest);
        if let (Some(path), false) = (path, taken) {
            user.push(mount(dest, "bind", path, network_opts));
        }
    }
    if ipc == "host" && !input.mounts.iter().any(|m| m.destination == "/dev/shm") {
        user.push(mount(
            "/dev/shm",
            "bind",
            Path::new("/dev/shm"),
            &["rbind", "rprivate"],
        ));
    }
    user.extend(
        input
            .mounts
            .iter()
            .filter(|m| m.kind == MountKind::Tmpfs)
            .map(planned),
    );
    user.sort_by_key(depth);

    let is_user = |dest: &Path| user.iter().any(|m| m.destination() == dest);
    let user_dev = is_user(Path::new("/dev"));
    let shm_size = host.shm_size.filter(|s| *s > 0).unwrap_or(DEFAULT_SHM_SIZE);
    let mut out: Vec<Mount> = default_mounts(shm_size)
        .into_iter()
        .filter(|m| {
            let dest = m.destination();
            let replaced = is_user(dest) || (user_dev && dest.starts_with("/dev/"));
            let no_shm = dest == Path::new("/dev/shm") && matches!(ipc, "none" | "host");
            !replaced && !no_shm
        })
        .collect();
    for m in &mut out {
        let dest = m.destination().to_string_lossy().into_owned();
        if read_only_root && !WRITABLE_WITH_READONLY_ROOTFS.contains(&dest.as_str()) {
            let opts = m.options().clone().unwrap_or_default();
            if !opts.iter().any(|o| o == "ro") {
                m.set_options(Some(opts.into_iter().chain(["ro".to_string()]).collect()));
            }
        }
        let writable_cgroup = privileged || security.writable_cgroups == Some(true);
        if (privileged && dest == "/sys")
            || (writable_cgroup && m.typ().as_deref() == Some("cgroup"))
        {
            clear_read_only(m);
        }
    }
    out.extend(user);
    if let (true, Some(init)) = (host.init.unwrap_or(false), input.init_path) {
        out.push(mount(INIT_PATH_IN_CONTAINER, "bind", init, &["bind", "ro"]));
    }
    out
}
