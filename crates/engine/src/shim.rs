//! Talking to `berth-shim` from the async engine: spawning it and the line protocol of
//! docs/design/shim-protocol.md over tokio unix sockets.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use crate::error::{EngineError, Result};

/// How a container ended, as the shim reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus {
    /// Exit code (128+signal for signal deaths).
    pub code: i64,
    /// Killed by the OOM killer.
    pub oom: bool,
    /// Unix ns.
    pub finished: i64,
}

/// What the shim says about its container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShimState {
    /// Created, waiting for `start`.
    Created(i64),
    /// Running with this pid.
    Running(i64),
    /// Exited.
    Exited(ExitStatus),
}

/// Everything needed to start a shim.
#[derive(Debug, Clone)]
pub struct ShimArgs {
    /// The shim binary.
    pub binary: PathBuf,
    /// Container id.
    pub id: String,
    /// Bundle dir.
    pub bundle: PathBuf,
    /// Runtime root.
    pub runtime_root: PathBuf,
    /// Shim dir.
    pub dir: PathBuf,
    /// Log path.
    pub log: PathBuf,
    /// json-file max-size (0 = unlimited).
    pub log_max_size: u64,
    /// json-file max-file.
    pub log_max_file: u32,
    /// pty.
    pub tty: bool,
    /// OpenStdin.
    pub stdin: bool,
    /// StdinOnce.
    pub stdin_once: bool,
}

impl ShimArgs {
    /// The shim's flags (docs/design/shim-protocol.md).
    fn flags(&self) -> Vec<std::ffi::OsString> {
        let mut out: Vec<std::ffi::OsString> = Vec::with_capacity(18);
        let mut flag = |name: &str, value: &std::ffi::OsStr| {
            out.push(name.into());
            out.push(value.to_os_string());
        };
        flag("--id", self.id.as_ref());
        flag("--bundle", self.bundle.as_os_str());
        flag("--runtime-root", self.runtime_root.as_os_str());
        flag("--dir", self.dir.as_os_str());
        flag("--log", self.log.as_os_str());
        flag("--log-max-size", self.log_max_size.to_string().as_ref());
        flag("--log-max-file", self.log_max_file.to_string().as_ref());
        for (on, name) in [
            (self.tty, "--tty"),
            (self.stdin, "--stdin"),
            (self.stdin_once, "--stdin-once"),
        ] {
            if on {
                out.push(name.into());
            }
        }
        out
    }
}

/// A `berth-shim --standby` started ahead of time: it waits on its stdin for the flags
/// of the next container, so that the exec and the process start-up (~0.7 ms on this
/// kind of VM, mostly glibc probing the CPU) happen before a start asks for a shim.
/// Dropping it closes its stdin and it exits.
#[derive(Debug)]
struct Standby {
    child: tokio::process::Child,
}

impl Standby {
    fn spawn(binary: &Path) -> Result<Standby> {
        let mut cmd = tokio::process::Command::new(binary);
        pass_cgroup_hierarchy(cmd.as_std_mut());
        cmd.arg("--standby")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(false);
        let child = cmd
            .spawn()
            .map_err(|e| EngineError::io(format!("spawn {}", binary.display()), e))?;
        Ok(Standby { child })
    }
}

/// How long a standby waits for a start before it is let go: one is kept while starts
/// come in bursts (scripts, compose, restarts), none on an idle daemon, whose memory
/// then stays berthd's alone.
const STANDBY_IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// Starts shims, keeping one [`Standby`] ready for the next start while starts keep
/// coming (see [`STANDBY_IDLE`]).
#[derive(Debug, Default)]
pub struct Launcher {
    slot: std::sync::Arc<StandbySlot>,
}

#[derive(Debug, Default)]
struct StandbySlot {
    standby: std::sync::Mutex<Option<Standby>>,
    /// Counts standbys made, so an idle timer only lets its own one go.
    made: std::sync::atomic::AtomicU64,
}

impl Launcher {
    /// Hands `args` to a shim (the standby, else a fresh one) that sets up what needs no
    /// bundle (its socket, the log, the stdio pipes) and then waits for
    /// [`PendingShim::go`]: the caller mounts the rootfs and writes config.json
    /// meanwhile. `args.dir` is made anew here.
    pub async fn prepare(&self, args: &ShimArgs) -> Result<PendingShim> {
        let _ = std::fs::remove_dir_all(&args.dir);
        std::fs::create_dir_all(&args.dir).map_err(|e| EngineError::io(args.dir.display(), e))?;
        let ready = self.slot.standby.lock().expect("standby shim").take();
        if let Some(standby) = ready {
            // A standby that died meanwhile (killed, or berth-shim replaced) did not take
            // the flags: once more with a fresh one.
            if let Ok(pending) = hand_flags(standby, args).await {
                return Ok(pending);
            }
        }
        let fresh = Standby::spawn(&args.binary)?;
        hand_flags(fresh, args)
            .await
            .map_err(|()| EngineError::internal("berth-shim exited before it read its flags"))
    }

