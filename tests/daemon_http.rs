//! Acceptance tests for berthd's HTTP surface spoken raw: bad input on every container and
//! exec endpoint (status codes, Docker's exact texts, never a 500, nothing left behind),
//! `/_ping` headers, API version negotiation errors, 404s, `/version` and `/info`.
#![allow(clippy::tests_outside_test_module)]

use std::fs;

use berth_tests::berthd::TestBerthd;
use serde_json::Value;

/// The `message` of a Docker JSON error body (panics if the body is not one).
fn message(body: &str) -> String {
    let v: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {body:?}"));
    v["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body:?}"))
        .to_string()
}

/// Header `name` (case-insensitive) of a raw response.
fn header(raw: &str, name: &str) -> Option<String> {
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
fn assert_clean(d: &TestBerthd, ctx: &str) {
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
fn check_err(
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
fn expect_err(
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
#[derive(Default)]
struct Fails(Vec<String>);

impl Fails {
    fn err(
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
    fn status(&mut self, d: &TestBerthd, method: &str, path: &str, body: Option<&str>, want: u16) {
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

    fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} failures:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

fn create(d: &TestBerthd, name: &str, body: &str) -> String {
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

#[test]
fn create_bad_input_is_400_and_leaves_nothing() {
    let d = TestBerthd::start("http-create");
    let mut fails = Fails::default();
    let cases: &[(&str, &str, u16, &str)] = &[
        ("", "{\"Image\":", 400, ""),
        ("", "not json", 400, ""),
        ("", "[1,2]", 400, ""),
        ("", "{\"Image\":\"busybox\",\"Cmd\":5}", 400, ""),
        ("", "{\"Image\":\"busybox\",\"Env\":\"A=1\"}", 400, ""),
        ("", "{\"Image\":5}", 400, ""),
        ("", "{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":\"lots\"}}", 400, ""),
        ("", "{\"Image\":\"busybox\",\"Labels\":[\"a\"]}", 400, ""),
        (
            "",
            "{\"Image\":\"busybox\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"bogus\"}}}",
            400,
            "invalid restart policy",
        ),
        (
            "",
            "{\"Image\":\"busybox\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":-1}}}",
            400,
            "maximum retry count cannot be negative",
        ),
        (
            "",
            "{\"Image\":\"busybox\",\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"always\",\"MaximumRetryCount\":3}}}",
            400,
            "maximum retry count can only be used with 'on-failure'",
        ),
        (
            "",
            "{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":-1}}",
            400,
            "Minimum memory limit allowed is 6MB",
        ),
        (
            "",
            "{\"Image\":\"busybox\",\"HostConfig\":{\"Memory\":1024}}",
            400,
            "Minimum memory limit allowed is 6MB",
        ),
        (
            "",
            "{\"Image\":\"busybox\",\"HostConfig\":{\"CapAdd\":[\"BOGUS\"]}}",
            400,
            "unknown capability: \"CAP_BOGUS\"",
        ),
        (
            "",
            "{\"Image\":\"busybox\",\"HostConfig\":{\"PortBindings\":{\"80/tcp\":[{\"HostPort\":\"99999\"}]}}}",
            400,
            "",
        ),
        (
            "",
            "{\"Image\":\"busybox\",\"HostConfig\":{\"Binds\":[\"/tmp:/x:zz\"]}}",
            400,
            "",
        ),
        (
            "",
            "{\"Image\":\"busybox\",\"HostConfig\":{\"Binds\":[\"/tmp:relative\"]}}",
            400,
            "",
        ),
        (
            "",
            // 400, not 404: the docker CLI answers a 404 from create by pulling.
            "{\"Image\":\"busybox\",\"HostConfig\":{\"NetworkMode\":\"nosuchnet\"}}",
            400,
            "",
        ),
        (
            "x%20y",
            "{\"Image\":\"busybox\"}",
            400,
            "Invalid container name (x y), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
        ),
        (
            "-bad",
            "{\"Image\":\"busybox\"}",
            400,
            "Invalid container name (-bad)",
        ),
        ("", "{\"Image\":\"nosuch\"}", 404, "No such image: nosuch:latest"),
        ("", "{\"Image\":\"Bad:Ref!\"}", 400, ""),
    ];
    for (name, body, status, want) in cases {
        let path = if name.is_empty() {
            "/containers/create".to_string()
        } else {
            format!("/containers/create?name={name}")
        };
        fails.err(&d, "POST", &path, Some(body), *status, want);
        let (_, list) = d.http("GET", "/containers/json?all=1", None);
        if list.trim() != "[]" {
            fails.0.push(format!("{body}: created a container anyway"));
            let v: Value = serde_json::from_str(&list).expect("list JSON");
            for c in v.as_array().into_iter().flatten() {
                let id = c["Id"].as_str().expect("Id");
                d.http("DELETE", &format!("/containers/{id}?force=1"), None);
            }
        }
        assert_clean(&d, body);
    }
    fails.finish();
    // A valid create still works afterwards and is cleaned by DELETE.
    let id = create(&d, "good", "{\"Image\":\"busybox\",\"Cmd\":[\"true\"]}");
    let (code, body) = d.http("DELETE", &format!("/containers/{id}"), None);
    assert_eq!(code, 204, "{body}");
    assert_clean(&d, "after delete");
}

#[test]
fn unknown_container_is_404_everywhere() {
    let d = TestBerthd::start("http-404");
    let want = "No such container: nope";
    let posts = [
        "start",
        "stop",
        "restart",
        "kill",
        "wait",
        "pause",
        "unpause",
        "rename?name=other",
        "update",
        "resize?h=10&w=10",
        "attach?stream=1&stdout=1",
        "exec",
    ];
    for p in posts {
        let body = match p {
            "update" => Some("{}"),
            "exec" => Some("{\"Cmd\":[\"true\"]}"),
            _ => None,
        };
        expect_err(
            &d,
            "POST",
            &format!("/containers/nope/{p}"),
            body,
            404,
            want,
        );
    }
    for p in [
        "json",
        "logs?stdout=1",
        "top",
        "stats?stream=0",
        "changes",
        "export",
        "archive?path=/",
    ] {
        expect_err(&d, "GET", &format!("/containers/nope/{p}"), None, 404, want);
    }
    expect_err(&d, "DELETE", "/containers/nope", None, 404, want);
    expect_err(&d, "DELETE", "/containers/nope?force=1", None, 404, want);
    expect_err(
        &d,
        "HEAD",
        "/containers/nope/archive?path=/",
        None,
        404,
        want,
    );
    expect_err(
        &d,
        "PUT",
        "/containers/nope/archive?path=/",
        Some(""),
        404,
        want,
    );
    // versioned prefix too
    expect_err(&d, "GET", "/v1.47/containers/nope/json", None, 404, want);
    for (m, p) in [
        ("POST", "/exec/nope/start"),
        ("POST", "/exec/nope/resize?h=1&w=1"),
        ("GET", "/exec/nope/json"),
    ] {
        let body = (m == "POST").then_some("{\"Detach\":true}");
        expect_err(&d, m, p, body, 404, "No such exec instance: nope");
    }
    assert_clean(&d, "404s");
}

#[test]
fn lifecycle_endpoints_reject_bad_input() {
    let d = TestBerthd::start("http-lifecycle");
    let mut f = Fails::default();
    let id = create(
        &d,
        "web",
        "{\"Image\":\"busybox\",\"Cmd\":[\"sleep\",\"100\"]}",
    );
    let c = "/containers/web";

    // wait with an unknown condition
    f.err(
        &d,
        "POST",
        &format!("{c}/wait?condition=x"),
        None,
        400,
        "invalid condition: \"x\"",
    );
    // exec on a created (not running) container
    f.err(
        &d,
        "POST",
        &format!("{c}/exec"),
        Some("{\"Cmd\":[\"true\"]}"),
        409,
        &format!("container {id} is not running"),
    );
    // kill / pause / top / resize of a container that is not running
    f.err(
        &d,
        "POST",
        &format!("{c}/kill"),
        None,
        409,
        "is not running",
    );
    f.err(
        &d,
        "POST",
        &format!("{c}/pause"),
        None,
        409,
        "is not running",
    );
    f.err(&d, "GET", &format!("{c}/top"), None, 409, "is not running");
    // logs needs stdout or stderr
    f.err(
        &d,
        "GET",
        &format!("{c}/logs"),
        None,
        400,
        "Bad parameters: you must choose at least one stream",
    );
    // start with a body
    f.err(
        &d,
        "POST",
        &format!("{c}/start"),
        Some("{\"Binds\":[\"/:/host\"]}"),
        400,
        "",
    );
    f.status(&d, "POST", &format!("{c}/start"), Some("{}"), 204);
    f.status(&d, "POST", &format!("{c}/start"), None, 304);

    // exec create: empty, missing, wrongly typed Cmd; malformed body
    f.err(
        &d,
        "POST",
        &format!("{c}/exec"),
        Some("{\"Cmd\":[]}"),
        400,
        "No exec command specified",
    );
    f.err(
        &d,
        "POST",
        &format!("{c}/exec"),
        Some("{}"),
        400,
        "No exec command specified",
    );
    f.err(
        &d,
        "POST",
        &format!("{c}/exec"),
        Some("{\"Cmd\":5}"),
        400,
        "",
    );
    f.err(&d, "POST", &format!("{c}/exec"), Some("{\"Cmd\":"), 400, "");
    // exec start / resize / inspect bad input
    let (code, body) = d.http(
        "POST",
        &format!("{c}/exec"),
        Some("{\"Cmd\":[\"sh\",\"-c\",\"exit 3\"]}"),
    );
    assert_eq!(code, 201, "{body}");
    let exec: Value = serde_json::from_str(&body).expect("exec JSON");
    let eid = exec["Id"].as_str().expect("exec Id").to_string();
    f.err(
        &d,
        "POST",
        &format!("/exec/{eid}/start"),
        Some("{\"Detach\":"),
        400,
        "",
    );
    f.err(
        &d,
        "POST",
        &format!("/exec/{eid}/start"),
        Some("{\"Detach\":\"yes\"}"),
        400,
        "",
    );
    f.err(
        &d,
        "POST",
        &format!("/exec/{eid}/resize?h=abc&w=10"),
        None,
        400,
        "",
    );
    let (code, body) = d.http(
        "POST",
        &format!("/exec/{eid}/start"),
        Some("{\"Detach\":true}"),
    );
    assert_eq!(code, 200, "{body}");
    let mut done = false;
    for _ in 0..100 {
        let (code, body) = d.http("GET", &format!("/exec/{eid}/json"), None);
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("exec inspect");
        if v["Running"] == false && v["ExitCode"] == 3 {
            assert_eq!(v["ContainerID"], id.as_str(), "{v}");
            assert_eq!(v["ProcessConfig"]["entrypoint"], "sh", "{v}");
            done = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(done, "detached exec never reported ExitCode 3");
    // starting a finished exec again
    let (code, body) = d.http(
        "POST",
        &format!("/exec/{eid}/start"),
        Some("{\"Detach\":true}"),
    );
    assert!(
        code == 409 || code == 400,
        "restart of a finished exec: {code} {body}"
    );

    // kill with a bad signal, resize with bad numbers
    f.err(
        &d,
        "POST",
        &format!("{c}/kill?signal=BOGUS"),
        None,
        400,
        "Invalid signal: BOGUS",
    );
    f.err(&d, "POST", &format!("{c}/resize?h=abc&w=1"), None, 400, "");
    // update with bad input
    f.err(
        &d,
        "POST",
        &format!("{c}/update"),
        Some("{\"Memory\":"),
        400,
        "",
    );
    f.err(
        &d,
        "POST",
        &format!("{c}/update"),
        Some("{\"Memory\":-5}"),
        400,
        "",
    );
    f.err(
        &d,
        "POST",
        &format!("{c}/update"),
        Some("{\"RestartPolicy\":{\"Name\":\"bogus\"}}"),
        400,
        "invalid restart policy",
    );
    // unpause of a container that is not paused
    f.err(
        &d,
        "POST",
        &format!("{c}/unpause"),
        None,
        409,
        "is not paused",
    );
    // rename: invalid, missing, taken
    f.err(
        &d,
        "POST",
        &format!("{c}/rename?name=a%20b"),
        None,
        400,
        "Invalid container name (a b)",
    );
    f.err(&d, "POST", &format!("{c}/rename"), None, 400, "");
    let other = create(&d, "other", "{\"Image\":\"busybox\"}");
    f.err(
        &d,
        "POST",
        &format!("{c}/rename?name=other"),
        None,
        409,
        &format!(
            "Conflict. The container name \"/other\" is already in use by container \"{other}\""
        ),
    );
    // create with a name in use
    f.err(
        &d,
        "POST",
        "/containers/create?name=web",
        Some("{\"Image\":\"busybox\"}"),
        409,
        &format!("Conflict. The container name \"/web\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."),
    );
    // remove running without force
    f.err(
        &d,
        "DELETE",
        "/containers/web",
        None,
        409,
        "cannot remove container \"web\": container is running: stop the container before removing or force remove",
    );
    // logs with a bad tail/since must not be a 500
    let (code, body) = d.http("GET", &format!("{c}/logs?stdout=1&since=abc"), None);
    assert!(code == 400, "logs since=abc: {code} {body}");
    // stop, then stop again (304) and exec on a stopped container (409)
    f.status(&d, "POST", &format!("{c}/stop?t=0"), None, 204);
    f.status(&d, "POST", &format!("{c}/stop"), None, 304);
    f.err(
        &d,
        "POST",
        &format!("{c}/exec"),
        Some("{\"Cmd\":[\"true\"]}"),
        409,
        &format!("container {id} is not running"),
    );
    // wait conditions on a stopped container
    let (code, body) = d.http("POST", &format!("{c}/wait?condition=not-running"), None);
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(body.trim()).expect("wait JSON");
    if v["StatusCode"] != 137 {
        f.0.push(format!(
            "wait after stop -t 0 of `sleep 100`: {v}, want StatusCode 137"
        ));
    }

    for n in ["web", "other"] {
        assert_eq!(d.http("DELETE", &format!("/containers/{n}"), None).0, 204);
    }
    // attach with bad detach keys is refused before any streaming (short-lived container
    // so that a daemon which streams anyway does not hang the test)
    create(
        &d,
        "att1",
        "{\"Image\":\"busybox\",\"Cmd\":[\"sleep\",\"3\"]}",
    );
    f.status(&d, "POST", "/containers/att1/start", None, 204);
    f.err(
        &d,
        "POST",
        "/containers/att1/attach?stream=1&stdout=1&detachKeys=ctrl-",
        None,
        400,
        "Invalid detach keys (ctrl-) provided",
    );
    f.status(&d, "DELETE", "/containers/att1?force=1", None, 204);
    f.finish();
    assert_clean(&d, "lifecycle");
}

#[test]
fn failed_start_leaves_nothing_behind() {
    let d = TestBerthd::start("http-badstart");
    // A start that fails (missing command, bad workdir type, bad bind source) must undo
    // everything it set up: mounts, shim, cgroup.
    let id = create(&d, "nx", "{\"Image\":\"busybox\",\"Cmd\":[\"nosuchcmd\"]}");
    let (code, body) = d.http("POST", "/containers/nx/start", None);
    assert_eq!(code, 400, "{body}");
    let msg = message(&body);
    assert!(msg.contains("executable file not found"), "{msg}");
    let (_, insp) = d.http("GET", "/containers/nx/json", None);
    let v: Value = serde_json::from_str(&insp).expect("inspect");
    assert_eq!(v["State"]["ExitCode"], 127, "{insp}");
    assert_eq!(v["State"]["Status"], "created", "{insp}");
    assert!(
        v["State"]["Error"]
            .as_str()
            .unwrap_or("")
            .contains("executable file not found"),
        "{insp}"
    );
    let left = d.leftovers();
    assert!(left.is_empty(), "after failed start of {id}: {left:?}");

    // a working dir that is a file: the runtime fails late, after mounts and cgroups
    create(
        &d,
        "badwd",
        "{\"Image\":\"busybox\",\"WorkingDir\":\"/etc/passwd\"}",
    );
    let (code, body) = d.http("POST", "/containers/badwd/start", None);
    assert!(
        code == 400 || code == 500,
        "start with a file as cwd: {code} {body}"
    );
    let msg = message(&body);
    assert!(msg.to_lowercase().contains("not a directory"), "{msg}");
    let left = d.leftovers();
    assert!(left.is_empty(), "after failed start: {left:?}");
    // --mount type=bind with a missing source is refused at create
    let missing = d.dir.join("missing-src");
    expect_err(
        &d,
        "POST",
        "/containers/create?name=badbind",
        Some(&format!(
            "{{\"Image\":\"busybox\",\"HostConfig\":{{\"Mounts\":[{{\"Type\":\"bind\",\"Source\":\"{}\",\"Target\":\"/x\"}}]}}}}",
            missing.display()
        )),
        400,
        &format!("bind source path does not exist: {}", missing.display()),
    );
    assert!(!missing.exists(), "create made the missing bind source");
    for n in ["nx", "badwd"] {
        assert_eq!(d.http("DELETE", &format!("/containers/{n}"), None).0, 204);
    }
    assert_clean(&d, "failed starts");
}

#[test]
fn ping_headers_get_and_head() {
    let d = TestBerthd::start("http-ping");
    for path in ["/_ping", "/v1.47/_ping", "/v1.24/_ping"] {
        let raw = d.http_raw("GET", path, None);
        assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
        assert!(raw.ends_with("\r\n\r\nOK"), "GET {path} body: {raw}");
        assert_eq!(
            header(&raw, "Api-Version").as_deref(),
            Some("1.47"),
            "{raw}"
        );
        assert_eq!(header(&raw, "Ostype").as_deref(), Some("linux"), "{raw}");
        let server = header(&raw, "Server").unwrap_or_default();
        assert!(
            server.starts_with("Docker/") && server.ends_with("(linux)"),
            "{raw}"
        );
        assert_eq!(
            header(&raw, "Docker-Experimental").as_deref(),
            Some("false"),
            "{raw}"
        );
        assert_eq!(
            header(&raw, "Cache-Control").as_deref(),
            Some("no-cache, no-store, must-revalidate"),
            "{raw}"
        );
        assert_eq!(header(&raw, "Pragma").as_deref(), Some("no-cache"), "{raw}");
        assert_eq!(header(&raw, "Swarm").as_deref(), Some("inactive"), "{raw}");
        assert_eq!(
            header(&raw, "Builder-Version").as_deref(),
            Some("1"),
            "{raw}"
        );

        let raw = d.http_raw("HEAD", path, None);
        assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
        assert!(raw.ends_with("\r\n\r\n"), "HEAD has no body: {raw:?}");
        assert_eq!(
            header(&raw, "Api-Version").as_deref(),
            Some("1.47"),
            "{raw}"
        );
        assert_eq!(header(&raw, "Ostype").as_deref(), Some("linux"), "{raw}");
        assert!(
            header(&raw, "Server")
                .unwrap_or_default()
                .starts_with("Docker/"),
            "{raw}"
        );
        assert_eq!(
            header(&raw, "Content-Length").as_deref(),
            Some("0"),
            "{raw}"
        );
        assert_eq!(
            header(&raw, "Content-Type").as_deref(),
            Some("text/plain; charset=utf-8"),
            "{raw}"
        );
    }
    // common headers on other responses, errors included
    let raw = d.http_raw("GET", "/containers/nope/json", None);
    assert_eq!(
        header(&raw, "Api-Version").as_deref(),
        Some("1.47"),
        "{raw}"
    );
    assert_eq!(header(&raw, "Ostype").as_deref(), Some("linux"), "{raw}");
}

#[test]
fn api_version_errors_and_unknown_paths() {
    let d = TestBerthd::start("http-version");
    let raw = d.http_raw("GET", "/v1.23/info", None);
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");
    assert_eq!(
        header(&raw, "Content-Type").as_deref(),
        Some("application/json")
    );
    expect_err(
        &d,
        "GET",
        "/v1.23/info",
        None,
        400,
        "client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version",
    );
    expect_err(
        &d,
        "GET",
        "/v1.99/info",
        None,
        400,
        "client version 1.99 is too new. Maximum supported API version is 1.47",
    );
    for (m, p) in [
        ("GET", "/nope"),
        ("GET", "/v1.47/nope"),
        ("GET", "/containers/x/nope"),
        ("PUT", "/containers/create"),
        ("DELETE", "/_ping"),
        ("POST", "/version"),
        ("GET", "/exec/x/nope"),
    ] {
        let (code, body) = d.http(m, p, None);
        assert_eq!(code, 404, "{m} {p}: {body}");
        assert_eq!(body, "{\"message\":\"page not found\"}\n", "{m} {p}");
    }
    // older but supported versions work
    let (code, _) = d.http("GET", "/v1.24/containers/json", None);
    assert_eq!(code, 200);
    let (code, _) = d.http("GET", "/v1.44/info", None);
    assert_eq!(code, 200);
    // bogus version strings are not routes
    let (code, body) = d.http("GET", "/vX/info", None);
    assert_eq!(code, 404, "{body}");
}

#[test]
fn version_and_info_fields() {
    let d = TestBerthd::start("http-info");
    let (code, body) = d.http("GET", "/version", None);
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("version JSON");
    for k in [
        "Version",
        "ApiVersion",
        "MinAPIVersion",
        "Os",
        "Arch",
        "KernelVersion",
        "GoVersion",
        "GitCommit",
        "BuildTime",
    ] {
        assert!(v[k].is_string(), "version.{k} missing: {v}");
    }
    assert_eq!(v["ApiVersion"], "1.47", "{v}");
    assert_eq!(v["MinAPIVersion"], "1.24", "{v}");
    assert_eq!(v["Os"], "linux", "{v}");
    assert_eq!(v["Arch"], "amd64", "{v}");
    assert!(v["Platform"]["Name"].is_string(), "{v}");
    let comps = v["Components"].as_array().expect("Components list");
    let engine = comps
        .iter()
        .find(|c| c["Name"] == "Engine")
        .expect("Engine component");
    assert!(engine["Version"].is_string(), "{engine}");
    assert_eq!(engine["Details"]["ApiVersion"], "1.47", "{engine}");
    assert_eq!(engine["Details"]["MinAPIVersion"], "1.24", "{engine}");
    for k in [
        "GitCommit",
        "GoVersion",
        "Os",
        "Arch",
        "KernelVersion",
        "BuildTime",
    ] {
        assert!(engine["Details"][k].is_string(), "Details.{k}: {engine}");
    }

    // one running, one stopped container for the counters
    create(
        &d,
        "run1",
        "{\"Image\":\"busybox\",\"Cmd\":[\"sleep\",\"100\"]}",
    );
    assert_eq!(d.http("POST", "/containers/run1/start", None).0, 204);
    create(&d, "stop1", "{\"Image\":\"busybox\"}");
    let (code, body) = d.http("GET", "/info", None);
    assert_eq!(code, 200, "{body}");
    let i: Value = serde_json::from_str(&body).expect("info JSON");
    for k in [
        "ID",
        "Driver",
        "KernelVersion",
        "OperatingSystem",
        "Architecture",
        "DockerRootDir",
        "Name",
        "ServerVersion",
        "DefaultRuntime",
        "CgroupDriver",
        "IndexServerAddress",
        "LoggingDriver",
    ] {
        assert!(i[k].is_string(), "info.{k} missing: {i}");
    }
    assert_eq!(i["Containers"], 2, "{i}");
    assert_eq!(i["ContainersRunning"], 1, "{i}");
    assert_eq!(i["ContainersPaused"], 0, "{i}");
    assert_eq!(i["ContainersStopped"], 1, "{i}");
    assert!(i["Images"].as_i64().unwrap_or(0) >= 1, "{i}");
    assert_eq!(i["OSType"], "linux", "{i}");
    assert_eq!(i["CgroupVersion"], "1", "{i}");
    assert_eq!(i["LoggingDriver"], "json-file", "{i}");
    assert_eq!(
        i["IndexServerAddress"], "https://index.docker.io/v1/",
        "{i}"
    );
    assert_eq!(i["Swarm"]["LocalNodeState"], "inactive", "{i}");
    assert!(i["NCPU"].as_i64().unwrap_or(0) >= 1, "{i}");
    assert!(i["MemTotal"].as_i64().unwrap_or(0) > 0, "{i}");
    assert!(i["DriverStatus"].is_array(), "{i}");
    assert!(i["Plugins"]["Volume"].is_array(), "{i}");
    assert!(i["Labels"].is_array(), "{i}");
    assert!(i["Warnings"].is_array() || i["Warnings"].is_null(), "{i}");
    assert!(i["Runtimes"].is_object(), "{i}");
    assert!(i["SecurityOptions"].is_array(), "{i}");
    assert!(i["MemoryLimit"].is_boolean(), "{i}");
    assert!(i["RegistryConfig"].is_object(), "{i}");
    assert_eq!(
        i["DockerRootDir"],
        d.dir.join("data").to_string_lossy().as_ref(),
        "{i}"
    );
    // the docker CLI renders both
    let out = d.docker_ok(&[
        "version",
        "--format",
        "{{.Server.APIVersion}} {{.Server.MinAPIVersion}}",
    ]);
    assert_eq!(out, "1.47 1.24");
    let out = d.docker_ok(&[
        "info",
        "--format",
        "{{.Containers}} {{.ContainersRunning}} {{.OSType}}",
    ]);
    assert_eq!(out, "2 1 linux");
}
