//! Image store tests on temp roots: lookups, tags, Docker's rmi rules, garbage collection.

use std::io::Cursor;

use serde_json::json;
use tempfile::TempDir;

use super::*;
use crate::unpack::{unpack, UnpackOptions};

/// A one-file layer tar.
fn layer_tar(name: &str, content: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, name, content.as_bytes()).unwrap();
    b.into_inner().unwrap()
}

/// Stores layers (base first) and a config over them; returns the added record.
fn make_image(store: &ImageStore, layers: &[Vec<u8>], tag: &str) -> ImageRecord {
    let diff_ids: Vec<Digest> = layers.iter().map(|l| Digest::sha256_of(l)).collect();
    let chains = crate::manifest::chain_ids(&diff_ids);
    for (i, l) in layers.iter().enumerate() {
        let parent = (i > 0).then(|| chains[i - 1].to_string());
        store
            .layers()
            .ensure(&chains[i].to_string(), parent.as_deref(), |dir| {
                unpack(Cursor::new(l), dir, &UnpackOptions::default())
            })
            .unwrap();
        store.blobs().put(l).unwrap();
    }
    let config = json!({
        "architecture": "amd64", "os": "linux", "created": "2024-01-02T03:04:05Z",
        "config": {"Cmd": ["sh"]}, "comment": tag,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-01-02T03:04:05Z", "created_by": "ADD x"},
                    {"created": "2024-01-02T03:04:06Z", "created_by": "CMD", "empty_layer": true}],
    });
    let bytes = serde_json::to_vec(&config).unwrap();
    store.blobs().put(&bytes).unwrap();
    let rec = ImageRecord::from_config(&bytes, None, diff_ids).unwrap();
    let rec = store.add(rec).unwrap();
    if !tag.is_empty() {
        store.tag(&rec.id, tag).unwrap();
    }
    store.get(&rec.id).unwrap()
}

fn nobody(_: &Digest) -> Option<ContainerUse> {
    None
}

#[test]
fn lookups_follow_docker_rules_and_survive_reopen() {
    let root = TempDir::new().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let rec = make_image(&store, &[layer_tar("a", "1")], "busybox");
    assert_eq!(rec.repo_tags, ["docker.io/library/busybox:latest"]);
    let hex = rec.id.hex().to_owned();
    for name in [
        "busybox",
        "busybox:latest",
        "docker.io/library/busybox",
        &hex,
        &hex[..5],
        &format!("sha256:{}", &hex[..7]),
        &rec.id.to_string(),
    ] {
        assert_eq!(store.resolve(name).unwrap().id, rec.id, "{name}");
    }
    let err = store.resolve("busybox:1").unwrap_err();
    assert_eq!(err.to_string(), "No such image: busybox:1");
    store
        .add_repo_digest(&rec.id, &format!("busybox@{}", rec.id))
        .unwrap();
    assert_eq!(
        store.resolve(&format!("busybox@{}", rec.id)).unwrap().id,
        rec.id
    );
    drop(store);
    let store = ImageStore::open(root.path()).unwrap();
    let again = store.resolve("busybox").unwrap();
    assert_eq!(
        again.repo_digests,
        [format!("docker.io/library/busybox@{}", rec.id)]
    );
    assert!(again.last_tag_time.is_some());
    assert_eq!(again.size, 2048);
}

#[test]
fn tag_moves_and_untag_leaves_dangling() {
    let root = TempDir::new().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let a = make_image(&store, &[layer_tar("a", "1")], "app:1");
    let b = make_image(&store, &[layer_tar("b", "2")], "");
    assert_eq!(store.tag(&b.id, "app:1").unwrap(), Some(a.id.clone()));
    assert!(store.get(&a.id).unwrap().is_dangling());
    assert!(matches!(
        store.tag(&b.id, &format!("app@{}", a.id)),
        Err(ImageError::TagWithDigest { .. })
    ));
    assert_eq!(store.untag("app:1").unwrap(), b.id);
    assert!(store.get(&b.id).unwrap().is_dangling());
}

#[test]
fn rmi_by_tag_untags_then_deletes_and_collects_layers() {
    let root = TempDir::new().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let base = layer_tar("base", "0");
    let a = make_image(&store, &[base.clone(), layer_tar("a", "1")], "a");
    let b = make_image(&store, std::slice::from_ref(&base), "b");
    store.tag(&a.id, "a:two").unwrap();
    let out = store.remove("a:two", false, &nobody).unwrap();
    assert_eq!(out, [Deleted::Untagged("a:two".into())]);
    let out = store.remove("a", false, &nobody).unwrap();
    assert_eq!(
        out,
        [
            Deleted::Untagged("a:latest".into()),
            Deleted::Deleted(a.id.to_string()),
            Deleted::Deleted(a.chain_ids[1].to_string()),
        ]
    );
    // The shared base layer and its blob stay for b; a's own layer blob is gone.
    assert!(store.layers().exists(&a.chain_ids[0].to_string()));
    assert!(!store.layers().exists(&a.chain_ids[1].to_string()));
    assert!(store.blobs().exists(&a.layer_blobs[0]));
    assert!(!store.blobs().exists(&a.layer_blobs[1]));
    assert!(!store.blobs().exists(&a.id));
    let out = store.remove(b.id.hex(), false, &nobody).unwrap();
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(store.layers().list().unwrap().is_empty());
    assert!(store.blobs().list().unwrap().is_empty());
    assert!(store.list().is_empty());
}

