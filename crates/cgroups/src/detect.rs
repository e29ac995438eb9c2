//! Which cgroup hierarchies this host has: parse /proc/self/mountinfo into a [`Hierarchy`].
//!
//! Runs in the runtime process (host mount namespace). Follows proc(5) for the mountinfo
//! format: cgroup v1 controllers (and `name=` hierarchies) come from the super options,
//! cgroup2 is recognised by its fs type. Pure v2 means cgroup2 is mounted and no v1
//! controller is; everything else with v1 controllers is v1/hybrid.
//!
//! mountinfo grows with every mount on the host (each running container adds an
//! overlay line with long options that the kernel escapes on every read): on a host
//! with a hundred containers one read costs more than half a millisecond. So
//! [`Hierarchy::current`] reads it once per process and afterwards only checks with
//! statfs(2) that the remembered mountpoints are still cgroup filesystems; a parent that
//! knows the answer (berthd, for its shims) passes it in [`HIERARCHY_ENV`].

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::CgroupError;

/// Environment variable with a [`Hierarchy`] (JSON, see [`Hierarchy::to_env_value`])
/// that a parent hands to a child process, which then reads no mountinfo. It is
/// checked like the in-process cache, so a stale or bogus value is ignored.
pub const HIERARCHY_ENV: &str = "BERTH_CGROUP_HIERARCHY";

/// statfs(2) `f_type` of a cgroup v1 hierarchy (linux/magic.h).
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
/// statfs(2) `f_type` of cgroup2 (linux/magic.h).
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// The process-wide answer of [`Hierarchy::current`].
static CURRENT: Mutex<Option<Hierarchy>> = Mutex::new(None);

/// One mounted cgroup v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V1Mount {
    /// Where it is mounted, e.g. `/sys/fs/cgroup/cpu,cpuacct`.
    pub mountpoint: PathBuf,
    /// Controllers bound to it (`cpu`, `cpuacct`), or the `name=` of a named hierarchy
    /// (`name=systemd`).
    pub controllers: Vec<String>,
}

impl V1Mount {
    /// Whether `controller` is bound to this hierarchy.
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

/// The cgroup layout of the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Hierarchy {
    /// cgroup v1, possibly hybrid (a controller-less cgroup2 mount next to the v1 ones).
    V1 {
        /// Every v1 hierarchy, controllers and named ones; each is joined.
        mounts: Vec<V1Mount>,
        /// The cgroup2 mount of a hybrid host (joined too, no limits set there).
        unified: Option<PathBuf>,
    },
    /// Pure cgroup v2 with its mountpoint (usually `/sys/fs/cgroup`).
    V2 {
        /// The cgroup2 mountpoint.
        root: PathBuf,
    },
}

impl Hierarchy {
    /// Read /proc/self/mountinfo and classify it.
    pub fn detect() -> Result<Self, CgroupError> {
        let text = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|err| CgroupError::ReadMountinfo { err })?;
        hierarchy_from_mountinfo(&text).ok_or(CgroupError::NoHierarchy)
    }

    /// The hierarchy, read once per process (or taken from [`HIERARCHY_ENV`]) and
    /// re-read only when a remembered mountpoint is no longer a cgroup filesystem.
    pub fn current() -> Result<Self, CgroupError> {
        let env = std::env::var(HIERARCHY_ENV).ok();
        Self::current_with(env.as_deref())
    }

    fn current_with(env: Option<&str>) -> Result<Self, CgroupError> {
        let mut cached = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = cached.as_ref().filter(|h| h.still_mounted()) {
            return Ok(h.clone());
        }
        let h = match env
            .and_then(Self::from_env_value)
            .filter(Hierarchy::still_mounted)
        {
            Some(h) => h,
            None => Self::detect()?,
        };
        *cached = Some(h.clone());
        Ok(h)
    }

    /// The value for [`HIERARCHY_ENV`].
    pub fn to_env_value(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a [`HIERARCHY_ENV`] value; `None` if it is not one.
    pub fn from_env_value(value: &str) -> Option<Self> {
        serde_json::from_str(value).ok()
    }

    /// Whether every mountpoint is still a cgroup filesystem of its version.
    pub fn still_mounted(&self) -> bool {
        let is = |path: &Path, magic: i64| crate::sys::fs::fs_magic(path).ok() == Some(magic);
        match self {
            Hierarchy::V1 { mounts, unified } => {
                !mounts.is_empty()
                    && mounts.iter().all(|m| is(&m.mountpoint, CGROUP_SUPER_MAGIC))
                    && unified
                        .as_deref()
                        .is_none_or(|u| is(u, CGROUP2_SUPER_MAGIC))
            }
            Hierarchy::V2 { root } => is(root, CGROUP2_SUPER_MAGIC),
        }
    }
}

