//! The shim's life: start-up (create the container with our pipes or a pty as its
//! stdio), then one poll(2) loop until the container has exited and been deleted.
//!
//! Runs in the `berth-shim` process, single-threaded (the runtime library forks us).
//! The shim owns: `D/shim.sock`, `D/shim.pid`, `D/exit`, the container (deleted with
//! the runtime library on exit or on a start-up error), the log file, the read ends of
//! the container's stdout/stderr pipes (or the pty master), the write end of its stdin
//! pipe, and every client connection. It is a child subreaper and reaps everything.

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berth_runtime::cgroups::Cgroup;
use berth_runtime::{CreateOptions, Runtime};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::args::Config;
use crate::attach::{Conn, Phase, RequestRead};
use crate::log::{LineSplitter, LogFile, Stream};
use crate::protocol::{self, ExitInfo, Request, State};
pub use crate::start::{Gate, Start};

/// How long output may keep flowing after the init exited (grandchildren holding the
/// pipes open without a pid namespace) before the container is deleted anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Size of the one read buffer.
const BUF_SIZE: usize = 32 * 1024;

/// Runs the shim: start-up, the `ready`/`error` line on `ready_out`, the loop. Returns
/// the process exit code.
pub fn run(cfg: Config, ready_out: OwnedFd, start: Start) -> i32 {
    let mut ready = File::from(ready_out);
    let rt = Runtime::new(&cfg.runtime_root);
    let mut progress = Progress::default();
    match start_up(&cfg, &rt, start, &mut progress) {
        Ok(mut shim) => {
            let _ = writeln!(ready, "ready {}", shim.pid);
            drop(ready);
            shim.run()
        }
        Err(msg) => {
            if progress.given_up {
                // berthd is not waiting for a status; it waits for us to be gone.
                if progress.log_created {
                    let _ = fs::remove_file(&cfg.log);
                }
                let _ = fs::remove_dir_all(&cfg.dir);
                return 0;
            }
            let _ = writeln!(ready, "error {}", msg.replace('\n', " "));
            if progress.created {
                let _ = rt.delete(&cfg.id, true);
            }
            for f in ["shim.sock", "shim.pid", "console.sock"] {
                let _ = fs::remove_file(cfg.dir.join(f));
            }
            1
        }
    }
}

/// How far a failed start-up got.
#[derive(Debug, Default)]
struct Progress {
    /// The runtime created the container (delete it).
    created: bool,
    /// berthd gave the start up before its go.
    given_up: bool,
    /// The log file did not exist before this start (removed when given up).
    log_created: bool,
}

/// For a shim started ahead of time (`--standby`): its stderr goes to `dir/shim.log`,
/// as berthd arranges for a shim it starts with flags, and its working directory
/// becomes `dir`, so that `/proc/<pid>/cwd` names the container's shim (its command
/// line is only `berth-shim --standby`). Failures leave stderr where it was.
pub fn adopt_dir(dir: &Path) {
    let _ = std::env::set_current_dir(dir);
    if let Ok(log) = File::create(dir.join("shim.log")) {
        let _ = berth_runtime::sys::fd::dup_onto(log.as_fd(), 2);
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> Result<(), String> {
    let flags = fcntl(fd, FcntlArg::F_GETFL).map_err(|e| format!("F_GETFL: {e}"))?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(fd, FcntlArg::F_SETFL(flags)).map_err(|e| format!("F_SETFL: {e}"))?;
    Ok(())
}

fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))
}

/// Receives the pty master the container init sends to the console socket.
fn receive_master(listener: &UnixListener) -> Result<OwnedFd, String> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let (conn, _) = listener.accept().map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock => "the container did not send a pty master".to_string(),
        _ => format!("accept on console socket: {e}"),
    })?;
    let mut name = [0u8; 128];
    let mut iov = [std::io::IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("receive pty master: {e}"))?;
    for cmsg in msg
        .cmsgs()
        .map_err(|e| format!("receive pty master: {e}"))?
    {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(&fd) = fds.first() {
                // The fd came to us over SCM_RIGHTS and nothing else owns it.
                return Ok(berth_runtime::sys::fd::owned(fd));
            }
        }
    }
    Err("the container sent no pty master".into())
}

