//! Acceptance tests for berthd's system endpoints spoken raw: `/_ping` headers (GET and
//! HEAD), API version negotiation errors, unknown paths, `/version` and `/info` fields.
#![allow(clippy::tests_outside_test_module)]

use berth_tests::api_checks::{create, expect_err, header};
use berth_tests::berthd::TestBerthd;
use serde_json::Value;

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
