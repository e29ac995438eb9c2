//! `/networks`: list, inspect, create, remove, connect, disconnect, prune.

use std::sync::Arc;

use bollard_stubs::models::EndpointSettings;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::request::{empty, json as json_resp, ok_json, Req};
use crate::server::ServerState;

/// `GET /networks`.
pub async fn list(s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    ok_json(&s.engine.list_networks(&req.filters()?)?)
}

/// `GET /networks/{id}`.
pub async fn inspect(s: &Arc<ServerState>, _req: Req, id: &str) -> ApiResult<Response<Body>> {
    ok_json(&s.engine.inspect_network(id)?)
}

/// `POST /networks/create` → 201 `{"Id", "Warning"}`.
pub async fn create(s: &Arc<ServerState>, mut req: Req) -> ApiResult<Response<Body>> {
    let body: berth_engine::network::NetworkCreate = req.json(false).await?;
    let id = s.engine.create_network(body).await?;
    Ok(json_resp(
        StatusCode::CREATED,
        &json!({"Id": id, "Warning": ""}),
    ))
}

/// `DELETE /networks/{id}` → 204.
pub async fn remove(s: &Arc<ServerState>, _req: Req, id: &str) -> ApiResult<Response<Body>> {
    s.engine.remove_network(id)?;
    empty(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
struct ConnectBody {
    #[serde(rename = "Container")]
    container: Option<String>,
    #[serde(rename = "EndpointConfig", default)]
    endpoint_config: Option<EndpointSettings>,
}

#[derive(serde::Deserialize)]
struct DisconnectBody {
    #[serde(rename = "Container")]
    container: Option<String>,
    #[serde(rename = "Force", default)]
    force: Option<bool>,
}

fn container_field(c: Option<String>) -> ApiResult<String> {
    c.filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::bad_request("container ID or name is required"))
}

/// `POST /networks/{id}/connect` → 200.
pub async fn connect(s: &Arc<ServerState>, mut req: Req, id: &str) -> ApiResult<Response<Body>> {
    let body: ConnectBody = req.json(false).await?;
    let container = container_field(body.container)?;
    s.engine
        .connect_network(id, &container, body.endpoint_config)
        .await?;
    empty(StatusCode::OK)
}

/// `POST /networks/{id}/disconnect` → 200.
pub async fn disconnect(s: &Arc<ServerState>, mut req: Req, id: &str) -> ApiResult<Response<Body>> {
    let body: DisconnectBody = req.json(false).await?;
    let container = container_field(body.container)?;
    s.engine
        .disconnect_network(id, &container, body.force.unwrap_or(false))
        .await?;
    empty(StatusCode::OK)
}

/// `POST /networks/prune` (filters `until`, `label`, `label!`).
pub async fn prune(s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    let filters = req.filters()?;
    for key in filters.keys() {
        if !["until", "label", "label!"].contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!("invalid filter '{key}'")));
        }
    }
    let mut until = None;
    for v in filters.get("until").into_iter().flatten() {
        until = Some(
            berth_engine::time::unix_seconds(v)
                .ok_or_else(|| ApiError::bad_request(format!("invalid filter 'until={v}'")))?,
        );
    }
    let label_hit =
        |labels: &std::collections::HashMap<String, String>, f: &str| match f.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
            None => labels.contains_key(f),
        };
    let deleted = s.engine.prune_networks(|rec| {
        let too_new = until.is_some_and(|u| rec.created / 1_000_000_000 >= u);
        let wanted = filters
            .get("label")
            .is_none_or(|ls| ls.iter().all(|l| label_hit(&rec.labels, l)));
        let excluded = filters
            .get("label!")
            .is_some_and(|ls| ls.iter().any(|l| label_hit(&rec.labels, l)));
        too_new || !wanted || excluded
    })?;
    let deleted: Value = if deleted.is_empty() {
        Value::Null
    } else {
        json!(deleted)
    };
    ok_json(&json!({"NetworksDeleted": deleted}))
}
