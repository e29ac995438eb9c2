//! Sockets inside a container's network namespace, opened from a short-lived helper
//! thread that joins the namespace (setns(2), `CLONE_NEWNET`, Linux 3.0) and exits.
//!
//! A socket stays in the namespace it was created in, so once the helper has opened
//! them, the calling thread configures the container's interfaces without ever leaving
//! berthd's namespace. The sockets are owned by [`Inside`] and closed when it drops.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use nix::sched::{setns, CloneFlags};
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
