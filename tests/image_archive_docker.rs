//! Docker interop for image archives: what `docker save` writes, berth loads and mounts;
//! what berth saves, `docker load` accepts and runs; `--change` errors match dockerd's.
//!
//! Uses the private dockerd of `berth_tests::docker::TestDocker` (default runtime runc)
//! and a berth image store in a temp dir; the snapshot mounted here is unmounted and
//! removed before the harness runs its leak checks.

#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration test crate: every #[test] here is outside a unit-test module by design"
)]

use std::fs::File;
use std::path::PathBuf;
use std::process::Command;

use berth_image::archive::{self, LoadOptions, SaveFormat};
use berth_image::images::ImageStore;
use berth_image::snapshot::Snapshot;
use berth_tests::docker::TestDocker;

#[test]
fn docker_save_loads_in_berth_and_berth_save_runs_in_docker() {
    let d = TestDocker::start("image-archive");
    let tmp = tempfile::tempdir().expect("temp dir");

    // docker import of the busybox rootfs tarball (plus a bad --change for its error text).
    let rootfs_tar = tmp.path().join("rootfs.tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(berth_tests::busybox_rootfs())
        .arg("-cf")
        .arg(&rootfs_tar)
        .arg(".")
        .status()
        .expect("run tar");
    assert!(status.success(), "tar of the busybox rootfs failed");
    let tar_path = rootfs_tar.to_str().expect("utf-8 path");
    d.docker_ok(&["import", "--change", "CMD [\"sh\"]", tar_path, "imported:1"]);
    let bad = d.docker(&["import", "--change", "RUN true", tar_path, "bad:1"]);
    assert_ne!(bad.code(), 0);
    let root = tmp.path().join("berth");
    let store = ImageStore::open(&root).expect("open store");
    let ours = archive::import(
        &store,
        File::open(&rootfs_tar).expect("open"),
        &["RUN true".into()],
        None,
    )
    .expect_err("RUN must be refused");
    assert!(
        bad.stderr.contains(&ours.to_string()),
        "docker said {:?}, berth said {ours}",
        bad.stderr
    );

    // docker save → berth load → the layers mount and hold /bin/busybox.
    let saved = tmp.path().join("docker-save.tar");
    d.docker_ok(&["save", "-o", saved.to_str().expect("utf-8"), "imported:1"]);
    let loaded = archive::load(
        &store,
        File::open(&saved).expect("open save"),
        &LoadOptions::default(),
    )
    .expect("berth load of docker save");
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].tags, ["imported:1"]);
    let id = loaded[0].id.clone();
    let docker_id = d.docker_ok(&["image", "inspect", "--format", "{{.Id}}", "imported:1"]);
    assert_eq!(docker_id.trim(), id.to_string(), "image ids differ");
    let rec = store.get(&id).expect("record");
    let lowers: Vec<PathBuf> = rec
        .chain_ids
        .iter()
        .rev()
        .map(|c| store.layers().get(&c.to_string()).expect("layer").diff_dir)
        .collect();
    let snap = Snapshot::for_readonly_view(&tmp.path().join("view"), &lowers).expect("snapshot");
    snap.mount().expect("mount view");
    let has_busybox = snap.target().join("bin/busybox").is_file();
    snap.remove().expect("unmount and remove view");
    assert!(has_busybox, "/bin/busybox missing from the mounted image");

    // berth save → docker load → docker run.
    store.tag(&id, "berth-saved:1").expect("tag");
    let out = tmp.path().join("berth-save.tar");
    archive::save(
        &store,
        &["berth-saved:1"],
        SaveFormat::Docker,
        File::create(&out).expect("create"),
    )
    .expect("berth save");
    let msg = d.docker_ok(&["load", "-i", out.to_str().expect("utf-8")]);
    assert!(
        msg.contains("Loaded image: berth-saved:1"),
        "docker load said {msg:?}"
    );
    let docker_id = d.docker_ok(&["image", "inspect", "--format", "{{.Id}}", "berth-saved:1"]);
    assert_eq!(docker_id.trim(), id.to_string());
    let ran = d.docker_ok(&["run", "--rm", "berth-saved:1", "echo", "ok"]);
    assert_eq!(ran, "ok\n");
}
