//! Test support for the image API tests: a private berthd, a throw-away `docker-registry`
//! on 127.0.0.1 (optionally with htpasswd auth) seeded with `skopeo` from an OCI layout
//! of the busybox rootfs fixture, and the stock `docker` CLI / `curl` pointed at berthd.
//!
//! Every guard owns its child process and temp dir; Drop kills the child, prints its log
//! when the test is failing, and removes the dir. Ports, sockets and cgroup names are
//! unique per guard, so tests run in parallel. The registry part is adapted from
//! `crates/image/tests/pull_support` and `crates/registry/tests/fixture` (duplicated: a
//! shared `berth-testutil` crate does not exist yet).
#![allow(dead_code, clippy::tests_outside_test_module)]

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use berth_image::digest::Digest;
use berth_image::manifest::Platform;
use serde_json::json;
use tempfile::TempDir;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// A running `docker-registry` and its temp dir.
pub struct Registry {
    child: Child,
    /// Config, storage, htpasswd and log; removed on drop.
    pub dir: TempDir,
    /// `127.0.0.1:<port>`.
    pub host: String,
    /// `user:password` when the registry requires auth.
    pub creds: Option<String>,
}

impl Registry {
    /// Starts a registry, with htpasswd auth for `user`/`pass` when given.
    pub fn start(htpasswd: Option<(&str, &str)>) -> Registry {
        let dir = tempfile::tempdir().expect("temp dir");
        let host = format!("127.0.0.1:{}", free_port());
        let mut auth = String::new();
        if let Some((user, pass)) = htpasswd {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, pass])
                .output()
                .expect("htpasswd (apache2-utils) must be installed");
            assert!(out.status.success(), "htpasswd failed");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, out.stdout).expect("write htpasswd");
            auth = format!(
                "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                file.display()
            );
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n  secret: berth-test\n{auth}",
            dir.path().join("storage").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write registry config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("docker-registry must be installed");
        let reg = Registry {
            child,
            dir,
            host,
            creds: htpasswd.map(|(u, p)| format!("{u}:{p}")),
        };
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
                if ok && (head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.1 401")) {
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

    /// Pushes a one-layer busybox image (gzip layer, OCI manifest) as `repo:tag`.
    pub fn seed_busybox(&self, repo: &str, tag: &str) {
        let layout = self.dir.path().join(format!(
            "layout-{}",
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        write_busybox_layout(&layout, tag);
        let mut cmd = Command::new("skopeo");
        cmd.args([
            "--insecure-policy",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
        ]);
        if let Some(c) = &self.creds {
            cmd.arg(format!("--dest-creds={c}"));
        }
        let out = cmd
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
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("registry log:\n{}", self.log());
        }
    }
}

fn put_blob(layout: &Path, bytes: &[u8]) -> (Digest, usize) {
    let d = Digest::sha256_of(bytes);
    std::fs::write(layout.join("blobs/sha256").join(d.hex()), bytes).expect("write blob");
    (d, bytes.len())
}

/// An OCI layout with the busybox rootfs fixture as one gzip layer, tagged `tag`.
fn write_busybox_layout(layout: &Path, tag: &str) {
    std::fs::create_dir_all(layout.join("blobs/sha256")).expect("layout dir");
    let rootfs = berth_tests::busybox_rootfs();
    let tar = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args([
            "--sort=name",
            "--mtime=@0",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "-cf",
            "-",
            ".",
        ])
        .output()
        .expect("run tar");
    assert!(tar.status.success(), "tar of the busybox rootfs failed");
    let diff_id = Digest::sha256_of(&tar.stdout);
    let mut gz = Command::new("gzip")
        .args(["-n", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run gzip");
    let mut stdin = gz.stdin.take().expect("gzip stdin");
    let data = tar.stdout.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let gz_out = gz.wait_with_output().expect("gzip output");
    writer.join().expect("gzip writer").expect("write to gzip");
    let (layer, layer_size) = put_blob(layout, &gz_out.stdout);
    let host = Platform::host();
    let config = json!({
        "architecture": host.architecture,
        "os": "linux",
        "created": "2024-01-02T03:04:05Z",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Labels": {"org.berth.test": "busybox"}},
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
        "history": [{"created": "2024-01-02T03:04:05Z", "created_by": "/bin/sh -c #(nop) ADD file:busybox in / "}],
    });
    let (config_digest, config_size) =
        put_blob(layout, &serde_json::to_vec(&config).expect("config json"));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer.to_string(), "size": layer_size}],
    });
    let (m, m_size) = put_blob(
        layout,
        &serde_json::to_vec(&manifest).expect("manifest json"),
    );
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": m.to_string(),
            "size": m_size,
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).expect("index"),
    )
    .expect("index.json");
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
}

