//! `pull` against a real `docker-registry` on 127.0.0.1 seeded with skopeo: whiteouts
//! and opaque dirs through a mounted overlay view, platform selection from an index,
//! gzip/zstd/plain layers, pull by digest, corrupted blobs, and concurrent pulls that
//! share base layers. Runs as root (overlay mounts, whiteout device nodes).
#![allow(clippy::tests_outside_test_module)]

mod pull_support;

use std::path::PathBuf;

use berth_image::digest::Digest;
use berth_image::manifest::Platform;
use berth_image::pull::{pull, Event, LayerSource, Phase, PullError, PulledImage};
use berth_image::reference::Reference;
use berth_image::snapshot::Snapshot;
use pull_support::layout::{self, file, noise, Compression, Entry, OCI_MANIFEST};
use pull_support::{Recorder, Stores, TestRegistry};

fn reference(reg: &TestRegistry, rest: &str) -> Reference {
    Reference::parse(&format!("{}/{rest}", reg.host)).unwrap()
}

fn amd64() -> Platform {
    Platform::parse("linux/amd64").unwrap()
}

async fn pull_ok(stores: &Stores, r: &Reference, rec: &Recorder) -> PulledImage {
    pull(&stores.ctx(), r, &amd64(), &|e| rec.record(e))
        .await
        .unwrap_or_else(|e| panic!("pull {r}: {e:?}"))
}

/// The phases seen for `digest`, consecutive repeats folded.
fn phases(events: &[Event], digest: &Digest) -> Vec<Phase> {
    let mut out: Vec<Phase> = Vec::new();
    for e in events.iter().filter(|e| &e.digest == digest) {
        if out.last() != Some(&e.phase) {
            out.push(e.phase);
        }
    }
    out
}

/// Removes the snapshot (and its mount) even when an assertion fails.
struct View(Snapshot);

