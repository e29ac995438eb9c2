//! Acceptance tests for berthd's HTTP surface spoken raw: bad input on every container and
//! exec endpoint (status codes, Docker's exact texts, never a 500, nothing left behind),
//! 404s (`/_ping`, version negotiation, `/version` and `/info` are in
//! daemon_http_system.rs; the shared checks in `berth_tests::api_checks`).
#![allow(clippy::tests_outside_test_module)]

use berth_tests::api_checks::{assert_clean, create, expect_err, message, Fails};
use berth_tests::berthd::TestBerthd;
use serde_json::Value;

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
