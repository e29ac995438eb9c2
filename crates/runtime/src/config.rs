//! Loading and validating a bundle's config.json before anything on the system changes.
//!
//! Runs in the runtime process. Every error names the offending field and value, so
//! `create` fails before it has created a process, mount, cgroup or state directory.

use std::path::PathBuf;

/// A config.json that cannot be used; each variant names the field and the value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// config.json could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// config.json is not valid JSON for the OCI schema.
    #[error("parse {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// serde's message, which names the field and line.
        message: String,
    },
    /// A field holds a value the runtime cannot use.
    #[error("config.json: {field}: {message}: {value}")]
    Invalid {
        /// JSON path of the field, e.g. `linux.namespaces[2].type`.
        field: String,
        /// The offending value.
        value: String,
        /// Why it is invalid.
        message: &'static str,
    },
}

use std::collections::HashSet;
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde_json::Value;

/// A loaded, validated bundle configuration.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Absolute bundle directory.
    pub dir: PathBuf,
    /// Absolute rootfs path (root.path resolved against the bundle).
    pub rootfs: PathBuf,
    /// The parsed config.json.
    pub spec: Spec,
}

fn invalid(
    field: impl Into<String>,
    value: impl std::fmt::Display,
    message: &'static str,
) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        value: value.to_string(),
        message,
    }
}

/// Read, check and parse `<bundle>/config.json`.
pub fn load(bundle: &Path) -> Result<Bundle, ConfigError> {
    let dir = std::path::absolute(bundle).map_err(|source| ConfigError::Read {
        path: bundle.into(),
        source,
    })?;
    let path = dir.join("config.json");
    let data = std::fs::read(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let raw: Value = serde_json::from_slice(&data).map_err(|e| ConfigError::Parse {
        path: path.clone(),
        message: e.to_string(),
    })?;
    check_raw(&raw)?;
    let spec: Spec = serde_json::from_value(raw).map_err(|e| ConfigError::Parse {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| invalid("root", "null", "missing"))?;
    let rootfs = dir.join(root.path());
    if !rootfs.is_dir() {
        return Err(invalid(
            "root.path",
            rootfs.display(),
            "rootfs directory does not exist",
        ));
    }
    check_typed(&spec, &dir)?;
    Ok(Bundle { dir, rootfs, spec })
}

const NAMESPACE_TYPES: &[&str] = &[
    "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time",
];
const SECCOMP_ACTIONS: &[&str] = &[
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];

/// Checks on the raw JSON, so the message can name the exact field and value where the
/// typed parse would only say "unknown variant".
fn check_raw(raw: &Value) -> Result<(), ConfigError> {
    let each = |ptr: &str| -> Vec<(usize, &Value)> {
        raw.pointer(ptr)
            .and_then(Value::as_array)
            .map(|a| a.iter().enumerate().collect())
            .unwrap_or_default()
    };
    for (i, ns) in each("/linux/namespaces") {
        let t = ns.get("type").and_then(Value::as_str).unwrap_or("");
        if !NAMESPACE_TYPES.contains(&t) {
            return Err(invalid(
                format!("linux.namespaces[{i}].type"),
                format!("{t:?}"),
                "unknown namespace type",
            ));
        }
    }
    for set in [
        "bounding",
        "effective",
        "inheritable",
        "permitted",
        "ambient",
    ] {
        for (i, c) in each(&format!("/process/capabilities/{set}")) {
            let name = c.as_str().unwrap_or("");
            if name.parse::<caps::Capability>().is_err() {
                return Err(invalid(
                    format!("process.capabilities.{set}[{i}]"),
                    format!("{name:?}"),
                    "unknown capability",
                ));
            }
        }
    }
    if let Some(a) = raw.pointer("/linux/seccomp/defaultAction") {
        let a = a.as_str().unwrap_or("");
        if !SECCOMP_ACTIONS.contains(&a) {
            return Err(invalid(
                "linux.seccomp.defaultAction",
                format!("{a:?}"),
                "invalid seccomp action",
            ));
        }
    }
    for (i, s) in each("/linux/seccomp/syscalls") {
        let a = s.get("action").and_then(Value::as_str).unwrap_or("");
        if !SECCOMP_ACTIONS.contains(&a) {
            return Err(invalid(
                format!("linux.seccomp.syscalls[{i}].action"),
                format!("{a:?}"),
                "invalid seccomp action",
            ));
        }
    }
    for (i, r) in each("/process/rlimits") {
        let t = r.get("type").and_then(Value::as_str).unwrap_or("");
        if crate::rlimits::resource(t).is_none() {
            return Err(invalid(
                format!("process.rlimits[{i}].type"),
                format!("{t:?}"),
                "unknown rlimit type",
            ));
        }
    }
    Ok(())
}

/// Semantic checks on the parsed spec.
fn check_typed(spec: &Spec, bundle: &Path) -> Result<(), ConfigError> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| invalid("process", "null", "missing"))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(invalid(
            "process.args",
            "[]",
            "must name the program to run",
        ));
    }
    if !process.cwd().is_absolute() {
        return Err(invalid(
            "process.cwd",
            process.cwd().display(),
            "must be an absolute path",
        ));
    }
    check_rlimits(process)?;
    let linux = spec.linux().as_ref();
    let namespaces = linux
        .and_then(|l| l.namespaces().as_ref())
        .cloned()
        .unwrap_or_default();
    let mut seen = HashSet::new();
    for (i, ns) in namespaces.iter().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(invalid(
                format!("linux.namespaces[{i}].type"),
                ns.typ(),
                "duplicate namespace",
            ));
        }
        if let Some(p) = ns.path() {
            if !p.exists() {
                return Err(invalid(
                    format!("linux.namespaces[{i}].path"),
                    p.display(),
                    "namespace path does not exist",
                ));
            }
        }
    }
    let has_new = |t: LinuxNamespaceType| namespaces.iter().any(|n| n.typ() == t);
    if spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) && !has_new(LinuxNamespaceType::Uts)
    {
        return Err(invalid(
            "hostname",
            spec.hostname().as_deref().unwrap_or(""),
            "setting the hostname needs a uts namespace",
        ));
    }
    if let Some(linux) = linux {
        check_id_mappings(linux, has_new(LinuxNamespaceType::User))?;
    }
    for (i, m) in spec
        .mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if !m.destination().is_absolute() {
            return Err(invalid(
                format!("mounts[{i}].destination"),
                m.destination().display(),
                "must be an absolute path",
            ));
        }
        let opts = m.options().as_deref().unwrap_or_default();
        let is_bind =
            m.typ().as_deref() == Some("bind") || opts.iter().any(|o| o == "bind" || o == "rbind");
        if is_bind {
            let src = m.source().as_ref().ok_or_else(|| {
                invalid(
                    format!("mounts[{i}].source"),
                    "null",
                    "a bind mount needs a source",
                )
            })?;
            let src = bundle.join(src);
            if !src.exists() {
                return Err(invalid(
                    format!("mounts[{i}].source"),
                    src.display(),
                    "bind mount source does not exist",
                ));
            }
        }
    }
    Ok(())
}

