//! `push` against real `docker-registry` instances on 127.0.0.1: a pulled image pushed
//! to another repository of the same registry (blobs mounted), to a second registry
//! (uploaded), and with its compressed blobs gone (layers repacked from the layer store,
//! manifest rebuilt); each pushed image is pulled back into fresh stores and compared.
#![allow(clippy::tests_outside_test_module)]

mod pull_support;

use berth_image::digest::Digest;
use berth_image::manifest::Platform;
use berth_image::pull::{pull, push, Phase, PulledImage, PushContext, PushImage};
use berth_image::reference::Reference;
use berth_image::unpack::write_tar;
use berth_registry::PushOutcome;
use pull_support::layout::{self, file, noise, Compression, Entry, OCI_MANIFEST};
use pull_support::{Recorder, Stores, TestRegistry};

fn reference(host: &str, rest: &str) -> Reference {
    Reference::parse(&format!("{host}/{rest}")).unwrap()
}

fn push_ctx(stores: &Stores) -> PushContext<'_> {
    PushContext {
        blobs: &stores.blobs,
        layers: &stores.layers,
        client: &stores.client,
        max_concurrent: 3,
    }
}

async fn pull_into(stores: &Stores, r: &Reference) -> PulledImage {
    let amd64 = Platform::parse("linux/amd64").unwrap();
    pull(&stores.ctx(), r, &amd64, &|_| {})
        .await
        .unwrap_or_else(|e| panic!("pull {r}: {e:?}"))
}

/// Path, type, mode, owner and content of every entry of a tar. Times are left out:
/// unpack stamps whiteouts and implicit parent dirs with the time it ran.
fn tree(tar: &[u8]) -> Vec<(String, String, u32, u64, Vec<u8>)> {
    let mut ar = tar::Archive::new(tar);
    ar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let h = e.header().clone();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            let path = e.path().unwrap().display().to_string();
            let kind = format!("{:?}", h.entry_type());
            (path, kind, h.mode().unwrap(), h.uid().unwrap(), data)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_mounts_uploads_and_repacks() {
    let a = TestRegistry::start();
    let b = TestRegistry::start();
    let oci = a.path("oci");
    let img = layout::image(
        &oci,
        "amd64",
        &[
            (
                Compression::Gzip,
                vec![Entry::Dir("etc"), file("etc/os", "berth")],
            ),
            (Compression::Zstd, vec![file("blob", noise(500_000, 5))]),
            (
                Compression::Gzip,
                vec![Entry::Whiteout("etc/os"), file("etc/new", "n")],
            ),
        ],
    );
    layout::tag(&oci, "v1", OCI_MANIFEST, &img.manifest);
    a.seed(&oci, "v1", "src/app");
    let stores = Stores::new();
    let pulled = pull_into(&stores, &reference(&a.host, "src/app:v1")).await;
    let image = PushImage::from_pulled(&pulled);
    let layer_digests: Vec<_> = img.layers.iter().map(|l| l.digest.clone()).collect();

    // Same registry, other repository: every blob is mounted, the manifest is reused.
    let rec = Recorder::default();
    let target = reference(&a.host, "dst/app:v1");
    let pushed = push(&push_ctx(&stores), &image, &target, &|e| rec.record(e))
        .await
        .unwrap();
    assert_eq!(pushed.digest, img.manifest.digest);
    assert!(!pushed.rebuilt);
    assert_eq!(pushed.blobs.len(), 4);
    for (digest, outcome) in &pushed.blobs {
        assert_eq!(*outcome, PushOutcome::Mounted, "{digest}");
    }
    let events = rec.events();
    for d in &layer_digests {
        assert!(
            events
                .iter()
                .any(|e| &e.digest == d && e.phase == Phase::Mounted),
            "no Mounted event for {d}"
        );
        assert!(!events
            .iter()
            .any(|e| &e.digest == d && e.phase == Phase::Pushing));
    }
    // Pushing again finds everything there.
    let again = push(&push_ctx(&stores), &image, &target, &|_| {})
        .await
        .unwrap();
    assert!(again.blobs.iter().all(|(_, o)| *o == PushOutcome::Exists));

    // Another registry: uploads; pulled back by digest into fresh stores.
    let rec = Recorder::default();
    let target = reference(&b.host, "copy/app:v1");
    let pushed = push(&push_ctx(&stores), &image, &target, &|e| rec.record(e))
        .await
        .unwrap();
    assert_eq!(pushed.digest, img.manifest.digest);
    assert!(pushed
        .blobs
        .iter()
        .all(|(_, o)| *o == PushOutcome::Uploaded));
    let events = rec.events();
    assert!(events.iter().any(|e| e.phase == Phase::Pushing));
    let fresh = Stores::new();
    let back = pull_into(
        &fresh,
        &reference(&b.host, &format!("copy/app@{}", pushed.digest)),
    )
    .await;
    assert_eq!(back.diff_ids(), img.diff_ids);
    assert_eq!(back.config_digest, img.config.digest);

    // Compressed blobs gone (as for an imported image): layers are repacked from the
    // layer store as gzip; without tar-split data the tars differ from the originals, so
    // config (image id) and manifest are rebuilt. The trees must be the same.
    for d in &layer_digests {
        assert!(stores.blobs.delete(d).unwrap());
    }
    let target = reference(&b.host, "repacked/app:v2");
    let pushed = push(&push_ctx(&stores), &image, &target, &|_| {})
        .await
        .unwrap();
    assert!(pushed.rebuilt);
    assert_ne!(pushed.digest, img.manifest.digest);
    assert_ne!(pushed.config_digest, img.config.digest);
    assert_eq!(pushed.media_type, OCI_MANIFEST);
    let fresh = Stores::new();
    let back = pull_into(
        &fresh,
        &reference(&b.host, &format!("repacked/app@{}", pushed.digest)),
    )
    .await;
    assert_eq!(back.config_digest, pushed.config_digest);
    assert_eq!(back.layers.len(), 3);
    for (orig, new) in pulled.layers.iter().zip(&back.layers) {
        assert_eq!(
            new.descriptor.media_type,
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        assert!(
            stores.blobs.exists(&new.descriptor.digest),
            "repacked blob stored"
        );
        let a = stores
            .layers
            .get(&orig.chain_id.to_string())
            .unwrap()
            .diff_dir;
        let b = fresh
            .layers
            .get(&new.chain_id.to_string())
            .unwrap()
            .diff_dir;
        let tar_a = write_tar(&a, Vec::new()).unwrap();
        let tar_b = write_tar(&b, Vec::new()).unwrap();
        assert_eq!(
            tree(&tar_a),
            tree(&tar_b),
            "{} vs {}",
            a.display(),
            b.display()
        );
        assert_eq!(
            Digest::sha256_of(&tar_a),
            new.diff_id,
            "diff id of the repacked tar"
        );
    }
}
