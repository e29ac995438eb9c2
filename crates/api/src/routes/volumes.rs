//! `/volumes`: list, create, inspect, remove, prune (local driver only).

use std::collections::BTreeMap;
use std::sync::Arc;

use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use crate::body::Body;
use crate::error::ApiResult;
use crate::request::{empty, json as json_resp, ok_json, Req};
use crate::server::ServerState;

/// `GET /volumes`.
pub async fn list(s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    let vols = s.engine.list_volumes(&req.filters()?)?;
    ok_json(&json!({"Volumes": vols, "Warnings": []}))
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct CreateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    driver: Option<String>,
    #[serde(default)]
    driver_opts: Option<BTreeMap<String, String>>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// `POST /volumes/create` → 201.
pub async fn create(s: &Arc<ServerState>, mut req: Req) -> ApiResult<Response<Body>> {
    let b: CreateBody = req.json(true).await?;
    let v = s.engine.create_volume(
        b.name.as_deref(),
        b.driver.as_deref(),
        b.labels.unwrap_or_default(),
        b.driver_opts.unwrap_or_default(),
    )?;
    Ok(json_resp(StatusCode::CREATED, &v))
}

/// `GET /volumes/{name}`.
pub async fn inspect(s: &Arc<ServerState>, _req: Req, name: &str) -> ApiResult<Response<Body>> {
    ok_json(&s.engine.inspect_volume(name)?)
}

/// `DELETE /volumes/{name}?force=`.
pub async fn remove(s: &Arc<ServerState>, req: Req, name: &str) -> ApiResult<Response<Body>> {
    s.engine.remove_volume(name, req.q_bool("force", false))?;
    empty(StatusCode::NO_CONTENT)
}

/// `POST /volumes/prune` (filter `all=true` as API 1.42+).
pub async fn prune(s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    let filters = req.filters()?;
    let all = filters
        .get("all")
        .is_some_and(|v| v.iter().any(|x| crate::request::truthy(x)));
    let (deleted, space) = s.engine.prune_volumes(all)?;
    let deleted: Value = if deleted.is_empty() {
        Value::Null
    } else {
        json!(deleted)
    };
    ok_json(&json!({"VolumesDeleted": deleted, "SpaceReclaimed": space}))
}