    /// Starts the next standby on a blocking thread, after the container started: the
    /// fork and exec (~0.3 ms in berthd, ~0.7 ms in the child) then overlap with the
    /// client's own work instead of delaying the start's answer.
    pub fn refill_soon(&self, binary: &Path) {
        let (slot, binary) = (self.slot.clone(), binary.to_path_buf());
        tokio::task::spawn_blocking(move || Launcher { slot }.refill(&binary));
    }

    /// Starts the next standby, and lets it go if no start takes it in time.
    fn refill(&self, binary: &Path) {
        if self.slot.standby.lock().expect("standby shim").is_some() {
            return;
        }
        match Standby::spawn(binary) {
            Ok(s) => {
                let previous = self.slot.standby.lock().expect("standby shim").replace(s);
                drop(previous);
            }
            Err(e) => {
                eprintln!("berthd: standby shim: {e}");
                return;
            }
        }
        let made = self.slot.made.fetch_add(1, Ordering::SeqCst) + 1;
        let slot = std::sync::Arc::downgrade(&self.slot);
        tokio::spawn(async move {
            tokio::time::sleep(STANDBY_IDLE).await;
            let Some(slot) = slot.upgrade() else { return };
            let mut standby = slot.standby.lock().expect("standby shim");
            if slot.made.load(Ordering::SeqCst) == made {
                drop(standby.take());
            }
        });
    }

    /// Lets the standby go (clean shutdown).
    pub fn shutdown(&self) {
        drop(self.slot.standby.lock().expect("standby shim").take());
    }
}

/// A shim that has its flags and waits for the bundle: [`PendingShim::go`] or
/// [`PendingShim::abort`], one of them always (a shim dropped without either gives the
/// start up on its own, but nobody then waits for it to clean up).
#[derive(Debug)]
pub struct PendingShim {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    dir: PathBuf,
}

/// The flag that tells the shim to wait for the go byte (docs/design/shim-protocol.md).
const THEN_WAIT: &str = "--then-wait";

/// Writes the flags (NUL-separated, `--then-wait` last); Err when the shim is gone.
async fn hand_flags(mut standby: Standby, args: &ShimArgs) -> std::result::Result<PendingShim, ()> {
    use std::os::unix::ffi::OsStrExt;
    let mut payload = Vec::with_capacity(512);
    for f in args
        .flags()
        .iter()
        .map(|f| f.as_bytes())
        .chain([THEN_WAIT.as_bytes()])
    {
        payload.extend_from_slice(f);
        payload.push(0);
    }
    let mut stdin = standby.child.stdin.take().ok_or(())?;
    stdin.write_all(&payload).await.map_err(drop)?;
    Ok(PendingShim {
        child: standby.child,
        stdin,
        dir: args.dir.clone(),
    })
}

impl PendingShim {
    /// The bundle is written: the shim creates the container. Returns the init's pid
    /// once it waits at the start gate.
    pub async fn go(mut self) -> Result<i64> {
        let sent = self.stdin.write_all(b"g").await;
        drop(self.stdin);
        let stdout = self.child.stdout.take();
        // The shim setsid()s and outlives us; reap it in the background if it is our child.
        let mut child = self.child;
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        let mut line = String::new();
        if let Some(stdout) = stdout {
            BufReader::new(stdout)
                .read_line(&mut line)
                .await
                .map_err(|e| EngineError::io("read shim ready line", e))?;
        }
        let line = line.trim_end();
        if let Some(pid) = line.strip_prefix("ready ") {
            return pid
                .trim()
                .parse()
                .map_err(|_| EngineError::internal(format!("shim said {line:?}")));
        }
        let msg = line.strip_prefix("error ").unwrap_or(line);
        if msg.is_empty() {
            let log = std::fs::read_to_string(self.dir.join("shim.log")).unwrap_or_default();
            let why = if sent.is_err() {
                "before its go"
            } else {
                "without a status"
            };
            return Err(EngineError::internal(format!(
                "berth-shim exited {why}: {}",
                log.trim()
            )));
        }
        Err(EngineError::internal(msg.to_string()))
    }

