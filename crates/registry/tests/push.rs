//! Push primitives against a real `docker-registry`: upload blobs and a manifest, pull
//! them back by digest, mount between repositories, skip existing blobs.
#![allow(clippy::tests_outside_test_module)]

mod fixture;

use berth_registry::digest::sha256_digest;
use berth_registry::media_type::{ALL_MANIFESTS, OCI_MANIFEST};
use berth_registry::{BlobSource, Client, ClientConfig, Phase, Progress, PushOutcome};
use fixture::{layout, TestRegistry};
use std::sync::Mutex;

#[tokio::test]
async fn push_then_pull_by_digest_and_mount() {
    let reg = TestRegistry::start(None).await;
    let oci = reg.path("layout");
    let img = layout::image(&oci, "amd64", &[&[("a", b"pushed layer")]]);
    let client = Client::new(&reg.host, &ClientConfig::default()).unwrap();
    let events = Mutex::new(Vec::<Progress>::new());
    let record = |p: Progress| events.lock().unwrap().push(p);

    // Layer from a file, config from memory.
    let layer_file = reg.path("layer.tgz");
    std::fs::write(&layer_file, &img.layers[0].bytes).unwrap();
    let layer = &img.layers[0];
    let out = client
        .push_blob(
            "team/one",
            &layer.digest,
            &BlobSource::File(layer_file),
            None,
            &record,
        )
        .await
        .unwrap();
    assert_eq!(out, PushOutcome::Uploaded);
    let config_src = BlobSource::Bytes(img.config.bytes.clone().into());
    client
        .upload_blob("team/one", &img.config.digest, &config_src, &record)
        .await
        .unwrap();
    assert!(client
        .blob_exists("team/one", &img.config.digest)
        .await
        .unwrap());
    let last = events.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last.phase, Phase::Done);
    assert_eq!(last.current, img.config.bytes.len() as u64);

    // Existing blobs are skipped.
    let again = client
        .push_blob("team/one", &img.config.digest, &config_src, None, &record)
        .await
        .unwrap();
    assert_eq!(again, PushOutcome::Exists);
    assert_eq!(events.lock().unwrap().last().unwrap().phase, Phase::Exists);

    let digest = client
        .put_manifest(
            "team/one",
            "v1",
            OCI_MANIFEST,
            img.manifest.bytes.clone().into(),
        )
        .await
        .unwrap();
    assert_eq!(digest, img.manifest.digest);
    let back = client
        .resolve("team/one", &digest, ALL_MANIFESTS)
        .await
        .unwrap();
    assert_eq!(back.bytes, img.manifest.bytes);
    assert_eq!(back.media_type, OCI_MANIFEST);
    let mut blob = Vec::new();
    client
        .download_blob("team/one", &layer.digest, &mut blob, &|_| {})
        .await
        .unwrap();
    assert_eq!(sha256_digest(&blob), layer.digest);

    // Mount into a second repository instead of uploading again.
    assert!(!client.blob_exists("team/two", &layer.digest).await.unwrap());
    assert!(client
        .mount_blob("team/two", &layer.digest, "team/one")
        .await
        .unwrap());
    assert!(client.blob_exists("team/two", &layer.digest).await.unwrap());
    let mounted = client
        .push_blob(
            "team/three",
            &img.config.digest,
            &config_src,
            Some("team/one"),
            &record,
        )
        .await
        .unwrap();
    assert_eq!(mounted, PushOutcome::Mounted);
    assert_eq!(events.lock().unwrap().last().unwrap().phase, Phase::Mounted);

    // A mount from a repository lacking the blob falls back to an upload.
    let fresh = b"fresh blob".to_vec();
    let fresh_digest = sha256_digest(&fresh);
    let outcome = client
        .push_blob(
            "team/two",
            &fresh_digest,
            &BlobSource::Bytes(fresh.into()),
            Some("team/none"),
            &record,
        )
        .await
        .unwrap();
    assert_eq!(outcome, PushOutcome::Uploaded);
    assert!(client.blob_exists("team/two", &fresh_digest).await.unwrap());
}
