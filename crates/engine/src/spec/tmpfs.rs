//! tmpfs mounts: `HostConfig.Tmpfs` data strings and `Mounts` `TmpfsOptions`, merged over
//! Docker's `noexec,nosuid,nodev` defaults (moby `volume/mounts` ConvertTmpfsOptions,
//! `daemon/oci_linux.go` withMounts, `mount.MergeTmpfsOptions`).

use std::path::PathBuf;

use bollard_stubs::models::MountTmpfsOptions;

use super::mounts::{MountKind, PlannedMount, DEFAULT_PROPAGATION, PROPAGATIONS};
use super::SpecError;

/// `SizeBytes` → `size=` with Docker's k/m/g suffixes (moby `ConvertTmpfsOptions`).
fn tmpfs_size(bytes: i64) -> String {
    let (mut n, mut suffix) = (bytes, "");
    for s in ["k", "m", "g"] {
        if n % 1024 != 0 || n == 0 {
            break;
        }
        n /= 1024;
        suffix = s;
    }
    format!("size={n}{suffix}")
}

pub(super) fn tmpfs_data(opts: Option<&MountTmpfsOptions>, read_only: bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(o) = opts {
        if let Some(size) = o.size_bytes.filter(|s| *s > 0) {
            out.push(tmpfs_size(size));
        }
        if let Some(mode) = o.mode.filter(|m| *m != 0) {
            out.push(format!("mode={mode:o}"));
        }
        for kv in o.options.as_deref().unwrap_or_default() {
            match kv.as_slice() {
                [k] => out.push(k.clone()),
                [k, v] => out.push(format!("{k}={v}")),
                _ => {}
            }
        }
    }
    if read_only {
        out.push("ro".to_string());
    }
    out
}

/// The flag family an option belongs to, so a later `exec` overrides `noexec`.
fn option_key(opt: &str) -> String {
    if let Some((k, _)) = opt.split_once('=') {
        return k.to_string();
    }
    match opt {
        "exec" | "noexec" => "exec".into(),
        "suid" | "nosuid" => "suid".into(),
        "dev" | "nodev" => "dev".into(),
        "ro" | "rw" => "rw".into(),
        "atime" | "noatime" | "relatime" | "norelatime" | "strictatime" | "nostrictatime" => {
            "atime".into()
        }
        p if PROPAGATIONS.contains(&p) => "propagation".into(),
        other => other.to_string(),
    }
}

/// Docker's tmpfs options: `noexec,nosuid,nodev,rprivate` then the user's, later ones
/// winning per flag family (moby `mount.MergeTmpfsOptions`).
fn tmpfs_options(destination: &str, data: &[String]) -> Result<Vec<String>, SpecError> {
    let bad = |reason: String| SpecError::InvalidTmpfs {
        destination: destination.to_string(),
        reason,
    };
    for opt in data {
        if let Some(v) = opt.strip_prefix("size=") {
            let digits = v.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G', '%']);
            if digits.is_empty() || digits.parse::<u64>().is_err() {
                return Err(bad(format!("invalid size: {v:?}")));
            }
        } else if let Some(v) = opt.strip_prefix("mode=") {
            if u32::from_str_radix(v, 8).is_err() {
                return Err(bad(format!("invalid mode: {v:?}")));
            }
        }
    }
    let all: Vec<String> = ["noexec", "nosuid", "nodev", DEFAULT_PROPAGATION]
        .iter()
        .map(|s| s.to_string())
        .chain(data.iter().filter(|s| !s.is_empty()).cloned())
        .collect();
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for opt in all.iter().rev() {
        let key = option_key(opt);
        if !seen.contains(&key) {
            seen.push(key);
            out.push(opt.clone());
        }
    }
    out.reverse();
    Ok(out)
}

pub(super) fn tmpfs_mount(destination: String, data: &[String]) -> Result<PlannedMount, SpecError> {
    let options = tmpfs_options(&destination, data)?;
    Ok(PlannedMount {
        kind: MountKind::Tmpfs,
        source: PathBuf::from("tmpfs"),
        read_only: options.iter().any(|o| o == "ro"),
        destination,
        options,
        mode: String::new(),
        propagation: String::new(),
        volume: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_dockers_suffixes() {
        assert_eq!(tmpfs_size(1000), "size=1000");
        assert_eq!(tmpfs_size(2048), "size=2k");
        assert_eq!(tmpfs_size(3 << 30), "size=3g");
    }

    #[test]
    fn later_options_win_per_family() {
        let data = vec![
            "exec".to_string(),
            "ro".to_string(),
            "size=1k".to_string(),
            "size=2k".to_string(),
        ];
        assert_eq!(
            tmpfs_options("/t", &data).unwrap(),
            vec!["nosuid", "nodev", "rprivate", "exec", "ro", "size=2k"]
        );
        assert!(tmpfs_options("/t", &["mode=99".to_string()]).is_err());
    }
}
