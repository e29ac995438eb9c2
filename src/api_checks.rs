//! Checks for tests that speak berthd's HTTP API raw: Docker's JSON error bodies, status
//! codes, headers, and that nothing of a container is left.

use std::fs;

use serde_json::Value;

use crate::berthd::TestBerthd;

/// The `message` of a Docker JSON error body (panics if the body is not one).
pub fn message(body: &str) -> String {
    let v: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {body:?}"));
    v["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body:?}"))
        .to_string()
}

/// Header `name` (case-insensitive) of a raw response.
pub fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or("");
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// Asserts nothing of a container is left: no container listed, no container dir, no
/// mount, shim or cgroup.
pub fn assert_clean(d: &TestBerthd, ctx: &str) {
    let (code, body) = d.http("GET", "/containers/json?all=1", None);
    assert_eq!(code, 200, "{ctx}: {body}");
    assert_eq!(body.trim(), "[]", "{ctx}: containers left");
    let dirs: Vec<_> = fs::read_dir(d.dir.join("data/containers"))
        .map(|r| r.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(dirs.is_empty(), "{ctx}: container dirs left: {dirs:?}");
    let left = d.leftovers();
    assert!(left.is_empty(), "{ctx}: leftovers {left:?}");
}

/// Checks that a request fails with `status` and a JSON message containing `want`;
/// returns what is wrong, if anything.
pub fn check_err(
    d: &TestBerthd,
    method: &str,
    path: &str,
    body: Option<&str>,
    status: u16,
    want: &str,
) -> Option<String> {
    let t = std::time::Instant::now();
    let (code, raw, text) = d.http_full(method, path, body);
    let ctx = format!("{method} {path} {body:?}");
    if t.elapsed() > std::time::Duration::from_secs(10) {
        return Some(format!("{ctx}: took {:?} (status {code})", t.elapsed()));
    }
    if code != status {
        return Some(format!("{ctx}: status {code}, want {status}: {text}"));
    }
    if method == "HEAD" {
        return None;
    }
    let Some(msg) = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
    else {
        return Some(format!("{ctx}: not a JSON error body: {text:?}"));
    };
    if !msg.contains(want) {
        return Some(format!("{ctx}: message {msg:?} lacks {want:?}"));
    }
    let ct = header(&raw, "Content-Type");
    if ct.as_deref() != Some("application/json") {
        return Some(format!("{ctx}: error Content-Type {ct:?}"));
    }
    None
}

/// `check_err` that panics on a mismatch.
pub fn expect_err(
    d: &TestBerthd,
    method: &str,
    path: &str,
    body: Option<&str>,
    status: u16,
    want: &str,
) {
    if let Some(e) = check_err(d, method, path, body, status, want) {
        panic!("{e}");
    }
}

/// Collects mismatches so one run reports all of them.
#[derive(Debug, Default)]
pub struct Fails(pub Vec<String>);

impl Fails {
    /// Records what [`check_err`] finds wrong, if anything.
    pub fn err(
        &mut self,
        d: &TestBerthd,
        method: &str,
        path: &str,
        body: Option<&str>,
        status: u16,
        want: &str,
    ) {
        if let Some(e) = check_err(d, method, path, body, status, want) {
            self.0.push(e);
        }
    }

    /// Checks only the status of a request.
    pub fn status(
        &mut self,
        d: &TestBerthd,
        method: &str,
        path: &str,
        body: Option<&str>,
        want: u16,
    ) {
        let t = std::time::Instant::now();
        let (code, text) = d.http(method, path, body);
        if code != want {
            self.0.push(format!(
                "{method} {path} {body:?}: status {code}, want {want}: {text}"
            ));
        }
        if t.elapsed() > std::time::Duration::from_secs(10) {
            self.0
                .push(format!("{method} {path}: took {:?}", t.elapsed()));
        }
    }

    /// Panics with every recorded mismatch, if there are any.
    pub fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} failures:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// `POST /containers/create?name=<name>` with `body`, which must succeed; returns the Id.
pub fn create(d: &TestBerthd, name: &str, body: &str) -> String {
    let (code, resp) = d.http(
        "POST",
        &format!("/containers/create?name={name}"),
        Some(body),
    );
    assert_eq!(code, 201, "create {body}: {resp}");
    let v: Value = serde_json::from_str(&resp).expect("create JSON");
    assert_eq!(v["Warnings"], serde_json::json!([]), "{resp}");
    v["Id"].as_str().expect("Id").to_string()
}
