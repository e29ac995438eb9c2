//! Host port reservations, in berthd. A published port is served by DNAT
//! ([`crate::nft`]), not by a proxy, so a host program listening on it would silently
//! get none of its traffic: berthd holds a bound socket per published port, so that a
//! port some program already uses is refused with Docker's error and no program can
//! take a published port later.
//!
//! Each [`Reservation`] owns one socket in the caller's network namespace and frees
//! the port when dropped. IPv4, TCP/UDP/SCTP; see [`Reservation::bind`] for the
//! socket options and why.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    bind, getsockname, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag,
    SockProtocol, SockType, SockaddrIn,
};

use crate::nft::Proto;

/// A host port that could not be reserved.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    /// Someone holds the port (Docker's text).
    #[error("Bind for {addr} failed: port is already allocated")]
    InUse {
        /// Protocol.
        proto: Proto,
        /// Address and port as asked for (0.0.0.0 for every address).
        addr: SocketAddrV4,
    },
    /// Creating or binding the socket failed for another reason (an address that is
    /// not local, a privileged port without the capability, no SCTP support).
    #[error("failed to bind host port {addr}/{proto}: {}", lowercase_first(.errno.desc()))]
    Bind {
        /// Protocol.
        proto: Proto,
        /// Address and port as asked for.
        addr: SocketAddrV4,
        /// The error.
        errno: Errno,
    },
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

/// A bound host port, released on drop.
#[derive(Debug)]
pub struct Reservation {
    _socket: OwnedFd,
    port: u16,
}

impl Reservation {
    /// Reserves `proto` port `port` on `host_ip` (None: every host address; port 0:
    /// a free ephemeral port chosen by the kernel). Fails with
    /// [`ReserveError::InUse`] ("Bind for 0.0.0.0:8080 failed: port is already
    /// allocated") when a socket of any program, berthd's included, holds an
    /// overlapping address.
    ///
    /// The socket is bound *without* `SO_REUSEADDR` and never listens. Measured on
    /// Linux 6.18 (`tests/ports.rs`): every later bind of an overlapping address then
    /// fails, with or without `SO_REUSEADDR` or `SO_REUSEPORT`, TCP and UDP alike, and
    /// a connection that no DNAT element diverts is refused at once. With
    /// `SO_REUSEADDR` and no `listen`, a server that also sets it (most do) could still
    /// bind and listen: that is why Docker listens on its reserved sockets.
    ///
    /// The exclusive bind also fails while connections of a host server that just
    /// stopped linger in `TIME_WAIT` on the port. Then, for TCP, the port is taken
    /// with `SO_REUSEADDR` and `listen` (backlog 1), as Docker does: that succeeds
    /// only if no socket listens on or exclusively holds the port, and is exclusive
    /// once listening; such a socket completes the handshake of connections that no
    /// DNAT element diverts, and nothing accepts them.
    pub fn bind(
        proto: Proto,
        host_ip: Option<Ipv4Addr>,
        port: u16,
    ) -> Result<Reservation, ReserveError> {
        let addr = SocketAddrV4::new(host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED), port);
        let fail = |errno| match errno {
            Errno::EADDRINUSE => ReserveError::InUse { proto, addr },
            errno => ReserveError::Bind { proto, addr, errno },
        };
        let socket = match bound(proto, addr, false) {
            Err(Errno::EADDRINUSE) if proto == Proto::Tcp && port != 0 => {
                bound(proto, addr, true).map_err(fail)?
            }
            other => other.map_err(fail)?,
        };
        let local: SockaddrIn = getsockname(socket.as_raw_fd()).map_err(fail)?;
        Ok(Reservation {
            _socket: socket,
            port: local.port(),
        })
    }

    /// The reserved port (the kernel's choice when 0 was asked for).
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// A socket bound to `addr`: exclusively, or with `SO_REUSEADDR` and listening when
/// `shared_then_listen` (TCP only).
fn bound(proto: Proto, addr: SocketAddrV4, shared_then_listen: bool) -> Result<OwnedFd, Errno> {
    let (typ, protocol) = match proto {
        Proto::Tcp => (SockType::Stream, SockProtocol::Tcp),
        Proto::Udp => (SockType::Datagram, SockProtocol::Udp),
        Proto::Sctp => (SockType::Stream, SockProtocol::Sctp),
    };
    let fd = socket(AddressFamily::Inet, typ, SockFlag::SOCK_CLOEXEC, protocol)?;
    if shared_then_listen {
        setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    }
    if proto == Proto::Udp {
        // Datagrams that no DNAT element diverts land here and are never read: keep
        // the queue at the kernel's minimum.
        setsockopt(&fd, sockopt::RcvBuf, &0)?;
    }
    bind(fd.as_raw_fd(), &SockaddrIn::from(addr))?;
    if shared_then_listen {
        listen(&fd, Backlog::new(1)?)?;
    }
    Ok(fd)
}
