//! `TestBerthd`: a private berthd per test, driven by the stock `docker` CLI, the `berth`
//! CLI and raw HTTP.
//!
//! Runs in the test process. `start` makes a temp dir under /tmp (data root, exec root,
//! socket, CLI config, daemon log), imports the busybox fixture as `busybox:latest`
//! straight into the data root (offline), and starts `target/<profile>/berthd` with a
//! per-test cgroup parent. `Drop` force-removes every container through the API, stops
//! the daemon, kills anything left that refers to the temp dir (shims, containers),
//! unmounts what is left under it, removes the cgroup parent and the dir, prints the
//! daemon log when the test failed, and then fails the test if anything leaked.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::docker::{run_with_deadline, Out};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Deadline for one CLI command.
const CMD_TIMEOUT: Duration = Duration::from_secs(90);

/// A running private berthd.
#[derive(Debug)]
pub struct TestBerthd {
    /// The temp dir holding everything.
    pub dir: PathBuf,
    /// The API socket.
    pub sock: PathBuf,
    /// The cgroup parent name given to berthd.
    pub cgroup_parent: String,
    /// The default bridge's interface (`--bridge`), unique per daemon.
    pub bridge: String,
    /// The default bridge's subnet (`--bip` is its first address), unique per daemon.
    pub subnet: String,
    child: Option<Child>,
}

/// A bridge name and a /24 no other test daemon of this run uses, and no host route
/// covers: `bt<pid hex>x<n>` and `10.<200..249>.<0..249>.0/24` from the pid and counter.
fn private_bridge(n: usize) -> (String, String) {
    let pid = std::process::id() as usize;
    (format!("bt{pid:x}x{n}"), free_subnet24(n))
}

