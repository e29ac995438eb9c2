//! save → load, OCI layout, import/export and hostile-archive tests on temp roots (root).

#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration test crate: every #[test] is outside a unit-test module by design"
)]

use std::fs;
use std::io::Cursor;
use std::path::Path;

use berth_image::archive::{self, ArchiveError, LoadOptions, SaveFormat};
use berth_image::digest::Digest;
use berth_image::images::ImageStore;
use serde_json::{json, Value};
use tempfile::TempDir;

/// A tar with a directory, two files and a symlink, like a tiny rootfs.
fn rootfs_tar(marker: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    b.append_data(&mut dir, "etc/", std::io::empty()).unwrap();
    for (name, body) in [("etc/marker", marker), ("bin/tool", "#!/bin/sh\necho hi\n")] {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o755);
        h.set_size(body.len() as u64);
        b.append_data(&mut h, name, body.as_bytes()).unwrap();
    }
    let mut l = tar::Header::new_gnu();
    l.set_entry_type(tar::EntryType::Symlink);
    l.set_size(0);
    b.append_link(&mut l, "etc/link", "marker").unwrap();
    b.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn store() -> (TempDir, ImageStore) {
    let root = TempDir::new().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    (root, store)
}

/// Asserts a store holds nothing: no records, layers, blobs or staging leftovers.
fn assert_empty(store: &ImageStore) {
    assert!(store.list().is_empty(), "records left");
    assert!(store.layers().list().unwrap().is_empty(), "layers left");
    assert!(store.blobs().list().unwrap().is_empty(), "blobs left");
    let leftovers: Vec<_> = fs::read_dir(store.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| {
            n.to_string_lossy().starts_with(".load") || n.to_string_lossy().starts_with(".import")
        })
        .collect();
    assert!(leftovers.is_empty(), "staging left: {leftovers:?}");
}

fn top_diff_dir(store: &ImageStore, id: &Digest) -> std::path::PathBuf {
    let rec = store.get(id).unwrap();
    let top = rec.chain_ids.last().unwrap().to_string();
    store.layers().get(&top).unwrap().diff_dir
}

/// An outer archive from (path, bytes) members.
fn archive_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, body) in members {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(body.len() as u64);
        // set_path refuses `..`; write the name bytes directly like a hostile tool would.
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, body.as_slice()).unwrap();
    }
    b.into_inner().unwrap()
}

/// A legacy (Docker ≤ 24) save archive of one uncompressed layer and `config`.
fn legacy_archive(layer: &[u8], config: &Value, layer_path: &str) -> Vec<u8> {
    let config = serde_json::to_vec(config).unwrap();
    let config_name = format!("{}.json", Digest::sha256_of(&config).hex());
    let manifest =
        json!([{"Config": config_name, "RepoTags": ["legacy:1"], "Layers": [layer_path]}]);
    archive_of(&[
        ("abc/layer.tar", layer.to_vec()),
        ("abc/VERSION", b"1.0".to_vec()),
        (&config_name, config),
        ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
    ])
}

fn config_for(diff_ids: &[Digest]) -> Value {
    json!({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
           "rootfs": {"type": "layers", "diff_ids": diff_ids}})
}

#[test]
fn docker_save_then_load_keeps_ids_tags_and_content() {
    let (_a, src) = store();
    let id = archive::import(
        &src,
        Cursor::new(gzip(&rootfs_tar("one"))),
        &[],
        Some("app:1"),
    )
    .unwrap();
    src.tag(&id, "app:2").unwrap();
    src.tag(&id, "other/x:y").unwrap();
    let tar = archive::save(
        &src,
        &["app", &id.hex()[..8]],
        SaveFormat::Docker,
        Vec::new(),
    )
    .unwrap();

    let (_b, dst) = store();
    let loaded = archive::load(&dst, Cursor::new(&tar), &LoadOptions::default()).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].id, id);
    assert_eq!(loaded[0].tags, ["app:1", "app:2"]);
    let rec = dst.get(&id).unwrap();
    assert_eq!(
        rec.repo_tags,
        ["docker.io/library/app:1", "docker.io/library/app:2"]
    );
    assert_eq!(rec.manifest_digest, src.get(&id).unwrap().manifest_digest);
    let diff = top_diff_dir(&dst, &id);
    assert_eq!(fs::read_to_string(diff.join("etc/marker")).unwrap(), "one");
    assert_eq!(
        fs::read_link(diff.join("etc/link")).unwrap(),
        Path::new("marker")
    );

    // The archive has Docker's files; loading it again changes nothing.
    let mut names = Vec::new();
    for e in tar::Archive::new(Cursor::new(&tar)).entries().unwrap() {
        names.push(e.unwrap().path().unwrap().display().to_string());
    }
    for n in ["manifest.json", "index.json", "oci-layout", "repositories"] {
        assert!(names.contains(&n.to_owned()), "{n} missing from {names:?}");
    }
    archive::load(&dst, Cursor::new(&tar), &LoadOptions::default()).unwrap();
    assert_eq!(dst.list().len(), 1);
}

