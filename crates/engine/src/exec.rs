//! `exec`: extra processes in a running container. The process runs under the
//! `berth-runtime exec` binary (the runtime forks, which must not happen in a tokio
//! thread); berthd holds its stdio pipes, or for a tty the pty master it receives over a
//! console socket. The exit code is recorded before the stream closes.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use bollard_stubs::models::ExecConfig;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::container::Status;
use crate::error::{EngineError, Result};
use crate::{ids, Engine};

/// Run-time state of an exec.
#[derive(Debug, Default)]
pub struct ExecState {
    /// Started and not yet exited.
    pub running: bool,
    /// Exit code once exited.
    pub exit_code: Option<i64>,
    /// Host pid while running.
    pub pid: i64,
    /// Pty master (tty execs), for resize.
    pub pty: Option<Arc<OwnedFd>>,
    /// Start was called.
    pub started: bool,
    /// Why the process could not be started (written into the stream, as Docker does).
    pub start_error: Option<String>,
}

/// One exec instance.
#[derive(Debug)]
pub struct Exec {
    /// 64-hex id.
    pub id: String,
    /// The container it runs in.
    pub container_id: String,
    /// The request.
    pub config: ExecConfig,
    /// State.
    pub state: Mutex<ExecState>,
    done: watch::Sender<bool>,
}

/// The process's stdio as the API layer gets it.
pub enum ExecIo {
    /// Separate pipes (no tty).
    Pipes {
        /// stdin, when attached.
        stdin: Option<tokio::process::ChildStdin>,
        /// stdout.
        stdout: tokio::process::ChildStdout,
        /// stderr.
        stderr: tokio::process::ChildStderr,
    },
    /// The pty master (read = output, write = input).
    Pty(std::fs::File),
    /// Detached: nothing to stream.
    Detached,
}

impl std::fmt::Debug for ExecIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExecIo::Pipes { .. } => "Pipes",
            ExecIo::Pty(_) => "Pty",
            ExecIo::Detached => "Detached",
        })
    }
}

fn cmd_text(cfg: &ExecConfig) -> String {
    cfg.cmd.clone().unwrap_or_default().join(" ")
}