/// A `10.x.y.0/24` that no host route covers, different for every call in this process
/// (tests give these to networks and test namespaces they create).
pub fn free_subnet24(salt: usize) -> String {
    static TAKEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    let pid = std::process::id() as usize;
    let routes = std::process::Command::new("ip")
        .args(["-4", "route", "show", "table", "all"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let mut seed = pid.wrapping_mul(7919).wrapping_add(salt * 104_729);
    loop {
        let (a, b) = (200 + (seed / 250) % 50, seed % 250);
        let prefix = format!("10.{a}.{b}.");
        if !routes.contains(&prefix) && !taken.contains(&prefix) {
            taken.push(prefix.clone());
            return format!("{prefix}0/24");
        }
        seed = seed.wrapping_add(1);
    }
}

/// Imports the busybox fixture rootfs as `busybox:latest` (with `CMD ["sh"]`) into an
/// image store at `data_root`.
pub fn import_busybox(data_root: &Path) {
    let rootfs = crate::fixture::busybox_rootfs();
    let tar = data_root.with_extension("busybox.tar");
    let st = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .expect("run tar");
    assert!(st.success(), "tar of the busybox rootfs failed");
    let store = berth_image::images::ImageStore::open(data_root).expect("open image store");
    berth_image::archive::import(
        &store,
        fs::File::open(&tar).expect("open busybox tar"),
        &["CMD [\"sh\"]".to_string()],
        Some("busybox:latest"),
    )
    .expect("import busybox");
    let _ = fs::remove_file(tar);
}

impl TestBerthd {
    /// Starts a daemon named after the test, with busybox imported.
    pub fn start(name: &str) -> Self {
        Self::start_with(name, &[])
    }

    /// Like `start` with extra berthd flags.
    pub fn start_with(name: &str, extra: &[&str]) -> Self {
        crate::require_root();
        let dir = tempfile::Builder::new()
            .prefix(&format!("berthd-{name}-"))
            .tempdir_in("/tmp")
            .expect("temp dir")
            .keep();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let cgroup_parent = format!("berth-test-{}-{n}", std::process::id());
        let (bridge, subnet) = private_bridge(n);
        fs::create_dir_all(dir.join("data")).expect("mkdir data");
        fs::create_dir_all(dir.join("cli")).expect("mkdir cli");
        import_busybox(&dir.join("data"));
        let mut d = TestBerthd {
            sock: dir.join("berth.sock"),
            dir,
            cgroup_parent,
            bridge,
            subnet,
            child: None,
        };
        d.spawn(extra);
        d
    }

    /// The berthd binary under test.
    pub fn binary(name: &str) -> PathBuf {
        let p = crate::select::profile_dir().join(name);
        assert!(
            p.is_file(),
            "{} missing: run `cargo build --workspace --bins` first",
            p.display()
        );
        p
    }

    fn spawn(&mut self, extra: &[&str]) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("berthd.log"))
            .expect("berthd log");
        let helpers = crate::select::profile_dir();
        // Written before the spawn: berthd reads its config file at start-up.
        if !self.dir.join("daemon.json").exists() {
            fs::write(self.dir.join("daemon.json"), "{}\n").expect("write daemon.json");
        }
        let child = Command::new(Self::binary("berthd"))
            .arg("--data-root")
            .arg(self.dir.join("data"))
            .arg("--exec-root")
            .arg(self.dir.join("exec"))
            .arg("-H")
            .arg(format!("unix://{}", self.sock.display()))
            .arg("--cgroup-parent")
            .arg(&self.cgroup_parent)
            .arg("--config-file")
            .arg(self.dir.join("daemon.json"))
            .arg("--helpers-dir")
            .arg(&helpers)
            .arg("--bridge")
            .arg(&self.bridge)
            .arg("--bip")
            .arg(self.subnet.replace(".0/24", ".1/24"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("spawn berthd");
        self.child = Some(child);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if UnixStream::connect(&self.sock).is_ok() {
                return;
            }
            if let Some(st) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("berthd exited with {st}: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("berthd did not listen within 20 s: {}", self.log());
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("berthd.log")).unwrap_or_default()
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("berthd running").id()
    }

    /// SIGKILLs the daemon (containers and shims keep running).
    pub fn kill_daemon(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the daemon again on the same roots (after `kill_daemon`).
    pub fn restart_daemon(&mut self) {
        self.kill_daemon();
        self.spawn(&[]);
    }

    fn cli(&self, bin: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin);
        cmd.env("DOCKER_HOST", format!("unix://{}", self.sock.display()))
            .env("BERTH_HOST", format!("unix://{}", self.sock.display()))
            .env("DOCKER_CONFIG", self.dir.join("cli"))
            .env("BERTH_CONFIG", self.dir.join("cli"))
            .env_remove("DOCKER_CONTEXT")
            .args(args);
        cmd
    }

    /// The stock `docker` CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> Out {
        let bin = std::env::var("BERTH_DOCKER_CLI").unwrap_or_else(|_| "docker".into());
        run_with_deadline(self.cli(&bin, args), &self.dir, CMD_TIMEOUT)
    }

    /// `docker …` that must succeed; returns trimmed stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert_eq!(
            out.code(),
            0,
            "docker {args:?} failed: {}\n{}\ndaemon log:\n{}",
            out.stdout,
            out.stderr,
            self.log()
        );
        out.stdout.trim().to_string()
    }

    /// `docker run --rm <args…>` that must succeed; returns trimmed stdout.
    pub fn docker_run_ok(&self, args: &[&str]) -> String {
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(args);
        self.docker_ok(&all)
    }

    /// `docker inspect -f <format> <name>`, trimmed; panics on failure.
    pub fn docker_inspect(&self, name: &str, format: &str) -> String {
        self.docker_ok(&["inspect", "-f", format, name])
    }

    /// The `berth` CLI against this daemon.
    pub fn berth(&self, args: &[&str]) -> Out {
        let bin = Self::binary("berth");
        run_with_deadline(
            self.cli(bin.to_str().expect("utf-8"), args),
            &self.dir,
            CMD_TIMEOUT,
        )
    }

    /// `KEY=value …` exports that aim the CLIs at this daemon, for shell lines.
    pub fn env_prefix(&self) -> String {
        format!(
            "DOCKER_HOST=unix://{s} BERTH_HOST=unix://{s} DOCKER_CONFIG={c} BERTH_CONFIG={c}",
            s = self.sock.display(),
            c = self.dir.join("cli").display()
        )
    }

    /// Runs a `sh -c` line with the CLI environment set (pipes, redirections).
    pub fn sh(&self, line: &str) -> Out {
        let mut cmd = self.cli("sh", &["-c", line]);
        cmd.current_dir(&self.dir);
        run_with_deadline(cmd, &self.dir, CMD_TIMEOUT)
    }

    /// `docker <args>` on a fresh pty (util-linux `script -qec`), for `-it` commands.
    pub fn docker_tty(&self, args: &str) -> Out {
        let bin = std::env::var("BERTH_DOCKER_CLI").unwrap_or_else(|_| "docker".into());
        let line = format!("{bin} {args}");
        run_with_deadline(
            self.cli("script", &["-qec", &line, "/dev/null"]),
            &self.dir,
            CMD_TIMEOUT,
        )
    }

    /// One raw HTTP/1.1 request; returns (status, body). `Connection: close`.
    pub fn http(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let (status, _, body) = self.http_full(method, path, body);
        (status, body)
    }

    /// One raw HTTP/1.1 request; returns (status, head, de-chunked body).
    pub fn http_full(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String, String) {
        let text = self.http_raw(method, path, body);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(rest)
        } else {
            rest.to_string()
        };
        (status, head.to_string(), body)
    }

    /// One raw HTTP/1.1 request; returns the whole response (status line, headers, body).
    pub fn http_raw(&self, method: &str, path: &str, body: Option<&str>) -> String {
        let mut s = UnixStream::connect(&self.sock).expect("connect berthd");
        s.set_read_timeout(Some(Duration::from_secs(60))).ok();
        let body = body.unwrap_or("");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).expect("send request");
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        String::from_utf8_lossy(&raw).into_owned()
    }

    /// Anything of this daemon still around: mounts under the dir, processes other than
    /// berthd itself that refer to it, cgroups under the parent, veths on its bridges.
    ///
    /// Polled for up to 3 s: some of it goes away just after the API answered, by
    /// design. A shim answers waiters first and then deletes the container's cgroups and
    /// exits (off the `docker run` path); berthd deletes the veths of exited containers
    /// in the background, and the kernel frees namespaces asynchronously. Anything still
    /// there after that is a leak.
    pub fn leftovers(&self) -> Vec<String> {
        let pool = self.netns_pool();
        let bridges = self.bridges();
        let start = Instant::now();
        loop {
            let left = self.leftovers_now(&pool, &bridges);
            if left.is_empty() || start.elapsed() > Duration::from_secs(3) {
                return left;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One look for [`TestBerthd::leftovers`]; `pool` are the namespaces kept on purpose.
    fn leftovers_now(&self, pool: &[String], bridges: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let dir = self.dir.to_string_lossy().to_string();
        for m in crate::procfs::host_mounts() {
            if m.mount_point.starts_with(&dir) && !pool.contains(&m.mount_point) {
                out.push(format!("mount {}", m.mount_point));
            }
        }
        let daemon = self.child.as_ref().map(|c| c.id() as i32);
        for pid in pids_referring_to(&dir) {
            if Some(pid) == daemon {
                continue;
            }
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            out.push(format!("process {pid} {}", cmdline.trim()));
        }
        for h in crate::leaks::cgroup_hierarchies() {
            let p = h.join(&self.cgroup_parent);
            if let Ok(rd) = fs::read_dir(&p) {
                for e in rd.flatten() {
                    if e.path().is_dir() {
                        out.push(format!("cgroup {}", e.path().display()));
                    }
                }
            }
        }
        for bridge in bridges {
            if let Ok(rd) = fs::read_dir(format!("/sys/class/net/{bridge}/brif")) {
                for e in rd.flatten() {
                    out.push(format!(
                        "veth {} on {bridge}",
                        e.file_name().to_string_lossy()
                    ));
                }
            }
        }
        out
    }

    /// The network namespaces a running daemon keeps ready for the next starts (see
    /// engine/src/network/netns.rs): the files under `exec/netns` that no running
    /// container owns, once there are no more than `POOL` of them (berthd removes the
    /// namespaces of exited containers in the background: polled for up to 3 s). More
    /// than that are not the pool's and stay reported as leftovers.
    fn netns_pool(&self) -> Vec<String> {
        const POOL: usize = 2;
        if self.child.is_none() || UnixStream::connect(&self.sock).is_err() {
            return Vec::new();
        }
        let (_, body) = self.http("GET", "/containers/json", None);
        let running: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap_or_default();
        let owned: Vec<String> = running
            .iter()
            .filter_map(|c| c["Id"].as_str())
            .filter_map(|id| {
                let (_, body) = self.http("GET", &format!("/containers/{id}/json"), None);
                let v: serde_json::Value = serde_json::from_str(&body).ok()?;
                v["NetworkSettings"]["SandboxKey"]
                    .as_str()
                    .map(String::from)
            })
            .collect();
        let dir = self.dir.join("exec/netns");
        let start = Instant::now();
        loop {
            let unowned: Vec<String> = fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path().to_string_lossy().into_owned())
                .filter(|p| !owned.contains(p))
                .collect();
            if unowned.len() <= POOL {
                return unowned.into_iter().chain(owned).collect();
            }
            if start.elapsed() > Duration::from_secs(3) {
                return owned;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// This daemon's bridges: the default one and those of networks it has now.
    pub fn bridges(&self) -> Vec<String> {
        let mut out = vec![self.bridge.clone()];
        if UnixStream::connect(&self.sock).is_ok() {
            let (code, body) = self.http("GET", "/networks", None);
            if code == 200 {
                let list: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                for n in list.as_array().into_iter().flatten() {
                    if let Some(b) = n["Options"]["com.docker.network.bridge.name"].as_str() {
                        if !out.iter().any(|o| o == b) {
                            out.push(b.to_string());
                        }
                    }
                    if let Some(id) = n["Id"].as_str().filter(|_| n["Driver"] == "bridge") {
                        let b = format!("br-{}", &id[..12]);
                        if !out.contains(&b) {
                            out.push(b);
                        }
                    }
                }
            }
        }
        out
    }

    /// The daemon's nftables table (see berth's NetConfig::nft_table).
    pub fn nft_table(&self) -> String {
        format!("berth-{}", self.bridge)
    }

    /// Bridges and the nft table that outlived the daemon (checked after shutdown).
    fn network_leftovers(bridges: &[String], table: &str) -> Vec<String> {
        let mut out = Vec::new();
        for b in bridges {
            if Path::new("/sys/class/net").join(b).exists() {
                out.push(format!("bridge {b}"));
            }
        }
        let tables = Command::new("nft")
            .args(["list", "tables"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if tables
            .lines()
            .any(|l| l.trim() == format!("table ip {table}"))
        {
            out.push(format!("nft table {table}"));
        }
        out
    }
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            out.push_str(&tail[..n.min(tail.len())]);
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].strip_prefix("\r\n").unwrap_or(&tail[n..]);
    }
    out
}

/// Processes whose command line mentions `needle` (shims, runtime calls), excluding us.
fn pids_referring_to(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        // A shim berthd started on standby has no paths on its command line; it works
        // in its directory under the exec root.
        let cwd = fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(needle)
            || cwd.to_string_lossy().contains(needle)
        {
            out.push(pid);
        }
    }
    out
}

/// kill(2) through nix (no `unsafe`); a process that is already gone is fine.
fn signal(pid: i32, sig: i32) {
    if let Ok(sig) = nix::sys::signal::Signal::try_from(sig) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
    }
}

impl Drop for TestBerthd {
    fn drop(&mut self) {
        let bridges = self.bridges();
        // A dead daemon (the test failed because of it) must not make Drop panic.
        if self.child.is_some() {
            let up = UnixStream::connect(&self.sock).is_ok();
            let (code, body) = if up {
                self.http("GET", "/containers/json?all=1", None)
            } else {
                (0, String::new())
            };
            if code == 200 {
                if let Ok(list) = serde_json::from_str::<serde_json::Value>(&body) {
                    for c in list.as_array().into_iter().flatten() {
                        if let Some(id) = c["Id"].as_str() {
                            self.http("DELETE", &format!("/containers/{id}?force=1&v=1"), None);
                        }
                    }
                }
            }
            if let Some(c) = self.child.as_mut() {
                signal(c.id() as i32, libc::SIGTERM);
                let start = Instant::now();
                while start.elapsed() < Duration::from_secs(5) {
                    if c.try_wait().ok().flatten().is_some() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            self.kill_daemon();
        }
        let mut leaked = self.leftovers();
        leaked.extend(Self::network_leftovers(&bridges, &self.nft_table()));
        for b in &bridges {
            let _ = Command::new("ip").args(["link", "del", b]).status();
        }
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", &self.nft_table()])
            .stderr(std::process::Stdio::null())
            .status();
        // Clean up whatever is left, whether or not the test will fail for it.
        let dir = self.dir.to_string_lossy().to_string();
        for pid in pids_referring_to(&dir) {
            signal(pid, libc::SIGKILL);
        }
        for h in crate::leaks::cgroup_hierarchies() {
            let p = h.join(&self.cgroup_parent);
            if let Ok(rd) = fs::read_dir(&p) {
                // Only the container cgroups (dirs): the v1 parent also holds its control files.
                for e in rd.flatten().filter(|e| e.path().is_dir()) {
                    for _ in 0..50 {
                        if fs::remove_dir(e.path()).is_ok() {
                            break;
                        }
                        if let Ok(procs) = fs::read_to_string(e.path().join("cgroup.procs")) {
                            for pid in procs.lines().filter_map(|l| l.parse::<i32>().ok()) {
                                signal(pid, libc::SIGKILL);
                            }
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
            let _ = fs::remove_dir(&p);
        }
        let mut mounts: Vec<_> = crate::procfs::host_mounts()
            .into_iter()
            .filter(|m| m.mount_point.starts_with(&dir))
            .map(|m| m.mount_point)
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = Command::new("umount").arg("-l").arg(&m).status();
        }
        let failing = std::thread::panicking();
        if failing {
            eprintln!("berthd log ({}):\n{}", self.dir.display(), self.log());
        }
        let _ = fs::remove_dir_all(&self.dir);
        if !failing {
            assert!(leaked.is_empty(), "berthd test left behind: {leaked:?}");
        }
    }
}
