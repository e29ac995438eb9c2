//! Resolving `Config.User` and `HostConfig.GroupAdd` against the container's own
//! /etc/passwd and /etc/group, as runc's `libcontainer/user` GetExecUser and
//! GetAdditionalGroups do for moby's `getUser`.
//!
//! Runs in berthd against the mounted rootfs before the container starts. Paths are
//! resolved with [`secure_join`] (symlinks are followed inside the rootfs only) and the
//! final open uses `O_NOFOLLOW`; a missing file counts as empty, like runc.

use std::collections::VecDeque;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use super::SpecError;

/// Largest id runc accepts (`user.maxID`).
const MAX_ID: i64 = (1 << 31) - 1;
/// Symlinks followed before giving up (as filepath-securejoin).
const MAX_SYMLINKS: u32 = 255;

/// The process identity a `User` string resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    /// Uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
    /// Supplementary groups (from /etc/group membership, then `GroupAdd`).
    pub additional_gids: Vec<u32>,
    /// Home directory from /etc/passwd (`/` when unknown).
    pub home: String,
}

/// Join `unsafe_path` onto `root`, resolving every symlink as if `root` were `/`, so the
/// result never leaves `root` (a lexical version of filepath-securejoin's `SecureJoin`).
pub fn secure_join(root: &Path, unsafe_path: &str) -> PathBuf {
    let mut pending: VecDeque<String> = unsafe_path.split('/').map(str::to_string).collect();
    let mut resolved = PathBuf::new();
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let candidate = resolved.join(&part);
        let full = root.join(&candidate);
        let is_link = std::fs::symlink_metadata(&full).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            resolved = candidate;
            continue;
        }
        links += 1;
        if links > MAX_SYMLINKS {
            return root.join(candidate);
        }
        let Ok(target) = std::fs::read_link(&full) else {
            resolved = candidate;
            continue;
        };
        if target.is_absolute() {
            resolved = PathBuf::new();
        }
        let parts: Vec<String> = target
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                Component::ParentDir => Some("..".to_string()),
                _ => None,
            })
            .collect();
        for p in parts.into_iter().rev() {
            pending.push_front(p);
        }
    }
    root.join(resolved)
}

