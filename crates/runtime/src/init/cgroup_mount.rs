//! Mounting cgroupfs inside the container (the spec's `type: cgroup` mount).
//!
//! The plan is computed in the runtime process from the host's /proc/self/mountinfo;
//! `mount` runs in the container init before pivot_root. With a cgroup namespace each
//! hierarchy is mounted fresh (its root is the container's cgroup, so no `release_agent`
//! is reachable: CVE-2022-0492); without one, the container's own cgroup directory is
//! bind-mounted. The spec's `ro` is honoured on every piece.

use std::path::{Path, PathBuf};

use nix::mount::{mount, MsFlags};

use super::mount_opts::MountOpts;
use super::rootfs::remount_bind;

/// One v1 hierarchy on the host.
#[derive(Debug, Clone)]
struct Hierarchy {
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
    v1: Vec<Hierarchy>,
    /// Pure v2 host (cgroup2 mounted, no v1 controllers).
    v2: bool,
    cgroup_path: PathBuf,
    new_cgroupns: bool,
}

impl Plan {
    /// Read the host's cgroup layout.
    pub fn detect(cgroup_path: &Path, new_cgroupns: bool) -> Self {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        Self::from_mountinfo(&info, cgroup_path, new_cgroupns)
    }

    fn from_mountinfo(info: &str, cgroup_path: &Path, new_cgroupns: bool) -> Self {
        let mut v1 = Vec::new();
        let mut v2 = false;
        for line in info.lines() {
            let Some((pre, post)) = line.split_once(" - ") else {
                continue;
            };
            let mountpoint = pre.split(' ').nth(4).unwrap_or("");
            let mut post = post.split(' ');
            let fstype = post.next().unwrap_or("");
            let superopts = post.nth(1).unwrap_or("");
            match fstype {
                "cgroup" => {
                    let ctrls: Vec<&str> = superopts
                        .split(',')
                        .filter(|o| {
                            !matches!(*o, "rw" | "ro")
                                && !o.starts_with("release_agent")
                                && *o != "clone_children"
                                && *o != "xattr"
                        })
                        .collect();
                    let name = Path::new(mountpoint)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let data = if ctrls.iter().any(|c| c.starts_with("name=")) && ctrls.len() == 1 {
                        format!("none,{}", ctrls[0])
                    } else {
                        ctrls.join(",")
                    };
                    v1.push(Hierarchy {
                        mountpoint: mountpoint.into(),
                        name,
                        data,
                    });
                }
                "cgroup2" if mountpoint == "/sys/fs/cgroup" => v2 = true,
                _ => {}
            }
        }
        let rel = cgroup_path
            .strip_prefix("/")
            .unwrap_or(cgroup_path)
            .to_path_buf();
        Plan {
            v2: v2 && v1.is_empty(),
            v1,
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

    const HYBRID: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw";

    #[test]
    fn hybrid_uses_v1() {
        let p = Plan::from_mountinfo(HYBRID, Path::new("/berth/x"), true);
        assert!(!p.v2);
        let names: Vec<_> =
            p.v1.iter()
                .map(|h| (h.name.as_str(), h.data.as_str()))
                .collect();
        assert_eq!(
            names,
            [
                ("cpu", "cpu"),
                ("memory", "memory"),
                ("systemd", "none,name=systemd")
            ]
        );
        assert_eq!(p.cgroup_path, Path::new("berth/x"));
    }

    #[test]
    fn pure_v2() {
        let p = Plan::from_mountinfo(
            "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate",
            Path::new("a"),
            false,
        );
        assert!(p.v2 && p.v1.is_empty());
    }
}