impl Engine {
    /// `POST /containers/{id}/exec` → exec id.
    pub fn create_exec(&self, name: &str, cfg: ExecConfig) -> Result<String> {
        let c = self.container(name)?;
        if cfg.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            return Err(EngineError::invalid("No exec command specified"));
        }
        match c.record().state.status {
            Status::Running => {}
            Status::Paused => {
                return Err(EngineError::conflict(format!(
                    "Container {} is paused, unpause the container before exec",
                    c.id
                )))
            }
            _ => {
                return Err(EngineError::conflict(format!(
                    "container {} is not running",
                    c.id
                )))
            }
        }
        let id = ids::random_id();
        let exec = Arc::new(Exec {
            id: id.clone(),
            container_id: c.id.clone(),
            state: Mutex::new(ExecState::default()),
            done: watch::channel(false).0,
            config: cfg,
        });
        self.container_event(
            &c,
            &format!("exec_create: {}", cmd_text(&exec.config)),
            &[("execID", id.clone())],
        );
        self.execs.lock().expect("execs").insert(id.clone(), exec);
        Ok(id)
    }

    /// The exec named by id.
    pub fn exec(&self, id: &str) -> Result<Arc<Exec>> {
        self.execs
            .lock()
            .expect("execs")
            .get(id)
            .cloned()
            .ok_or_else(|| EngineError::not_found(format!("No such exec instance: {id}")))
    }

    /// Exec ids of a container (inspect's `ExecIDs`: null when none).
    pub(crate) fn exec_ids_of(&self, container: &str) -> Value {
        let ids: Vec<String> = self
            .execs
            .lock()
            .expect("execs")
            .values()
            .filter(|e| e.container_id == container)
            .map(|e| e.id.clone())
            .collect();
        if ids.is_empty() {
            Value::Null
        } else {
            json!(ids)
        }
    }

    /// `GET /exec/{id}/json`.
    pub fn inspect_exec(&self, id: &str) -> Result<Value> {
        let e = self.exec(id)?;
        let st = e.state.lock().expect("exec state");
        let cmd = e.config.cmd.clone().unwrap_or_default();
        Ok(json!({
            "ID": e.id,
            "Running": st.running,
            "ExitCode": st.exit_code,
            "ProcessConfig": {
                "tty": e.config.tty.unwrap_or(false),
                "entrypoint": cmd.first().cloned().unwrap_or_default(),
                "arguments": cmd.iter().skip(1).cloned().collect::<Vec<_>>(),
                "privileged": e.config.privileged.unwrap_or(false),
                "user": e.config.user.clone().unwrap_or_default(),
            },
            "OpenStdin": e.config.attach_stdin.unwrap_or(false),
            "OpenStderr": e.config.attach_stderr.unwrap_or(false),
            "OpenStdout": e.config.attach_stdout.unwrap_or(false),
            "CanRemove": false,
            "ContainerID": e.container_id,
            "DetachKeys": e.config.detach_keys.clone().unwrap_or_default(),
            "Pid": st.pid,
        }))
    }

    /// `POST /exec/{id}/resize`.
    pub fn resize_exec(&self, id: &str, rows: u16, cols: u16) -> Result<()> {
        let e = self.exec(id)?;
        let pty = e.state.lock().expect("exec state").pty.clone();
        let Some(pty) = pty else {
            return Err(EngineError::conflict(format!(
                "exec {id} has no tty or is not running"
            )));
        };
        let ws = rustix::termios::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&*pty, ws)
            .map_err(|e| EngineError::internal(format!("resize exec: {e}")))
    }

    /// `POST /exec/{id}/start`: launches the process; the returned future completes with
    /// the exit code after it has been recorded.
    pub async fn start_exec(
        self: &Arc<Self>,
        id: &str,
        detach: bool,
        console_size: Option<(u16, u16)>,
    ) -> Result<ExecIo> {
        let e = self.exec(id)?;
        {
            let mut st = e.state.lock().expect("exec state");
            if st.started {
                return Err(EngineError::conflict(format!(
                    "Error: Exec command {id} has already run"
                )));
            }
            st.started = true;
        }
        let c = self.container(&e.container_id)?;
        if c.record().state.status != Status::Running {
            return Err(EngineError::conflict(format!(
                "container {} is not running",
                c.id
            )));
        }
        let dir = self.config.exec_dir(id);
        std::fs::create_dir_all(&dir).map_err(|err| EngineError::io("exec dir", err))?;
        let tty = e.config.tty.unwrap_or(false);
        let process = self.exec_process(&c.id, &e.config, tty, console_size)?;
        let process_path = dir.join("process.json");
        std::fs::write(
            &process_path,
            serde_json::to_vec(&process).unwrap_or_default(),
        )
        .map_err(|err| EngineError::io("write exec process.json", err))?;

        let mut cmd = tokio::process::Command::new(&self.config.runtime_path);
        crate::shim::pass_cgroup_hierarchy(cmd.as_std_mut());
        cmd.arg("--root")
            .arg(self.config.runtime_root())
            .arg("--log")
            .arg(dir.join("runtime.log"))
            .arg("--log-format")
            .arg("json")
            .arg("exec")
            .arg("--process")
            .arg(&process_path)
            .arg("--pid-file")
            .arg(dir.join("pid"));
        let console = if tty {
            let sock = dir.join("console.sock");
            let _ = std::fs::remove_file(&sock);
            let listener = std::os::unix::net::UnixListener::bind(&sock)
                .map_err(|err| EngineError::io("console socket", err))?;
            cmd.arg("--console-socket").arg(&sock);
            Some(listener)
        } else {
            None
        };
        cmd.arg(&c.id);
        let attach_stdin = e.config.attach_stdin.unwrap_or(false) && !detach;
        if tty || detach {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        } else {
            cmd.stdin(if attach_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .map_err(|err| EngineError::io("spawn berth-runtime exec", err))?;
        self.container_event(
            &c,
            &format!("exec_start: {}", cmd_text(&e.config)),
            &[("execID", id.to_string())],
        );
        let io = if let Some(listener) = console {
            let master = tokio::task::spawn_blocking(move || receive_pty(listener))
                .await
                .map_err(|err| EngineError::internal(format!("console: {err}")))?;
            match master {
                Ok(fd) => {
                    let fd = Arc::new(fd);
                    e.state.lock().expect("exec state").pty = Some(fd.clone());
                    let file = std::fs::File::from(
                        fd.try_clone()
                            .map_err(|err| EngineError::io("dup pty", err))?,
                    );
                    if detach {
                        ExecIo::Detached
                    } else {
                        ExecIo::Pty(file)
                    }
                }
                Err(err) => {
                    let _ = child.kill().await;
                    return Err(err);
                }
            }
        } else if detach {
            ExecIo::Detached
        } else {
            ExecIo::Pipes {
                stdin: child.stdin.take(),
                stdout: child.stdout.take().expect("piped"),
                stderr: child.stderr.take().expect("piped"),
            }
        };
        {
            let mut st = e.state.lock().expect("exec state");
            st.running = true;
            st.pid = std::fs::read_to_string(dir.join("pid"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
        }
        let engine = self.clone();
        let exec = e.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            let code = status
                .ok()
                .map(|s| {
                    use std::os::unix::process::ExitStatusExt;
                    s.code()
                        .map(i64::from)
                        .or(s.signal().map(|n| 128 + i64::from(n)))
                        .unwrap_or(255)
                })
                .unwrap_or(255);
            // A failure of the runtime itself (the program was never started) is in
            // its log; Docker reports those as 126/127 with the runtime's message.
            let log = engine.config.exec_dir(&exec.id).join("runtime.log");
            let start_error = runtime_error(&log);
            let code = match &start_error {
                Some(msg) => crate::container::classify_exit_for_start_error(msg),
                None => code,
            };
            {
                let mut st = exec.state.lock().expect("exec state");
                st.running = false;
                st.exit_code = Some(code);
                st.start_error = start_error;
                st.pty = None;
            }
            let _ = std::fs::remove_dir_all(engine.config.exec_dir(&exec.id));
            if let Ok(c) = engine.container(&exec.container_id) {
                engine.container_event(
                    &c,
                    "exec_die",
                    &[("execID", exec.id.clone()), ("exitCode", code.to_string())],
                );
            }
            exec.done.send_replace(true);
        });
        Ok(io)
    }

    /// The start error of an exec, once it has exited.
    pub fn exec_start_error(&self, id: &str) -> Option<String> {
        self.exec(id)
            .ok()
            .and_then(|e| e.state.lock().expect("exec state").start_error.clone())
    }

    /// Waits until the exec has exited and its exit code is recorded.
    pub async fn wait_exec(&self, id: &str) -> Result<i64> {
        let e = self.exec(id)?;
        let mut rx = e.done.subscribe();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                break;
            }
        }
        let code = e.state.lock().expect("exec state").exit_code.unwrap_or(-1);
        Ok(code)
    }

    /// The OCI process of an exec: the container's process with the exec's overrides.
    fn exec_process(
        &self,
        id: &str,
        cfg: &ExecConfig,
        tty: bool,
        console_size: Option<(u16, u16)>,
    ) -> Result<oci_spec::runtime::Process> {
        let bundle = self.config.container_dir(id).join("bundle/config.json");
        let spec = oci_spec::runtime::Spec::load(&bundle)
            .map_err(|e| EngineError::internal(format!("load {}: {e}", bundle.display())))?;
        let mut p = spec.process().clone().unwrap_or_default();
        p.set_args(cfg.cmd.clone());
        p.set_terminal(Some(tty));
        if let Some((h, w)) = console_size.filter(|(h, w)| *h > 0 && *w > 0) {
            p.set_console_size(Some(
                oci_spec::runtime::BoxBuilder::default()
                    .height(u64::from(h))
                    .width(u64::from(w))
                    .build()
                    .map_err(|e| EngineError::internal(e.to_string()))?,
            ));
        }
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        let mut order = Vec::new();
        for kv in p
            .env()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .chain(cfg.env.clone().unwrap_or_default())
        {
            let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
            if !env.contains_key(k) {
                order.push(k.to_string());
            }
            env.insert(k.to_string(), v.to_string());
        }
        if tty && !env.contains_key("TERM") {
            order.push("TERM".into());
            env.insert("TERM".into(), "xterm".into());
        }
        p.set_env(Some(
            order.iter().map(|k| format!("{k}={}", env[k])).collect(),
        ));
        if let Some(wd) = cfg.working_dir.as_ref().filter(|w| !w.is_empty()) {
            p.set_cwd(wd.into());
        }
        if let Some(user) = cfg.user.as_ref().filter(|u| !u.is_empty()) {
            let rootfs = self.config.container_dir(id).join("merged");
            let u = crate::spec::resolve_user(&rootfs, user, &[])
                .map_err(|e| EngineError::invalid(e.to_string()))?;
            p.set_user(u);
        }
        if cfg.privileged.unwrap_or(false) {
            let facts = crate::spec::HostFacts::detect();
            let caps = crate::spec::capability_set(&[], &[], true, &facts.all_capabilities)
                .map_err(|e| EngineError::invalid(e.to_string()))?;
            p.set_capabilities(Some(crate::spec::linux_capabilities(&caps)));
        }
        Ok(p)
    }
}

/// The last error line of a `berth-runtime --log-format json` log.
fn runtime_error(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().rev().find_map(|l| {
        let v: Value = serde_json::from_str(l).ok()?;
        (v["level"] == "error").then(|| v["msg"].as_str().unwrap_or_default().to_string())
    })
}

/// Accepts the runtime's console connection and takes the pty master it sends.
fn receive_pty(listener: std::os::unix::net::UnixListener) -> Result<OwnedFd> {
    use std::os::fd::AsFd;
    let (conn, _) = listener
        .accept()
        .map_err(|e| EngineError::io("accept console", e))?;
    let mut buf = [0u8; 4096];
    let mut space = vec![std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = rustix::net::RecvAncillaryBuffer::new(&mut space);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    rustix::net::recvmsg(
        conn.as_fd(),
        &mut iov,
        &mut control,
        rustix::net::RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| EngineError::internal(format!("receive pty: {e}")))?;
    for msg in control.drain() {
        if let rustix::net::RecvAncillaryMessage::ScmRights(mut fds) = msg {
            if let Some(fd) = fds.next() {
                return Ok(fd);
            }
        }
    }
    Err(EngineError::internal("the runtime sent no pty master"))
}