fn oom_kills(cgroup: &Cgroup) -> u64 {
    cgroup.oom_kills().unwrap_or(0)
}

fn start_up(
    cfg: &Config,
    rt: &Runtime,
    start: Start,
    progress: &mut Progress,
) -> Result<Shim, String> {
    // Fails only when we already lead a session (e.g. started from a shell): harmless.
    let _ = nix::unistd::setsid();
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| format!("set subreaper: {e}"))?;
    // Everything up to the pipes needs only the flags: a gated shim does it while
    // berthd still mounts the rootfs and writes the bundle.
    fs::create_dir_all(&cfg.dir).map_err(|e| format!("create {}: {e}", cfg.dir.display()))?;
    let sock = cfg.dir.join("shim.sock");
    let _ = fs::remove_file(&sock);
    let _ = fs::remove_file(cfg.dir.join("exit"));
    let listener =
        UnixListener::bind(&sock).map_err(|e| format!("listen on {}: {e}", sock.display()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("set socket non-blocking: {e}"))?;
    progress.log_created = !cfg.log.exists();
    let log = LogFile::open(&cfg.log, cfg.log_max_size, cfg.log_max_file)
        .map_err(|e| format!("open log {}: {e}", cfg.log.display()))?;
    let devnull: OwnedFd = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| format!("open /dev/null: {e}"))?
        .into();

    // The container's stdio: fds 0/1/2 while `create` forks us.
    let console = if cfg.tty {
        let path = cfg.dir.join("console.sock");
        let _ = fs::remove_file(&path);
        let l =
            UnixListener::bind(&path).map_err(|e| format!("listen on {}: {e}", path.display()))?;
        l.set_nonblocking(true)
            .map_err(|e| format!("set socket non-blocking: {e}"))?;
        Some((l, path))
    } else {
        None
    };
    let (out, err, input) = if cfg.tty {
        (None, None, None)
    } else {
        (
            Some(pipe()?),
            Some(pipe()?),
            if cfg.stdin { Some(pipe()?) } else { None },
        )
    };
    if let Some(gate) = start.gate {
        if !gate.wait() {
            progress.given_up = true;
            return Err("the start was given up".into());
        }
    }
    let bundle = berth_runtime::config::load(&cfg.bundle).map_err(|e| e.to_string())?;
    let terminal = bundle
        .spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    if terminal != cfg.tty {
        return Err(format!(
            "process.terminal is {terminal} in config.json but --tty is {}",
            cfg.tty
        ));
    }
    // Sealing re-executes this process (same flags), which then sets up afresh; nothing
    // outside our own directory has changed yet.
    if berth_runtime::sealed_exe::required_for(&bundle.spec) {
        let sealed = match &start.args {
            Some(args) => berth_runtime::sealed_exe::ensure_sealed_with_args(args),
            None => berth_runtime::sealed_exe::ensure_sealed(),
        };
        sealed.map_err(|e| e.to_string())?;
    }
    let targets = [
        input.as_ref().map_or(devnull.as_fd(), |p| p.0.as_fd()),
        out.as_ref().map_or(devnull.as_fd(), |p| p.1.as_fd()),
        err.as_ref().map_or(devnull.as_fd(), |p| p.1.as_fd()),
    ];
    let opts = CreateOptions {
        id: cfg.id.clone(),
        bundle: cfg.bundle.clone(),
        pid_file: None,
        console_socket: console.as_ref().map(|(_, p)| p.clone()),
        preserve_fds: 0,
        no_pivot: false,
    };
    let mut result = Ok(());
    for (i, fd) in (0..).zip(targets) {
        if let Err(e) = berth_runtime::sys::fd::dup_onto(fd, i) {
            result = Err(format!("dup2 onto fd {i}: {e}"));
        }
    }
    let state = result.and_then(|()| {
        crate::sys::sigpipe_default(true);
        // The runtime takes the bundle parsed above rather than reading it again.
        let r = rt.create_loaded(&opts, bundle).map_err(|e| e.to_string());
        crate::sys::sigpipe_default(false);
        r
    });
    for i in 0..3 {
        // Our stdio goes back to /dev/null; the container keeps its copies.
        let _ = berth_runtime::sys::fd::dup_onto(devnull.as_fd(), i);
    }
    let state = state?;
    progress.created = true;
    let out = out.map(|(r, _)| r);
    let err = err.map(|(r, _)| r);
    let stdin = input.map(|(_, w)| w);

    let (stdout_fd, stderr_fd) = match console {
        Some((l, path)) => {
            let master = receive_master(&l);
            let _ = fs::remove_file(path);
            (Some(master?), None)
        }
        None => (out, err),
    };
    for fd in stdout_fd.iter().chain(stderr_fd.iter()).chain(stdin.iter()) {
        set_nonblocking(fd.as_fd())?;
    }
    let cgroup = Cgroup::new(&state.cgroup_path).map_err(|e| e.to_string())?;
    let oom_start = oom_kills(&cgroup);
    fs::write(cfg.dir.join("shim.pid"), std::process::id().to_string())
        .map_err(|e| format!("write shim.pid: {e}"))?;

    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), None)
        .map_err(|e| format!("block SIGCHLD: {e}"))?;
    let sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| format!("signalfd: {e}"))?;

    Ok(Shim {
        rt: rt.clone(),
        id: cfg.id.clone(),
        dir: cfg.dir.clone(),
        tty: cfg.tty,
        stdin_once: cfg.stdin_once,
        pid: state.pid,
        cgroup,
        oom_start,
        listener,
        sigfd,
        conns: Vec::new(),
        out: [stdout_fd, stderr_fd],
        splitters: [LineSplitter::default(), LineSplitter::default()],
        log,
        stdin,
        stdin_open: cfg.stdin,
        stdin_pending: Vec::new(),
        close_stdin_after_flush: false,
        started: false,
        exited: None,
        release_due: true,
    })
}

