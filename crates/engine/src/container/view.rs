//! The `ps` and `inspect` views: Docker's JSON shapes built from the in-memory records
//! (no disk or process access unless sizes are asked for).

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::model::{ContainerRecord, Status};
use crate::error::{EngineError, Result};
use crate::time::{human_duration, rfc3339, ZERO};
use crate::Engine;

/// `GET /containers/json` options.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Include stopped containers.
    pub all: bool,
    /// Newest N (implies all); 0 or negative = no limit.
    pub limit: i64,
    /// Compute SizeRw/SizeRootFs.
    pub size: bool,
    /// Parsed filters: key → values.
    pub filters: HashMap<String, Vec<String>>,
}

const FILTER_KEYS: &[&str] = &[
    "ancestor",
    "before",
    "expose",
    "exited",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
];
const STATUSES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

fn time_or_zero(nanos: i64) -> String {
    if nanos <= 0 {
        ZERO.to_string()
    } else {
        rfc3339(nanos)
    }
}

/// Docker's `Status` column text.
pub fn status_text(rec: &ContainerRecord, now: i64) -> String {
    let ago = |t: i64| human_duration((now - t) / 1_000_000_000);
    match rec.state.status {
        Status::Running => format!("Up {}", ago(rec.state.started_at)),
        Status::Paused => format!("Up {} (Paused)", ago(rec.state.started_at)),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            rec.state.exit_code,
            ago(rec.state.finished_at)
        ),
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
        Status::Created => "Created".into(),
        Status::Exited if rec.state.finished_at == 0 => "Created".into(),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            rec.state.exit_code,
            ago(rec.state.finished_at)
        ),
    }
}

/// Entrypoint + Cmd.
pub fn process_args(rec: &ContainerRecord) -> Vec<String> {
    let mut args: Vec<String> = rec.config.entrypoint.clone().unwrap_or_default();
    args.extend(rec.config.cmd.clone().unwrap_or_default());
    if rec.host_config.init.unwrap_or(false) {
        let mut a = vec!["/sbin/docker-init".to_string(), "--".to_string()];
        a.extend(args);
        return a;
    }
    args
}

