//! Measurement, not a check: pull time of a few-hundred-MB multi-layer image (layers
//! packed from host directories under /usr) from a local `docker-registry` into empty
//! stores. Ignored by default; run with
//! `cargo test --release -p berth-image --test pull_bench -- --ignored --nocapture`.
#![allow(clippy::tests_outside_test_module)]

mod pull_support;

use std::io::Write as _;
use std::time::Instant;

use berth_image::digest::Digest;
use berth_image::manifest::Platform;
use berth_image::pull::pull;
use berth_image::reference::Reference;
use pull_support::layout::{self, OCI_MANIFEST};
use pull_support::{Stores, TestRegistry};
use serde_json::json;

const DIRS: &[&str] = &[
    "/usr/lib/gcc",
    "/usr/lib/python3",
    "/usr/share/doc",
    "/usr/share/i18n",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run explicitly with --ignored --nocapture"]
async fn measure_pull_of_a_large_image() {
    let reg = TestRegistry::start();
    let oci = reg.path("oci");
    let t = Instant::now();
    let (mut layers, mut diff_ids, mut raw_total) = (Vec::new(), Vec::new(), 0u64);
    for dir in DIRS {
        let mut tar = tar::Builder::new(Vec::new());
        tar.follow_symlinks(false);
        tar.append_dir_all(dir.trim_start_matches('/'), dir)
            .unwrap();
        let raw = tar.into_inner().unwrap();
        raw_total += raw.len() as u64;
        diff_ids.push(Digest::sha256_of(&raw));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        layers.push(layout::write_blob(&oci, gz.finish().unwrap()));
    }
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    let config = layout::write_blob(&oci, serde_json::to_vec(&config).unwrap());
    let desc = |mt: &str, b: &layout::Blob| json!({ "mediaType": mt, "digest": b.digest.to_string(), "size": b.bytes.len() });
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": desc("application/vnd.oci.image.config.v1+json", &config),
        "layers": layers.iter()
            .map(|b| desc("application/vnd.oci.image.layer.v1.tar+gzip", b))
            .collect::<Vec<_>>(),
    });
    let manifest = layout::write_blob(&oci, serde_json::to_vec(&manifest).unwrap());
    layout::tag(&oci, "big", OCI_MANIFEST, &manifest);
    let compressed: u64 = layers.iter().map(|b| b.bytes.len() as u64).sum();
    drop(layers);
    reg.seed(&oci, "big", "bench/big");
    eprintln!(
        "built and seeded {} layers ({:.1} MB tar, {:.1} MB gzip) in {:.1}s",
        DIRS.len(),
        raw_total as f64 / 1e6,
        compressed as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let r = Reference::parse(&format!("{}/bench/big:big", reg.host)).unwrap();
    let amd64 = Platform::parse("linux/amd64").unwrap();
    for concurrency in [3, 1] {
        let stores = Stores::new();
        let mut ctx = stores.ctx();
        ctx.max_concurrent = concurrency;
        let t = Instant::now();
        let pulled = pull(&ctx, &r, &amd64, &|_| {}).await.unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(pulled.layers.len(), DIRS.len());
        eprintln!(
            "pull into empty stores, {concurrency} at a time: {secs:.2}s, {:.1} MB/s compressed, {:.1} MB/s uncompressed",
            compressed as f64 / 1e6 / secs,
            raw_total as f64 / 1e6 / secs
        );
        let t = Instant::now();
        pull(&ctx, &r, &amd64, &|_| {}).await.unwrap();
        eprintln!(
            "second pull (all layers present): {:.3}s",
            t.elapsed().as_secs_f64()
        );
    }
}
