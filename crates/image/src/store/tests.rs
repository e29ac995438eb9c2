use std::io::Write;
use std::sync::{Arc, Barrier};

use super::*;

fn store() -> (tempfile::TempDir, BlobStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path()).unwrap();
    (dir, store)
}

fn temp_files(store: &BlobStore) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(store.temp_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

#[test]
fn good_write_is_visible_and_verified() {
    let (dir, store) = store();
    let data = b"hello blob".to_vec();
    let digest = Digest::sha256_of(&data);
    let mut w = store
        .begin(digest.clone(), Some(data.len() as u64))
        .unwrap();
    w.write_all(&data[..5]).unwrap();
    assert!(!store.exists(&digest), "not visible before commit");
    w.write_all(&data[5..]).unwrap();
    assert_eq!(w.written(), data.len() as u64);
    w.commit().unwrap();
    let path = dir.path().join("blobs/sha256").join(digest.hex());
    assert_eq!(fs::read(path).unwrap(), data);
    assert!(store.exists(&digest));
    assert_eq!(store.size(&digest).unwrap(), data.len() as u64);
    assert_eq!(store.read(&digest, 1024).unwrap(), data);
    let mut s = String::new();
    store
        .open_blob(&digest)
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "hello blob");
    assert!(temp_files(&store).is_empty());
}

#[test]
fn digest_mismatch_leaves_nothing() {
    let (_dir, store) = store();
    let expected = Digest::sha256_of(b"the real thing");
    let mut w = store.begin(expected.clone(), None).unwrap();
    w.write_all(b"an impostor").unwrap();
    let err = w.commit().unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&expected.to_string()), "{msg}");
    assert!(
        msg.contains(&Digest::sha256_of(b"an impostor").to_string()),
        "{msg}"
    );
    assert!(!store.exists(&expected));
    assert!(temp_files(&store).is_empty());
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn size_mismatch_short_and_long() {
    let (_dir, store) = store();
    let data = b"twelve bytes";
    let digest = Digest::sha256_of(data);
    let mut w = store.begin(digest.clone(), Some(20)).unwrap();
    w.write_all(data).unwrap();
    let err = w.commit().unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SizeMismatch {
                expected: 20,
                actual: 12,
                ..
            }
        ),
        "{err}"
    );
    let mut w = store.begin(digest.clone(), Some(4)).unwrap();
    let err = w.write_all(data).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    drop(w);
    assert!(!store.exists(&digest));
    assert!(temp_files(&store).is_empty());
}

#[test]
fn dropped_writer_removes_temp() {
    let (_dir, store) = store();
    let mut w = store.begin(Digest::sha256_of(b"x"), None).unwrap();
    w.write_all(b"x").unwrap();
    assert_eq!(temp_files(&store).len(), 1);
    drop(w);
    assert!(temp_files(&store).is_empty());
}

#[test]
fn concurrent_writers_of_same_blob() {
    let (_dir, store) = store();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::sha256_of(&data);
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (store, data, digest, barrier) =
                (store.clone(), data.clone(), digest.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut w = store.begin(digest, Some(data.len() as u64)).unwrap();
                barrier.wait();
                for chunk in data.chunks(4096) {
                    w.write_all(chunk).unwrap();
                }
                w.commit()
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    assert_eq!(store.list().unwrap(), vec![digest.clone()]);
    assert_eq!(store.read(&digest, u64::MAX).unwrap(), data);
    assert!(temp_files(&store).is_empty());
}

#[test]
fn commit_is_idempotent_when_blob_exists() {
    let (_dir, store) = store();
    let digest = store.put(b"same").unwrap();
    assert_eq!(store.put(b"same").unwrap(), digest);
    assert_eq!(store.list().unwrap(), vec![digest]);
}

#[test]
fn resume_after_partial_write() {
    let (_dir, store) = store();
    let data = b"0123456789abcdefghij".to_vec();
    let digest = Digest::sha256_of(&data);
    let size = Some(data.len() as u64);

    let (mut w, offset) = store.begin_or_resume(digest.clone(), size).unwrap();
    assert_eq!(offset, 0);
    w.write_all(&data[..7]).unwrap();
    drop(w); // connection dropped: the partial file stays

    let (mut w, offset) = store.begin_or_resume(digest.clone(), size).unwrap();
    assert_eq!(offset, 7);
    assert_eq!(w.written(), 7);
    // While this one holds the partial file, another resumer gets a fresh temp file.
    let (other, other_offset) = store.begin_or_resume(digest.clone(), size).unwrap();
    assert_eq!(other_offset, 0);
    drop(other);
    w.write_all(&data[7..]).unwrap();
    w.commit().unwrap();
    assert_eq!(store.read(&digest, 1024).unwrap(), data);
    assert!(temp_files(&store).is_empty());
}

#[test]
fn resume_discards_oversized_partial_and_abort_removes_it() {
    let (_dir, store) = store();
    let digest = Digest::sha256_of(b"abc");
    let (mut w, _) = store.begin_or_resume(digest.clone(), None).unwrap();
    w.write_all(b"abcdef").unwrap();
    drop(w);
    let (w, offset) = store.begin_or_resume(digest.clone(), Some(3)).unwrap();
    assert_eq!(offset, 0);
    w.abort();
    assert!(temp_files(&store).is_empty());
}

#[test]
fn sha512_blobs() {
    let (dir, store) = store();
    let data = b"sha512 content";
    let digest = Digest::of(Algorithm::Sha512, data);
    let mut w = store
        .begin(digest.clone(), Some(data.len() as u64))
        .unwrap();
    w.write_all(data).unwrap();
    w.commit().unwrap();
    assert!(dir.path().join("blobs/sha512").join(digest.hex()).is_file());
    assert_eq!(store.read(&digest, 100).unwrap(), data);
    assert_eq!(store.list().unwrap(), vec![digest]);
}

#[test]
fn read_caps_and_detects_corruption() {
    let (_dir, store) = store();
    let digest = store.put(b"a config").unwrap();
    assert!(matches!(
        store.read(&digest, 3),
        Err(StoreError::TooLarge {
            size: 8,
            limit: 3,
            ..
        })
    ));
    fs::write(store.path_of(&digest), b"b config").unwrap();
    assert!(matches!(
        store.read(&digest, 100),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn missing_blobs_and_delete() {
    let (_dir, store) = store();
    let missing = Digest::sha256_of(b"nope");
    assert!(matches!(
        store.open_blob(&missing),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.size(&missing),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.read(&missing, 10),
        Err(StoreError::NotFound { .. })
    ));
    assert!(!store.delete(&missing).unwrap());
    let digest = store.put(b"x").unwrap();
    assert!(store.delete(&digest).unwrap());
    assert!(!store.exists(&digest));
}

#[test]
fn list_ignores_strays_and_clean_temp_sweeps() {
    let (_dir, store) = store();
    let a = store.put(b"a").unwrap();
    fs::write(store.blobs.join("sha256").join("not-a-digest"), b"").unwrap();
    assert_eq!(store.list().unwrap(), vec![a]);
    let (mut w, _) = store
        .begin_or_resume(Digest::sha256_of(b"z"), None)
        .unwrap();
    w.write_all(b"z").unwrap();
    drop(w);
    assert_eq!(store.clean_temp().unwrap(), 1);
    assert!(temp_files(&store).is_empty());
}
