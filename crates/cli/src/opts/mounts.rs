//! `-v/--volume`, `--mount` and `--tmpfs` parsing into `HostConfig.Binds`, `Mounts`,
//! `Tmpfs` and `Config.Volumes`, following docker/cli `opts/mount.go` and the Linux
//! volume spec parser.
//!
//! Runs in the CLI process; pure apart from resolving relative bind sources against the
//! current directory.

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use crate::format::units::ram_in_bytes;

/// What a `-v` spec turned into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSpec {
    /// `src:dst[:mode]`, passed as a `Binds` string (src may be a volume name).
    Bind(String),
    /// `dst` alone: an anonymous volume in `Config.Volumes`.
    Anonymous(String),
}

const MODES: [&str; 13] = [
    "ro",
    "rw",
    "z",
    "Z",
    "nocopy",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "consistent",
    "cached",
];

/// Parses one `-v` value.
pub fn parse_volume(spec: &str) -> Result<VolumeSpec> {
    let invalid = || anyhow::anyhow!("invalid volume specification: '{spec}'");
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.as_slice() {
        [dst] if dst.starts_with('/') => Ok(VolumeSpec::Anonymous((*dst).to_string())),
        [_] | [] => Err(invalid()),
        [src, dst, rest @ ..] if rest.len() <= 1 => {
            if src.is_empty() || !dst.starts_with('/') {
                return Err(invalid());
            }
            if let Some(mode) = rest.first() {
                if mode
                    .split(',')
                    .any(|m| !MODES.contains(&m) && m != "delegated")
                {
                    bail!("invalid mode: {mode}");
                }
            }
            let src = if src.starts_with('.') {
                std::env::current_dir()?
                    .join(src)
                    .to_string_lossy()
                    .into_owned()
            } else {
                (*src).to_string()
            };
            let mut s = format!("{src}:{dst}");
            if let Some(mode) = rest.first() {
                s.push(':');
                s.push_str(mode);
            }
            Ok(VolumeSpec::Bind(s))
        }
        _ => Err(invalid()),
    }
}

fn parse_bool(key: &str, v: Option<&str>) -> Result<bool> {
    match v.map(str::to_ascii_lowercase).as_deref() {
        None | Some("1") | Some("true") => Ok(true),
        Some("0") | Some("false") => Ok(false),
        Some(o) => bail!("invalid value for {key}: {o}"),
    }
}

/// Parses one `--mount` value into a `HostConfig.Mounts` entry.
pub fn parse_mount(spec: &str) -> Result<Value> {
    let mut kind = "volume".to_string();
    let (mut source, mut target) = (None::<String>, None::<String>);
    let mut read_only = false;
    let mut bind = Map::new();
    let mut volume = Map::new();
    let mut vol_opts = Map::new();
    let mut labels = Map::new();
    let mut tmpfs = Map::new();
    let mut consistency = None;
    for field in spec.split(',') {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let need = || -> Result<&str> {
            val.ok_or_else(|| anyhow::anyhow!("invalid field '{field}' must be a key=value pair"))
        };
        match key.as_str() {
            "readonly" | "ro" => read_only = parse_bool(&key, val)?,
            "volume-nocopy" => {
                volume.insert("NoCopy".into(), json!(parse_bool(&key, val)?));
            }
            "bind-nonrecursive" => {
                bind.insert("NonRecursive".into(), json!(parse_bool(&key, val)?));
            }
            "type" => kind = need()?.to_ascii_lowercase(),
            "source" | "src" => source = Some(need()?.to_string()),
            "target" | "dst" | "destination" => target = Some(need()?.to_string()),
            "bind-propagation" => {
                bind.insert("Propagation".into(), json!(need()?.to_ascii_lowercase()));
            }
            "consistency" => consistency = Some(need()?.to_string()),
            "volume-driver" => {
                volume.insert("DriverConfig".into(), json!({"Name": need()?}));
            }
            "volume-label" => {
                let (k, v) = need()?.split_once('=').unwrap_or((need()?, ""));
                labels.insert(k.into(), json!(v));
            }
            "volume-opt" => {
                let (k, v) = need()?.split_once('=').unwrap_or((need()?, ""));
                vol_opts.insert(k.into(), json!(v));
            }
            "tmpfs-size" => {
                tmpfs.insert("SizeBytes".into(), json!(ram_in_bytes(need()?)?));
            }
            "tmpfs-mode" => {
                let m = u32::from_str_radix(need()?, 8).map_err(|_| {
                    anyhow::anyhow!("invalid value for {key}: {}", need().unwrap_or(""))
                })?;
                tmpfs.insert("Mode".into(), json!(m));
            }
            _ => bail!("unexpected key '{key}' in '{field}'"),
        }
    }
    if !matches!(
        kind.as_str(),
        "bind" | "volume" | "tmpfs" | "npipe" | "cluster" | "image"
    ) {
        bail!("invalid mount type {kind:?}");
    }
    let Some(target) = target else {
        bail!("target is required");
    };
    if kind == "bind" && source.is_none() {
        bail!("source is required when specifying bind mounts");
    }
    let mut m = Map::new();
    m.insert("Type".into(), json!(kind));
    if let Some(s) = source {
        m.insert("Source".into(), json!(s));
    }
    m.insert("Target".into(), json!(target));
    if read_only {
        m.insert("ReadOnly".into(), json!(true));
    }
    if let Some(c) = consistency {
        m.insert("Consistency".into(), json!(c));
    }
    if !labels.is_empty() {
        volume.insert("Labels".into(), Value::Object(labels));
    }
    if !vol_opts.is_empty() {
        let driver = volume
            .entry("DriverConfig")
            .or_insert_with(|| json!({"Name": ""}));
        driver["Options"] = Value::Object(vol_opts);
    }
    match kind.as_str() {
        "bind" if !bind.is_empty() => {
            m.insert("BindOptions".into(), Value::Object(bind));
        }
        "volume" if !volume.is_empty() => {
            m.insert("VolumeOptions".into(), Value::Object(volume));
        }
        "tmpfs" if !tmpfs.is_empty() => {
            m.insert("TmpfsOptions".into(), Value::Object(tmpfs));
        }
        _ => {}
    }
    Ok(Value::Object(m))
}

