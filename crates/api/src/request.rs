//! A parsed request (version, path, query) and response helpers with Docker's rules for
//! booleans, filters and JSON errors.

use std::collections::HashMap;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::version::ApiVersion;

/// Largest JSON body accepted (create/exec/update bodies are small; archives and
/// image tarballs are streamed, not read through this).
pub const MAX_JSON_BODY: usize = 16 << 20;

/// One request, routed.
#[derive(Debug)]
pub struct Req {
    /// Method.
    pub method: Method,
    /// Path without the version prefix.
    pub path: String,
    /// Negotiated API version.
    pub version: ApiVersion,
    /// Query parameters (repeatable).
    pub query: HashMap<String, Vec<String>>,
    /// Headers and extensions (incl. hyper's upgrade handle).
    pub parts: hyper::http::request::Parts,
    /// The body, until taken.
    pub body: Option<Incoming>,
}

/// Percent-decodes a query component (`+` is a space).
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `a=1&b=x&a=2`.
pub fn parse_query(q: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.entry(decode(k)).or_default().push(decode(v));
    }
    out
}

/// Docker's form booleans: "", 0, no, false, none are false; anything else true.
pub fn truthy(v: &str) -> bool {
    !matches!(
        v.to_ascii_lowercase().as_str(),
        "" | "0" | "no" | "false" | "none"
    )
}

impl Req {
    /// The first value of `key`.
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .get(key)
            .and_then(|v| v.first())
            .map(String::as_str)
    }
    /// Every value of `key`.
    pub fn q_all(&self, key: &str) -> Vec<String> {
        self.query.get(key).cloned().unwrap_or_default()
    }
    /// `key` as a Docker boolean (absent = `default`).
    pub fn q_bool(&self, key: &str, default: bool) -> bool {
        self.q(key).map(truthy).unwrap_or(default)
    }
    /// `key` as an integer; 400 naming the parameter if malformed.
    pub fn q_int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.q(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::bad_request(format!("invalid value for {key}: {v:?}: not an integer"))
            }),
        }
    }
    /// `filters=` JSON: `{"k":{"v":true}}` or legacy `{"k":["v"]}`.
    pub fn filters(&self) -> ApiResult<HashMap<String, Vec<String>>> {
        let Some(raw) = self.q("filters").filter(|s| !s.is_empty()) else {
            return Ok(HashMap::new());
        };
        let v: serde_json::Value = serde_json::from_str(raw)
            .map_err(|e| ApiError::bad_request(format!("invalid filter: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| ApiError::bad_request("invalid filter: not an object"))?;
        let mut out = HashMap::new();
        for (k, vals) in obj {
            let list: Vec<String> = match vals {
                serde_json::Value::Object(m) => m
                    .iter()
                    .filter(|(_, on)| on.as_bool().unwrap_or(true))
                    .map(|(v, _)| v.clone())
                    .collect(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                _ => return Err(ApiError::bad_request(format!("invalid filter '{k}'"))),
            };
            out.insert(k.clone(), list);
        }
        Ok(out)
    }
    /// A request header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The whole body (up to `MAX_JSON_BODY`).
    pub async fn body_bytes(&mut self) -> ApiResult<Bytes> {
        let Some(body) = self.body.take() else {
            return Ok(Bytes::new());
        };
        let limited = http_body_util::Limited::new(body, MAX_JSON_BODY);
        limited
            .collect()
            .await
            .map(|c| c.to_bytes())
            .map_err(|e| ApiError::bad_request(format!("read request body: {e}")))
    }
    /// The body as JSON `T`; 400 with the decoder's message otherwise. An empty body
    /// decodes from `{}` when `empty_ok`.
    pub async fn json<T: DeserializeOwned>(&mut self, empty_ok: bool) -> ApiResult<T> {
        let bytes = self.body_bytes().await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            if empty_ok {
                return serde_json::from_slice(b"{}")
                    .map_err(|e| ApiError::bad_request(e.to_string()));
            }
            return Err(ApiError::bad_request("empty request body"));
        }
        serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(json_error(&e)))
    }
    /// Takes hyper's upgrade handle (for hijacking after a 101).
    pub fn take_upgrade(&mut self) -> Option<hyper::upgrade::OnUpgrade> {
        self.parts.extensions.remove::<hyper::upgrade::OnUpgrade>()
    }
    /// Takes the body as a stream (archives, image tarballs).
    pub fn take_body(&mut self) -> Option<Incoming> {
        self.body.take()
    }
    /// Whether the client asked to hijack the connection.
    pub fn wants_upgrade(&self) -> bool {
        self.header("upgrade").is_some()
            || self
                .header("connection")
                .is_some_and(|c| c.to_ascii_lowercase().contains("upgrade"))
    }
}

/// The decoder's error in words close to Go's (`json: cannot unmarshal …`).
pub fn json_error(e: &serde_json::Error) -> String {
    format!("invalid JSON: {e}")
}

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
    let mut out = bytes;
    out.push(b'\n');
    let mut r = Response::new(Body::full(out));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// 200 with JSON.
pub fn ok_json<T: Serialize>(value: &T) -> ApiResult<Response<Body>> {
    Ok(json(StatusCode::OK, value))
}

/// An empty response with `status`.
pub fn empty(status: StatusCode) -> ApiResult<Response<Body>> {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = status;
    Ok(r)
}

/// A plain-text response.
pub fn text(status: StatusCode, s: &str) -> Response<Body> {
    let mut r = Response::new(Body::full(s.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A streaming response with content type `ct`.
pub fn stream(ct: &'static str, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}

/// Docker's error body. The content type must be exactly `application/json`.
pub fn error_response(e: &ApiError) -> Response<Body> {
    if e.status == StatusCode::NOT_MODIFIED {
        let mut r = Response::new(Body::Empty);
        *r.status_mut() = e.status;
        return r;
    }
    json(e.status, &serde_json::json!({ "message": e.message }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode() {
        let q = parse_query("fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest&a=1&a=2&x");
        assert_eq!(q["fromImage"], vec!["docker.io/library/busybox"]);
        assert_eq!(q["a"], vec!["1", "2"]);
        assert_eq!(q["x"], vec![""]);
        assert_eq!(decode("a+b%20c%"), "a b c%");
    }

    #[test]
    fn docker_booleans() {
        for f in ["", "0", "no", "FALSE", "none"] {
            assert!(!truthy(f));
        }
        for t in ["1", "true", "yes", "x"] {
            assert!(truthy(t));
        }
    }
}
