//! The container's user mounts: `HostConfig.Binds`, `HostConfig.Mounts`,
//! `HostConfig.Tmpfs` and the image's anonymous volumes, parsed and checked like moby's
//! `volume/mounts` Linux parser and `daemon/volumes.go` registerMountPoints.
//!
//! Runs in berthd before the container exists. The only host change is creating missing
//! `-v` bind source directories (as Docker does); volume directories are created by the
//! engine from the returned plan.

use std::path::{Path, PathBuf};

use bollard_stubs::models::{
    ContainerConfig, HostConfig, Mount, MountBindOptionsPropagationEnum, MountTypeEnum,
};

use super::tmpfs::{tmpfs_data, tmpfs_mount};
use super::SpecError;

/// What kind of mount a [`PlannedMount`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// A host path bound into the container.
    Bind,
    /// A local volume: `<volumes_root>/<name>/_data` bound into the container.
    Volume,
    /// A fresh tmpfs.
    Tmpfs,
}

impl MountKind {
    /// Docker's name (`bind`, `volume`, `tmpfs`), as inspect shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        }
    }
}

/// The volume behind a [`MountKind::Volume`] mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedVolume {
    /// The volume name (64 hex for anonymous volumes).
    pub name: String,
    /// Created for this container only (removed by `rm -v`).
    pub anonymous: bool,
    /// Don't copy the image's content at the destination into a new, empty volume.
    pub no_copy: bool,
}

/// One user mount of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedMount {
    /// Bind, volume or tmpfs.
    pub kind: MountKind,
    /// Host path (`tmpfs` for tmpfs mounts).
    pub source: PathBuf,
    /// Absolute, cleaned path in the container.
    pub destination: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// OCI mount options (`rbind`, `ro`, `rprivate`; tmpfs data such as `size=64m`).
    pub options: Vec<String>,
    /// The mode string inspect shows (`ro,Z`, `z`, or empty).
    pub mode: String,
    /// Bind propagation inspect shows (`rprivate` …; empty for tmpfs).
    pub propagation: String,
    /// Set for volume mounts.
    pub volume: Option<PlannedVolume>,
}

pub(super) const PROPAGATIONS: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];
pub(super) const DEFAULT_PROPAGATION: &str = "rprivate";

/// Lexically clean an absolute path like Go's `filepath.Clean`.
pub(super) fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

fn valid_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Docker's `validateNotRoot` + `errNotAbsPath` checks on a destination.
fn destination_problem(dest: &str) -> Option<String> {
    if !dest.starts_with('/') {
        return Some(format!(
            "invalid mount path: '{dest}' mount path must be absolute"
        ));
    }
    if clean_path(dest) == "/" {
        return Some("invalid specification: destination can't be '/'".to_string());
    }
    None
}

/// The parsed mode part of a `-v` entry.
#[derive(Debug, Default)]
struct BindMode {
    read_only: bool,
    propagation: Option<String>,
    no_copy: bool,
}

/// Check a `-v` mode list: at most one each of rw|ro, z|Z, a propagation, nocopy, and a
/// consistency mode (moby's `linuxValidMountMode`).
fn parse_mode(mode: &str) -> Option<BindMode> {
    let mut out = BindMode::default();
    let (mut rw, mut label, mut copy, mut consistency) = (0, 0, 0, 0);
    for m in mode.split(',') {
        match m {
            "rw" => rw += 1,
            "ro" => {
                rw += 1;
                out.read_only = true;
            }
            "z" | "Z" => label += 1,
            "nocopy" => {
                copy += 1;
                out.no_copy = true;
            }
            "consistent" | "cached" | "delegated" => consistency += 1,
            p if PROPAGATIONS.contains(&p) => {
                if out.propagation.replace(p.to_string()).is_some() {
                    return None;
                }
            }
            _ => return None,
        }
    }
    (rw <= 1 && label <= 1 && copy <= 1 && consistency <= 1).then_some(out)
}

fn bind_options(read_only: bool, recursive: bool, propagation: &str) -> Vec<String> {
    let mut opts = vec![if recursive { "rbind" } else { "bind" }.to_string()];
    if read_only {
        opts.push("ro".to_string());
    }
    opts.push(propagation.to_string());
    opts
}

