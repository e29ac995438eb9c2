//! `start`: mount the rootfs, write the OCI bundle, start a shim, connect waiting
//! attach clients, open the start gate, and watch for the exit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_image::snapshot::Snapshot;

use super::model::{ContainerRecord, State, Status};
use super::Container;
use crate::error::{EngineError, ErrorKind, Result};
use crate::shim::{self, ShimArgs};
use crate::Engine;

impl Engine {
    /// `POST /containers/{id}/start`: 304 when already running.
    pub async fn start_container(self: &Arc<Self>, name: &str) -> Result<()> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        c.with(|r| r.manually_stopped = false);
        let res = self.start_locked(&c).await;
        // Docker removes an AutoRemove container whose start failed (`docker run --rm`
        // waits for `removed` even then).
        if res.is_err() && c.record().host_config.auto_remove.unwrap_or(false) {
            let _ = self.remove_locked(&c, true);
        }
        res
    }

    /// Starts `c`; the caller holds its operation lock.
    pub(crate) async fn start_locked(self: &Arc<Self>, c: &Arc<Container>) -> Result<()> {
        let rec = c.record();
        match rec.state.status {
            Status::Running | Status::Paused => {
                return Err(EngineError::not_modified("container already running"))
            }
            Status::Removing | Status::Dead => {
                return Err(EngineError::conflict(format!(
                    "container {} is marked for removal and cannot be started",
                    rec.id
                )))
            }
            _ => {}
        }
        match self.launch(c, &rec).await {
            Ok(pid) => {
                c.with(|r| {
                    r.state = State {
                        status: Status::Running,
                        pid,
                        exit_code: 0,
                        started_at: crate::time::now_nanos(),
                        finished_at: r.state.finished_at,
                        oom_killed: false,
                        error: String::new(),
                    };
                    r.has_been_started = true;
                });
                self.persist_container(c)?;
                c.life.send_modify(|l| l.running = true);
                self.container_event(c, "start", &[]);
                self.spawn_monitor(c.clone());
                self.shims.refill_soon(&self.config.shim_path);
                Ok(())
            }
            Err(e) => {
                c.set_shim_live(false);
                self.release_network(c);
                // A shim that created the container but could not start it: the forced
                // delete kills the init, and the shim exits after it.
                let _ = self.runtime().delete(&rec.id, true);
                // berthd made the cgroup; a runtime that failed to create the
                // container leaves it.
                self.remove_cgroup(&rec.id);
                let _ = std::fs::remove_dir_all(self.config.shim_dir(&rec.id));
                let _ = self.unmount_rootfs(&rec.id);
                let (kind, code) = classify_start_error(&e.message);
                c.with(|r| {
                    r.state.error = e.message.clone();
                    r.state.exit_code = code;
                    if r.state.status != Status::Exited || r.state.finished_at == 0 {
                        r.state.status = if r.has_been_started {
                            Status::Exited
                        } else {
                            Status::Created
                        };
                    }
                });
                let _ = self.persist_container(c);
                // Attach clients waiting for this start get the error.
                for p in c.pending_attach.lock().expect("attach").drain(..) {
                    let _ = p.reply.send(Err(e.clone()));
                }
                Err(EngineError::new(kind, e.message))
            }
        }
    }

    /// Everything up to a running process; returns the init's pid.
    async fn launch(self: &Arc<Self>, c: &Arc<Container>, rec: &ContainerRecord) -> Result<i64> {
        self.await_previous_run(&rec.id).await;
        let (max_size, max_file) = self.log_options(rec)?;
        let shim_dir = self.config.shim_dir(&rec.id);
        let bundle = self.config.container_dir(&rec.id).join("bundle");
        let args = ShimArgs {
            binary: self.config.shim_path.clone(),
            id: rec.id.clone(),
            bundle: bundle.clone(),
            runtime_root: self.config.runtime_root(),
            dir: shim_dir.clone(),
            log: self.log_path(&rec.id),
            log_max_size: max_size,
            log_max_file: max_file,
            tty: rec.tty(),
            stdin: rec.config.open_stdin.unwrap_or(false),
            stdin_once: rec.config.stdin_once.unwrap_or(false),
        };
        // The shim sets up its socket, log and pipes while the bundle is made, and a
        // blocking thread makes the cgroup directories.
        let shim = self.shims.prepare(&args).await?;
        let cgroup = {
            let path = PathBuf::from(self.cgroups_path(&rec.id));
            tokio::task::spawn_blocking(move || precreate_cgroup(&path))
        };
        let written = self.write_bundle(c, rec, &bundle);
        let _ = cgroup.await;
        if let Err(e) = written {
            shim.abort().await;
            self.remove_cgroup(&rec.id);
            return Err(e);
        }
        // The veths go into the namespace while the shim and the runtime create the
        // container.
        let wiring = {
            let (engine, c) = (self.clone(), c.clone());
            tokio::task::spawn_blocking(move || engine.wire_network(&c))
        };
        let spawned = shim.go().await;
        let wired = wiring
            .await
            .map_err(|e| EngineError::internal(format!("network setup: {e}")))
            .and_then(|r| r);
        spawned?;
        wired?;
        let pending: Vec<_> = {
            let mut waiting = c.pending_attach.lock().expect("attach");
            c.shim_live.store(true, std::sync::atomic::Ordering::SeqCst);
            waiting.drain(..).collect()
        };
        for p in pending {
            let s = shim::attach(&shim_dir, p.opts.stdin, p.opts.stdout, p.opts.stderr).await;
            let _ = p.reply.send(s);
        }
        let reply = shim::request(&shim_dir, "start")
            .await
            .map_err(|e| EngineError::io("start via shim", e))?;
        match reply.strip_prefix("ok ") {
            Some(pid) => Ok(pid.trim().parse().unwrap_or(0)),
            None => Err(EngineError::internal(
                reply.strip_prefix("err ").unwrap_or(&reply).to_string(),
            )),
        }
    }

    /// Removes the container's cgroup directories (gone already is fine).
    fn remove_cgroup(&self, id: &str) {
        if let Ok(cg) = berth_cgroups::Cgroup::new(Path::new(&self.cgroups_path(id))) {
            let _ = cg.destroy();
        }
    }

    /// Mounts the rootfs, plans the network (taking a namespace from the pool) and
    /// writes `bundle/config.json`.
    fn write_bundle(&self, c: &Arc<Container>, rec: &ContainerRecord, bundle: &Path) -> Result<()> {
        let rootfs = self.mount_rootfs(rec)?;
        self.plan_network(c)?;
        let netns = self.take_netns(c)?;
        let spec = self.build_spec(rec, &rootfs, netns.as_deref())?;
        std::fs::create_dir_all(bundle).map_err(|e| EngineError::io("bundle dir", e))?;
        let json = serde_json::to_vec(&spec)
            .map_err(|e| EngineError::internal(format!("encode config.json: {e}")))?;
        std::fs::write(bundle.join("config.json"), json)
            .map_err(|e| EngineError::io("write config.json", e))
    }

    /// The previous shim deletes the runtime container after reporting the exit; a
    /// quick restart waits for that (bounded), then forces it.
    async fn await_previous_run(&self, id: &str) {
        let state = self.config.runtime_root().join(id);
        for _ in 0..200 {
            if !state.exists() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let _ = self.runtime().delete(id, true);
    }

    /// `<data-root>/containers/<id>/<id>-json.log`, Docker's name for the json-file log.
    pub fn log_path(&self, id: &str) -> PathBuf {
        self.config.container_dir(id).join(format!("{id}-json.log"))
    }

    /// json-file `max-size`/`max-file` of the container (or the daemon's defaults).
    fn log_options(&self, rec: &ContainerRecord) -> Result<(u64, u32)> {
        let opts = rec
            .host_config
            .log_config
            .as_ref()
            .and_then(|l| l.config.clone())
            .unwrap_or_default();
        let size = match opts.get("max-size") {
            Some(s) => parse_size(s)
                .ok_or_else(|| EngineError::invalid(format!("invalid value for max-size: {s}")))?,
            None => self.config.log_max_size,
        };
        let files =
            match opts.get("max-file") {
                Some(s) => s.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    EngineError::invalid(format!("invalid value for max-file: {s}"))
                })?,
                None => self.config.log_max_file,
            };
        Ok((size, files))
    }

    /// The container's overlay snapshot (dirs under its container dir).
    pub(crate) fn snapshot(&self, rec: &ContainerRecord) -> Result<Snapshot> {
        let image = self
            .images
            .get(
                &rec.image_id
                    .parse()
                    .map_err(|_| EngineError::internal(format!("bad image id {}", rec.image_id)))?,
            )
            .map_err(|e| EngineError::internal(format!("image of container {}: {e}", rec.id)))?;
        let mut lowers = Vec::new();
        for chain in image.chain_ids.iter().rev() {
            lowers.push(
                self.images
                    .layers()
                    .short_link_path(&chain.to_string())
                    .map_err(|e| EngineError::internal(format!("layer {chain}: {e}")))?,
            );
        }
        Snapshot::prepare(&self.config.container_dir(&rec.id), &lowers)
            .map_err(|e| EngineError::internal(format!("prepare rootfs: {e}")))
    }

    /// Mounts the container's rootfs; returns the mount point.
    pub(crate) fn mount_rootfs(&self, rec: &ContainerRecord) -> Result<PathBuf> {
        let mut snap = self.snapshot(rec)?;
        // An `--rm` container's upper layer is deleted after its one run: nothing in
        // it needs syncing, and unmounting a volatile overlay skips the sync.
        snap.set_volatile(rec.host_config.auto_remove.unwrap_or(false));
        let _ = snap.unmount();
        snap.mount()
            .map_err(|e| EngineError::internal(format!("mount rootfs: {e}")))?;
        Ok(snap.target().to_path_buf())
    }

    /// Unmounts the rootfs (not mounted is fine).
    pub(crate) fn unmount_rootfs(&self, id: &str) -> Result<()> {
        let target = self.config.container_dir(id).join("merged");
        berth_image::snapshot::unmount_path(&target)
            .map_err(|e| EngineError::internal(format!("unmount rootfs: {e}")))
    }
}