/// What a command printed.
#[derive(Debug)]
pub struct Out {
    /// Exit code (-1 on a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Out {
    fn from(o: Output) -> Out {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A private berthd on a unix socket in its own temp dir.
pub struct Daemon {
    child: Child,
    /// data, exec, socket, CLI config and log; removed on drop.
    pub dir: TempDir,
    /// The API socket.
    pub socket: PathBuf,
    cgroup: String,
}

/// Directory of the berthd binary, which must also hold berth-shim and berth-runtime.
fn helpers_dir() -> PathBuf {
    let berthd = PathBuf::from(env!("CARGO_BIN_EXE_berthd"));
    let dir = berthd.parent().expect("target dir").to_path_buf();
    for helper in ["berth-shim", "berth-runtime"] {
        assert!(
            dir.join(helper).is_file(),
            "{} is missing: run `cargo build -p berth-shim -p berth-runtime-cli` first (scripts/test does)",
            dir.join(helper).display()
        );
    }
    dir
}

impl Daemon {
    /// Starts berthd and waits until `/_ping` answers.
    pub fn start() -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("berth.sock");
        let cgroup = format!(
            "berth-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        std::fs::create_dir_all(dir.path().join("cli")).expect("cli dir");
        std::fs::write(dir.path().join("daemon.json"), "{}").expect("daemon.json");
        let log = std::fs::File::create(dir.path().join("berthd.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_berthd"))
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .arg("--cgroup-parent")
            .arg(&cgroup)
            .arg("--config-file")
            .arg(dir.path().join("daemon.json"))
            .arg("--helpers-dir")
            .arg(helpers_dir())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start berthd");
        let d = Daemon {
            child,
            dir,
            socket,
            cgroup,
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.socket.exists() && self.curl(&["/_ping"]).0 == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("berthd did not come up: {}", self.log());
    }

    /// berthd's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("berthd.log")).unwrap_or_default()
    }

    /// Runs the stock docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> Out {
        self.docker_stdin(args, None)
    }

    /// Runs the docker CLI with `stdin` fed in.
    pub fn docker_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Out {
        let mut cmd = Command::new("docker");
        cmd.args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_CONFIG", self.dir.path().join("cli"))
            .env_remove("DOCKER_API_VERSION")
            .env_remove("DOCKER_CONTEXT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = cmd.spawn().expect("docker CLI must be installed");
        if let Some(data) = stdin {
            let mut w = child.stdin.take().expect("stdin");
            w.write_all(data).expect("write docker stdin");
        }
        child.wait_with_output().expect("docker output").into()
    }

    /// Runs the docker CLI and insists on success; returns stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert_eq!(
            out.code, 0,
            "docker {args:?} failed: {}\n{}",
            out.stderr, out.stdout
        );
        out.stdout
    }

    /// `curl` on the socket: `args` are the path then extra curl flags; returns
    /// (status, body).
    pub fn curl(&self, args: &[&str]) -> (u16, String) {
        let (path, extra) = args.split_first().expect("a path");
        let out = Command::new("curl")
            .arg("-sS")
            .arg("--unix-socket")
            .arg(&self.socket)
            .args(["-w", "\n%{http_code}"])
            .args(extra)
            .arg(format!("http://berth{path}"))
            .output()
            .expect("curl must be installed");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_owned())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = self.child.id();
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("berthd log:\n{}", self.log());
        }
        for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
            // Best effort: berthd may have created the parent cgroup; it is empty now.
            let _ = std::fs::remove_dir(Path::new(root).join(&self.cgroup));
        }
    }
}