#[test]
fn oci_layout_round_trip_uses_name_annotations() {
    let (_a, src) = store();
    let id = archive::import(
        &src,
        Cursor::new(rootfs_tar("oci")),
        &[],
        Some("localhost:5000/team/app:v1"),
    )
    .unwrap();
    let tar = archive::save(
        &src,
        &["localhost:5000/team/app:v1"],
        SaveFormat::Oci,
        Vec::new(),
    )
    .unwrap();
    let mut index = None;
    for e in tar::Archive::new(Cursor::new(&tar)).entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        assert_ne!(p, "manifest.json");
        if p == "index.json" {
            index = Some(serde_json::from_reader::<_, Value>(&mut e).unwrap());
        }
    }
    let index = index.unwrap();
    let ann = &index["manifests"][0]["annotations"];
    assert_eq!(ann["org.opencontainers.image.ref.name"], "v1");
    assert_eq!(
        ann["io.containerd.image.name"],
        "localhost:5000/team/app:v1"
    );

    let (_b, dst) = store();
    let loaded = archive::load(&dst, Cursor::new(&tar), &LoadOptions::default()).unwrap();
    assert_eq!(
        (loaded[0].id.clone(), loaded[0].tags.clone()),
        (id.clone(), vec!["localhost:5000/team/app:v1".to_owned()])
    );
    assert_eq!(dst.resolve("localhost:5000/team/app:v1").unwrap().id, id);
}

#[test]
fn legacy_docker_archive_with_symlinked_layer_loads() {
    let layer = rootfs_tar("legacy");
    let config = config_for(&[Digest::sha256_of(&layer)]);
    let mut tar = legacy_archive(&layer, &config, "def/layer.tar");
    // Docker ≤ 24 links repeated layers: def/layer.tar -> ../abc/layer.tar.
    let mut b = tar::Builder::new(Vec::new());
    for e in tar::Archive::new(Cursor::new(&tar)).entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut body).unwrap();
        b.append(&h, body.as_slice()).unwrap();
    }
    let mut l = tar::Header::new_gnu();
    l.set_entry_type(tar::EntryType::Symlink);
    l.set_size(0);
    b.append_link(&mut l, "def/layer.tar", "../abc/layer.tar")
        .unwrap();
    tar = b.into_inner().unwrap();

    let (_r, s) = store();
    let loaded = archive::load(&s, Cursor::new(&tar), &LoadOptions::default()).unwrap();
    assert_eq!(loaded[0].tags, ["legacy:1"]);
    let diff = top_diff_dir(&s, &loaded[0].id);
    assert_eq!(
        fs::read_to_string(diff.join("etc/marker")).unwrap(),
        "legacy"
    );
    // What berth saves from it loads again with the same id.
    let again = archive::save(&s, &["legacy:1"], SaveFormat::Docker, Vec::new()).unwrap();
    let (_r2, s2) = store();
    let loaded2 = archive::load(&s2, Cursor::new(&again), &LoadOptions::default()).unwrap();
    assert_eq!(loaded2[0].id, loaded[0].id);
}

#[test]
fn import_applies_changes_and_rejects_bad_ones() {
    let (_r, s) = store();
    let changes: Vec<String> = [
        r#"CMD ["/bin/tool", "x"]"#,
        "ENTRYPOINT exec run",
        "ENV A=1",
        "WORKDIR /srv",
        "EXPOSE 8080",
        "USER nobody",
        "LABEL k=v",
        "VOLUME /data",
        "STOPSIGNAL SIGQUIT",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let id = archive::import(&s, Cursor::new(rootfs_tar("i")), &changes, None).unwrap();
    let v = s.inspect(&id).unwrap();
    let c = &v["Config"];
    assert_eq!(c["Entrypoint"], json!(["/bin/sh", "-c", "exec run"]));
    assert_eq!(c["Cmd"], json!(["/bin/tool", "x"]));
    assert_eq!(c["Env"], json!(["A=1"]));
    assert_eq!(c["WorkingDir"], "/srv");
    assert_eq!(c["ExposedPorts"], json!({"8080/tcp": {}}));
    assert_eq!(c["User"], "nobody");
    assert_eq!(c["Labels"], json!({"k": "v"}));
    assert_eq!(c["Volumes"], json!({"/data": {}}));
    assert_eq!(c["StopSignal"], "SIGQUIT");
    assert_eq!(v["Os"], "linux");
    assert_eq!(v["RepoTags"], json!([]));
    assert_eq!(s.history(&id).unwrap()[0].comment, "Imported from -");

    let (_r2, s2) = store();
    let err = archive::import(
        &s2,
        Cursor::new(rootfs_tar("i")),
        &["RUN true".to_owned()],
        None,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "run is not a valid change command");
    let zstd = zstd::encode_all(Cursor::new(rootfs_tar("z")), 3).unwrap();
    let id = archive::import(&s2, Cursor::new(zstd), &[], Some("z")).unwrap();
    assert_eq!(
        fs::read_to_string(top_diff_dir(&s2, &id).join("etc/marker")).unwrap(),
        "z"
    );
}

#[test]
fn export_writes_the_tree() {
    let (_r, s) = store();
    let id = archive::import(&s, Cursor::new(rootfs_tar("exp")), &[], None).unwrap();
    let tar = archive::export(&top_diff_dir(&s, &id), Vec::new()).unwrap();
    let mut found = false;
    for e in tar::Archive::new(Cursor::new(&tar)).entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap() == Path::new("etc/marker") {
            let mut body = String::new();
            std::io::Read::read_to_string(&mut e, &mut body).unwrap();
            found = body == "exp";
        }
    }
    assert!(found);
}

