//! Sockets inside a container's network namespace, opened from a short-lived helper
//! thread that joins the namespace (setns(2), `CLONE_NEWNET`, Linux 3.0) and exits;
//! and named namespaces made the same way (unshare(2) on a helper thread, kept alive by
//! a bind mount of the thread's namespace file, as `ip netns add` does).
//!
//! A socket stays in the namespace it was created in, so once the helper has opened
//! them, the calling thread configures the container's interfaces without ever leaving
//! berthd's namespace. The sockets are owned by [`Inside`] and closed when it drops.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use std::fs::File;
use std::path::Path;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use rustix::net::{netdevice, socket_with, AddressFamily, SocketFlags, SocketType};

use super::{LinkError, Step};
use crate::netlink::Socket;

/// Stack of the helper thread: it only makes three syscalls.
const HELPER_STACK: usize = 64 * 1024;

/// Sockets bound to another network namespace.
pub(super) struct Inside {
    /// rtnetlink requests apply to that namespace.
    pub route: Socket,
    /// Any socket of the namespace answers `SIOCGIFINDEX` for its links.
    ioctl: OwnedFd,
}

impl Inside {
    /// The index of link `name` in that namespace.
    pub fn index_of(&self, name: &str) -> io::Result<u32> {
        Ok(netdevice::name_to_index(&self.ioctl, name)?)
    }
}

/// Opens [`Inside`] sockets for `netns` (named `what` in errors) on a helper thread
/// while the calling thread runs `meanwhile`; returns both results.
pub(super) fn open_while<T>(
    netns: BorrowedFd<'_>,
    what: &str,
    meanwhile: impl FnOnce() -> T,
) -> (Result<Inside, LinkError>, T) {
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("berth-netns".into())
            .stack_size(HELPER_STACK)
            .spawn_scoped(scope, move || open_in(netns, what));
        let t = meanwhile();
        let inside = match helper {
            Ok(h) => h.join().unwrap_or_else(|_| {
                Err(LinkError::new(
                    Step::EnterNetns,
                    what,
                    io::Error::other("helper thread panicked"),
                ))
            }),
            Err(e) => Err(LinkError::new(Step::EnterNetns, what, e)),
        };
        (inside, t)
    })
}

/// Runs on the helper thread, which ends right after.
fn open_in(netns: BorrowedFd<'_>, what: &str) -> Result<Inside, LinkError> {
    setns(netns, CloneFlags::CLONE_NEWNET)
        .map_err(|e| LinkError::new(Step::EnterNetns, what, e.into()))?;
    let route = Socket::route().map_err(|e| LinkError::new(Step::OpenNetlink, what, e))?;
    let ioctl = socket_with(
        AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(|e| LinkError::new(Step::OpenNetlink, what, e.into()))?;
    Ok(Inside { route, ioctl })
}

/// Creates a network namespace with `lo` up and keeps it alive at `path` (a new file,
/// bind-mounted over by the namespace). Nothing is left when it fails.
pub(super) fn create_named(path: &Path) -> Result<(), LinkError> {
    let what = path.display().to_string();
    File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| LinkError::new(Step::CreateNetns, &what, e))?;
    let made = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("berth-netns".into())
            .stack_size(HELPER_STACK)
            .spawn_scoped(scope, || make_in_thread(path, &what))
            .map_err(|e| LinkError::new(Step::CreateNetns, &what, e))?
            .join()
            .unwrap_or_else(|_| {
                Err(LinkError::new(
                    Step::CreateNetns,
                    &what,
                    io::Error::other("helper thread panicked"),
                ))
            })
    });
    if made.is_err() {
        let _ = remove_named(path);
    }
    made
}

/// Runs on the helper thread, which ends right after: the namespace outlives it through
/// the bind mount.
fn make_in_thread(path: &Path, what: &str) -> Result<(), LinkError> {
    unshare(CloneFlags::CLONE_NEWNET)
        .map_err(|e| LinkError::new(Step::CreateNetns, what, e.into()))?;
    mount(
        Some("/proc/thread-self/ns/net"),
        path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| LinkError::new(Step::MountNetns, what, e.into()))?;
    let mut route = Socket::route().map_err(|e| LinkError::new(Step::OpenNetlink, what, e))?;
    route
        .request(super::msg::set_up_by_name("lo"))
        .map_err(|e| LinkError::new(Step::SetUp, &format!("lo in {what}"), e))
}

/// Unmounts and deletes a namespace made by [`create_named`]; the kernel frees the
/// namespace (and the links in it) once no process uses it. Absent is fine.
pub(super) fn remove_named(path: &Path) -> Result<(), LinkError> {
    let what = path.display().to_string();
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(LinkError::new(Step::UnmountNetns, &what, e.into())),
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(LinkError::new(Step::UnmountNetns, &what, e))
        }
        _ => Ok(()),
    }
}
