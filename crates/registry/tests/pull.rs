//! Pull primitives against a real `docker-registry` seeded with skopeo: resolve by tag
//! and digest, blob fetch with digest check, range resume, manifest lists.
#![allow(clippy::tests_outside_test_module)]

mod fixture;

use berth_registry::digest::sha256_digest;
use berth_registry::media_type::{ALL_MANIFESTS, OCI_INDEX, OCI_MANIFEST};
use berth_registry::{Client, ClientConfig, Phase, Progress, RegistryError};
use fixture::{layout, TestRegistry};
use futures_util::StreamExt as _;
use std::sync::Mutex;

async fn collect(client: &Client, repo: &str, digest: &str, offset: u64) -> Vec<u8> {
    let (mut stream, _total) = client.fetch_blob(repo, digest, offset).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

#[tokio::test]
async fn resolve_fetch_and_resume() {
    let reg = TestRegistry::start(None).await;
    let oci = reg.path("layout");
    let img = layout::single(&oci, "v1");
    reg.seed(&oci, "v1", "demo/app", false, None);
    let client = Client::new(&reg.host, &ClientConfig::default()).unwrap();
    client.ping().await.unwrap();

    let by_tag = client
        .resolve("demo/app", "v1", ALL_MANIFESTS)
        .await
        .unwrap();
    assert_eq!(by_tag.media_type, OCI_MANIFEST);
    assert_eq!(by_tag.digest, img.manifest.digest);
    assert_eq!(sha256_digest(&by_tag.bytes), by_tag.digest);
    let by_digest = client
        .resolve("demo/app", &by_tag.digest, ALL_MANIFESTS)
        .await
        .unwrap();
    assert_eq!(by_digest, by_tag);

    for blob in img.layers.iter().chain([&img.config]) {
        let bytes = collect(&client, "demo/app", &blob.digest, 0).await;
        assert_eq!(sha256_digest(&bytes), blob.digest);
        let tail = collect(&client, "demo/app", &blob.digest, 10).await;
        assert_eq!(tail, blob.bytes[10..]);
    }

    // The verifying download reports progress in phase order.
    let events = Mutex::new(Vec::<Progress>::new());
    let record = |p: Progress| events.lock().unwrap().push(p);
    let mut out = Vec::new();
    let layer = &img.layers[1];
    let n = client
        .download_blob("demo/app", &layer.digest, &mut out, &record)
        .await
        .unwrap();
    assert_eq!(n as usize, layer.bytes.len());
    assert_eq!(out, layer.bytes);
    let phases: Vec<Phase> = events.lock().unwrap().iter().map(|p| p.phase).collect();
    assert_eq!(phases.first(), Some(&Phase::Waiting));
    assert!(phases.contains(&Phase::Downloading));
    assert_eq!(
        &phases[phases.len() - 2..],
        &[Phase::Verifying, Phase::Done]
    );
}

#[tokio::test]
async fn errors_name_the_missing_thing() {
    let reg = TestRegistry::start(None).await;
    let oci = reg.path("layout");
    layout::single(&oci, "v1");
    reg.seed(&oci, "v1", "demo/app", false, None);
    let client = Client::new(&reg.host, &ClientConfig::default()).unwrap();
    match client.resolve("demo/app", "nope", ALL_MANIFESTS).await {
        Err(RegistryError::NotFound { url, code, .. }) => {
            assert_eq!(code, "MANIFEST_UNKNOWN");
            assert!(url.contains("demo/app/manifests/nope"), "{url}");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    let missing = sha256_digest(b"not there");
    assert!(matches!(
        client.fetch_blob("demo/app", &missing, 0).await,
        Err(RegistryError::NotFound { .. })
    ));
    assert!(!client.blob_exists("demo/app", &missing).await.unwrap());
}

#[tokio::test]
async fn manifest_list_with_two_platforms() {
    let reg = TestRegistry::start(None).await;
    let oci = reg.path("layout");
    let (index, images) = layout::multi(&oci, "multi");
    reg.seed(&oci, "multi", "demo/multi", true, None);
    let client = Client::new(&reg.host, &ClientConfig::default()).unwrap();
    let top = client
        .resolve("demo/multi", "multi", ALL_MANIFESTS)
        .await
        .unwrap();
    assert_eq!(top.media_type, OCI_INDEX);
    assert_eq!(top.digest, index.digest);
    let doc: serde_json::Value = serde_json::from_slice(&top.bytes).unwrap();
    let entries = doc["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for (entry, img) in entries.iter().zip(&images) {
        let digest = entry["digest"].as_str().unwrap();
        assert_eq!(digest, img.manifest.digest);
        let m = client
            .resolve("demo/multi", digest, &[OCI_MANIFEST])
            .await
            .unwrap();
        assert_eq!(m.media_type, OCI_MANIFEST);
        let bytes = collect(&client, "demo/multi", &img.layers[0].digest, 0).await;
        assert_eq!(bytes, img.layers[0].bytes);
    }
}
