//! `/containers/...`: create, list, inspect, lifecycle, wait, attach.

use std::sync::Arc;

use berth_engine::container::{AttachOptions, CreateRequest, ListOptions, WaitCondition};
use bollard_stubs::models::{ContainerConfig, HostConfig, NetworkingConfig};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::hijack;
use crate::request::{empty, json as json_resp, ok_json, Req};
use crate::server::ServerState;

fn field<T: serde::de::DeserializeOwned + Default>(v: &Value, key: &str) -> ApiResult<T> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(x) => serde_json::from_value(x.clone())
            .map_err(|e| ApiError::bad_request(format!("invalid {key}: {e}"))),
    }
}

/// A restart policy name must be checked before the typed decode, whose enum would
/// reject it with serde's words instead of Docker's.
fn check_restart_policy_name(host: Option<&Value>) -> ApiResult<()> {
    let name = host
        .and_then(|h| h.get("RestartPolicy"))
        .and_then(|p| p.get("Name"));
    match name {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(n)) if n.is_empty() => Ok(()),
        Some(Value::String(n)) => berth_engine::validate::parse_restart_policy_name(n)
            .map(|_| ())
            .map_err(|e| ApiError::bad_request(e.to_string())),
        Some(other) => Err(ApiError::bad_request(format!(
            "invalid restart policy name: {other}"
        ))),
    }
}

/// The parts of a create body: top-level Config fields, HostConfig, NetworkingConfig.
/// Pure (no engine), so the fuzz target exercises exactly this.
pub fn parse_create_body(
    bytes: &[u8],
    version: crate::version::ApiVersion,
) -> ApiResult<(ContainerConfig, HostConfig, Option<NetworkingConfig>)> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "config cannot be empty in order to create a container",
        ));
    }
    let body: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(crate::request::json_error(&e)))?;
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "invalid JSON: the body must be a JSON object",
        ));
    }
    check_restart_policy_name(body.get("HostConfig"))?;
    let mut top = body.clone();
    if let Some(o) = top.as_object_mut() {
        o.remove("HostConfig");
        o.remove("NetworkingConfig");
    }
    let config: ContainerConfig = serde_json::from_value(top)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
    let mut host_config: HostConfig = field(&body, "HostConfig")?;
    if !version.at_least(42) {
        host_config.console_size = None;
    }
    let networking: Option<NetworkingConfig> = match body.get("NetworkingConfig") {
        None | Some(Value::Null) => None,
        Some(_) => Some(field(&body, "NetworkingConfig")?),
    };
    Ok((config, host_config, networking))
}