/// Classify the hierarchies listed in a mountinfo text; `None` if there are none.
pub fn hierarchy_from_mountinfo(text: &str) -> Option<Hierarchy> {
    let mut mounts: Vec<V1Mount> = Vec::new();
    let mut unified = None;
    let mut seen_devs: Vec<&str> = Vec::new();
    for line in text.lines() {
        let Some(m) = parse_line(line) else { continue };
        // The same hierarchy can be mounted more than once; keep the first mount.
        if seen_devs.contains(&m.dev) {
            continue;
        }
        match m.fstype {
            "cgroup2" => {
                seen_devs.push(m.dev);
                unified.get_or_insert_with(|| PathBuf::from(unescape(m.mountpoint)));
            }
            "cgroup" => {
                seen_devs.push(m.dev);
                let controllers: Vec<String> = m
                    .super_opts
                    .split(',')
                    .filter(|o| is_controller_option(o))
                    .map(str::to_string)
                    .collect();
                if !controllers.is_empty() {
                    mounts.push(V1Mount {
                        mountpoint: PathBuf::from(unescape(m.mountpoint)),
                        controllers,
                    });
                }
            }
            _ => {}
        }
    }
    let has_v1_controller = mounts
        .iter()
        .any(|m| m.controllers.iter().any(|c| !c.starts_with("name=")));
    if has_v1_controller {
        Some(Hierarchy::V1 { mounts, unified })
    } else {
        unified.map(|root| Hierarchy::V2 { root })
    }
}

/// The fields of one mountinfo line that matter here.
struct MountLine<'a> {
    dev: &'a str,
    mountpoint: &'a str,
    fstype: &'a str,
    super_opts: &'a str,
}

fn parse_line(line: &str) -> Option<MountLine<'_>> {
    let (pre, post) = line.split_once(" - ")?;
    let mut pre = pre.split(' ');
    let dev = pre.nth(2)?;
    let mountpoint = pre.nth(1)?;
    let mut post = post.split(' ');
    let fstype = post.next()?;
    let super_opts = post.nth(1)?;
    Some(MountLine {
        dev,
        mountpoint,
        fstype,
        super_opts,
    })
}

/// Super options of a v1 cgroup mount that are not controllers.
fn is_controller_option(opt: &str) -> bool {
    !matches!(
        opt,
        "rw" | "ro" | "" | "noprefix" | "xattr" | "cpuset_v2_mode" | "none"
    ) && !opt.starts_with("release_agent=")
        && !opt.starts_with("clone_children")
}

/// Undo mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
99 31 0:32 / /mnt/memory\\040again rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn hybrid_keeps_comounts_named_and_unified() {
        let h = hierarchy_from_mountinfo(HYBRID).unwrap();
        let Hierarchy::V1 { mounts, unified } = h else {
            panic!("not v1")
        };
        assert_eq!(unified, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        assert_eq!(mounts.len(), 4);
        assert_eq!(mounts[0].controllers, ["cpu", "cpuacct"]);
        assert_eq!(
            mounts[0].mountpoint,
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert_eq!(mounts[1].controllers, ["cpuset"]);
        assert!(mounts[3].has("name=systemd"));
    }

    #[test]
    fn pure_v2_even_with_named_v1() {
        let text = "\
30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
50 23 0:40 / /run/systemd-v1 rw - cgroup cgroup rw,name=systemd
";
        assert_eq!(
            hierarchy_from_mountinfo(text),
            Some(Hierarchy::V2 {
                root: PathBuf::from("/sys/fs/cgroup")
            })
        );
    }

    #[test]
    fn none_without_cgroup_mounts() {
        assert_eq!(
            hierarchy_from_mountinfo("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"),
            None
        );
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn this_host_parses() {
        Hierarchy::detect().unwrap();
    }

    #[test]
    fn current_matches_detect_and_survives_the_env_round_trip() {
        let detected = Hierarchy::detect().unwrap();
        assert!(detected.still_mounted());
        assert_eq!(Hierarchy::current_with(None).unwrap(), detected);
        let value = detected.to_env_value();
        assert_eq!(Hierarchy::from_env_value(&value), Some(detected.clone()));
        assert_eq!(Hierarchy::current_with(Some(&value)).unwrap(), detected);
    }

    #[test]
    fn bogus_or_stale_values_are_not_trusted() {
        assert_eq!(Hierarchy::from_env_value("not json"), None);
        // /tmp is no cgroup filesystem: such a hierarchy fails the check.
        let fake = Hierarchy::V2 {
            root: PathBuf::from("/tmp"),
        };
        assert!(!fake.still_mounted());
        let fake_v1 = Hierarchy::V1 {
            mounts: vec![V1Mount {
                mountpoint: PathBuf::from("/proc"),
                controllers: vec!["memory".into()],
            }],
            unified: None,
        };
        assert!(!fake_v1.still_mounted());
        let detected = Hierarchy::detect().unwrap();
        let current = Hierarchy::current_with(Some(&fake.to_env_value())).unwrap();
        assert_eq!(current, detected);
    }
}
