//! The embedded DNS server of user-defined networks: containers resolve each other by
//! name, network-scoped alias and short id; every other name is forwarded upstream.
//!
//! Runs in berthd (host network namespace), one [`DnsServer`] per user network, bound
//! to the network's gateway address, port 53, UDP and TCP. The server owns its two
//! sockets and its tasks; dropping it (or [`DnsServer::stop`]) aborts the tasks, which
//! closes the sockets. The names live in a shared [`Records`] the engine edits.
//!
//! Follows Docker's embedded DNS (moby `libnetwork/resolver.go`): TTL 600, NOERROR
//! without records for other types of known names, forwarding with fallthrough on
//! SERVFAIL/REFUSED, SERVFAIL when no upstream answers, at most three upstreams. Left
//! out: SRV and service (swarm) names, IPv6 records, `ndots` handling, and
//! `name.network` forms unless the engine adds them as names. The wire code is
//! hand-written: only a query's header and question are read, and forwarded queries go
//! out byte for byte, so a DNS library would add code, not safety.

mod forward;
mod records;
mod resolve;
mod serve;
mod wire;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

pub use records::Records;

/// Upstreams asked at most, as Docker (and glibc's `MAXNS`).
const MAX_UPSTREAMS: usize = 3;
/// Attempts at finding a port free for both UDP and TCP when binding port 0.
const PORT_ATTEMPTS: usize = 8;

/// Why a DNS server could not start. The message names the address and includes the
/// kernel's reason (callers print it on one line).
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// Binding the UDP socket failed.
    #[error("bind DNS UDP socket on {addr}: {cause}")]
    BindUdp {
        /// The address asked for.
        addr: SocketAddr,
        /// The kernel's error.
        cause: io::Error,
    },
    /// Binding the TCP listener failed.
    #[error("bind DNS TCP socket on {addr}: {cause}")]
    BindTcp {
        /// The address asked for (with the UDP socket's port when port 0 was asked).
        addr: SocketAddr,
        /// The kernel's error.
        cause: io::Error,
    },
}

/// A running DNS server: a UDP and a TCP socket on one address and their tasks. Stops
/// (aborts its tasks, closes its sockets) on drop or [`DnsServer::stop`].
#[derive(Debug)]
pub struct DnsServer {
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl DnsServer {
    /// Binds UDP and TCP on `bind` and serves `records`, forwarding other names to the
    /// first three of `upstreams` in order. With port 0 both sockets get the same port.
    /// Must be called on a tokio runtime, which runs the server.
    pub async fn start(
        bind: SocketAddr,
        records: Arc<Records>,
        mut upstreams: Vec<SocketAddr>,
    ) -> Result<DnsServer, DnsError> {
        let (udp, tcp) = bind_pair(bind).await?;
        let addr = tcp
            .local_addr()
            .map_err(|cause| DnsError::BindTcp { addr: bind, cause })?;
        upstreams.retain(|u| *u != addr); // never forward to ourselves
        upstreams.truncate(MAX_UPSTREAMS);
        let shared = Arc::new(serve::Shared {
            records,
            upstreams,
            forwards: Arc::new(Semaphore::new(serve::MAX_FORWARDS)),
            connections: Arc::new(Semaphore::new(serve::MAX_CONNECTIONS)),
        });
        let tasks = vec![
            tokio::spawn(serve::serve_udp(udp, shared.clone())),
            tokio::spawn(serve::serve_tcp(tcp, shared)),
        ];
        Ok(DnsServer { addr, tasks })
    }

    /// The address both sockets are bound to (with the real port when port 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and waits until its sockets are closed, so the address can be
    /// bound again at once.
    pub async fn stop(mut self) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks.drain(..) {
            // Err(cancelled) is the expected outcome; a panic has nothing left to clean.
            let _ = task.await;
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A UDP socket and a TCP listener on the same address; with port 0, retries while the
/// UDP socket's port is taken for TCP.
async fn bind_pair(bind: SocketAddr) -> Result<(UdpSocket, TcpListener), DnsError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let udp = UdpSocket::bind(bind)
            .await
            .map_err(|cause| DnsError::BindUdp { addr: bind, cause })?;
        let addr = udp
            .local_addr()
            .map_err(|cause| DnsError::BindUdp { addr: bind, cause })?;
        match TcpListener::bind(addr).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(cause)
                if bind.port() == 0
                    && cause.kind() == io::ErrorKind::AddrInUse
                    && attempt < PORT_ATTEMPTS => {}
            Err(cause) => return Err(DnsError::BindTcp { addr, cause }),
        }
    }
}