/// Makes the container's cgroup directories (no limits: the runtime writes those) ahead
/// of the runtime, which finds them there. On cgroup v1 that is a mkdir in each of ~10
/// hierarchies (~0.25 ms) that would otherwise sit between the runtime's clone and the
/// init joining the cgroup; here it runs while berthd mounts the rootfs. A failure is
/// left for the runtime to report.
fn precreate_cgroup(path: &Path) {
    if let Ok(cg) = berth_cgroups::Cgroup::new(path) {
        let _ = cg.create(None);
    }
}

/// Docker's mapping of start errors to status and exit code (moby daemon/errors.go).
pub(crate) fn classify_start_error(msg: &str) -> (ErrorKind, i64) {
    if msg.contains("executable file not found") || msg.contains("no such file or directory") {
        (ErrorKind::InvalidParameter, 127)
    } else if msg.contains("permission denied") || msg.contains("is a directory") {
        (ErrorKind::InvalidParameter, 126)
    } else {
        (ErrorKind::Internal, 128)
    }
}

/// `10m`, `1g`, `512k`, `100` (bytes) as json-file's max-size takes them.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = match s.trim_end_matches('b').chars().last()? {
        'k' => (&s[..s.find('k')?], 1024u64),
        'm' => (&s[..s.find('m')?], 1024 * 1024),
        'g' => (&s[..s.find('g')?], 1024 * 1024 * 1024),
        _ => (s.trim_end_matches('b'), 1),
    };
    let n: f64 = num.parse().ok()?;
    (n >= 0.0).then_some((n * mult as f64) as u64)
}

/// The exit code Docker gives a process that could not be started.
pub fn classify_exit_for_start_error(msg: &str) -> i64 {
    match classify_start_error(msg).1 {
        128 => 126,
        code => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("10m"), Some(10 << 20));
        assert_eq!(parse_size("1k"), Some(1024));
        assert_eq!(parse_size("100"), Some(100));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("x"), None);
    }

    #[test]
    fn start_errors_map_like_docker() {
        assert_eq!(
            classify_start_error("exec: \"nope\": executable file not found in $PATH").1,
            127
        );
        assert_eq!(classify_start_error("open /x: permission denied").1, 126);
        assert_eq!(classify_start_error("boom").0, ErrorKind::Internal);
    }
}
