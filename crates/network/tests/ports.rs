//! Host port reservations on the real kernel: what a held port blocks, Docker's error
//! texts, `TIME_WAIT` leftovers. Ports are chosen by the kernel (port 0) and only
//! 127.0.0.0/8 is contacted, so tests can run in parallel with anything.
#![allow(clippy::tests_outside_test_module)]

use std::io::ErrorKind;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use berth_network::nft::Proto;
use berth_network::ports::{Reservation, ReserveError};
use nix::sys::socket::{
    bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn,
};

const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A raw socket bound to `ip:port`, with the given options: what other programs do.
fn other_bind(
    typ: SockType,
    ip: Ipv4Addr,
    port: u16,
    reuse_addr: bool,
    reuse_port: bool,
) -> nix::Result<OwnedFd> {
    let fd = socket(AddressFamily::Inet, typ, SockFlag::SOCK_CLOEXEC, None)?;
    setsockopt(&fd, sockopt::ReuseAddr, &reuse_addr)?;
    setsockopt(&fd, sockopt::ReusePort, &reuse_port)?;
    bind(
        fd.as_raw_fd(),
        &SockaddrIn::from(SocketAddrV4::new(ip, port)),
    )?;
    Ok(fd)
}

#[test]
fn held_tcp_port_blocks_every_other_bind() {
    let r = Reservation::bind(Proto::Tcp, None, 0).unwrap();
    let port = r.port();
    assert_ne!(port, 0);
    // std's listener sets SO_REUSEADDR, as most servers do.
    let e = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrInUse);
    assert!(TcpListener::bind((LO, port)).is_err());
    for (reuse_addr, reuse_port) in [(false, false), (true, false), (false, true), (true, true)] {
        for ip in [Ipv4Addr::UNSPECIFIED, LO] {
            let e = other_bind(SockType::Stream, ip, port, reuse_addr, reuse_port).unwrap_err();
            assert_eq!(
                e,
                nix::errno::Errno::EADDRINUSE,
                "{ip} {reuse_addr} {reuse_port}"
            );
        }
    }
    // Another protocol's port of the same number is another port.
    let u = UdpSocket::bind((LO, port)).unwrap();
    drop(u);
    // Nothing listens: a connection is refused at once, it does not hang.
    let e = TcpStream::connect_timeout(&SocketAddrV4::new(LO, port).into(), Duration::from_secs(3))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    drop(r);
    drop(TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).unwrap());
}

#[test]
fn held_udp_port_blocks_every_other_bind() {
    let r = Reservation::bind(Proto::Udp, Some(LO), 0).unwrap();
    let port = r.port();
    assert!(UdpSocket::bind((LO, port)).is_err());
    assert!(UdpSocket::bind((Ipv4Addr::UNSPECIFIED, port)).is_err());
    for (reuse_addr, reuse_port) in [(false, false), (true, false), (false, true), (true, true)] {
        let e = other_bind(SockType::Datagram, LO, port, reuse_addr, reuse_port).unwrap_err();
        assert_eq!(
            e,
            nix::errno::Errno::EADDRINUSE,
            "{reuse_addr} {reuse_port}"
        );
    }
    drop(r);
    drop(UdpSocket::bind((LO, port)).unwrap());
}

#[test]
fn second_reservation_gets_dockers_text() {
    let r = Reservation::bind(Proto::Tcp, None, 0).unwrap();
    let port = r.port();
    let e = Reservation::bind(Proto::Tcp, None, port).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("Bind for 0.0.0.0:{port} failed: port is already allocated")
    );
    assert!(matches!(
        e,
        ReserveError::InUse {
            proto: Proto::Tcp,
            ..
        }
    ));
    // One address overlaps every address.
    let e = Reservation::bind(Proto::Tcp, Some(LO), port).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("Bind for 127.0.0.1:{port} failed: port is already allocated")
    );
    let u = Reservation::bind(Proto::Udp, Some(LO), 0).unwrap();
    let e = Reservation::bind(Proto::Udp, None, u.port()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Bind for 0.0.0.0:{} failed: port is already allocated",
            u.port()
        )
    );
}

#[test]
fn port_of_a_host_server_is_refused() {
    let server = TcpListener::bind((LO, 0)).unwrap();
    let port = server.local_addr().unwrap().port();
    for ip in [None, Some(LO)] {
        let e = Reservation::bind(Proto::Tcp, ip, port).unwrap_err();
        assert!(matches!(e, ReserveError::InUse { .. }), "{e}");
    }
    let udp = UdpSocket::bind((LO, 0)).unwrap();
    let e = Reservation::bind(Proto::Udp, None, udp.local_addr().unwrap().port()).unwrap_err();
    assert!(matches!(e, ReserveError::InUse { .. }), "{e}");
}

#[test]
fn time_wait_leftovers_do_not_block_a_reservation() {
    // A host server on the port closes a connection first: its side of the
    // connection stays in TIME_WAIT after the server is gone.
    let server = TcpListener::bind((LO, 0)).unwrap();
    let port = server.local_addr().unwrap().port();
    let mut client = TcpStream::connect((LO, port)).unwrap();
    drop(server.accept().unwrap().0);
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    drop(client);
    drop(server);
    // The exclusive bind is refused now (this is what the fallback is for).
    let e = other_bind(SockType::Stream, LO, port, false, false).unwrap_err();
    assert_eq!(e, nix::errno::Errno::EADDRINUSE);

    let r = Reservation::bind(Proto::Tcp, Some(LO), port).unwrap();
    assert_eq!(r.port(), port);
    // And the port is still held against everyone.
    assert!(TcpListener::bind((LO, port)).is_err());
    assert!(TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).is_err());
    assert!(other_bind(SockType::Stream, LO, port, true, true).is_err());
    let e = Reservation::bind(Proto::Tcp, None, port).unwrap_err();
    assert!(matches!(e, ReserveError::InUse { .. }), "{e}");
}

#[test]
fn address_not_on_this_host_is_refused() {
    // TEST-NET-2: documentation addresses, not configured here (checked below).
    let ip = Ipv4Addr::new(198, 51, 100, 77);
    let addrs = std::process::Command::new("ip")
        .args(["-4", "-o", "addr"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&addrs.stdout).contains(&format!(" {ip}/")));
    let e = Reservation::bind(Proto::Tcp, Some(ip), 8080).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("failed to bind host port {ip}:8080/tcp: cannot assign requested address")
    );
}
