//! The receiving end of runc's `--console-socket` protocol.
//!
//! Runs in the test process. The runtime connects to a unix socket we listen on and
//! sends the pty master as SCM_RIGHTS ancillary data; we own the received fd. Reads from
//! the master happen on a helper thread so a silent container cannot hang the test.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A listening console socket.
#[derive(Debug)]
pub struct ConsoleSocket {
    path: PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    /// Binds a socket at `path` (keep it short: sun_path is 108 bytes).
    pub fn bind(path: &Path) -> ConsoleSocket {
        let listener =
            UnixListener::bind(path).unwrap_or_else(|e| panic!("bind {}: {e}", path.display()));
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        ConsoleSocket {
            path: path.to_path_buf(),
            listener,
        }
    }

    /// The socket path as a string (for `--console-socket`).
    pub fn path(&self) -> &str {
        self.path.to_str().expect("utf-8 socket path")
    }

    /// Accepts one connection and receives the pty master fd from it.
    pub fn recv_master(&self, timeout: Duration) -> File {
        let start = Instant::now();
        let stream = loop {
            match self.listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == ErrorKind::WouldBlock && start.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!(
                    "no connection on console socket {}: {e}",
                    self.path.display()
                ),
            }
        };
        stream.set_nonblocking(false).expect("blocking stream");
        stream
            .set_read_timeout(Some(timeout))
            .expect("read timeout");
        File::from(recv_fd(stream.as_raw_fd()))
    }
}

fn recv_fd(sock: i32) -> OwnedFd {
    let mut data = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // u64 array so the control buffer is suitably aligned for cmsghdr.
    let mut control = [0u64; 16];
    // SAFETY: msghdr is a plain C struct for which all-zero bytes is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: `msg` points at `iov`/`data` and `control`, all live locals that outlive
    // the call; the kernel writes at most iov_len / msg_controllen bytes into them.
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    assert!(
        n >= 0,
        "recvmsg on console socket: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `msg` was filled in by a successful recvmsg; CMSG_FIRSTHDR only reads its
    // control pointer and length, which still point into `control`.
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    assert!(
        !cmsg.is_null(),
        "console socket message carried no SCM_RIGHTS fd"
    );
    // SAFETY: `cmsg` is non-null and points inside `control`, initialised by the kernel.
    let (level, kind) = unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type) };
    assert!(
        level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS,
        "unexpected cmsg {level}/{kind}"
    );
    // SAFETY: an SCM_RIGHTS cmsg carries at least one int; read_unaligned copes with the
    // data pointer's alignment.
    let fd = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>()) };
    assert!(fd >= 0, "bad fd {fd} received");
    // SAFETY: the kernel just installed `fd` in our table for us; nobody else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Reads from a pty master on a helper thread until `needle` shows up, the other side
/// closes (EIO/EOF), or `timeout` passes; returns everything read.
pub fn read_until(master: File, needle: &str, timeout: Duration) -> String {
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut master = master;
        let mut buf = [0u8; 4096];
        loop {
            match master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let start = Instant::now();
    let mut out = Vec::new();
    while start.elapsed() < timeout {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(chunk) => out.extend(chunk),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if String::from_utf8_lossy(&out).contains(needle) {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
