//! The image endpoints of berthd, driven by the stock `docker` CLI and raw HTTP (`curl`)
//! against a private berthd and a throw-away `docker-registry` seeded with busybox.
//!
//! Needs root-free tools only (docker CLI, docker-registry, skopeo, htpasswd, curl) plus
//! berth-shim and berth-runtime built next to berthd (`cargo build -p berth-shim -p
//! berth-runtime-cli`; berthd only checks that they exist). Each test owns its daemon,
//! registry, ports and temp dirs; the guards clean up on failure too.

#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration test crate: every #[test] here is outside a unit-test module by design"
)]

mod support;

use serde_json::Value;
use support::{Daemon, Registry};

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn pull_list_tag_inspect_history_push_remove_prune() {
    let reg = Registry::start(None);
    reg.seed_busybox("busybox", "latest");
    let d = Daemon::start();
    let image = format!("{}/busybox:latest", reg.host);

    let out = d.docker_ok(&["pull", &image]);
    assert!(out.contains("latest: Pulling from busybox"), "{out}");
    assert!(out.contains("Pull complete"), "{out}");
    assert!(out.contains("Digest: sha256:"), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {image}")),
        "{out}"
    );
    let again = d.docker_ok(&["pull", &image]);
    assert!(
        again.contains(&format!("Status: Image is up to date for {image}")),
        "{again}"
    );
    assert!(!again.contains("Pull complete"), "{again}");

    // The raw stream: Docker's per-layer messages, \r\n separated.
    let (code, body) = d.curl(&[
        &format!(
            "/v1.47/images/create?fromImage={}/busybox&tag=latest",
            reg.host
        ),
        "-X",
        "POST",
    ]);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\r\n"), "{body:?}");
    let first = json(body.split("\r\n").next().unwrap_or(""));
    assert_eq!(first["status"], "Pulling from busybox");
    assert_eq!(first["id"], "latest");

    let listed = d.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    assert!(listed.contains(&image), "{listed}");
    let (code, body) = d.curl(&["/v1.47/images/json"]);
    assert_eq!(code, 200);
    let rows = json(&body);
    let row = &rows[0];
    for key in [
        "Id",
        "ParentId",
        "RepoTags",
        "RepoDigests",
        "Created",
        "Size",
        "SharedSize",
        "Labels",
        "Containers",
    ] {
        assert!(row.get(key).is_some(), "{key} missing from {row}");
    }
    assert!(
        row.get("VirtualSize").is_none(),
        "VirtualSize at 1.47: {row}"
    );
    assert_eq!(row["RepoTags"][0], image);
    assert!(row["Created"].is_i64());
    assert_eq!(row["SharedSize"], -1);
    let (_, old) = d.curl(&["/v1.41/images/json"]);
    assert!(json(&old)[0].get("VirtualSize").is_some(), "{old}");

    // tag, filters, inspect, history.
    d.docker_ok(&["tag", &image, "mine/box:v1"]);
    let filtered = d.docker_ok(&[
        "images",
        "--filter",
        "reference=mine/*",
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ]);
    assert_eq!(filtered.trim(), "mine/box:v1");
    let labelled = d.docker_ok(&["images", "-q", "--filter", "label=org.berth.test=busybox"]);
    assert!(!labelled.trim().is_empty());
    let none = d.docker_ok(&["images", "-q", "--filter", "label=org.berth.test=other"]);
    assert!(none.trim().is_empty(), "{none}");
    let inspect = json(&d.docker_ok(&["image", "inspect", "mine/box:v1"]));
    let img = &inspect[0];
    assert!(img["Id"].as_str().unwrap_or("").starts_with("sha256:"));
    assert_eq!(img["Os"], "linux");
    assert_eq!(img["Config"]["Cmd"][0], "sh");
    assert_eq!(img["RootFS"]["Type"], "layers");
    assert!(
        img["RepoTags"].as_array().is_some_and(|t| t.len() == 2),
        "{img}"
    );
    let history = d.docker_ok(&["history", "--no-trunc", "mine/box:v1"]);
    assert!(history.contains("ADD file:busybox"), "{history}");

    // push under a new name: the blob is mounted from the source repository.
    let pushed = format!("{}/copy:v2", reg.host);
    d.docker_ok(&["tag", &image, &pushed]);
    let out = d.docker_ok(&["push", &pushed]);
    assert!(
        out.contains(&format!(
            "The push refers to repository [{}/copy]",
            reg.host
        )),
        "{out}"
    );
    assert!(
        out.contains("Mounted from busybox")
            || out.contains("Pushed")
            || out.contains("Layer already exists"),
        "{out}"
    );
    assert!(out.contains("v2: digest: sha256:"), "{out}");
    let again = d.docker_ok(&["push", &pushed]);
    assert!(again.contains("Layer already exists"), "{again}");

    // rmi by name untags; a pull of the pushed name finds its layers already here.
    let out = d.docker_ok(&["rmi", &pushed]);
    assert!(out.contains(&format!("Untagged: {pushed}")), "{out}");
    let out = d.docker_ok(&["pull", &pushed]);
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {pushed}")),
        "{out}"
    );

    // Removing by id with several tags needs force (Docker's text, 409).
    let id = d.docker_ok(&["images", "-q", "mine/box:v1"]);
    let out = d.docker(&["rmi", id.trim()]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("image is referenced in multiple repositories"),
        "{}",
        out.stderr
    );

    // A stopped container using the image blocks untagging its last tag (409).
    d.docker_ok(&["create", "--name", "user", "mine/box:v1", "true"]);
    d.docker_ok(&["rmi", &image, &pushed]);
    let out = d.docker(&["rmi", "mine/box:v1"]);
    assert_ne!(out.code, 0);
    let short = id.trim().trim_start_matches("sha256:");
    assert!(
        out.stderr.contains(
            "conflict: unable to remove repository reference \"mine/box:v1\" (must force) - container "
        ) && out.stderr.contains(&format!("is using its referenced image {}", &short[..12])),
        "{}",
        out.stderr
    );
    let (code, _) = d.curl(&["/v1.47/images/mine/box:v1", "-X", "DELETE"]);
    assert_eq!(code, 409);
    let out = d.docker(&["image", "prune", "-a", "-f"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        !d.docker_ok(&["images", "-q"]).trim().is_empty(),
        "prune removed an image in use"
    );
    d.docker_ok(&["rm", "-f", "user"]);

    let out = d.docker_ok(&["image", "prune", "-a", "-f"]);
    assert!(out.contains("Total reclaimed space"), "{out}");
    let left = d.docker_ok(&["images", "-q"]);
    assert!(left.trim().is_empty(), "images left after prune -a: {left}");
}