fn random_volume_name() -> Result<String, SpecError> {
    use std::io::Read;
    let mut buf = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(SpecError::RandomName)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn volume_mount(
    volumes_root: &Path,
    name: Option<&str>,
    destination: String,
    read_only: bool,
    no_copy: bool,
    mode: String,
) -> Result<PlannedMount, SpecError> {
    let (name, anonymous) = match name {
        Some(n) => (n.to_string(), false),
        None => (random_volume_name()?, true),
    };
    Ok(PlannedMount {
        kind: MountKind::Volume,
        source: volumes_root.join(&name).join("_data"),
        destination,
        read_only,
        options: bind_options(read_only, true, DEFAULT_PROPAGATION),
        mode,
        propagation: String::new(),
        volume: Some(PlannedVolume {
            name,
            anonymous,
            no_copy,
        }),
    })
}

/// Parse one `HostConfig.Binds` entry (`[src:]dst[:mode]`).
fn parse_bind(raw: &str, volumes_root: &Path) -> Result<PlannedMount, SpecError> {
    let invalid = || SpecError::InvalidVolumeSpec {
        spec: raw.to_string(),
    };
    if raw.matches(':').count() > 2 {
        return Err(invalid());
    }
    let arr: Vec<&str> = raw.splitn(3, ':').collect();
    if arr[0].is_empty() {
        return Err(invalid());
    }
    let (source, dest, mode) = match arr.as_slice() {
        [dest] => ("", *dest, None),
        [src, second] => {
            if parse_mode(second).is_some() {
                return Err(invalid());
            }
            (*src, *second, None)
        }
        [src, dest, mode] => (*src, *dest, Some(*mode)),
        _ => return Err(invalid()),
    };
    let parsed = match mode {
        Some(m) => parse_mode(m).ok_or_else(|| SpecError::InvalidMode {
            mode: m.to_string(),
        })?,
        None => BindMode::default(),
    };
    let is_bind = source.starts_with('/');
    let mount_type = if is_bind { "bind" } else { "volume" };
    if let Some(reason) = destination_problem(dest) {
        return Err(SpecError::InvalidBind {
            spec: raw.to_string(),
            mount_type,
            reason,
        });
    }
    let destination = clean_path(dest);
    let mode_text = mode.unwrap_or("").to_string();
    if !is_bind {
        if parsed.propagation.is_some() {
            return Err(SpecError::InvalidMode { mode: mode_text });
        }
        if !source.is_empty() && !valid_volume_name(source) {
            return Err(SpecError::InvalidVolumeName {
                name: source.to_string(),
            });
        }
        let name = (!source.is_empty()).then_some(source);
        return volume_mount(
            volumes_root,
            name,
            destination,
            parsed.read_only,
            parsed.no_copy,
            mode_text,
        );
    }
    if parsed.no_copy {
        return Err(SpecError::InvalidMode { mode: mode_text });
    }
    let source = PathBuf::from(clean_path(source));
    if !source.exists() {
        std::fs::create_dir_all(&source).map_err(|e| SpecError::CreateBindSource {
            path: source.clone(),
            source: e,
        })?;
    }
    let propagation = parsed
        .propagation
        .unwrap_or_else(|| DEFAULT_PROPAGATION.to_string());
    Ok(PlannedMount {
        kind: MountKind::Bind,
        source,
        destination,
        read_only: parsed.read_only,
        options: bind_options(parsed.read_only, true, &propagation),
        mode: mode_text,
        propagation,
        volume: None,
    })
}

/// Check and convert one `HostConfig.Mounts` entry (moby `validateMountConfigImpl`).
fn parse_api_mount(m: &Mount, volumes_root: &Path) -> Result<PlannedMount, SpecError> {
    let typ = m.typ.unwrap_or(MountTypeEnum::EMPTY);
    let err = |reason: String| SpecError::InvalidMountConfig {
        mount_type: typ.to_string(),
        reason,
    };
    let target = m.target.as_deref().unwrap_or("");
    if !matches!(
        typ,
        MountTypeEnum::BIND | MountTypeEnum::VOLUME | MountTypeEnum::TMPFS
    ) {
        return Err(err("mount type unknown".into()));
    }
    if target.is_empty() {
        return Err(err("field Target must not be empty".into()));
    }
    if let Some(reason) = destination_problem(target) {
        return Err(err(reason));
    }
    let destination = clean_path(target);
    let source = m.source.as_deref().unwrap_or("");
    let read_only = m.read_only.unwrap_or(false);
    let extra = |field: &str| err(format!("field {field} must not be specified"));
    match typ {
        MountTypeEnum::BIND => {
            if m.volume_options.is_some() {
                return Err(extra("VolumeOptions"));
            }
            if m.tmpfs_options.is_some() {
                return Err(extra("TmpfsOptions"));
            }
            if source.is_empty() {
                return Err(err("field Source must not be empty".into()));
            }
            if !source.starts_with('/') {
                return Err(err(format!(
                    "invalid mount path: '{source}' mount path must be absolute"
                )));
            }
            let opts = m.bind_options.as_ref();
            let src = PathBuf::from(clean_path(source));
            if !src.exists() {
                if opts.and_then(|o| o.create_mountpoint).unwrap_or(false) {
                    std::fs::create_dir_all(&src).map_err(|e| SpecError::CreateBindSource {
                        path: src.clone(),
                        source: e,
                    })?;
                } else {
                    return Err(err(format!(
                        "bind source path does not exist: {}",
                        src.display()
                    )));
                }
            }
            let propagation = match opts.and_then(|o| o.propagation) {
                None | Some(MountBindOptionsPropagationEnum::EMPTY) => {
                    DEFAULT_PROPAGATION.to_string()
                }
                Some(p) => p.to_string(),
            };
            let recursive = !opts.and_then(|o| o.non_recursive).unwrap_or(false);
            Ok(PlannedMount {
                kind: MountKind::Bind,
                source: src,
                destination,
                read_only,
                options: bind_options(read_only, recursive, &propagation),
                mode: String::new(),
                propagation,
                volume: None,
            })
        }
        MountTypeEnum::VOLUME => {
            if m.bind_options.is_some() {
                return Err(extra("BindOptions"));
            }
            if m.tmpfs_options.is_some() {
                return Err(extra("TmpfsOptions"));
            }
            if source.is_empty() && read_only {
                return Err(err(
                    "must not set ReadOnly mode when using anonymous volumes".into(),
                ));
            }
            if !source.is_empty() && !valid_volume_name(source) {
                return Err(SpecError::InvalidVolumeName {
                    name: source.to_string(),
                });
            }
            let no_copy = m
                .volume_options
                .as_ref()
                .and_then(|o| o.no_copy)
                .unwrap_or(false);
            let name = (!source.is_empty()).then_some(source);
            volume_mount(
                volumes_root,
                name,
                destination,
                read_only,
                no_copy,
                String::new(),
            )
        }
        _ => {
            if m.bind_options.is_some() {
                return Err(extra("BindOptions"));
            }
            if m.volume_options.is_some() {
                return Err(extra("VolumeOptions"));
            }
            if !source.is_empty() {
                return Err(extra("Source"));
            }
            tmpfs_mount(
                destination,
                &tmpfs_data(m.tmpfs_options.as_ref(), read_only),
            )
        }
    }
}

/// The plan as inspect's `Mounts` records (also what `rm -v` needs).
pub fn mount_points(planned: &[PlannedMount]) -> Vec<crate::container::MountPoint> {
    planned
        .iter()
        .map(|m| crate::container::MountPoint {
            typ: m.kind.as_str().to_string(),
            name: m.volume.as_ref().map(|v| v.name.clone()),
            source: match m.kind {
                MountKind::Tmpfs => String::new(),
                _ => m.source.display().to_string(),
            },
            destination: m.destination.clone(),
            mode: m.mode.clone(),
            rw: !m.read_only,
            propagation: m.propagation.clone(),
            anonymous: m.volume.as_ref().is_some_and(|v| v.anonymous),
        })
        .collect()
}

/// Plan the container's user mounts: `Binds`, then `Mounts`, then `Tmpfs`, then one
/// anonymous volume per image/config `Volumes` entry nothing else covers.
pub fn plan_mounts(
    config: &ContainerConfig,
    host: &HostConfig,
    volumes_root: &Path,
) -> Result<Vec<PlannedMount>, SpecError> {
    let mut out: Vec<PlannedMount> = Vec::new();
    let push = |m: PlannedMount, out: &mut Vec<PlannedMount>| {
        if out.iter().any(|o| o.destination == m.destination) {
            return Err(SpecError::DuplicateMountPoint {
                destination: m.destination,
            });
        }
        out.push(m);
        Ok(())
    };
    for raw in host.binds.as_deref().unwrap_or_default() {
        push(parse_bind(raw, volumes_root)?, &mut out)?;
    }
    for m in host.mounts.as_deref().unwrap_or_default() {
        push(parse_api_mount(m, volumes_root)?, &mut out)?;
    }
    if let Some(tmpfs) = &host.tmpfs {
        let mut entries: Vec<_> = tmpfs.iter().collect();
        entries.sort();
        for (dest, data) in entries {
            if let Some(reason) = destination_problem(dest) {
                return Err(SpecError::InvalidTmpfs {
                    destination: dest.clone(),
                    reason,
                });
            }
            let data: Vec<String> = data.split(',').map(|s| s.trim().to_string()).collect();
            push(tmpfs_mount(clean_path(dest), &data)?, &mut out)?;
        }
    }
    if let Some(volumes) = &config.volumes {
        let mut dests: Vec<String> = volumes.keys().map(|d| clean_path(d)).collect();
        dests.sort();
        dests.dedup();
        for dest in dests {
            if dest == "/" || out.iter().any(|m| m.destination == dest) {
                continue;
            }
            out.push(volume_mount(
                volumes_root,
                None,
                dest,
                false,
                false,
                String::new(),
            )?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard_stubs::models::{MountBindOptions, MountTmpfsOptions, MountVolumeOptions};
    use std::collections::HashMap;

    fn host_binds(binds: &[&str]) -> HostConfig {
        HostConfig {
            binds: Some(binds.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    fn plan(host: &HostConfig) -> Result<Vec<PlannedMount>, SpecError> {
        plan_mounts(&ContainerConfig::default(), host, Path::new("/vols"))
    }

    #[test]
    fn binds_named_and_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a");
        std::fs::create_dir(&src).unwrap();
        let missing = dir.path().join("new/deep");
        let b1 = format!("{}:/data:ro,Z", src.display());
        let b2 = format!("{}:/created/", missing.display());
        let out = plan(&host_binds(&[&b1, &b2, "myvol:/v:nocopy", "/anon"])).unwrap();
        assert_eq!(out[0].kind, MountKind::Bind);
        assert_eq!(out[0].destination, "/data");
        assert!(out[0].read_only);
        assert_eq!(out[0].options, vec!["rbind", "ro", "rprivate"]);
        assert_eq!(out[0].mode, "ro,Z");
        assert_eq!(out[1].destination, "/created");
        assert!(missing.is_dir(), "-v creates missing host dirs");
        assert_eq!(out[1].options, vec!["rbind", "rprivate"]);
        let v = out[2].volume.as_ref().unwrap();
        assert_eq!(v.name, "myvol");
        assert!(!v.anonymous && v.no_copy);
        assert_eq!(out[2].source, Path::new("/vols/myvol/_data"));
        let anon = out[3].volume.as_ref().unwrap();
        assert!(anon.anonymous);
        assert_eq!(anon.name.len(), 64);
        assert!(anon.name.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn bind_propagation() {
        let out = plan(&host_binds(&["/tmp:/t:rslave"])).unwrap();
        assert_eq!(out[0].options, vec!["rbind", "rslave"]);
        assert_eq!(out[0].propagation, "rslave");
    }

    #[test]
    fn bind_errors() {
        let msg = |b: &str| plan(&host_binds(&[b])).unwrap_err().to_string();
        assert_eq!(msg("/tmp:/t:bogus"), "invalid mode: bogus");
        assert_eq!(msg("/tmp:/t:ro,rw"), "invalid mode: ro,rw");
        assert_eq!(msg("a:b:c:d"), "invalid volume specification: 'a:b:c:d'");
        assert_eq!(msg(":/x"), "invalid volume specification: ':/x'");
        assert_eq!(msg("/x:ro"), "invalid volume specification: '/x:ro'");
        assert_eq!(
            msg("/tmp:rel"),
            "invalid volume specification: '/tmp:rel': invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"
        );
        assert_eq!(
            msg("/tmp:/"),
            "invalid volume specification: '/tmp:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
        );
        assert!(msg("bad$name:/x").starts_with("\"bad$name\" includes invalid characters"));
        assert!(plan(&host_binds(&["/tmp:/d"])).is_ok());
    }

    #[test]
    fn duplicate_destinations() {
        let err = plan(&host_binds(&["/tmp:/data", "vol:/data/"])).unwrap_err();
        assert_eq!(err.to_string(), "Duplicate mount point: /data");
        let mut host = host_binds(&["/tmp:/data"]);
        host.tmpfs = Some(HashMap::from([("/data".to_string(), String::new())]));
        assert_eq!(
            plan(&host).unwrap_err().to_string(),
            "Duplicate mount point: /data"
        );
    }

    #[test]
    fn api_mounts() {
        let host = HostConfig {
            mounts: Some(vec![
                Mount {
                    typ: Some(MountTypeEnum::BIND),
                    source: Some("/tmp".into()),
                    target: Some("/b".into()),
                    read_only: Some(true),
                    bind_options: Some(MountBindOptions {
                        propagation: Some(MountBindOptionsPropagationEnum::RSHARED),
                        non_recursive: Some(true),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                Mount {
                    typ: Some(MountTypeEnum::VOLUME),
                    source: Some("data".into()),
                    target: Some("/v".into()),
                    volume_options: Some(MountVolumeOptions {
                        no_copy: Some(true),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                Mount {
                    typ: Some(MountTypeEnum::TMPFS),
                    target: Some("/t".into()),
                    tmpfs_options: Some(MountTmpfsOptions {
                        size_bytes: Some(64 * 1024 * 1024),
                        mode: Some(0o1770),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        };
        let out = plan(&host).unwrap();
        assert_eq!(out[0].options, vec!["bind", "ro", "rshared"]);
        assert_eq!(out[1].volume.as_ref().unwrap().name, "data");
        assert!(out[1].volume.as_ref().unwrap().no_copy);
        assert_eq!(out[2].kind, MountKind::Tmpfs);
        assert_eq!(
            out[2].options,
            vec![
                "noexec",
                "nosuid",
                "nodev",
                "rprivate",
                "size=64m",
                "mode=1770"
            ]
        );
    }

    #[test]
    fn api_mount_errors() {
        let msg = |m: Mount| {
            plan(&HostConfig {
                mounts: Some(vec![m]),
                ..Default::default()
            })
            .unwrap_err()
            .to_string()
        };
        let bind = |src: &str, dst: &str| Mount {
            typ: Some(MountTypeEnum::BIND),
            source: Some(src.into()),
            target: Some(dst.into()),
            ..Default::default()
        };
        assert_eq!(
            msg(bind("/does/not/exist", "/x")),
            "invalid mount config for type \"bind\": bind source path does not exist: /does/not/exist"
        );
        assert_eq!(
            msg(bind("", "/x")),
            "invalid mount config for type \"bind\": field Source must not be empty"
        );
        assert_eq!(
            msg(bind("/tmp", "")),
            "invalid mount config for type \"bind\": field Target must not be empty"
        );
        assert_eq!(
            msg(bind("/tmp", "x")),
            "invalid mount config for type \"bind\": invalid mount path: 'x' mount path must be absolute"
        );
        assert_eq!(
            msg(bind("/tmp", "/")),
            "invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
        );
        assert_eq!(
            msg(Mount {
                typ: Some(MountTypeEnum::TMPFS),
                source: Some("x".into()),
                target: Some("/t".into()),
                ..Default::default()
            }),
            "invalid mount config for type \"tmpfs\": field Source must not be specified"
        );
        assert_eq!(
            msg(Mount {
                typ: Some(MountTypeEnum::NPIPE),
                target: Some("/t".into()),
                ..Default::default()
            }),
            "invalid mount config for type \"npipe\": mount type unknown"
        );
        let err = plan(&HostConfig {
            mounts: Some(vec![bind("/nope", "/x")]),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.is_invalid_parameter());
    }

    #[test]
    fn tmpfs_map_merges_options() {
        let host = HostConfig {
            tmpfs: Some(HashMap::from([
                ("/run".to_string(), "size=64m,mode=1777,exec".to_string()),
                ("/x".to_string(), String::new()),
            ])),
            ..Default::default()
        };
        let out = plan(&host).unwrap();
        assert_eq!(out[0].destination, "/run");
        assert_eq!(
            out[0].options,
            vec![
                "nosuid",
                "nodev",
                "rprivate",
                "size=64m",
                "mode=1777",
                "exec"
            ]
        );
        assert_eq!(
            out[1].options,
            vec!["noexec", "nosuid", "nodev", "rprivate"]
        );
        let bad = HostConfig {
            tmpfs: Some(HashMap::from([("/r".to_string(), "size=abc".to_string())])),
            ..Default::default()
        };
        assert!(plan(&bad).is_err());
    }

    #[test]
    fn image_volumes_become_anonymous_unless_covered() {
        let config = ContainerConfig {
            volumes: Some(HashMap::from([
                ("/data".to_string(), HashMap::new()),
                ("/logs/".to_string(), HashMap::new()),
            ])),
            ..Default::default()
        };
        let out = plan_mounts(&config, &host_binds(&["/tmp:/data"]), Path::new("/v")).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].kind, MountKind::Bind);
        assert_eq!(out[1].destination, "/logs");
        assert!(out[1].volume.as_ref().unwrap().anonymous);
    }

    #[test]
    fn clean_paths() {
        assert_eq!(clean_path("/a//b/./c/../d/"), "/a/b/d");
        assert_eq!(clean_path("/.."), "/");
    }
}
