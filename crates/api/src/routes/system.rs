//! `/_ping`, `/version`, `/info`, `/events`, `/system/df`.

use std::sync::Arc;

use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use hyper::{Method, Response, StatusCode};
use serde_json::json;

use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::request::{ok_json, Req};
use crate::server::ServerState;
use crate::version::{MAX, MIN};

/// `GET|HEAD /_ping`.
pub async fn ping(_s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    let body = if req.method == Method::HEAD {
        Body::Empty
    } else {
        Body::full("OK")
    };
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert("Swarm", HeaderValue::from_static("inactive"));
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    if req.method == Method::HEAD {
        h.insert("Content-Length", HeaderValue::from_static("0"));
    }
    Ok(r)
}

fn kernel_version() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET /version`.
pub async fn version(_s: &Arc<ServerState>, _req: Req) -> ApiResult<Response<Body>> {
    let details = json!({
        "ApiVersion": MAX.to_string(),
        "MinAPIVersion": MIN.to_string(),
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch(),
        "KernelVersion": kernel_version(),
        "BuildTime": "",
        "Experimental": "false",
    });
    ok_json(&json!({
        "Platform": {"Name": "berth"},
        "Components": [{"Name": "Engine", "Version": VERSION, "Details": details}],
        "Version": VERSION,
        "ApiVersion": MAX.to_string(),
        "MinAPIVersion": MIN.to_string(),
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch(),
        "KernelVersion": kernel_version(),
        "BuildTime": "",
    }))
}

fn meminfo_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}

/// `GET /info`.
pub async fn info(s: &Arc<ServerState>, _req: Req) -> ApiResult<Response<Body>> {
    let e = &s.engine;
    let recs: Vec<_> = e.all_containers().iter().map(|c| c.record()).collect();
    let count =
        |st: berth_engine::container::Status| recs.iter().filter(|r| r.state.status == st).count();
    use berth_engine::container::Status;
    let cgroup_v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let mut security_options = vec!["name=seccomp,profile=builtin"];
    if cgroup_v2 {
        security_options.push("name=cgroupns");
    }
    ok_json(&json!({
        "ID": e.daemon_id,
        "Containers": recs.len(),
        "ContainersRunning": count(Status::Running),
        "ContainersPaused": count(Status::Paused),
        "ContainersStopped": recs.len() - count(Status::Running) - count(Status::Paused),
        "Images": e.images().list().len(),
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
        "Plugins": {
            "Volume": ["local"],
            "Network": ["bridge", "host", "none"],
            "Authorization": null,
            "Log": ["json-file"],
        },
        "MemoryLimit": true,
        "SwapLimit": true,
        "CpuCfsPeriod": true,
        "CpuCfsQuota": true,
        "CPUShares": true,
        "CPUSet": true,
        "PidsLimit": true,
        "OomKillDisable": !cgroup_v2,
        "IPv4Forwarding": true,
        "Debug": false,
        "NFd": std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0),
        "NGoroutines": 0,
        "SystemTime": berth_engine::time::rfc3339(berth_engine::time::now_nanos()),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": if cgroup_v2 { "2" } else { "1" },
        "NEventsListener": 0,
        "KernelVersion": kernel_version(),
        "OperatingSystem": os_name(),
        "OSVersion": "",
        "OSType": "linux",
        "Architecture": std::env::consts::ARCH,
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "IndexConfigs": {},
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "Mirrors": [],
        },
        "NCPU": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "MemTotal": meminfo_total(),
        "DockerRootDir": e.config.data_root,
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": hostname,
        "Labels": [],
        "ExperimentalBuild": false,
        "ServerVersion": VERSION,
        "Runtimes": {"berth": {"path": e.config.runtime_path}},
        "DefaultRuntime": "berth",
        "Swarm": {"LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": false, "Error": "", "RemoteManagers": null},
        "LiveRestoreEnabled": true,
        "Isolation": "",
        "InitBinary": "docker-init",
        "SecurityOptions": security_options,
        "Warnings": [],
    }))
}

/// Parses `since`/`until` (Unix seconds, fractions allowed) into ns.
fn event_time(v: Option<&str>) -> ApiResult<Option<i64>> {
    match v {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<f64>()
            .map(|f| Some((f * 1e9) as i64))
            .or_else(|_| {
                berth_engine::time::unix_seconds(s)
                    .map(|x| Some(x * 1_000_000_000))
                    .ok_or(())
            })
            .map_err(|_| ApiError::bad_request(format!("invalid timestamp: {s:?}"))),
    }
}

fn event_matches(
    ev: &berth_engine::events::Event,
    f: &std::collections::HashMap<String, Vec<String>>,
) -> bool {
    let any =
        |k: &str, pred: &dyn Fn(&str) -> bool| f.get(k).is_none_or(|v| v.iter().any(|x| pred(x)));
    let action_base = ev.action.split(':').next().unwrap_or("");
    any("type", &|t| t == ev.typ)
        && any("event", &|a| a == ev.action || a == action_base)
        && any("container", &|c| {
            ev.typ == "container"
                && (ev.actor_id.starts_with(c) || ev.attributes.get("name").is_some_and(|n| n == c))
        })
        && any("image", &|i| {
            ev.attributes.get("image").is_some_and(|x| x == i) || ev.actor_id == i
        })
        && f.get("label").is_none_or(|ls| {
            ls.iter().all(|l| match l.split_once('=') {
                Some((k, v)) => ev.attributes.get(k).is_some_and(|x| x == v),
                None => ev.attributes.contains_key(l.as_str()),
            })
        })
        && any("scope", &|s| s == "local")
}

fn event_json(ev: &berth_engine::events::Event, legacy: bool) -> serde_json::Value {
    let mut v = json!({
        "Type": ev.typ,
        "Action": ev.action,
        "Actor": {"ID": ev.actor_id, "Attributes": ev.attributes},
        "scope": "local",
        "time": ev.time_nano / 1_000_000_000,
        "timeNano": ev.time_nano,
    });
    if legacy && (ev.typ == "container" || ev.typ == "image") {
        v["status"] = json!(ev.action);
        v["id"] = json!(ev.actor_id);
        if let Some(img) = ev.attributes.get("image") {
            v["from"] = json!(img);
        }
    }
    v
}

/// `GET /events`: replay since `since` from the ring, then follow until `until`.
pub async fn events(s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    let since = event_time(req.q("since"))?;
    let until = event_time(req.q("until"))?;
    let filters = req.filters()?;
    let legacy = !req.version.at_least(52);
    let (past, mut rx) = s.engine.events.subscribe();
    let (tx, body) = Body::channel();
    let now = berth_engine::time::now_nanos();
    tokio::spawn(async move {
        let send = |ev: &berth_engine::events::Event| {
            let mut line = serde_json::to_vec(&event_json(ev, legacy)).unwrap_or_default();
            line.push(b'\n');
            bytes::Bytes::from(line)
        };
        if let Some(since) = since {
            for ev in past.iter().filter(|e| e.time_nano >= since) {
                if until.is_some_and(|u| ev.time_nano > u) {
                    break;
                }
                if event_matches(ev, &filters) && tx.send(send(ev)).await.is_err() {
                    return;
                }
            }
        }
        if until.is_some_and(|u| u <= now) {
            return;
        }
        let deadline = until.map(|u| {
            tokio::time::Instant::now() + std::time::Duration::from_nanos((u - now).max(0) as u64)
        });
        loop {
            let next = async { rx.recv().await };
            let ev = match deadline {
                Some(d) => match tokio::time::timeout_at(d, next).await {
                    Ok(r) => r,
                    Err(_) => return,
                },
                None => next.await,
            };
            match ev {
                Ok(ev) => {
                    if event_matches(&ev, &filters) && tx.send(send(&ev)).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            }
        }
    });
    let mut r = crate::request::stream("application/json", body);
    *r.status_mut() = StatusCode::OK;
    Ok(r)
}

/// `GET /system/df`.
pub async fn df(s: &Arc<ServerState>, _req: Req) -> ApiResult<Response<Body>> {
    let e = &s.engine;
    let containers = e.list_containers(&berth_engine::container::ListOptions {
        all: true,
        size: true,
        ..Default::default()
    })?;
    let images = crate::routes::images::summaries(e, true)?;
    let layers_size: u64 = e
        .images()
        .layers()
        .list()
        .map(|ls| ls.iter().map(|l| l.uncompressed_bytes).sum())
        .unwrap_or(0);
    ok_json(&json!({
        "LayersSize": layers_size,
        "Images": images,
        "Containers": containers,
        "Volumes": [],
        "BuildCache": [],
    }))
}