#[test]
fn save_load_roundtrip_and_import() {
    let reg = Registry::start(None);
    reg.seed_busybox("library/box", "1");
    let d = Daemon::start();
    let image = format!("{}/library/box:1", reg.host);
    let (code, body) = d.curl(&[
        &format!(
            "/v1.47/images/create?fromImage={}/library/box&tag=1",
            reg.host
        ),
        "-X",
        "POST",
    ]);
    assert_eq!(code, 200, "{body}");
    let msgs: Vec<Value> = body
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(json)
        .collect();
    let statuses: Vec<&str> = msgs.iter().filter_map(|m| m["status"].as_str()).collect();
    for want in [
        "Pulling from library/box",
        "Pulling fs layer",
        "Downloading",
        "Verifying Checksum",
        "Download complete",
        "Extracting",
        "Pull complete",
    ] {
        assert!(statuses.contains(&want), "{want} missing from {statuses:?}");
    }
    let downloading = msgs
        .iter()
        .find(|m| m["status"] == "Downloading")
        .expect("Downloading");
    assert!(
        downloading["progressDetail"]["total"]
            .as_u64()
            .is_some_and(|t| t > 0),
        "{downloading}"
    );
    assert!(
        downloading["progress"]
            .as_str()
            .is_some_and(|p| p.starts_with('[')),
        "{downloading}"
    );
    assert_eq!(downloading["id"].as_str().map(str::len), Some(12));
    let id = d.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &image]);

    let archive = d.dir.path().join("saved.tar");
    let archive_s = archive.to_str().expect("utf-8 path");
    d.docker_ok(&["save", "-o", archive_s, &image]);
    let listing = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&archive)
        .output()
        .expect("tar -t");
    let names = String::from_utf8_lossy(&listing.stdout);
    assert!(
        names.contains("manifest.json") && names.contains("index.json"),
        "{names}"
    );

    let out = d.docker_ok(&["rmi", &image]);
    assert!(out.contains("Deleted: sha256:"), "{out}");
    let out = d.docker_ok(&["load", "-i", archive_s]);
    assert!(out.contains(&format!("Loaded image: {image}")), "{out}");
    let again = d.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &image]);
    assert_eq!(again, id);

    // Into a second daemon through a pipe: docker save | docker load.
    let other = Daemon::start();
    let tar = std::fs::read(&archive).expect("read archive");
    let out = other.docker_stdin(&["load"], Some(&tar));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("Loaded image"), "{}", out.stdout);
    assert_eq!(
        other.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &image]),
        id
    );

    // load of garbage: the error arrives in-band, the CLI fails.
    let bad = d.docker_stdin(&["load"], Some(b"not a tar archive at all"));
    assert_ne!(bad.code, 0, "{bad:?}");

    // import of a rootfs tarball with --change.
    let rootfs = d.dir.path().join("rootfs.tar");
    let st = std::process::Command::new("tar")
        .arg("-C")
        .arg(berth_tests::busybox_rootfs())
        .arg("-cf")
        .arg(&rootfs)
        .arg(".")
        .status()
        .expect("tar");
    assert!(st.success());
    let out = d.docker_ok(&[
        "import",
        "--change",
        "CMD [\"sh\"]",
        rootfs.to_str().expect("utf-8"),
        "imported:1",
    ]);
    assert!(out.trim().starts_with("sha256:"), "{out}");
    let cmd = d.docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Cmd}}",
        "imported:1",
    ]);
    assert_eq!(cmd.trim(), r#"["sh"]"#);
    let bad = d.docker(&[
        "import",
        "--change",
        "RUN true",
        rootfs.to_str().expect("utf-8"),
        "bad:1",
    ]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("RUN is not a valid change command")
            || bad.stderr.contains("run is not a valid change command"),
        "{}",
        bad.stderr
    );
}