fn check_rlimits(process: &oci_spec::runtime::Process) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for (i, r) in process
        .rlimits()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if !seen.insert(r.typ().to_string()) {
            return Err(invalid(
                format!("process.rlimits[{i}].type"),
                r.typ(),
                "duplicate rlimit",
            ));
        }
        if r.soft() > r.hard() {
            return Err(invalid(
                format!("process.rlimits[{i}]"),
                format!("{} soft={} hard={}", r.typ(), r.soft(), r.hard()),
                "soft limit is above the hard limit",
            ));
        }
    }
    Ok(())
}

fn check_id_mappings(linux: &oci_spec::runtime::Linux, userns: bool) -> Result<(), ConfigError> {
    for (field, maps) in [
        ("linux.uidMappings", linux.uid_mappings()),
        ("linux.gidMappings", linux.gid_mappings()),
    ] {
        let maps = maps.as_deref().unwrap_or_default();
        if !userns && !maps.is_empty() {
            return Err(invalid(
                field,
                maps.len(),
                "id mappings need a user namespace",
            ));
        }
        if userns && maps.is_empty() {
            return Err(invalid(
                field,
                "[]",
                "a new user namespace needs id mappings",
            ));
        }
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for (i, m) in maps.iter().enumerate() {
            let value = format!(
                "containerID={} hostID={} size={}",
                m.container_id(),
                m.host_id(),
                m.size()
            );
            if m.size() == 0 {
                return Err(invalid(
                    format!("{field}[{i}]"),
                    value,
                    "mapping size must be positive",
                ));
            }
            let start = u64::from(m.container_id());
            let end = start + u64::from(m.size());
            if end > 1 << 32 || u64::from(m.host_id()) + u64::from(m.size()) > 1 << 32 {
                return Err(invalid(
                    format!("{field}[{i}]"),
                    value,
                    "mapping exceeds the 32-bit id range",
                ));
            }
            if ranges.iter().any(|&(s, e)| start < e && s < end) {
                return Err(invalid(
                    format!("{field}[{i}]"),
                    value,
                    "mapping overlaps an earlier one",
                ));
            }
            ranges.push((start, end));
        }
    }
    Ok(())
}

/// The namespace types the config creates anew (no path) and joins (with a path).
pub fn namespaces(spec: &Spec) -> Vec<oci_spec::runtime::LinuxNamespace> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        check_raw(&v).unwrap_err().to_string()
    }

    #[test]
    fn raw_errors_name_field_and_value() {
        let e = err(json!({"linux": {"namespaces": [{"type": "pid"}, {"type": "foo"}]}}));
        assert!(
            e.contains("linux.namespaces[1].type") && e.contains("\"foo\""),
            "{e}"
        );
        let e = err(json!({"process": {"capabilities": {"bounding": ["CAP_CHOWN", "CAP_FOO"]}}}));
        assert!(
            e.contains("process.capabilities.bounding[1]") && e.contains("CAP_FOO"),
            "{e}"
        );
        let e = err(json!({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_NOPE"}}}));
        assert!(
            e.contains("linux.seccomp.defaultAction") && e.contains("SCMP_ACT_NOPE"),
            "{e}"
        );
        let e =
            err(json!({"process": {"rlimits": [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]}}));
        assert!(e.contains("RLIMIT_BOGUS"), "{e}");
    }
}