/// What one pollfd entry stands for.
#[derive(Debug, Clone, Copy)]
enum Tag {
    Listener,
    Signal,
    Output(usize),
    StdinPipe,
    Conn(usize),
}

/// The running shim's state.
struct Shim {
    rt: Runtime,
    id: String,
    dir: PathBuf,
    tty: bool,
    stdin_once: bool,
    pid: i32,
    cgroup: Cgroup,
    oom_start: u64,
    listener: UnixListener,
    sigfd: SignalFd,
    conns: Vec<Conn>,
    /// stdout (or the pty master) and stderr, until EOF.
    out: [Option<OwnedFd>; 2],
    splitters: [LineSplitter; 2],
    log: LogFile,
    /// Write end of the stdin pipe (none with a tty: stdin goes to the master).
    stdin: Option<OwnedFd>,
    /// Attach clients' bytes are forwarded.
    stdin_open: bool,
    stdin_pending: Vec<u8>,
    close_stdin_after_flush: bool,
    started: bool,
    /// Exit code and reap time of the init, plus the drain deadline.
    exited: Option<(i32, u64, Instant)>,
    /// Start-up pages should be given back once the loop is idle: doing it right after
    /// `ready` or `start` would delay berthd's next request by a /proc/self/smaps walk.
    release_due: bool,
}

/// Idle time after which start-up memory is released.
const RELEASE_AFTER_IDLE_MS: i32 = 50;

