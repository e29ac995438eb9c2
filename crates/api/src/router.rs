//! The route table. Paths match with and without the `/v1.NN` prefix; image names are
//! greedy (they contain `/` and `:`), container and exec ids are one segment.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};

use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::request::{error_response, parse_query, Req};
use crate::routes::{containers, exec, extras, images, networks, system, volumes};
use crate::server::ServerState;
use crate::version::split_prefix;

/// Routes one request; errors become Docker's JSON error responses.
pub async fn route(state: &Arc<ServerState>, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path().to_string();
    let query = parse_query(parts.uri.query().unwrap_or(""));
    let (version, path) = match split_prefix(&raw_path) {
        Ok((v, p)) => (v, p.to_string()),
        Err(e) => return error_response(&e),
    };
    let req = Req {
        method: parts.method.clone(),
        path,
        version,
        query,
        parts,
        body: Some(body),
    };
    match dispatch(state, req).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "page not found")
}

async fn dispatch(state: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    let path = req.path.trim_end_matches('/').to_string();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let m = req.method.clone();
    let s = state;
    match (segs.as_slice(), &m) {
        (["_ping"], &Method::GET | &Method::HEAD) => system::ping(s, req).await,
        (["version"], &Method::GET) => system::version(s, req).await,
        (["info"], &Method::GET) => system::info(s, req).await,
        (["events"], &Method::GET) => system::events(s, req).await,
        (["system", "df"], &Method::GET) => system::df(s, req).await,
        (["auth"], &Method::POST) => images::auth(s, req).await,

        (["containers", "json"], &Method::GET) => containers::list(s, req).await,
        (["containers", "create"], &Method::POST) => containers::create(s, req).await,
        (["containers", "prune"], &Method::POST) => containers::prune(s, req).await,
        (["containers", id], &Method::DELETE) => {
            let id = id.to_string();
            containers::remove(s, req, &id).await
        }
        (["containers", id, action], _) => {
            let (id, action) = (id.to_string(), action.to_string());
            match (action.as_str(), &m) {
                ("json", &Method::GET) => containers::inspect(s, req, &id).await,
                ("start", &Method::POST) => containers::start(s, req, &id).await,
                ("stop", &Method::POST) => containers::stop(s, req, &id).await,
                ("restart", &Method::POST) => containers::restart(s, req, &id).await,
                ("kill", &Method::POST) => containers::kill(s, req, &id).await,
                ("wait", &Method::POST) => containers::wait(s, req, &id).await,
                ("pause", &Method::POST) => containers::pause(s, req, &id).await,
                ("unpause", &Method::POST) => containers::unpause(s, req, &id).await,
                ("rename", &Method::POST) => containers::rename(s, req, &id).await,
                ("update", &Method::POST) => containers::update(s, req, &id).await,
                ("resize", &Method::POST) => containers::resize(s, req, &id).await,
                ("attach", &Method::POST) => containers::attach(s, req, &id).await,
                ("exec", &Method::POST) => exec::create(s, req, &id).await,
                ("logs", &Method::GET) => extras::logs(s, req, &id).await,
                ("top", &Method::GET) => extras::top(s, req, &id).await,
                ("stats", &Method::GET) => extras::stats(s, req, &id).await,
                ("changes", &Method::GET) => extras::changes(s, req, &id).await,
                ("export", &Method::GET) => extras::export(s, req, &id).await,
                ("archive", &Method::GET) => extras::archive_get(s, req, &id).await,
                ("archive", &Method::HEAD) => extras::archive_head(s, req, &id).await,
                ("archive", &Method::PUT) => extras::archive_put(s, req, &id).await,
                _ => Err(not_found()),
            }
        }
        (["exec", id, action], _) => {
            let (id, action) = (id.to_string(), action.to_string());
            match (action.as_str(), &m) {
                ("start", &Method::POST) => exec::start(s, req, &id).await,
                ("resize", &Method::POST) => exec::resize(s, req, &id).await,
                ("json", &Method::GET) => exec::inspect(s, req, &id).await,
                _ => Err(not_found()),
            }
        }

        (["networks"], &Method::GET) => networks::list(s, req).await,
        (["networks", "create"], &Method::POST) => networks::create(s, req).await,
        (["networks", "prune"], &Method::POST) => networks::prune(s, req).await,
        (["networks", id], &Method::GET) => {
            let id = id.to_string();
            networks::inspect(s, req, &id).await
        }
        (["networks", id], &Method::DELETE) => {
            let id = id.to_string();
            networks::remove(s, req, &id).await
        }
        (["networks", id, "connect"], &Method::POST) => {
            let id = id.to_string();
            networks::connect(s, req, &id).await
        }
        (["networks", id, "disconnect"], &Method::POST) => {
            let id = id.to_string();
            networks::disconnect(s, req, &id).await
        }

        (["volumes"], &Method::GET) => volumes::list(s, req).await,
        (["volumes", "create"], &Method::POST) => volumes::create(s, req).await,
        (["volumes", "prune"], &Method::POST) => volumes::prune(s, req).await,
        (["volumes", name], &Method::GET) => {
            let name = name.to_string();
            volumes::inspect(s, req, &name).await
        }
        (["volumes", name], &Method::DELETE) => {
            let name = name.to_string();
            volumes::remove(s, req, &name).await
        }

        (["images", "json"], &Method::GET) => images::list(s, req).await,
        (["images", "create"], &Method::POST) => images::create(s, req).await,
        (["images", "load"], &Method::POST) => images::load(s, req).await,
        (["images", "get"], &Method::GET) => images::get_many(s, req).await,
        (["images", "prune"], &Method::POST) => images::prune(s, req).await,
        (["images", "search"], &Method::GET) => images::search(s, req).await,
        (["images", rest @ ..], &Method::DELETE) if !rest.is_empty() => {
            let name = rest.join("/");
            images::remove(s, req, &name).await
        }
        (["images", rest @ .., last], _) if !rest.is_empty() => {
            let name = rest.join("/");
            match (*last, &m) {
                ("json", &Method::GET) => images::inspect(s, req, &name).await,
                ("history", &Method::GET) => images::history(s, req, &name).await,
                ("push", &Method::POST) => images::push(s, req, &name).await,
                ("tag", &Method::POST) => images::tag(s, req, &name).await,
                ("get", &Method::GET) => images::get_one(s, req, &name).await,
                _ => Err(not_found()),
            }
        }
        _ => Err(not_found()),
    }
}