#[test]
fn login_and_authenticated_pull() {
    let reg = Registry::start(Some(("berth", "s3cret")));
    reg.seed_busybox("private/box", "latest");
    let d = Daemon::start();
    let image = format!("{}/private/box:latest", reg.host);

    let anon = d.docker(&["pull", &image]);
    assert_ne!(anon.code, 0, "anonymous pull of a private image succeeded");

    let wrong = d.docker_stdin(
        &["login", "-u", "berth", "--password-stdin", &reg.host],
        Some(b"wrong\n"),
    );
    assert_ne!(wrong.code, 0);
    assert!(
        wrong.stderr.contains("401 Unauthorized"),
        "{}",
        wrong.stderr
    );

    let ok = d.docker_stdin(
        &["login", "-u", "berth", "--password-stdin", &reg.host],
        Some(b"s3cret\n"),
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("Login Succeeded"), "{}", ok.stdout);
    let (code, body) = d.curl(&[
        "/v1.47/auth",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        &format!(
            r#"{{"username":"berth","password":"s3cret","serveraddress":"{}"}}"#,
            reg.host
        ),
    ]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(json(&body)["Status"], "Login Succeeded");

    let out = d.docker_ok(&["pull", &image]);
    assert!(out.contains("Pull complete"), "{out}");
    let pushed = format!("{}/private/copy:1", reg.host);
    d.docker_ok(&["tag", &image, &pushed]);
    let out = d.docker_ok(&["push", &pushed]);
    assert!(out.contains("1: digest: sha256:"), "{out}");
}

#[test]
fn bad_input_gets_docker_errors() {
    let reg = Registry::start(None);
    let d = Daemon::start();

    let (code, body) = d.curl(&["/v1.47/images/nope/json"]);
    assert_eq!(code, 404);
    assert_eq!(json(&body)["message"], "No such image: nope:latest");
    let (code, body) = d.curl(&["/v1.47/images/nope", "-X", "DELETE"]);
    assert_eq!(code, 404);
    assert_eq!(json(&body)["message"], "No such image: nope:latest");
    let (code, _) = d.curl(&["/v1.47/images/nope/history"]);
    assert_eq!(code, 404);
    let (code, _) = d.curl(&["/v1.47/images/nope/tag?repo=x&tag=y", "-X", "POST"]);
    assert_eq!(code, 404);
    let (code, _) = d.curl(&["/v1.47/images/nope/get"]);
    assert_eq!(code, 404);

    let (code, body) = d.curl(&["/v1.47/images/create?fromImage=Bad_Ref", "-X", "POST"]);
    assert_eq!(code, 400, "{body}");
    assert!(
        json(&body)["message"]
            .as_str()
            .unwrap_or("")
            .contains("invalid reference format"),
        "{body}"
    );
    let (code, body) = d.curl(&["/v1.47/images/json?filters=notjson"]);
    assert_eq!(code, 400, "{body}");
    let (code, body) =
        d.curl(&["/v1.47/images/json?filters=%7B%22dangling%22%3A%5B%22maybe%22%5D%7D"]);
    assert_eq!(code, 400, "{body}");
    assert_eq!(json(&body)["message"], "invalid filter 'dangling=maybe'");
    let (code, body) = d.curl(&["/v1.47/images/json?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D"]);
    assert_eq!(code, 400, "{body}");
    assert_eq!(json(&body)["message"], "invalid filter 'colour'");
    let (code, body) = d.curl(&["/v1.47/images/search?term=busybox"]);
    assert_eq!(code, 503, "{body}");

    // Missing repository / tag on a real registry: 404 before any stream.
    let (code, body) = d.curl(&[
        &format!(
            "/v1.47/images/create?fromImage={}/nope&tag=latest",
            reg.host
        ),
        "-X",
        "POST",
    ]);
    assert_eq!(code, 404, "{body}");
    assert!(
        json(&body)["message"]
            .as_str()
            .unwrap_or("")
            .contains("not found"),
        "{body}"
    );
    let out = d.docker(&["pull", &format!("{}/nope:latest", reg.host)]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("Error response from daemon"),
        "{}",
        out.stderr
    );
}
