//! Pull into the image store end to end: a real docker-registry on 127.0.0.1, the image
//! recorded with its tag and repo digest, found by Docker's names, and removed again
//! with every layer and blob it alone used.
#![allow(clippy::tests_outside_test_module)]

mod pull_support;

use berth_image::images::ImageStore;
use berth_image::manifest::Platform;
use berth_image::pull::pull_into;
use berth_image::reference::Reference;
use berth_image::unpack::UnpackOptions;
use berth_registry::ClientConfig;
use pull_support::layout::{self, file, Compression, OCI_MANIFEST};
use pull_support::TestRegistry;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulled_image_is_named_tagged_and_removable() {
    let reg = TestRegistry::start();
    let oci = reg.path("oci");
    let img = layout::image(
        &oci,
        "amd64",
        &[
            (Compression::Gzip, vec![file("base", "base")]),
            (Compression::Zstd, vec![file("top", "top")]),
        ],
    );
    layout::tag(&oci, "v1", OCI_MANIFEST, &img.manifest);
    reg.seed(&oci, "v1", "demo/app");

    let root = tempfile::tempdir().unwrap();
    let store = ImageStore::open(root.path()).unwrap();
    let client = ClientConfig::default();
    let unpack = UnpackOptions::default();
    let platform = Platform::parse("linux/amd64").unwrap();
    let by_tag = Reference::parse(&format!("{}/demo/app:v1", reg.host)).unwrap();
    let record = pull_into(&store, &client, &unpack, &by_tag, &platform, &|_| {})
        .await
        .unwrap();
    assert_eq!(
        record.id, img.config.digest,
        "image id is the config digest"
    );
    let name = format!("{}/demo/app", reg.host);
    assert_eq!(record.repo_tags, [format!("{name}:v1")]);
    assert_eq!(
        record.repo_digests,
        [format!("{name}@{}", img.manifest.digest)]
    );
    assert_eq!(store.resolve(&format!("{name}:v1")).unwrap().id, record.id);
    assert_eq!(store.resolve(&record.id.hex()[..12]).unwrap().id, record.id);

    // Pulling again by digest adds no image and no layer.
    let by_digest = Reference::parse(&format!("{name}@{}", img.manifest.digest)).unwrap();
    let again = pull_into(&store, &client, &unpack, &by_digest, &platform, &|_| {})
        .await
        .unwrap();
    assert_eq!(again.id, record.id);
    assert_eq!(store.list().len(), 1);
    assert_eq!(store.layers().list().unwrap().len(), 2);

    let deleted = store
        .remove(&format!("{name}:v1"), false, &|_| None)
        .unwrap();
    assert!(!deleted.is_empty());
    assert!(store.list().is_empty(), "image still listed");
    assert!(store.layers().list().unwrap().is_empty(), "layers kept");
    for blob in img.layers.iter().chain([&img.config, &img.manifest]) {
        assert!(
            !store.blobs().exists(&blob.digest),
            "blob {} kept",
            blob.digest
        );
    }
}