/// Read a file inside the rootfs; a missing file reads as empty.
fn read_in_rootfs(rootfs: &Path, path: &str) -> Result<String, SpecError> {
    let full = secure_join(rootfs, path);
    let err = |source| SpecError::ReadRootfsFile {
        path: PathBuf::from(path),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&full);
    match file {
        Ok(mut f) => {
            let mut text = String::new();
            f.read_to_string(&mut text).map_err(err)?;
            Ok(text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(err(e)),
    }
}

struct PasswdEntry {
    name: String,
    uid: i64,
    gid: i64,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: i64,
    members: Vec<String>,
}

fn entries(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').collect())
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    entries(text)
        .filter_map(|f| {
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
                home: f.get(5).map_or(String::new(), |s| s.to_string()),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    entries(text)
        .filter_map(|f| {
            Some(GroupEntry {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn numeric_id(s: &str, spec: &str) -> Result<Option<u32>, SpecError> {
    match s.parse::<i64>() {
        Ok(n) if (0..=MAX_ID).contains(&n) => Ok(Some(n as u32)),
        Ok(_) => Err(SpecError::IdRange {
            spec: spec.to_string(),
        }),
        Err(_) => Ok(None),
    }
}

/// Resolve `user` (`name`, `uid`, `name:group`, `uid:gid`, empty = root) and `group_add`
/// against the rootfs' /etc/passwd and /etc/group.
pub fn lookup_user(
    rootfs: &Path,
    user: &str,
    group_add: &[String],
) -> Result<ResolvedUser, SpecError> {
    let passwd = parse_passwd(&read_in_rootfs(rootfs, "/etc/passwd")?);
    let groups = parse_group(&read_in_rootfs(rootfs, "/etc/group")?);
    let (user_arg, group_arg) = user.split_once(':').unwrap_or((user, ""));
    let user_arg = if user_arg.is_empty() { "0" } else { user_arg };
    let uid_num = numeric_id(user_arg, user)?;

    let mut out = ResolvedUser {
        uid: 0,
        gid: 0,
        additional_gids: Vec::new(),
        home: "/".to_string(),
    };
    let matched = passwd
        .iter()
        .find(|e| e.name == user_arg || uid_num.is_some_and(|n| i64::from(n) == e.uid));
    match (matched, uid_num) {
        (Some(e), _) => {
            out.uid = u32::try_from(e.uid).map_err(|_| SpecError::IdRange {
                spec: user.to_string(),
            })?;
            out.gid = u32::try_from(e.gid).map_err(|_| SpecError::IdRange {
                spec: user.to_string(),
            })?;
            if !e.home.is_empty() {
                out.home.clone_from(&e.home);
            }
        }
        (None, Some(n)) => out.uid = n,
        (None, None) => {
            return Err(SpecError::UnknownUser {
                name: user_arg.to_string(),
            })
        }
    }

    if !group_arg.is_empty() {
        let found = groups
            .iter()
            .find(|g| g.name == group_arg || g.gid.to_string() == group_arg);
        out.gid = match found {
            Some(g) => u32::try_from(g.gid).map_err(|_| SpecError::IdRange {
                spec: user.to_string(),
            })?,
            None => numeric_id(group_arg, user)?.ok_or_else(|| SpecError::UnknownGroup {
                name: group_arg.to_string(),
            })?,
        };
    } else if let Some(e) = matched {
        out.additional_gids = groups
            .iter()
            .filter(|g| g.members.contains(&e.name))
            .filter_map(|g| u32::try_from(g.gid).ok())
            .collect();
    }

    let mut added: Vec<u32> = Vec::new();
    for ag in group_add {
        let gid = match groups
            .iter()
            .find(|g| g.name == *ag || g.gid.to_string() == *ag)
        {
            Some(g) => u32::try_from(g.gid).ok(),
            None => numeric_id(ag, ag)?,
        }
        .ok_or_else(|| SpecError::UnknownAdditionalGroup { name: ag.clone() })?;
        if !added.contains(&gid) {
            added.push(gid);
        }
    }
    out.additional_gids.extend(added);
    Ok(out)
}

/// [`lookup_user`] as the spec's `process.user`.
pub fn resolve_user(
    rootfs: &Path,
    user: &str,
    group_add: &[String],
) -> Result<oci_spec::runtime::User, SpecError> {
    let r = lookup_user(rootfs, user, group_add)?;
    let mut u = oci_spec::runtime::User::default();
    u.set_uid(r.uid);
    u.set_gid(r.gid);
    u.set_additional_gids((!r.additional_gids.is_empty()).then_some(r.additional_gids));
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        std::fs::create_dir(&etc).unwrap();
        std::fs::write(
            etc.join("passwd"),
            "root:x:0:0:root:/root:/bin/sh\n# comment\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            etc.join("group"),
            "root:x:0:\nwheel:x:10:root,alice\nalice:x:1000:\naudio:x:29:alice\nnogroup:x:65534:\n",
        )
        .unwrap();
        dir
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn names_and_numbers() {
        let r = rootfs();
        let u = lookup_user(r.path(), "", &[]).unwrap();
        assert_eq!((u.uid, u.gid, u.additional_gids.clone()), (0, 0, vec![10]));
        assert_eq!(u.home, "/root");
        let u = lookup_user(r.path(), "nobody", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (65534, 65534));
        assert!(u.additional_gids.is_empty());
        let u = lookup_user(r.path(), "alice", &[]).unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids),
            (1000, 1000, vec![10, 29])
        );
        let u = lookup_user(r.path(), "1000", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1000));
        let u = lookup_user(r.path(), "4242:4343", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (4242, 4343));
        assert_eq!(u.home, "/");
        let u = lookup_user(r.path(), "alice:audio", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 29));
        assert!(u.additional_gids.is_empty(), "explicit group: no sgids");
    }

    #[test]
    fn group_add() {
        let r = rootfs();
        let u = lookup_user(r.path(), "nobody", &s(&["audio", "4000", "audio"])).unwrap();
        assert_eq!(u.additional_gids, vec![29, 4000]);
        let err = lookup_user(r.path(), "nobody", &s(&["nosuch"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unable to find group nosuch: no matching entries in group file"
        );
    }

    #[test]
    fn unknown_names() {
        let r = rootfs();
        assert_eq!(
            lookup_user(r.path(), "bob", &[]).unwrap_err().to_string(),
            "unable to find user bob: no matching entries in passwd file"
        );
        assert_eq!(
            lookup_user(r.path(), "alice:staff", &[])
                .unwrap_err()
                .to_string(),
            "unable to find group staff: no matching entries in group file"
        );
        assert!(matches!(
            lookup_user(r.path(), "4294967296", &[]),
            Err(SpecError::IdRange { .. })
        ));
    }

    #[test]
    fn missing_files_mean_numeric_only() {
        let dir = tempfile::tempdir().unwrap();
        let u = lookup_user(dir.path(), "123:456", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (123, 456));
        assert!(lookup_user(dir.path(), "nobody", &[]).is_err());
    }

    #[test]
    fn symlinks_stay_inside_the_rootfs() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("passwd"), "evil:x:7:7::/:/bin/sh\n").unwrap();
        let r = tempfile::tempdir().unwrap();
        std::fs::create_dir(r.path().join("real")).unwrap();
        std::fs::write(r.path().join("real/passwd"), "good:x:8:8::/:/bin/sh\n").unwrap();
        // /etc -> <outside> as an absolute link must resolve to <rootfs>/<outside>.
        std::os::unix::fs::symlink(outside.path(), r.path().join("etc")).unwrap();
        assert!(lookup_user(r.path(), "evil", &[]).is_err());
        std::fs::remove_file(r.path().join("etc")).unwrap();
        // ../../.. climbs stop at the root; a relative link inside works.
        std::os::unix::fs::symlink("../../../../real", r.path().join("etc")).unwrap();
        let u = lookup_user(r.path(), "good", &[]).unwrap();
        assert_eq!(u.uid, 8);
        assert_eq!(
            secure_join(r.path(), "/etc/passwd"),
            r.path().join("real/passwd")
        );
    }
}
