//! Mounting cgroupfs inside the container (the spec's `type: cgroup` mount).
//!
//! The plan is computed in the runtime process from the host's /proc/self/mountinfo;
//! `mount` runs in the container init before pivot_root. With a cgroup namespace each
//! hierarchy is mounted fresh (its root is the container's cgroup, so no `release_agent`
//! is reachable: CVE-2022-0492); without one, the container's own cgroup directory is
//! bind-mounted. The spec's `ro` is honoured on every piece.

use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};

use berth_cgroups::Hierarchy;

use super::mount_opts::MountOpts;
use super::rootfs::remount_bind;

/// One v1 hierarchy on the host.
#[derive(Debug, Clone)]
struct Hierarchy1 {
    /// Host mount point, e.g. /sys/fs/cgroup/memory.
    mountpoint: PathBuf,
    /// Directory name inside the container, e.g. `memory` or `cpu,cpuacct`.
    name: String,
    /// mount(2) data naming the controllers, e.g. `memory` or `none,name=systemd`.
    data: String,
}

/// What to mount for `type: cgroup`.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    v1: Vec<Hierarchy1>,
    /// Pure v2 host (cgroup2 mounted, no v1 controllers).
    v2: bool,
    cgroup_path: PathBuf,
    new_cgroupns: bool,
}

impl Plan {
    /// What to mount for the host's `hierarchy` (as resolved for the container's cgroup).
    pub fn new(hierarchy: &Hierarchy, cgroup_path: &Path, new_cgroupns: bool) -> Self {
        let rel = cgroup_path
            .strip_prefix("/")
            .unwrap_or(cgroup_path)
            .to_path_buf();
        let v1 = match hierarchy {
            Hierarchy::V2 { .. } => {
                return Plan {
                    v1: Vec::new(),
                    v2: true,
                    cgroup_path: rel,
                    new_cgroupns,
                }
            }
            Hierarchy::V1 { mounts, .. } => mounts
                .iter()
                .map(|m| {
                    let name = m
                        .mountpoint
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let data = match m.controllers.as_slice() {
                        [named] if named.starts_with("name=") => format!("none,{named}"),
                        ctrls => ctrls.join(","),
                    };
                    Hierarchy1 {
                        mountpoint: m.mountpoint.clone(),
                        name,
                        data,
                    }
                })
                .collect(),
        };
        Plan {
            v1,
            v2: false,
            cgroup_path: rel,
            new_cgroupns,
        }
    }

    /// Mount the cgroup filesystem(s) at `dest` (already created, inside the rootfs).
    pub fn mount(&self, dest: &Path, opts: &MountOpts) -> Result<(), String> {
        let flags = opts.flags
            & (MsFlags::MS_RDONLY
                | MsFlags::MS_NOSUID
                | MsFlags::MS_NODEV
                | MsFlags::MS_NOEXEC
                | MsFlags::MS_RELATIME);
        if self.v2 {
            return self.mount_one(
                Path::new("/sys/fs/cgroup"),
                "cgroup2",
                None,
                dest,
                flags,
                opts,
            );
        }
        let base = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
        mount(Some("tmpfs"), dest, Some("tmpfs"), base, Some("mode=755"))
            .map_err(|e| format!("mount tmpfs: {e}"))?;
        for h in &self.v1 {
            let sub = dest.join(&h.name);
            std::fs::create_dir_all(&sub).map_err(|e| format!("mkdir {}: {e}", sub.display()))?;
            self.mount_one(&h.mountpoint, "cgroup", Some(&h.data), &sub, flags, opts)?;
            // Co-mounted controllers (cpu,cpuacct) get a link per name, as on the host.
            if h.name.contains(',') {
                for part in h.name.split(',') {
                    let _ = std::os::unix::fs::symlink(&h.name, dest.join(part));
                }
            }
        }
        if flags.contains(MsFlags::MS_RDONLY) {
            mount(
                None::<&str>,
                dest,
                None::<&str>,
                MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | base,
                Some("mode=755"),
            )
            .map_err(|e| format!("remount cgroup tmpfs ro: {e}"))?;
        }
        Ok(())
    }

    fn mount_one(
        &self,
        host: &Path,
        fstype: &str,
        data: Option<&str>,
        dest: &Path,
        flags: MsFlags,
        opts: &MountOpts,
    ) -> Result<(), String> {
        if self.new_cgroupns {
            mount(Some(fstype), dest, Some(fstype), flags, data)
                .map_err(|e| format!("mount {fstype} {}: {e}", data.unwrap_or("")))
        } else {
            let src = host.join(&self.cgroup_path);
            mount(
                Some(&src),
                dest,
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| format!("bind {}: {e}", src.display()))?;
            remount_bind(
                dest,
                &MountOpts {
                    flags,
                    ..opts.clone()
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_cgroups::V1Mount;

    fn m(point: &str, ctrls: &[&str]) -> V1Mount {
        V1Mount {
            mountpoint: point.into(),
            controllers: ctrls.iter().map(|c| c.to_string()).collect(),
        }
    }

    #[test]
    fn hybrid_uses_v1() {
        let h = Hierarchy::V1 {
            mounts: vec![
                m("/sys/fs/cgroup/cpu,cpuacct", &["cpu", "cpuacct"]),
                m("/sys/fs/cgroup/memory", &["memory"]),
                m("/sys/fs/cgroup/systemd", &["name=systemd"]),
            ],
            unified: Some("/sys/fs/cgroup/unified".into()),
        };
        let p = Plan::new(&h, Path::new("/berth/x"), true);
        assert!(!p.v2);
        let names: Vec<_> =
            p.v1.iter()
                .map(|h| (h.name.as_str(), h.data.as_str()))
                .collect();
        assert_eq!(
            names,
            [
                ("cpu,cpuacct", "cpu,cpuacct"),
                ("memory", "memory"),
                ("systemd", "none,name=systemd")
            ]
        );
        assert_eq!(p.cgroup_path, Path::new("berth/x"));
    }

    #[test]
    fn pure_v2() {
        let p = Plan::new(
            &Hierarchy::V2 {
                root: "/sys/fs/cgroup".into(),
            },
            Path::new("a"),
            false,
        );
        assert!(p.v2 && p.v1.is_empty());
    }
}
