//! Turning an OCI mount's `options` into mount(2) flags, propagation and fs data.
//!
//! Pure code, run in the container init. Options the kernel flags do not cover become
//! the comma-separated data string (e.g. `mode=755,size=65536k`), as mount(8) does.

use nix::mount::MsFlags;

/// A mount's options, split the way mount(2) wants them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOpts {
    /// Flags for the mount call itself.
    pub flags: MsFlags,
    /// Propagation flags applied in a second call (MS_PRIVATE, MS_SHARED, ... | MS_REC).
    pub propagation: MsFlags,
    /// Filesystem-specific data.
    pub data: String,
    /// A bind mount (`bind`, `rbind` or type `bind`).
    pub bind: bool,
}

impl Default for MountOpts {
    fn default() -> Self {
        Self {
            flags: MsFlags::empty(),
            propagation: MsFlags::empty(),
            data: String::new(),
            bind: false,
        }
    }
}

/// Split `options` into flags, propagation and data.
pub fn parse(options: &[String], typ: Option<&str>) -> MountOpts {
    let mut o = MountOpts {
        bind: typ == Some("bind"),
        ..MountOpts::default()
    };
    let mut data = Vec::new();
    for opt in options {
        let (set, clear) = match opt.as_str() {
            "defaults" | "tmpcopyup" => (MsFlags::empty(), MsFlags::empty()),
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "sync" => (MsFlags::MS_SYNCHRONOUS, MsFlags::empty()),
            "async" => (MsFlags::empty(), MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (MsFlags::MS_DIRSYNC, MsFlags::empty()),
            "remount" => (MsFlags::MS_REMOUNT, MsFlags::empty()),
            "mand" => (MsFlags::MS_MANDLOCK, MsFlags::empty()),
            "nomand" => (MsFlags::empty(), MsFlags::MS_MANDLOCK),
            "atime" => (MsFlags::empty(), MsFlags::MS_NOATIME),
            "noatime" => (MsFlags::MS_NOATIME, MsFlags::empty()),
            "diratime" => (MsFlags::empty(), MsFlags::MS_NODIRATIME),
            "nodiratime" => (MsFlags::MS_NODIRATIME, MsFlags::empty()),
            "relatime" => (MsFlags::MS_RELATIME, MsFlags::empty()),
            "norelatime" => (MsFlags::empty(), MsFlags::MS_RELATIME),
            "strictatime" => (MsFlags::MS_STRICTATIME, MsFlags::empty()),
            "nostrictatime" => (MsFlags::empty(), MsFlags::MS_STRICTATIME),
            "bind" => {
                o.bind = true;
                (MsFlags::empty(), MsFlags::empty())
            }
            "rbind" => {
                o.bind = true;
                (MsFlags::MS_REC, MsFlags::empty())
            }
            "private" => prop(&mut o, MsFlags::MS_PRIVATE),
            "rprivate" => prop(&mut o, MsFlags::MS_PRIVATE | MsFlags::MS_REC),
            "shared" => prop(&mut o, MsFlags::MS_SHARED),
            "rshared" => prop(&mut o, MsFlags::MS_SHARED | MsFlags::MS_REC),
            "slave" => prop(&mut o, MsFlags::MS_SLAVE),
            "rslave" => prop(&mut o, MsFlags::MS_SLAVE | MsFlags::MS_REC),
            "unbindable" => prop(&mut o, MsFlags::MS_UNBINDABLE),
            "runbindable" => prop(&mut o, MsFlags::MS_UNBINDABLE | MsFlags::MS_REC),
            other => {
                data.push(other);
                (MsFlags::empty(), MsFlags::empty())
            }
        };
        o.flags = (o.flags | set) & !clear;
    }
    o.data = data.join(",");
    o
}

fn prop(o: &mut MountOpts, p: MsFlags) -> (MsFlags, MsFlags) {
    o.propagation = p;
    (MsFlags::empty(), MsFlags::empty())
}

/// Propagation flags for `linux.rootfsPropagation` (default: rslave, as runc).
pub fn rootfs_propagation(value: Option<&str>) -> Result<MsFlags, String> {
    Ok(match value.unwrap_or("") {
        "" | "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        other => {
            return Err(format!(
                "linux.rootfsPropagation: unknown propagation {other:?}"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn tmpfs_dev() {
        let o = parse(
            &v(&["nosuid", "strictatime", "mode=755", "size=65536k"]),
            Some("tmpfs"),
        );
        assert_eq!(o.flags, MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME);
        assert_eq!(o.data, "mode=755,size=65536k");
        assert!(!o.bind);
    }

    #[test]
    fn rbind_ro_private() {
        let o = parse(&v(&["rbind", "ro", "rprivate"]), None);
        assert!(o.bind);
        assert_eq!(o.flags, MsFlags::MS_REC | MsFlags::MS_RDONLY);
        assert_eq!(o.propagation, MsFlags::MS_PRIVATE | MsFlags::MS_REC);
    }

    #[test]
    fn later_options_win() {
        assert_eq!(parse(&v(&["ro", "rw"]), None).flags, MsFlags::empty());
    }
}