/// `POST /containers/create?name=`.
pub async fn create(s: &Arc<ServerState>, mut req: Req) -> ApiResult<Response<Body>> {
    let bytes = req.body_bytes().await?;
    let (config, host_config, networking) = parse_create_body(&bytes, req.version)?;
    let name = req.q("name").map(str::to_string);
    let engine = s.engine.clone();
    let (id, warnings) = tokio::task::spawn_blocking(move || {
        engine.create_container(CreateRequest {
            name,
            config,
            host_config,
            networking,
        })
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(json_resp(
        StatusCode::CREATED,
        &json!({"Id": id, "Warnings": warnings}),
    ))
}

/// `GET /containers/json`.
pub async fn list(s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    let opts = ListOptions {
        all: req.q_bool("all", false),
        limit: req.q_int("limit")?.unwrap_or(0),
        size: req.q_bool("size", false),
        filters: req.filters()?,
    };
    ok_json(&s.engine.list_containers(&opts)?)
}

/// `GET /containers/{id}/json`.
pub async fn inspect(s: &Arc<ServerState>, req: Req, id: &str) -> ApiResult<Response<Body>> {
    let mut v = s.engine.inspect_container(id, req.q_bool("size", false))?;
    if req.version.at_least(52) {
        if let Some(ns) = v.get_mut("NetworkSettings").and_then(Value::as_object_mut) {
            for k in [
                "EndpointID",
                "Gateway",
                "GlobalIPv6Address",
                "GlobalIPv6PrefixLen",
                "IPAddress",
                "IPPrefixLen",
                "IPv6Gateway",
                "MacAddress",
                "Bridge",
                "HairpinMode",
                "LinkLocalIPv6Address",
                "LinkLocalIPv6PrefixLen",
                "SecondaryIPAddresses",
                "SecondaryIPv6Addresses",
            ] {
                ns.remove(k);
            }
        }
    }
    ok_json(&v)
}

/// `POST /containers/{id}/start`.
pub async fn start(s: &Arc<ServerState>, mut req: Req, id: &str) -> ApiResult<Response<Body>> {
    let body = req.body_bytes().await?;
    let trimmed = String::from_utf8_lossy(&body);
    let trimmed = trimmed.trim();
    if trimmed.len() > 7 || !(trimmed.is_empty() || trimmed == "{}" || trimmed == "null") {
        return Err(ApiError::bad_request(
            "starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24",
        ));
    }
    s.engine.start_container(id).await?;
    empty(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/stop?t=&signal=`.
pub async fn stop(s: &Arc<ServerState>, req: Req, id: &str) -> ApiResult<Response<Body>> {
    let t = req.q_int("t")?;
    s.engine
        .stop_container(id, t, req.q("signal").filter(|x| !x.is_empty()))
        .await?;
    empty(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/restart`.
pub async fn restart(s: &Arc<ServerState>, req: Req, id: &str) -> ApiResult<Response<Body>> {
    let t = req.q_int("t")?;
    s.engine
        .restart_container(id, t, req.q("signal").filter(|x| !x.is_empty()))
        .await?;
    empty(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/kill?signal=`.
pub async fn kill(s: &Arc<ServerState>, req: Req, id: &str) -> ApiResult<Response<Body>> {
    s.engine.kill_container(id, req.q("signal")).await?;
    empty(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/pause`.
pub async fn pause(s: &Arc<ServerState>, _req: Req, id: &str) -> ApiResult<Response<Body>> {
    s.engine.pause_container(id).await?;
    empty(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/unpause`.
pub async fn unpause(s: &Arc<ServerState>, _req: Req, id: &str) -> ApiResult<Response<Body>> {
    s.engine.unpause_container(id).await?;
    empty(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/rename?name=`.
pub async fn rename(s: &Arc<ServerState>, req: Req, id: &str) -> ApiResult<Response<Body>> {
    s.engine.rename_container(id, req.q("name").unwrap_or(""))?;
    empty(StatusCode::NO_CONTENT)
}

/// `POST /containers/{id}/update`.
pub async fn update(s: &Arc<ServerState>, mut req: Req, id: &str) -> ApiResult<Response<Body>> {
    let raw: Value = req.json(false).await?;
    check_restart_policy_name(Some(&raw))?;
    let host: HostConfig = serde_json::from_value(raw)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON: {e}")))?;
    let warnings = s.engine.update_container(id, &host)?;
    ok_json(&json!({ "Warnings": warnings }))
}

/// `POST /containers/{id}/resize?h=&w=`.
pub async fn resize(s: &Arc<ServerState>, req: Req, id: &str) -> ApiResult<Response<Body>> {
    let (h, w) = dims(&req)?;
    s.engine.resize_container(id, h, w).await?;
    empty(StatusCode::OK)
}

/// `h` and `w` query values.
pub fn dims(req: &Req) -> ApiResult<(u16, u16)> {
    let get = |k: &str| -> ApiResult<u16> {
        let v = req.q(k).unwrap_or("0");
        v.parse::<u16>()
            .map_err(|_| ApiError::bad_request(format!("invalid resize {k}: {v:?}")))
    };
    Ok((get("h")?, get("w")?))
}

/// `DELETE /containers/{id}?force=&v=`.
pub async fn remove(s: &Arc<ServerState>, req: Req, id: &str) -> ApiResult<Response<Body>> {
    if req.q_bool("link", false) {
        return Err(ApiError::bad_request("links are not supported by berth"));
    }
    s.engine
        .remove_container(id, req.q_bool("force", false), req.q_bool("v", false))
        .await?;
    empty(StatusCode::NO_CONTENT)
}

/// `POST /containers/prune`.
pub async fn prune(s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    let filters = req.filters()?;
    let mut deleted = Vec::new();
    let mut reclaimed: u64 = 0;
    for c in s.engine.all_containers() {
        let rec = c.record();
        let stopped = matches!(
            rec.state.status,
            berth_engine::container::Status::Exited
                | berth_engine::container::Status::Created
                | berth_engine::container::Status::Dead
        );
        let labels_ok = filters.get("label").is_none_or(|ls| {
            ls.iter().all(|l| match l.split_once('=') {
                Some((k, v)) => rec
                    .config
                    .labels
                    .as_ref()
                    .and_then(|m| m.get(k))
                    .is_some_and(|x| x == v),
                None => rec
                    .config
                    .labels
                    .as_ref()
                    .is_some_and(|m| m.contains_key(l.as_str())),
            })
        });
        if !stopped || !labels_ok {
            continue;
        }
        let (rw, _) = s.engine.container_sizes(&rec);
        if s.engine
            .remove_container(&rec.id, false, false)
            .await
            .is_ok()
        {
            deleted.push(rec.id.clone());
            reclaimed += rw;
        }
    }
    ok_json(
        &json!({"ContainersDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) }, "SpaceReclaimed": reclaimed}),
    )
}

/// `POST /containers/{id}/wait?condition=`: headers at once, body at the exit.
pub async fn wait(s: &Arc<ServerState>, req: Req, id: &str) -> ApiResult<Response<Body>> {
    let cond: WaitCondition = req.q("condition").unwrap_or("").parse()?;
    let fut = s.engine.wait_container(id, cond)?;
    let (tx, body) = Body::channel();
    tokio::spawn(async move {
        let code = fut.await;
        let line = format!("{{\"StatusCode\":{code}}}\n");
        let _ = tx.send(bytes::Bytes::from(line)).await;
    });
    Ok(crate::request::stream("application/json", body))
}

/// `POST /containers/{id}/attach`: hijack (or a plain output stream without Upgrade).
pub async fn attach(s: &Arc<ServerState>, mut req: Req, id: &str) -> ApiResult<Response<Body>> {
    let opts = AttachOptions {
        stdin: req.q_bool("stdin", false),
        stdout: req.q_bool("stdout", false),
        stderr: req.q_bool("stderr", false),
    };
    if let Some(keys) = req.q("detachKeys").filter(|k| !k.is_empty()) {
        if !valid_detach_keys(keys) {
            return Err(ApiError::bad_request(format!(
                "Invalid detach keys ({keys}) provided"
            )));
        }
    }
    let logs = req.q_bool("logs", false);
    let stream = req.q_bool("stream", false);
    let a = s.engine.attach_container(id, opts)?;
    let ct = hijack::stream_type(a.tty, req.version);
    let replay = if logs {
        Some(
            crate::routes::extras::log_replay(
                &s.engine,
                a.container_id(),
                opts.stdout,
                opts.stderr,
                a.tty,
            )
            .await?,
        )
    } else {
        None
    };
    if req.wants_upgrade() {
        let on = req
            .take_upgrade()
            .ok_or_else(|| ApiError::bad_request("connection cannot be upgraded"))?;
        tokio::spawn(async move {
            let Ok(mut client) = hijack::upgraded(on).await else {
                return;
            };
            if let Some(data) = replay {
                use tokio::io::AsyncWriteExt;
                let _ = client.write_all(&data).await;
            }
            if !stream {
                use tokio::io::AsyncWriteExt;
                let _ = client.shutdown().await;
                return;
            }
            match a.connect().await {
                Ok(shim) => hijack::splice(client, shim).await,
                Err(e) => {
                    use tokio::io::AsyncWriteExt;
                    let _ = client
                        .write_all(format!("{}\r\n", e.message).as_bytes())
                        .await;
                }
            }
        });
        return Ok(hijack::upgrade_response(ct));
    }
    let (tx, body) = Body::channel();
    tokio::spawn(async move {
        if let Some(data) = replay {
            if tx.send(bytes::Bytes::from(data)).await.is_err() {
                return;
            }
        }
        if !stream {
            return;
        }
        let Ok(mut shim) = a.connect().await else {
            return;
        };
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n) = shim.read(&mut buf).await {
            if n == 0
                || tx
                    .send(bytes::Bytes::copy_from_slice(&buf[..n]))
                    .await
                    .is_err()
            {
                break;
            }
        }
    });
    Ok(crate::request::stream(hijack::RAW, body))
}

/// Docker's detach-key syntax: comma-separated `ctrl-<key>` or single characters
/// (moby `term.ToBytes`).
pub fn valid_detach_keys(keys: &str) -> bool {
    keys.split(',').all(|k| {
        let k = k.trim();
        match k.strip_prefix("ctrl-") {
            Some(c) => {
                c.len() == 1 && (c.as_bytes()[0].is_ascii_alphabetic() || "@[\\]^_".contains(c))
            }
            None => k.len() == 1,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys() {
        assert!(valid_detach_keys("ctrl-p,ctrl-q"));
        assert!(valid_detach_keys("a,ctrl-@"));
        assert!(!valid_detach_keys("ctrl-"));
        assert!(!valid_detach_keys("ctrl-pp"));
        assert!(!valid_detach_keys("ab"));
    }

    #[test]
    fn restart_policy_names_get_dockers_text() {
        let body = serde_json::json!({"RestartPolicy": {"Name": "bogus"}});
        let e = check_restart_policy_name(Some(&body)).unwrap_err();
        assert!(e
            .message
            .starts_with("invalid restart policy: unknown policy 'bogus'"));
        let ok = serde_json::json!({"RestartPolicy": {"Name": "on-failure"}});
        assert!(check_restart_policy_name(Some(&ok)).is_ok());
    }
}