#[test]
fn hostile_archives_are_rejected_leaving_nothing() {
    let layer = rootfs_tar("evil");
    let good_config = config_for(&[Digest::sha256_of(&layer)]);
    let opts = LoadOptions::default();
    let (_r, s) = store();

    let escape = archive_of(&[("../../x", b"boom".to_vec())]);
    let err = archive::load(&s, Cursor::new(escape), &opts).unwrap_err();
    assert!(matches!(err, ArchiveError::UnsafePath { .. }), "{err}");
    assert_empty(&s);

    let missing = legacy_archive(&layer, &good_config, "nope/layer.tar");
    let err = archive::load(&s, Cursor::new(missing), &opts).unwrap_err();
    assert!(matches!(err, ArchiveError::Missing { .. }), "{err}");
    assert_empty(&s);

    let dotdot = legacy_archive(&layer, &good_config, "../abc/layer.tar");
    let err = archive::load(&s, Cursor::new(dotdot), &opts).unwrap_err();
    assert!(matches!(err, ArchiveError::UnsafePath { .. }), "{err}");
    assert_empty(&s);

    let wrong = config_for(&[Digest::sha256_of(b"something else")]);
    let mismatch = legacy_archive(&layer, &wrong, "abc/layer.tar");
    let err = archive::load(&s, Cursor::new(mismatch), &opts).unwrap_err();
    assert!(matches!(err, ArchiveError::DiffId { .. }), "{err}");
    assert_empty(&s);

    // A second layer whose unpack fails after the first was unpacked: the first goes too.
    let second = archive_of(&[("../../escape", b"x".to_vec())]);
    let cfg = config_for(&[Digest::sha256_of(&layer), Digest::sha256_of(&second)]);
    let cfg_bytes = serde_json::to_vec(&cfg).unwrap();
    let cfg_name = format!("{}.json", Digest::sha256_of(&cfg_bytes).hex());
    let manifest = json!([{"Config": cfg_name, "RepoTags": ["x:1"], "Layers": ["a/layer.tar", "b/layer.tar"]}]);
    let two = archive_of(&[
        ("a/layer.tar", layer.clone()),
        ("b/layer.tar", second),
        (&cfg_name, cfg_bytes),
        ("manifest.json", serde_json::to_vec(&manifest).unwrap()),
    ]);
    let err = archive::load(&s, Cursor::new(two), &opts).unwrap_err();
    assert!(matches!(err, ArchiveError::Layer { .. }), "{err}");
    assert_empty(&s);

    // An OCI blob whose content does not match its name.
    let bad_blob = archive_of(&[
        (
            &format!("blobs/sha256/{}", "0".repeat(64)),
            b"not it".to_vec(),
        ),
        (
            "index.json",
            br#"{"schemaVersion":2,"manifests":[]}"#.to_vec(),
        ),
    ]);
    let err = archive::load(&s, Cursor::new(bad_blob), &opts).unwrap_err();
    assert!(matches!(err, ArchiveError::BlobDigest { .. }), "{err}");
    assert_empty(&s);

    let tiny = LoadOptions {
        max_bytes: 100,
        ..LoadOptions::default()
    };
    let big = legacy_archive(&layer, &good_config, "abc/layer.tar");
    let err = archive::load(&s, Cursor::new(big), &tiny).unwrap_err();
    assert!(matches!(err, ArchiveError::TooLarge { .. }), "{err}");
    assert_empty(&s);
}