#[test]
fn rmi_conflicts_use_docker_texts() {
    let root = TempDir::new().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let a = make_image(&store, &[layer_tar("a", "1")], "a");
    store.tag(&a.id, "other").unwrap();
    let short = &a.id.hex()[..12];
    let err = store.remove(a.id.hex(), false, &nobody).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories")
    );
    let running = |_: &Digest| {
        Some(ContainerUse {
            id: "0123456789abcdef".into(),
            running: true,
        })
    };
    let err = store.remove(a.id.hex(), true, &running).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to delete {short} (cannot be forced) - image is being used by running container 0123456789ab")
    );
    store.untag("other").unwrap();
    let err = store.remove("a", false, &running).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("conflict: unable to remove repository reference \"a\" (must force) - container 0123456789ab is using its referenced image {short}")
    );
    let stopped = |_: &Digest| {
        Some(ContainerUse {
            id: "fedcba9876543210".into(),
            running: false,
        })
    };
    let err = store.remove(short, false, &stopped).unwrap_err();
    assert!(err
        .to_string()
        .contains("being used by stopped container fedcba987654"));
    // Forced removal by name while running: untagged, image kept (dangling).
    let out = store.remove("a", true, &running).unwrap();
    assert_eq!(out, [Deleted::Untagged("a:latest".into())]);
    assert!(store.get(&a.id).unwrap().is_dangling());
    store.tag(&a.id, "x:1").unwrap();
    store.tag(&a.id, "y:1").unwrap();
    let out = store.remove(short, true, &nobody).unwrap();
    assert_eq!(
        &out[..2],
        [
            Deleted::Untagged("x:1".into()),
            Deleted::Untagged("y:1".into())
        ]
    );
    assert_eq!(out[2], Deleted::Deleted(a.id.to_string()));
}

#[test]
fn prune_removes_dangling_unused_images() {
    let root = TempDir::new().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let kept = make_image(&store, &[layer_tar("a", "1")], "kept");
    let dangling = make_image(&store, &[layer_tar("b", "2")], "");
    let used = make_image(&store, &[layer_tar("c", "3")], "");
    let uses = |id: &Digest| {
        (*id == used.id).then(|| ContainerUse {
            id: "c1".into(),
            running: false,
        })
    };
    let report = store.prune(true, &uses).unwrap();
    assert_eq!(report.deleted[0], Deleted::Deleted(dangling.id.to_string()));
    assert_eq!(report.space_reclaimed, dangling.size);
    let ids: Vec<Digest> = store.list().into_iter().map(|r| r.id).collect();
    assert!(ids.contains(&kept.id) && ids.contains(&used.id) && ids.len() == 2);
    let report = store.prune(false, &uses).unwrap();
    assert_eq!(report.deleted[0], Deleted::Untagged("kept:latest".into()));
    assert_eq!(store.list().len(), 1);
}

#[test]
fn inspect_and_history_have_docker_shapes() {
    let root = TempDir::new().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let a = make_image(&store, &[layer_tar("x", "1"), layer_tar("a", "1")], "a:1");
    let v = store.inspect(&a.id).unwrap();
    assert_eq!(v["Id"], json!(a.id.to_string()));
    assert_eq!(v["RepoTags"], json!(["a:1"]));
    assert_eq!(v["Config"]["Cmd"], json!(["sh"]));
    assert_eq!(v["Os"], json!("linux"));
    assert_eq!(v["Comment"], json!("a:1"));
    assert_eq!(v["RootFS"]["Layers"].as_array().unwrap().len(), 2);
    assert_eq!(v["GraphDriver"]["Name"], json!("overlay2"));
    let lower = v["GraphDriver"]["Data"]["LowerDir"].as_str().unwrap();
    assert!(std::path::Path::new(lower).is_dir(), "{lower}");
    let h = store.history(&a.id).unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].id, a.id.to_string());
    assert_eq!(h[0].created_by, "CMD");
    assert_eq!(h[0].tags, Some(vec!["a:1".to_owned()]));
    assert_eq!((h[1].id.as_str(), h[1].size), ("<missing>", 2048));
    assert_eq!(h[1].created, 1_704_164_645);
}