/// Parses `--tmpfs /path[:opts]` into a `(path, opts)` pair.
pub fn parse_tmpfs(spec: &str) -> Result<(String, String)> {
    let (path, opts) = spec.split_once(':').unwrap_or((spec, ""));
    if !path.starts_with('/') {
        bail!("invalid mount path for tmpfs: {path}");
    }
    Ok((path.to_string(), opts.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes() {
        assert_eq!(
            parse_volume("/host:/ctr:ro").unwrap(),
            VolumeSpec::Bind("/host:/ctr:ro".into())
        );
        assert_eq!(
            parse_volume("data:/ctr").unwrap(),
            VolumeSpec::Bind("data:/ctr".into())
        );
        assert_eq!(
            parse_volume("/ctr").unwrap(),
            VolumeSpec::Anonymous("/ctr".into())
        );
        assert_eq!(
            parse_volume("ctr").unwrap_err().to_string(),
            "invalid volume specification: 'ctr'"
        );
        assert!(parse_volume("/a:rel").is_err());
        assert!(parse_volume("/a:/b:bogus").is_err());
        assert!(parse_volume("/a:/b:ro:x").is_err());
        match parse_volume("./x:/y").unwrap() {
            VolumeSpec::Bind(s) => assert!(s.starts_with('/') && s.ends_with("/./x:/y")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mounts() {
        let m = parse_mount("type=bind,source=/a,target=/b,readonly").unwrap();
        assert_eq!(
            m,
            json!({"Type":"bind","Source":"/a","Target":"/b","ReadOnly":true})
        );
        let m = parse_mount("type=bind,src=/a,dst=/b,bind-propagation=rshared").unwrap();
        assert_eq!(m["BindOptions"]["Propagation"], "rshared");
        let m = parse_mount("type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770").unwrap();
        assert_eq!(
            m["TmpfsOptions"],
            json!({"SizeBytes": 64 << 20, "Mode": 0o1770})
        );
        let m = parse_mount("source=v,target=/d,volume-opt=type=nfs").unwrap();
        assert_eq!(m["Type"], "volume");
        assert_eq!(m["VolumeOptions"]["DriverConfig"]["Options"]["type"], "nfs");
        assert_eq!(
            parse_mount("type=bind,source=/a").unwrap_err().to_string(),
            "target is required"
        );
        assert!(parse_mount("type=bind,target=/a").is_err());
        assert!(parse_mount("type=foo,target=/a").is_err());
        assert!(parse_mount("target=/a,bogus=1").is_err());
        assert!(parse_mount("target").is_err());
    }

    #[test]
    fn tmpfs() {
        assert_eq!(
            parse_tmpfs("/run:rw,size=64m").unwrap(),
            ("/run".into(), "rw,size=64m".into())
        );
        assert!(parse_tmpfs("run").is_err());
    }
}
