//! The persisted container record and its state, as stored in `state.db`.

use bollard_stubs::models::{ContainerConfig, HostConfig, NetworkingConfig};
use serde::{Deserialize, Serialize};

/// Docker's container states.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created, never started (or reset).
    #[default]
    Created,
    /// Its process runs.
    Running,
    /// Frozen.
    Paused,
    /// Waiting for a restart-policy restart.
    Restarting,
    /// Being removed.
    Removing,
    /// Its process ended.
    Exited,
    /// Removal failed half-way.
    Dead,
}

impl Status {
    /// Docker's lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }
    /// Whether a process exists (running or paused).
    pub fn is_alive(self) -> bool {
        matches!(self, Status::Running | Status::Paused)
    }
}

/// The `State` of inspect.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Current status.
    pub status: Status,
    /// Host pid of the init while alive, else 0.
    pub pid: i64,
    /// Last exit code.
    pub exit_code: i64,
    /// Unix ns of the last start (0 = never).
    pub started_at: i64,
    /// Unix ns of the last exit (0 = never).
    pub finished_at: i64,
    /// Whether the last exit was an OOM kill.
    pub oom_killed: bool,
    /// Why the last start failed.
    pub error: String,
}

/// A mount as `inspect` shows it (`Mounts`), and what `rm -v` needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MountPoint {
    /// `bind`, `volume`, `tmpfs`.
    pub typ: String,
    /// Volume name (volumes only).
    pub name: Option<String>,
    /// Host path (empty for tmpfs).
    pub source: String,
    /// Path in the container.
    pub destination: String,
    /// Mode string as given (`ro`, `z`, …).
    pub mode: String,
    /// Writable.
    pub rw: bool,
    /// Propagation (`rprivate` by default for binds).
    pub propagation: String,
    /// An anonymous volume (removed by `rm -v`).
    pub anonymous: bool,
}

/// Everything berthd knows about a container; persisted as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    /// 64-hex id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// Creation time, Unix ns.
    pub created: i64,
    /// The image as the user named it.
    pub image: String,
    /// `sha256:<hex>` of the image config.
    pub image_id: String,
    /// The effective config (request merged over image defaults).
    pub config: ContainerConfig,
    /// The host config as given (with defaults filled in).
    pub host_config: HostConfig,
    /// The networking config as given.
    #[serde(default)]
    pub networking: Option<NetworkingConfig>,
    /// Runtime state.
    pub state: State,
    /// Restarts done by the restart policy since the last manual start.
    #[serde(default)]
    pub restart_count: u64,
    /// Planned mounts.
    #[serde(default)]
    pub mounts: Vec<MountPoint>,
    /// Started at least once.
    #[serde(default)]
    pub has_been_started: bool,
    /// Stopped by the user (restart policies `unless-stopped`/`always` respect this).
    #[serde(default)]
    pub manually_stopped: bool,
    /// Networks joined and ports published.
    #[serde(default)]
    pub network: crate::network::NetState,
}

impl ContainerRecord {
    /// Whether the container has a tty.
    pub fn tty(&self) -> bool {
        self.config.tty.unwrap_or(false)
    }
    /// The hostname (first 12 hex of the id unless configured).
    pub fn hostname(&self) -> String {
        match self.config.hostname.as_deref() {
            Some(h) if !h.is_empty() => h.to_string(),
            _ => self.id[..12].to_string(),
        }
    }
    /// Restart policy name and max retries.
    pub fn restart_policy(&self) -> (String, i64) {
        let p = self.host_config.restart_policy.as_ref();
        let name = p
            .and_then(|p| p.name.as_ref())
            .map(|n| {
                serde_json::to_value(n)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let max = p.and_then(|p| p.maximum_retry_count).unwrap_or(0);
        (if name.is_empty() { "no".into() } else { name }, max)
    }
}