fn command_text(rec: &ContainerRecord) -> String {
    process_args(rec)
        .iter()
        .map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn mounts_json(rec: &ContainerRecord) -> Value {
    Value::Array(
        rec.mounts
            .iter()
            .map(|m| {
                let mut o = json!({
                    "Type": m.typ,
                    "Source": m.source,
                    "Destination": m.destination,
                    "Mode": m.mode,
                    "RW": m.rw,
                    "Propagation": m.propagation,
                });
                if let Some(n) = &m.name {
                    o["Name"] = json!(n);
                    o["Driver"] = json!("local");
                }
                o
            })
            .collect(),
    )
}

/// Whether a `label` filter value (`k` or `k=v`) matches.
fn label_matches(rec: &ContainerRecord, want: &str) -> bool {
    let labels = rec.config.labels.as_ref();
    match want.split_once('=') {
        Some((k, v)) => labels.and_then(|l| l.get(k)).is_some_and(|x| x == v),
        None => labels.is_some_and(|l| l.contains_key(want)),
    }
}

/// One row of `GET /containers/json`, typed: serialising 1000 of these costs far less
/// than building 1000 JSON maps.
#[derive(Debug, serde::Serialize)]
pub struct ContainerSummary {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Names")]
    names: [String; 1],
    #[serde(rename = "Image")]
    image: String,
    #[serde(rename = "ImageID")]
    image_id: String,
    #[serde(rename = "Command")]
    command: String,
    #[serde(rename = "Created")]
    created: i64,
    #[serde(rename = "Ports")]
    ports: Vec<crate::network::PortSummary>,
    #[serde(rename = "Labels")]
    labels: HashMap<String, String>,
    #[serde(rename = "State")]
    state: &'static str,
    #[serde(rename = "Status")]
    status: String,
    #[serde(rename = "HostConfig")]
    host_config: HostConfigSummary,
    #[serde(rename = "NetworkSettings")]
    network_settings: NetworkSummary,
    #[serde(rename = "Mounts")]
    mounts: Value,
    #[serde(rename = "SizeRw", skip_serializing_if = "Option::is_none")]
    size_rw: Option<u64>,
    #[serde(rename = "SizeRootFs", skip_serializing_if = "Option::is_none")]
    size_root_fs: Option<u64>,
}

#[derive(Debug, serde::Serialize)]
struct HostConfigSummary {
    #[serde(rename = "NetworkMode")]
    network_mode: String,
}

#[derive(Debug, serde::Serialize)]
struct NetworkSummary {
    #[serde(rename = "Networks")]
    networks: std::collections::BTreeMap<String, crate::network::EndpointView>,
}

impl Engine {
    /// `GET /containers/json`.
    pub fn list_containers(&self, opts: &ListOptions) -> Result<Vec<ContainerSummary>> {
        for (k, vals) in &opts.filters {
            if !FILTER_KEYS.contains(&k.as_str()) {
                return Err(EngineError::invalid(format!("invalid filter '{k}'")));
            }
            if k == "status" {
                for v in vals {
                    if !STATUSES.contains(&v.as_str()) {
                        return Err(EngineError::invalid(format!("invalid filter 'status={v}'")));
                    }
                }
            }
        }
        // Sorted handles, not cloned records: `ps` reads each record under its lock.
        let mut handles: Vec<(i64, std::sync::Arc<super::Container>)> = self
            .all_containers()
            .into_iter()
            .map(|c| (c.with(|r| r.created), c))
            .collect();
        handles.sort_by_key(|(created, _)| std::cmp::Reverse(*created));
        let all = opts.all || opts.limit > 0 || opts.filters.contains_key("status");
        let f = &opts.filters;
        let any = |key: &str, pred: &dyn Fn(&str) -> bool| -> bool {
            f.get(key).is_none_or(|vals| vals.iter().any(|v| pred(v)))
        };
        let now = crate::time::now_nanos();
        let mut out = Vec::new();
        for (_, c) in handles {
            let summary = c.with(|rec| {
                if !all && !rec.state.status.is_alive() && rec.state.status != Status::Restarting {
                    return None;
                }
                let keep = any("status", &|v| v == rec.state.status.as_str())
                    && any("name", &|v| rec.name.contains(v.trim_start_matches('/')))
                    && any("id", &|v| rec.id.starts_with(v))
                    && f.get("label")
                        .is_none_or(|vals| vals.iter().all(|v| label_matches(rec, v)))
                    && any("exited", &|v| {
                        rec.state.status == Status::Exited
                            && v.parse::<i64>().ok() == Some(rec.state.exit_code)
                    })
                    && any("ancestor", &|v| self.ancestor_matches(rec, v));
                keep.then(|| self.summary(rec, now, opts.size))
            });
            let Some(summary) = summary else {
                continue;
            };
            out.push(summary);
            if opts.limit > 0 && out.len() as i64 >= opts.limit {
                break;
            }
        }
        Ok(out)
    }

    fn ancestor_matches(&self, rec: &ContainerRecord, want: &str) -> bool {
        rec.image == want
            || rec.image_id == want
            || rec.image_id.trim_start_matches("sha256:").starts_with(want)
            || self
                .images
                .resolve(want)
                .is_ok_and(|img| img.id.to_string() == rec.image_id)
    }

    fn summary(&self, rec: &ContainerRecord, now: i64, size: bool) -> ContainerSummary {
        let sizes = size.then(|| self.container_sizes(rec));
        ContainerSummary {
            id: rec.id.clone(),
            names: [format!("/{}", rec.name)],
            image: rec.image.clone(),
            image_id: rec.image_id.clone(),
            command: command_text(rec),
            created: rec.created / 1_000_000_000,
            ports: crate::network::ports_summary(rec),
            labels: rec.config.labels.clone().unwrap_or_default(),
            state: rec.state.status.as_str(),
            status: status_text(rec, now),
            host_config: HostConfigSummary {
                network_mode: rec.host_config.network_mode.clone().unwrap_or_default(),
            },
            network_settings: NetworkSummary {
                networks: crate::network::networks_summary(self, rec),
            },
            mounts: mounts_json(rec),
            size_rw: sizes.map(|s| s.0),
            size_root_fs: sizes.map(|s| s.1),
        }
    }

    /// Bytes in the rw layer and rw + image layers.
    pub fn container_sizes(&self, rec: &ContainerRecord) -> (u64, u64) {
        let rw = dir_size(&self.config.container_dir(&rec.id).join("upper"));
        let image = rec
            .image_id
            .parse()
            .ok()
            .and_then(|id| self.images.get(&id).ok())
            .map(|i| i.size)
            .unwrap_or(0);
        (rw, rw + image)
    }

    /// `GET /containers/{id}/json`.
    pub fn inspect_container(&self, name: &str, size: bool) -> Result<Value> {
        let c = self.container(name)?;
        let rec = c.record();
        let dir = self.config.container_dir(&rec.id);
        let args = process_args(&rec);
        let s = &rec.state;
        let mut config = serde_json::to_value(&rec.config).unwrap_or_else(|_| json!({}));
        fill_config_defaults(&mut config, &rec);
        let host_config = serde_json::to_value(&rec.host_config).unwrap_or_else(|_| json!({}));
        let snap_dir = |n: &str| dir.join(n).display().to_string();
        let mut v = json!({
            "Id": rec.id,
            "Created": rfc3339(rec.created),
            "Path": args.first().cloned().unwrap_or_default(),
            "Args": args.iter().skip(1).cloned().collect::<Vec<_>>(),
            "State": {
                "Status": s.status.as_str(),
                "Running": s.status.is_alive(),
                "Paused": s.status == Status::Paused,
                "Restarting": s.status == Status::Restarting,
                "OOMKilled": s.oom_killed,
                "Dead": s.status == Status::Dead,
                "Pid": s.pid,
                "ExitCode": s.exit_code,
                "Error": s.error,
                "StartedAt": time_or_zero(s.started_at),
                "FinishedAt": time_or_zero(s.finished_at),
            },
            "Image": rec.image_id,
            "ResolvConfPath": dir.join("resolv.conf"),
            "HostnamePath": dir.join("hostname"),
            "HostsPath": dir.join("hosts"),
            "LogPath": self.log_path(&rec.id),
            "Name": format!("/{}", rec.name),
            "RestartCount": rec.restart_count,
            "Driver": "overlay2",
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": self.exec_ids_of(&rec.id),
            "HostConfig": host_config,
            "GraphDriver": {
                "Name": "overlay2",
                "Data": {
                    "MergedDir": snap_dir("merged"),
                    "UpperDir": snap_dir("upper"),
                    "WorkDir": snap_dir("work"),
                }
            },
            "Mounts": mounts_json(&rec),
            "Config": config,
            "NetworkSettings": self.network_settings_json(&rec),
        });
        if size {
            let (rw, root) = self.container_sizes(&rec);
            v["SizeRw"] = json!(rw);
            v["SizeRootFs"] = json!(root);
        }
        Ok(v)
    }
}

/// Keys Docker always sends in `Config`, filled where the record has none.
fn fill_config_defaults(config: &mut Value, rec: &ContainerRecord) {
    let Some(o) = config.as_object_mut() else {
        return;
    };
    let defaults: Map<String, Value> = serde_json::from_value(json!({
        "Hostname": rec.hostname(),
        "Domainname": "",
        "User": "",
        "AttachStdin": false,
        "AttachStdout": false,
        "AttachStderr": false,
        "Tty": false,
        "OpenStdin": false,
        "StdinOnce": false,
        "Env": null,
        "Cmd": null,
        "Image": rec.image,
        "Volumes": null,
        "WorkingDir": "",
        "Entrypoint": null,
        "OnBuild": null,
        "Labels": {},
    }))
    .unwrap_or_default();
    for (k, v) in defaults {
        let missing = match o.get(&k) {
            None => true,
            Some(Value::String(s)) => s.is_empty() && k == "Hostname",
            _ => false,
        };
        if missing {
            o.insert(k, v);
        }
    }
}

/// Apparent size of a directory tree (no symlink following).
pub fn dir_size(path: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&p) else {
            continue;
        };
        for e in rd.flatten() {
            if let Ok(m) = e.metadata() {
                if m.is_dir() {
                    stack.push(e.path());
                } else {
                    total += m.len();
                }
            }
        }
    }
    total
}