impl Drop for View {
    fn drop(&mut self) {
        self.0.remove().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whiteouts_and_opaque_dirs_through_an_overlay_view() {
    let reg = TestRegistry::start();
    let oci = reg.path("oci");
    let img = layout::image(
        &oci,
        "amd64",
        &[
            (
                Compression::Gzip,
                vec![
                    Entry::Dir("etc"),
                    file("etc/keep", "keep"),
                    file("etc/gone", "gone"),
                    Entry::Dir("data"),
                    file("data/old1", "1"),
                    Entry::Dir("data/sub"),
                    file("data/sub/old2", "2"),
                ],
            ),
            (
                Compression::Gzip,
                vec![Entry::Whiteout("etc/gone"), file("etc/new", "new")],
            ),
            (
                Compression::Gzip,
                vec![
                    Entry::Dir("data"),
                    Entry::Opaque("data"),
                    file("data/fresh", "fresh"),
                ],
            ),
        ],
    );
    layout::tag(&oci, "v1", OCI_MANIFEST, &img.manifest);
    reg.seed(&oci, "v1", "demo/layers");

    let stores = Stores::new();
    let rec = Recorder::default();
    let pulled = pull_ok(&stores, &reference(&reg, "demo/layers:v1"), &rec).await;
    assert_eq!(pulled.manifest_digest, img.manifest.digest);
    assert_eq!(pulled.config_digest, img.config.digest);
    assert_eq!(pulled.config, img.config.bytes);
    assert_eq!(pulled.diff_ids(), img.diff_ids);
    assert_eq!(pulled.index_digest, None);
    let events = rec.events();
    for (layer, blob) in pulled.layers.iter().zip(&img.layers) {
        assert_eq!(layer.source, LayerSource::Downloaded);
        assert_eq!(layer.descriptor.digest, blob.digest);
        assert!(stores.blobs.exists(&blob.digest));
        assert!(stores.layers.exists(&layer.chain_id.to_string()));
        assert_eq!(
            phases(&events, &blob.digest),
            [
                Phase::Waiting,
                Phase::Downloading,
                Phase::Extracting,
                Phase::Verifying,
                Phase::Done
            ]
        );
    }
    assert!(stores.blobs.exists(&img.manifest.digest));
    assert!(stores.blobs.exists(&img.config.digest));
    assert!(stores.leftovers().is_empty(), "{:?}", stores.leftovers());

    let lowers: Vec<PathBuf> = pulled
        .chain_ids()
        .iter()
        .rev()
        .map(|c| stores.layers.short_link_path(&c.to_string()).unwrap())
        .collect();
    let view = View(Snapshot::for_readonly_view(&stores.dir.path().join("view"), &lowers).unwrap());
    view.0.mount().unwrap();
    let root = view.0.target();
    assert_eq!(
        std::fs::read_to_string(root.join("etc/keep")).unwrap(),
        "keep"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("etc/new")).unwrap(),
        "new"
    );
    assert!(!root.join("etc/gone").exists());
    let mut data: Vec<String> = std::fs::read_dir(root.join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    data.sort();
    assert_eq!(data, ["fresh"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_selects_the_platform() {
    let reg = TestRegistry::start();
    let oci = reg.path("oci");
    let amd = layout::image(
        &oci,
        "amd64",
        &[(Compression::Gzip, vec![file("arch", "amd64")])],
    );
    let arm = layout::image(
        &oci,
        "arm64",
        &[(Compression::Gzip, vec![file("arch", "arm64")])],
    );
    let index = layout::index(&oci, "multi", &[("amd64", &amd), ("arm64", &arm)]);
    reg.seed(&oci, "multi", "demo/multi");
    let r = reference(&reg, "demo/multi:multi");

    let host = Platform::host();
    assert_eq!(
        host.architecture, "amd64",
        "these tests expect an amd64 host"
    );
    let stores = Stores::new();
    let pulled = pull(&stores.ctx(), &r, &host, &|_| {}).await.unwrap();
    assert_eq!(pulled.manifest_digest, amd.manifest.digest);
    assert_eq!(pulled.index_digest, Some(index.digest.clone()));
    assert!(stores.blobs.exists(&index.digest));

    let arm64 = Platform::parse("linux/arm64").unwrap();
    let pulled = pull(&stores.ctx(), &r, &arm64, &|_| {}).await.unwrap();
    assert_eq!(pulled.manifest_digest, arm.manifest.digest);
    assert_eq!(pulled.config_digest, arm.config.digest);
    let diff = stores
        .layers
        .get(&pulled.chain_ids()[0].to_string())
        .unwrap()
        .diff_dir;
    assert_eq!(std::fs::read_to_string(diff.join("arch")).unwrap(), "arm64");

    let s390x = Platform::parse("linux/s390x").unwrap();
    match pull(&stores.ctx(), &r, &s390x, &|_| {}).await {
        Err(e @ PullError::Platform { .. }) => {
            let chain = format!("{e}: {}", std::error::Error::source(&e).unwrap());
            assert!(chain.contains("linux/s390x"), "{chain}");
        }
        other => panic!("expected a platform error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_zstd_and_plain_layers() {
    let reg = TestRegistry::start();
    let oci = reg.path("oci");
    let img = layout::image(
        &oci,
        "amd64",
        &[
            (Compression::Gzip, vec![file("gz", noise(300_000, 1))]),
            (Compression::Zstd, vec![file("zst", noise(300_000, 2))]),
            (Compression::None, vec![file("plain", noise(300_000, 3))]),
        ],
    );
    layout::tag(&oci, "c", OCI_MANIFEST, &img.manifest);
    reg.seed(&oci, "c", "demo/compress");
    let stores = Stores::new();
    let pulled = pull_ok(
        &stores,
        &reference(&reg, "demo/compress:c"),
        &Recorder::default(),
    )
    .await;
    assert_eq!(pulled.diff_ids(), img.diff_ids);
    let types: Vec<&str> = pulled
        .layers
        .iter()
        .map(|l| l.descriptor.media_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.v1.tar+zstd",
            "application/vnd.oci.image.layer.v1.tar"
        ]
    );
    for (layer, (name, seed)) in pulled
        .layers
        .iter()
        .zip([("gz", 1), ("zst", 2), ("plain", 3)])
    {
        let meta = stores.layers.get(&layer.chain_id.to_string()).unwrap();
        assert_eq!(meta.diff_id, layer.diff_id.to_string());
        assert_eq!(
            std::fs::read(meta.diff_dir.join(name)).unwrap(),
            noise(300_000, seed)
        );
        assert!(stores.blobs.exists(&layer.descriptor.digest));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_by_digest() {
    let reg = TestRegistry::start();
    let oci = reg.path("oci");
    let img = layout::image(&oci, "amd64", &[(Compression::Gzip, vec![file("x", "y")])]);
    layout::tag(&oci, "v1", OCI_MANIFEST, &img.manifest);
    reg.seed(&oci, "v1", "demo/pinned");
    let stores = Stores::new();
    let r = reference(&reg, &format!("demo/pinned@{}", img.manifest.digest));
    let pulled = pull_ok(&stores, &r, &Recorder::default()).await;
    assert_eq!(pulled.manifest_digest, img.manifest.digest);
    assert_eq!(pulled.diff_ids(), img.diff_ids);

    let unknown = Digest::sha256_of(b"no such manifest");
    let r = reference(&reg, &format!("demo/pinned@{unknown}"));
    assert!(matches!(
        pull(&stores.ctx(), &r, &amd64(), &|_| {}).await,
        Err(PullError::Resolve { .. })
    ));
}

/// Seeds a 2-layer image whose second layer's data file in the registry is then
/// overwritten from the middle on (same length), pulls it and checks nothing is left.
async fn corrupted(second: Compression) {
    let reg = TestRegistry::start();
    let oci = reg.path("oci");
    let img = layout::image(
        &oci,
        "amd64",
        &[
            (Compression::Gzip, vec![file("base", "base")]),
            (
                second,
                vec![file("big", noise(400_000, 9)), file("tail", "t")],
            ),
        ],
    );
    layout::tag(&oci, "v1", OCI_MANIFEST, &img.manifest);
    reg.seed(&oci, "v1", "demo/corrupt");
    let bad = &img.layers[1];
    let data = reg.blob_data(&bad.digest.to_string());
    let mut bytes = std::fs::read(&data).unwrap();
    assert_eq!(bytes, bad.bytes);
    let half = bytes.len() / 2;
    for b in &mut bytes[half..half + 4096] {
        *b ^= 0x5a;
    }
    std::fs::write(&data, &bytes).unwrap();

    let stores = Stores::new();
    let r = reference(&reg, "demo/corrupt:v1");
    let err = pull(&stores.ctx(), &r, &amd64(), &|_| {})
        .await
        .expect_err("a corrupted blob must fail the pull");
    match &err {
        PullError::BlobDigest { digest, actual } => {
            assert_eq!(digest, &bad.digest);
            assert_eq!(actual, &Digest::sha256_of(&bytes));
        }
        other => panic!("expected a digest error, got {other:?}"),
    }
    assert!(err.to_string().contains(&bad.digest.to_string()), "{err}");
    assert!(!stores.blobs.exists(&bad.digest));
    let chain = berth_image::manifest::chain_ids(&img.diff_ids)[1].to_string();
    assert!(!stores.layers.exists(&chain));
    assert!(stores
        .layers
        .list()
        .unwrap()
        .iter()
        .all(|l| l.chain_id != chain));
    assert!(stores.leftovers().is_empty(), "{:?}", stores.leftovers());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_gzip_blob_fails_cleanly() {
    corrupted(Compression::Gzip).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_plain_tar_blob_fails_cleanly() {
    // The tar still unpacks (only file content changed): the digest check alone
    // must keep the layer out of the store.
    corrupted(Compression::None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pulls_unpack_shared_layers_once() {
    let reg = TestRegistry::start();
    let oci = reg.path("oci");
    let base = vec![file("base", noise(6_000_000, 11))];
    let mid = vec![file("mid", noise(3_000_000, 12))];
    let a = layout::image(
        &oci,
        "amd64",
        &[
            (Compression::Gzip, base.clone()),
            (Compression::Gzip, mid.clone()),
            (Compression::Gzip, vec![file("who", "a")]),
        ],
    );
    let b = layout::image(
        &oci,
        "amd64",
        &[
            (Compression::Gzip, base),
            (Compression::Gzip, mid),
            (Compression::Gzip, vec![file("who", "b")]),
        ],
    );
    assert_eq!(a.layers[..2].len(), 2);
    assert_eq!(a.layers[0].digest, b.layers[0].digest);
    layout::tag(&oci, "a", OCI_MANIFEST, &a.manifest);
    layout::tag(&oci, "b", OCI_MANIFEST, &b.manifest);
    reg.seed(&oci, "a", "demo/a");
    reg.seed(&oci, "b", "demo/b");

    let stores = Stores::new();
    let (rec_a, rec_b) = (Recorder::default(), Recorder::default());
    let (ra, rb) = (reference(&reg, "demo/a:a"), reference(&reg, "demo/b:b"));
    let (pa, pb) = tokio::join!(pull_ok(&stores, &ra, &rec_a), pull_ok(&stores, &rb, &rec_b));
    let all: Vec<Event> = rec_a.events().into_iter().chain(rec_b.events()).collect();
    for i in 0..2 {
        let sources = [pa.layers[i].source, pb.layers[i].source];
        let downloaded = sources
            .iter()
            .filter(|s| **s == LayerSource::Downloaded)
            .count();
        assert_eq!(downloaded, 1, "layer {i}: {sources:?}");
        assert!(
            sources.contains(&LayerSource::Exists { blob_stored: true }),
            "layer {i}: {sources:?}"
        );
        let starts = all
            .iter()
            .filter(|e| e.digest == a.layers[i].digest)
            .filter(|e| e.phase == Phase::Downloading && e.current == 0)
            .count();
        assert_eq!(starts, 1, "layer {i} downloaded {starts} times");
    }
    assert_eq!(pa.layers[2].source, LayerSource::Downloaded);
    assert_eq!(pb.layers[2].source, LayerSource::Downloaded);
    // One unpacked layer (and one short link) per distinct chain id.
    assert_eq!(stores.layers.list().unwrap().len(), 4);
    let links = std::fs::read_dir(stores.dir.path().join("overlay/l")).unwrap();
    assert_eq!(links.count(), 4);
    assert!(stores.leftovers().is_empty(), "{:?}", stores.leftovers());

    // Pulling again downloads nothing.
    let again = Recorder::default();
    let p = pull_ok(&stores, &ra, &again).await;
    assert!(p
        .layers
        .iter()
        .all(|l| matches!(l.source, LayerSource::Exists { .. })));
    assert!(again.events().iter().all(|e| e.phase != Phase::Downloading));
}
