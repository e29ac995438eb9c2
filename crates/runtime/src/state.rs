//! Container state records: `<root>/<id>/state.json`, written atomically (temp + rename).
//!
//! Runs in the runtime process. The record holds the OCI state plus what the runtime needs
//! to find the container again: the init's start time (so a recycled pid is not mistaken
//! for the init), the cgroup path and the rootfs. The directory is removed by `delete`.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Lifecycle status, as in the OCI runtime spec (plus runc's `paused`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `create` is still setting the container up.
    Creating,
    /// The init waits for `start`.
    Created,
    /// The user process runs.
    Running,
    /// The cgroup is frozen.
    Paused,
    /// The init has exited.
    Stopped,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What `state.json` stores; `state` prints the OCI subset plus runc's extra fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    /// OCI spec version of the bundle.
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Status recorded at the last transition; [`ContainerState::refresh`] corrects it.
    pub status: Status,
    /// Host pid of the container init (0 before it exists).
    pub pid: i32,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// Annotations from config.json.
    #[serde(default)]
    pub annotations: std::collections::HashMap<String, String>,
    /// RFC 3339 creation time.
    pub created: String,
    /// Owner (user name or uid) of the runtime process that created it.
    pub owner: String,
    /// Start time of the init in clock ticks since boot (/proc/pid/stat field 22).
    pub init_start_time: u64,
    /// cgroup path (as given to [`crate::cgroups::Cgroup::new`]).
    pub cgroup_path: PathBuf,
}

/// The OCI state object printed by `state` and fed to hooks.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    /// Spec version.
    pub oci_version: &'a str,
    /// Container id.
    pub id: &'a str,
    /// Current status.
    pub status: Status,
    /// Init pid (omitted once stopped, as the spec allows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Bundle path.
    pub bundle: &'a Path,
    /// Annotations.
    #[serde(skip_serializing_if = "std::collections::HashMap::is_empty")]
    pub annotations: &'a std::collections::HashMap<String, String>,
}

impl ContainerState {
    /// The OCI view of this record.
    pub fn oci(&self) -> OciState<'_> {
        OciState {
            oci_version: &self.oci_version,
            id: &self.id,
            status: self.status,
            pid: (self.status != Status::Stopped && self.pid > 0).then_some(self.pid),
            bundle: &self.bundle,
            annotations: &self.annotations,
        }
    }

    /// Whether the recorded init is still the same live process.
    pub fn init_alive(&self) -> bool {
        self.pid > 0
            && proc_start_time(self.pid).is_some_and(|t| t == self.init_start_time)
            && !is_zombie(self.pid)
    }
}

/// Start time of `pid` in clock ticks since boot, or None if it does not exist.
pub fn proc_start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The comm field may contain spaces and parentheses; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

fn is_zombie(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 2..].starts_with('Z')))
        .unwrap_or(true)
}

/// Validate a container id the way runc does: `^[\w+-.]+$`, not `.` or `..`.
pub fn validate_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= 1024
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidId(id.to_string()))
    }
}

/// The state directory of one container.
pub fn dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

/// Read `<root>/<id>/state.json`.
pub fn load(root: &Path, id: &str) -> Result<ContainerState> {
    validate_id(id)?;
    let path = dir(root, id).join("state.json");
    let data = match fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Error::NotFound(id.into())),
        Err(source) => return Err(Error::State { path, source }),
    };
    serde_json::from_slice(&data).map_err(|e| Error::State {
        path,
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    })
}

/// Write `<root>/<id>/state.json` atomically.
pub fn save(root: &Path, st: &ContainerState) -> Result<()> {
    let d = dir(root, &st.id);
    let tmp = d.join(".state.json.tmp");
    let path = d.join("state.json");
    let wrap = |source| Error::State {
        path: path.clone(),
        source,
    };
    let data = serde_json::to_vec(st).map_err(|e| wrap(io::Error::other(e)))?;
    let mut f = fs::File::create(&tmp).map_err(wrap)?;
    f.write_all(&data).map_err(wrap)?;
    drop(f);
    fs::rename(&tmp, &path).map_err(wrap)
}

/// Ids of every container under `root`.
pub fn list_ids(root: &Path) -> Result<Vec<String>> {
    let rd = match fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::State {
                path: root.into(),
                source,
            })
        }
    };
    let mut ids: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("state.json").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    ids.sort();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(validate_id("abc-1.2_x+y").is_ok());
        for bad in ["", ".", "..", "a/b", "a b", "../x"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn own_start_time_is_readable() {
        let pid = i32::try_from(std::process::id()).unwrap();
        assert!(proc_start_time(pid).is_some());
        assert!(!is_zombie(pid));
    }
}
