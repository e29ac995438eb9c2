//! Host port reservations. A published port is served by DNAT, not by a listening
//! process, so berthd holds a bound (not listening) socket for each one: a port some
//! program already uses is refused with Docker's error, and no program can take a
//! published port later and be silently bypassed.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{bind, getsockname, socket, AddressFamily, SockFlag, SockType, SockaddrIn};

use crate::nft::Proto;

/// Docker's text for a port someone holds.
#[derive(Debug, thiserror::Error)]
#[error("Bind for {addr} failed: port is already allocated")]
pub struct PortInUse {
    /// `ip:port` as asked for.
    pub addr: String,
}

/// A bound host port, released on drop.
#[derive(Debug)]
pub struct Reservation {
    _fd: OwnedFd,
    port: u16,
}

impl Reservation {
    /// Binds `proto` on `host_ip:port` (every address when None; port 0: the kernel
    /// picks a free ephemeral port). TCP sockets are bound but never listen, and no
    /// SO_REUSEADDR is set, so every later bind of the port by anyone fails.
    pub fn bind(
        proto: Proto,
        host_ip: Option<Ipv4Addr>,
        port: u16,
    ) -> Result<Reservation, PortInUse> {
        let ip = host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let fail = || PortInUse {
            addr: format!("{ip}:{port}"),
        };
        let typ = match proto {
            Proto::Udp => SockType::Datagram,
            _ => SockType::Stream,
        };
        let fd =
            socket(AddressFamily::Inet, typ, SockFlag::SOCK_CLOEXEC, None).map_err(|_| fail())?;
        bind(
            fd.as_raw_fd(),
            &SockaddrIn::from(SocketAddrV4::new(ip, port)),
        )
        .map_err(|_| fail())?;
        let bound: SockaddrIn = getsockname(fd.as_raw_fd()).map_err(|_| fail())?;
        Ok(Reservation {
            _fd: fd,
            port: bound.port(),
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, UdpSocket};

    #[test]
    fn held_ports_refuse_others_and_come_back() {
        let r = Reservation::bind(Proto::Tcp, Some(Ipv4Addr::LOCALHOST), 0).unwrap();
        let port = r.port();
        assert_ne!(port, 0);
        assert!(TcpListener::bind(("127.0.0.1", port)).is_err());
        let e = Reservation::bind(Proto::Tcp, Some(Ipv4Addr::LOCALHOST), port).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Bind for 127.0.0.1:{port} failed: port is already allocated")
        );
        drop(r);
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
        let u = Reservation::bind(Proto::Udp, Some(Ipv4Addr::LOCALHOST), 0).unwrap();
        assert!(UdpSocket::bind(("127.0.0.1", u.port())).is_err());
    }
}
