//! Starting and stopping the private containerd and dockerd of a `TestDocker`.
//!
//! Runs in the test process. `start` writes the daemons' configs into the test's temp dir,
//! spawns containerd then dockerd (their logs go to `containerd.log` and `dockerd.log`
//! there), waits for both to answer and imports the busybox image. The `TestDocker` guard
//! exists before anything can fail, so its `Drop` (see `cleanup`) stops whatever was
//! started, even after a failed start.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::cleanup::kill;
use super::{run_with_deadline, TestDocker, CMD_TIMEOUT, COUNTER};

/// Deadline for dockerd (and containerd) to answer after start.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// PATH baked into the imported image (a plain `docker import` has no ENV at all).
const IMAGE_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The runtime binary registered as `berth` in the private dockerd.
fn runtime_under_test() -> PathBuf {
    match std::env::var("BERTH_DOCKER_TEST_RUNTIME") {
        Ok(v) if !v.is_empty() => {
            let bin = if v.contains('/') {
                PathBuf::from(&v)
            } else {
                find_in_path(&v)
                    .unwrap_or_else(|| panic!("BERTH_DOCKER_TEST_RUNTIME={v}: not in PATH"))
            };
            assert!(
                bin.is_file(),
                "BERTH_DOCKER_TEST_RUNTIME={v}: {} missing",
                bin.display()
            );
            bin
        }
        _ => crate::select::runtime_binary().0,
    }
}

/// The first `name` that is a file in a `PATH` directory.
fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Waits for `child` to exit, SIGKILLing it after `grace`.
pub(super) fn stop_child(child: &mut Child, grace: Duration) {
    let Ok(pid) = i32::try_from(child.id()) else {
        return;
    };
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    kill(pid, libc::SIGTERM);
    let start = Instant::now();
    while start.elapsed() < grace {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    eprintln!("pid {pid} ignored SIGTERM for {grace:?}; sending SIGKILL");
    let _ = child.kill();
    let _ = child.wait();
}

impl TestDocker {
    /// Starts containerd and dockerd and imports the busybox fixture as `busybox:latest`.
    pub fn start(name: &str) -> Self {
        crate::require_root();
        let runtime = runtime_under_test();
        let dir = tempfile::Builder::new()
            .prefix(&format!("berth-docker-{name}-"))
            .tempdir_in("/tmp")
            .expect("create temp dir")
            .keep();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let cgroup_parent = format!("berth-docker-test-{}-{n}", std::process::id());
        let containerd_sock = dir.join("containerd/containerd.sock");
        fs::create_dir_all(dir.join("containerd")).expect("mkdir containerd");
        fs::create_dir_all(dir.join("cli")).expect("mkdir cli config");
        fs::write(
            dir.join("containerd/config.toml"),
            format!(
                "version = 2\nroot = \"{d}/containerd/root\"\nstate = \"{d}/containerd/state\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{s}\"\n[ttrpc]\n  address = \"{s}.ttrpc\"\n\
                 [debug]\n  level = \"debug\"\n",
                d = dir.display(),
                s = containerd_sock.display()
            ),
        )
        .expect("write containerd config");
        // An empty config file keeps the host's /etc/docker/daemon.json out of the test.
        fs::write(dir.join("daemon.json"), "{}\n").expect("write daemon.json");

        let containerd = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("containerd/config.toml"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("containerd.log")).expect("containerd log"))
            .spawn()
            .expect("spawn containerd (apt-get install containerd)");
        // The guard exists before anything can fail, so a failed start still cleans up.
        let mut td = TestDocker {
            sock: dir.join("docker.sock"),
            dir,
            cgroup_parent,
            containerd,
            dockerd: None,
        };
        td.wait_for("containerd socket", |_| containerd_sock.exists());

        let dir = td.dir.clone();
        let log = fs::File::create(dir.join("dockerd.log")).expect("dockerd log");
        let dockerd = Command::new("dockerd")
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("-H")
            .arg(format!("unix://{}", td.sock.display()))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .arg("--containerd")
            .arg(&containerd_sock)
            .args(["--bridge", "none", "--iptables=false", "--ip6tables=false"])
            .args([
                "--ip-masq=false",
                "--exec-opt",
                "native.cgroupdriver=cgroupfs",
            ])
            .arg("--cgroup-parent")
            .arg(format!("/{}", td.cgroup_parent))
            .arg("--add-runtime")
            .arg(format!("berth={}", runtime.display()))
            .args(["--log-level", "debug"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("spawn dockerd (apt-get install docker.io)");
        td.dockerd = Some(dockerd);
        td.wait_for("dockerd API", |td| {
            td.sock.exists()
                && td
                    .docker_cmd(&["version", "--format", "{{.Server.Version}}"])
                    .status()
                    .is_ok_and(|s| s.success())
        });

        let runtimes = td.docker_ok(&["info", "--format", "{{json .Runtimes}}"]);
        assert!(
            runtimes.contains(&runtime.display().to_string()),
            "berth runtime not registered: {runtimes}"
        );
        td.import_busybox();
        td
    }

    /// False once containerd or (if started) dockerd has exited.
    pub(super) fn daemons_alive(&mut self) -> bool {
        let containerd = self.containerd.try_wait().ok().flatten().is_none();
        let dockerd = match self.dockerd.as_mut() {
            Some(c) => c.try_wait().ok().flatten().is_none(),
            None => true,
        };
        containerd && dockerd
    }

    /// Polls `ready` until it holds, failing the test if a daemon dies or start-up times out.
    fn wait_for(&mut self, what: &str, mut ready: impl FnMut(&mut Self) -> bool) {
        let start = Instant::now();
        while !ready(self) {
            assert!(
                self.daemons_alive(),
                "{what}: a daemon exited during start-up; see its log below"
            );
            assert!(
                start.elapsed() < START_TIMEOUT,
                "{what} not ready within {START_TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Imports the busybox fixture rootfs as `busybox:latest`, with `PATH` set.
    fn import_busybox(&self) {
        let rootfs = crate::busybox_rootfs();
        let tar = self.dir.join("busybox.tar");
        let out = run_with_deadline(
            {
                let mut c = Command::new("tar");
                c.arg("-C").arg(&rootfs).arg("-cf").arg(&tar).arg(".");
                c
            },
            &self.dir,
            CMD_TIMEOUT,
        );
        assert!(out.status.success(), "tar busybox rootfs: {}", out.stderr);
        let change = format!("ENV {IMAGE_PATH}");
        self.docker_ok(&[
            "import",
            "--change",
            &change,
            &tar.to_string_lossy(),
            "busybox:latest",
        ]);
        let _ = fs::remove_file(tar);
    }
}