    /// The start failed before the bundle was ready: the shim removes its directory and
    /// exits; this waits until it has (so a retried start cannot race its clean-up).
    pub async fn abort(mut self) {
        drop(self.stdin);
        if let Some(mut stdout) = self.child.stdout.take() {
            let mut sink = Vec::new();
            let _ = stdout.read_to_end(&mut sink).await;
        }
        let _ = self.child.wait().await;
    }
}

/// Hands berthd's knowledge of the cgroup mounts to a child (the shim, `berth-runtime
/// exec`), which then reads no /proc/self/mountinfo (see berth_cgroups::HIERARCHY_ENV).
pub(crate) fn pass_cgroup_hierarchy(cmd: &mut std::process::Command) {
    if let Ok(h) = berth_cgroups::Hierarchy::current() {
        cmd.env(berth_cgroups::HIERARCHY_ENV, h.to_env_value());
    }
}

fn sock(dir: &Path) -> PathBuf {
    dir.join("shim.sock")
}

/// Connects and sends one request line.
pub async fn connect(dir: &Path, request: &str) -> std::io::Result<UnixStream> {
    let mut s = UnixStream::connect(sock(dir)).await?;
    s.write_all(format!("{request}\n").as_bytes()).await?;
    Ok(s)
}

/// Reads one reply line byte by byte (so nothing after it is consumed).
pub async fn read_line(s: &mut UnixStream) -> std::io::Result<String> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    loop {
        match s.read(&mut b).await? {
            0 => break,
            _ if b[0] == b'\n' => break,
            _ => out.push(b[0]),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// One request, one reply line.
pub async fn request(dir: &Path, req: &str) -> std::io::Result<String> {
    let mut s = connect(dir, req).await?;
    read_line(&mut s).await
}

/// Parses `exit <code> <oom> <ns>`.
pub fn parse_exit(s: &str) -> Option<ExitStatus> {
    let mut w = s.strip_prefix("exit ")?.split_whitespace();
    Some(ExitStatus {
        code: w.next()?.parse().ok()?,
        oom: w.next()? == "1",
        finished: w.next().and_then(|n| n.parse().ok()).unwrap_or(0),
    })
}

/// `state`, or the `exit` file when the shim is gone; None when there is neither.
pub async fn state(dir: &Path) -> Option<ShimState> {
    if let Ok(line) = request(dir, "state").await {
        let mut w = line.split_whitespace();
        match (w.next(), w.next().and_then(|p| p.parse().ok())) {
            (Some("running"), Some(pid)) => return Some(ShimState::Running(pid)),
            (Some("created"), Some(pid)) => return Some(ShimState::Created(pid)),
            _ => {}
        }
        if let Some(e) = parse_exit(&line) {
            return Some(ShimState::Exited(e));
        }
    }
    read_exit_file(dir).map(ShimState::Exited)
}

/// The `exit` file the shim leaves behind.
pub fn read_exit_file(dir: &Path) -> Option<ExitStatus> {
    let s = std::fs::read_to_string(dir.join("exit")).ok()?;
    parse_exit(&format!("exit {}", s.trim().trim_start_matches("exit ")))
}

/// Blocks until the container exits; falls back to the exit file when the shim is gone.
pub async fn wait(dir: &Path) -> Option<ExitStatus> {
    if let Ok(line) = request(dir, "wait").await {
        if let Some(e) = parse_exit(&line) {
            return Some(e);
        }
    }
    // The shim went away before answering: give it a moment to finish the exit file.
    for _ in 0..50 {
        if let Some(e) = read_exit_file(dir) {
            return Some(e);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

/// Opens an attach stream: after `ok`, output frames come in and stdin goes out.
pub async fn attach(dir: &Path, stdin: bool, stdout: bool, stderr: bool) -> Result<UnixStream> {
    let b = |x: bool| if x { 1 } else { 0 };
    let req = format!("attach {} {} {}", b(stdin), b(stdout), b(stderr));
    let mut s = connect(dir, &req)
        .await
        .map_err(|e| EngineError::io("attach to shim", e))?;
    let reply = read_line(&mut s)
        .await
        .map_err(|e| EngineError::io("attach to shim", e))?;
    if reply != "ok" {
        return Err(EngineError::internal(format!("shim attach: {reply}")));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_lines_parse() {
        assert_eq!(
            parse_exit("exit 137 1 42"),
            Some(ExitStatus {
                code: 137,
                oom: true,
                finished: 42
            })
        );
        assert_eq!(parse_exit("running 5"), None);
    }
}
