//! Test support for pull/push tests: a throw-away `docker-registry` on 127.0.0.1 seeded
//! with `skopeo` from OCI layouts written here, and fresh stores per test.
//!
//! Each [`TestRegistry`] owns a child process and a temp dir (config, storage, log);
//! Drop kills the child and removes the dir, also when a test panics. Only loopback
//! addresses are used. Adapted from `crates/registry/tests/fixture`.
#![allow(dead_code)]

pub mod layout;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use berth_image::layers::LayerStore;
use berth_image::pull::{Event, PullContext};
use berth_image::store::BlobStore;
use berth_image::unpack::UnpackOptions;
use berth_registry::ClientConfig;
use tempfile::TempDir;

/// A running registry and its temp dir.
pub struct TestRegistry {
    child: Child,
    /// Holds config, storage and the log; removed on drop.
    pub dir: TempDir,
    /// `127.0.0.1:<port>`.
    pub host: String,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl TestRegistry {
    /// Starts an anonymous registry.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let host = format!("127.0.0.1:{}", free_port());
        let storage = dir.path().join("storage");
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n  secret: berth-test\n",
            storage.display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("docker-registry must be installed");
        let reg = Self { child, dir, host };
        reg.wait_ready();
        reg
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(&self.host) {
                let req = format!(
                    "GET /v2/ HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                    self.host
                );
                let mut head = String::new();
                let ok = s.write_all(req.as_bytes()).is_ok() && s.read_to_string(&mut head).is_ok();
                if ok && head.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("registry on {} did not answer: {}", self.host, self.log());
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Copies `oci:<layout>:<tag>` to `<host>/<repo>:<tag>` with skopeo (`--all` keeps
    /// every platform of an index).
    pub fn seed(&self, layout: &Path, tag: &str, repo: &str) {
        let out = Command::new("skopeo")
            .args([
                "--insecure-policy",
                "copy",
                "--quiet",
                "--all",
                "--preserve-digests",
            ])
            .arg("--dest-tls-verify=false")
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{}/{repo}:{tag}", self.host))
            .output()
            .expect("skopeo must be installed");
        assert!(
            out.status.success(),
            "skopeo copy failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// The data file of blob `digest` (`sha256:<hex>`) in the registry's storage.
    pub fn blob_data(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// A temp path inside the registry's dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("registry log:\n{}", self.log());
        }
    }
}

/// A blob store and a layer store under one temp dir.
pub struct Stores {
    /// Removed on drop.
    pub dir: TempDir,
    /// Blob store at `dir/content`.
    pub blobs: BlobStore,
    /// Layer store at `dir/overlay`.
    pub layers: LayerStore,
    /// Default client config (loopback registries are plain HTTP).
    pub client: ClientConfig,
    /// Default unpack options.
    pub unpack: UnpackOptions,
}

impl Stores {
    /// Fresh, empty stores.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path().join("content")).unwrap();
        let layers = LayerStore::open(&dir.path().join("overlay")).unwrap();
        Stores {
            dir,
            blobs,
            layers,
            client: ClientConfig::default(),
            unpack: UnpackOptions::default(),
        }
    }

    /// A pull context over these stores.
    pub fn ctx(&self) -> PullContext<'_> {
        PullContext {
            blobs: &self.blobs,
            layers: &self.layers,
            client: &self.client,
            unpack: &self.unpack,
            max_concurrent: 3,
        }
    }

    /// Temp files and dirs left in the stores (blob `.tmp/` entries, layer `.tmp-*`).
    pub fn leftovers(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for dir in [
            self.dir.path().join("content/blobs/.tmp"),
            self.dir.path().join("overlay/layers"),
        ] {
            for e in std::fs::read_dir(&dir).unwrap() {
                let e = e.unwrap();
                let name = e.file_name().to_string_lossy().to_string();
                if dir.ends_with(".tmp") || name.starts_with('.') {
                    out.push(e.path());
                }
            }
        }
        out
    }
}

/// Collects progress events.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Event>>);

impl Recorder {
    /// Records one event.
    pub fn record(&self, e: Event) {
        self.0.lock().unwrap().push(e);
    }

    /// Everything recorded so far.
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }
}