fn now_ns() -> u64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Shim {
    fn run(&mut self) -> i32 {
        let mut buf = vec![0u8; BUF_SIZE];
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(8);
        let mut tags: Vec<Tag> = Vec::with_capacity(8);
        self.reap();
        loop {
            if let Some((code, ns, deadline)) = self.exited {
                if self.out.iter().all(Option::is_none) || Instant::now() >= deadline {
                    return self.finish(code, ns, &mut buf);
                }
            }
            self.poll_set(&mut fds, &mut tags);
            let timeout = match self.exited {
                Some((_, _, deadline)) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(1)
                }
                None if self.release_due => RELEASE_AFTER_IDLE_MS,
                None => -1,
            };
            let ready = crate::sys::poll(&mut fds, timeout);
            if self.release_due
                && self.exited.is_none()
                && fds.iter().all(|p| p.revents == 0)
                && ready.is_ok()
            {
                crate::sys::release_startup_memory();
                self.release_due = false;
                continue;
            }
            if ready.is_err() {
                // Only EFAULT/EINVAL/ENOMEM: nothing sensible left but a short pause.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            for (pfd, tag) in fds.iter().zip(tags.iter()) {
                let ev = pfd.revents;
                if ev == 0 {
                    continue;
                }
                match *tag {
                    Tag::Listener => self.accept(),
                    Tag::Signal => {
                        while let Ok(Some(_)) = self.sigfd.read_signal() {}
                        self.reap();
                    }
                    Tag::Output(i) => {
                        if ev & libc::POLLOUT != 0 {
                            self.flush_stdin();
                        }
                        if ev & !libc::POLLOUT != 0 {
                            self.read_output(i, &mut buf);
                        }
                    }
                    Tag::StdinPipe => self.flush_stdin(),
                    Tag::Conn(i) => self.conn_event(i, ev, &mut buf),
                }
            }
            self.conns.retain(|c| !c.dead);
        }
    }

    fn stdin_target(&self) -> Option<BorrowedFd<'_>> {
        if !self.stdin_open {
            return None;
        }
        if self.tty {
            self.out[0].as_ref().map(AsFd::as_fd)
        } else {
            self.stdin.as_ref().map(AsFd::as_fd)
        }
    }

    fn poll_set(&self, fds: &mut Vec<libc::pollfd>, tags: &mut Vec<Tag>) {
        fds.clear();
        tags.clear();
        let mut add = |fd: i32, events: i16, tag: Tag| {
            fds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
            tags.push(tag);
        };
        add(self.listener.as_raw_fd(), libc::POLLIN, Tag::Listener);
        add(self.sigfd.as_fd().as_raw_fd(), libc::POLLIN, Tag::Signal);
        let pending = !self.stdin_pending.is_empty();
        for (i, fd) in self.out.iter().enumerate() {
            if let Some(fd) = fd {
                let out = if self.tty && pending {
                    libc::POLLOUT
                } else {
                    0
                };
                add(fd.as_raw_fd(), libc::POLLIN | out, Tag::Output(i));
            }
        }
        if !self.tty && pending {
            if let Some(fd) = &self.stdin {
                add(fd.as_raw_fd(), libc::POLLOUT, Tag::StdinPipe);
            }
        }
        for (i, c) in self.conns.iter().enumerate() {
            let read = match c.phase {
                Phase::Request => true,
                Phase::Attached => !(c.read_closed || c.stdin && pending),
                Phase::Waiting => false,
            };
            add(
                c.stream.as_raw_fd(),
                if read { libc::POLLIN } else { 0 },
                Tag::Conn(i),
            );
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    if s.set_nonblocking(true).is_ok() {
                        self.conns.push(Conn::new(s));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    /// Reaps every child; records the init's exit.
    fn reap(&mut self) {
        loop {
            let (pid, code) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, status)) => {
                    (pid, protocol::exit_code(Some(status), None))
                }
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    (pid, protocol::exit_code(None, Some(sig as i32)))
                }
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(_) => return,
            };
            if pid.as_raw() == self.pid && self.exited.is_none() {
                self.exited = Some((code, now_ns(), Instant::now() + DRAIN_TIMEOUT));
            }
        }
    }

    fn read_output(&mut self, i: usize, buf: &mut [u8]) {
        let Some(fd) = &self.out[i] else { return };
        match nix::unistd::read(fd, buf) {
            Ok(0) => self.close_output(i),
            Ok(n) => self.dispatch(i, &buf[..n]),
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            // EIO: the pty's slave side is closed for good.
            Err(_) => self.close_output(i),
        }
    }

    fn close_output(&mut self, i: usize) {
        self.out[i] = None;
        let stream = if i == 0 {
            Stream::Stdout
        } else {
            Stream::Stderr
        };
        let log = &mut self.log;
        self.splitters[i].flush(&mut |entry| {
            // A full disk must not stop the container; the entry is lost.
            let _ = log.write_entry(entry, stream);
        });
    }

    fn dispatch(&mut self, i: usize, data: &[u8]) {
        let (stream, number) = if i == 0 {
            (Stream::Stdout, protocol::STDOUT)
        } else {
            (Stream::Stderr, protocol::STDERR)
        };
        let log = &mut self.log;
        self.splitters[i].feed(data, &mut |entry| {
            let _ = log.write_entry(entry, stream);
        });
        for c in self.conns.iter_mut().filter(|c| c.wants(number)) {
            if self.tty {
                c.send_raw(data);
            } else {
                c.send_frame(number, data);
            }
        }
    }

    fn write_stdin(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let Some(fd) = self.stdin_target() else {
            return;
        };
        if !self.stdin_pending.is_empty() {
            self.stdin_pending.extend_from_slice(data);
            return;
        }
        match nix::unistd::write(fd, data) {
            Ok(n) => self.stdin_pending.extend_from_slice(&data[n..]),
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => self.stdin_pending.extend_from_slice(data),
            Err(_) => self.close_stdin(),
        }
    }

    fn flush_stdin(&mut self) {
        let Some(fd) = self.stdin_target() else {
            self.stdin_pending = Vec::new();
            return;
        };
        match nix::unistd::write(fd, &self.stdin_pending) {
            Ok(n) => {
                self.stdin_pending.drain(..n);
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(_) => self.close_stdin(),
        }
        if self.stdin_pending.is_empty() {
            self.stdin_pending = Vec::new();
            if self.close_stdin_after_flush {
                self.close_stdin();
            }
        }
    }

    /// Closes the container's stdin (with a tty: stops forwarding to the master).
    fn close_stdin(&mut self) {
        self.stdin = None;
        self.stdin_open = false;
        self.stdin_pending = Vec::new();
        self.close_stdin_after_flush = false;
    }

    fn conn_event(&mut self, i: usize, ev: i16, buf: &mut [u8]) {
        let phase = self.conns[i].phase;
        match phase {
            Phase::Request => match self.conns[i].read_request() {
                RequestRead::Incomplete => {}
                RequestRead::Gone => self.conns[i].dead = true,
                RequestRead::Line(req, rest) => self.handle(i, req, &rest),
            },
            Phase::Attached if ev & libc::POLLIN != 0 => {
                let c = &mut self.conns[i];
                match std::io::Read::read(&mut c.stream, buf) {
                    Ok(0) => {
                        c.read_closed = true;
                        if c.stdin && self.stdin_once {
                            if self.stdin_pending.is_empty() {
                                self.close_stdin();
                            } else {
                                self.close_stdin_after_flush = true;
                            }
                        }
                    }
                    Ok(n) => {
                        if c.stdin {
                            self.write_stdin(&buf[..n]);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => c.dead = true,
                }
            }
            _ => {
                if ev & (libc::POLLHUP | libc::POLLERR) != 0 {
                    self.conns[i].dead = true;
                }
            }
        }
    }

    fn handle(&mut self, i: usize, req: Result<Request, protocol::ParseError>, rest: &[u8]) {
        let req = match req {
            Ok(r) => r,
            Err(e) => {
                self.conns[i].reply(&format!("err {e}"));
                self.conns[i].dead = true;
                return;
            }
        };
        let reply = match req {
            Request::Start => Some(self.start()),
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => {
                let c = &mut self.conns[i];
                c.phase = Phase::Attached;
                c.stdin = stdin;
                c.stdout = stdout;
                c.stderr = stderr;
                c.reply("ok");
                if stdin {
                    self.write_stdin(rest);
                }
                return;
            }
            Request::Resize { rows, cols } => Some(self.resize(rows, cols)),
            Request::Wait => {
                self.conns[i].phase = Phase::Waiting;
                return;
            }
            Request::State => Some(if !self.started {
                State::Created(self.pid).to_string()
            } else {
                State::Running(self.pid).to_string()
            }),
            Request::CloseStdin => {
                if self.stdin_pending.is_empty() {
                    self.close_stdin();
                } else {
                    self.close_stdin_after_flush = true;
                }
                Some("ok".to_string())
            }
        };
        if let Some(line) = reply {
            self.conns[i].reply(&line);
            self.conns[i].dead = true;
        }
    }

    fn start(&mut self) -> String {
        if self.started {
            return "err already started".into();
        }
        if self.exited.is_some() {
            return "err the container has exited".into();
        }
        match self.rt.start(&self.id) {
            Ok(()) => {
                self.started = true;
                self.release_due = true;
                format!("ok {}", self.pid)
            }
            Err(e) => format!("err {}", e.to_string().replace('\n', " ")),
        }
    }

    fn resize(&self, rows: u16, cols: u16) -> String {
        let Some(master) = self.out[0].as_ref().filter(|_| self.tty) else {
            return "err the container has no tty".into();
        };
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        match berth_runtime::sys::tty::set_winsize(master.as_fd(), &ws) {
            Ok(()) => "ok".into(),
            Err(e) => format!("err TIOCSWINSZ: {e}"),
        }
    }

    /// The end: drain, record the exit, delete the container, answer, clean up.
    fn finish(&mut self, code: i32, finished_ns: u64, buf: &mut [u8]) -> i32 {
        // Whatever is still buffered in the pipes (or the pty) goes out now.
        for i in 0..2 {
            for _ in 0..256 {
                let Some(fd) = &self.out[i] else { break };
                match nix::unistd::read(fd, buf) {
                    Ok(0) => break,
                    Ok(n) => self.dispatch(i, &buf[..n]),
                    Err(Errno::EINTR) => {}
                    Err(_) => break,
                }
            }
            if self.out[i].is_some() {
                self.close_output(i);
            }
        }
        let exit = ExitInfo {
            code,
            oom: oom_kills(&self.cgroup) > self.oom_start,
            finished_ns,
        };
        let line = exit.to_string();
        let _ = write_atomic(&self.dir.join("exit"), &line);
        // Waiters and attach clients learn of the exit first; removing the cgroups (a
        // rmdir per v1 hierarchy) happens after, off the `docker run` critical path.
        // berthd waits for the runtime state to be gone before starting the container
        // again.
        for c in &mut self.conns {
            if c.phase == Phase::Waiting {
                c.reply(&line);
            }
        }
        self.conns.clear();
        // Errors have nowhere to go (the daemon may be gone); the exit record stands.
        let _ = self.rt.delete(&self.id, true);
        self.reap();
        let _ = fs::remove_file(self.dir.join("shim.sock"));
        let _ = fs::remove_file(self.dir.join("shim.pid"));
        0
    }
}

fn write_atomic(path: &Path, line: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, format!("{line}\n"))?;
    fs::rename(&tmp, path)
}
