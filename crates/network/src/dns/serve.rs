//! The server's socket loops: one task reads the UDP socket, one accepts TCP
//! connections (RFC 7766 framing, several queries per connection, one at a time).
//!
//! Runs in berthd on its tokio runtime. Each loop owns its socket and a `JoinSet` of the
//! work it started (UDP forwards, TCP connections), so aborting the loop's task drops
//! the socket and aborts that work too. Concurrency is bounded: at most
//! [`MAX_FORWARDS`] forwards in flight over both transports (more are answered
//! REFUSED at once, as Docker does after its wait) and [`MAX_CONNECTIONS`] TCP
//! connections (more are closed on accept).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::timeout;

use super::forward::forward;
use super::records::Records;
use super::resolve::{decide, Action, Failure};
use super::wire::{Rcode, MAX_MESSAGE};

/// Forwards in flight at most, UDP and TCP together.
pub(super) const MAX_FORWARDS: usize = 100;
/// TCP connections open at most.
pub(super) const MAX_CONNECTIONS: usize = 100;
/// How long a TCP connection may sit idle between queries.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// How long reading the rest of a TCP query, or writing a reply, may take.
const TCP_IO: Duration = Duration::from_secs(5);
/// Pause after a failed receive or accept (EMFILE…), so an error cannot spin the loop.
const ERROR_PAUSE: Duration = Duration::from_millis(50);

/// What the loops share.
#[derive(Debug)]
pub(super) struct Shared {
    /// The network's names.
    pub records: Arc<Records>,
    /// Where unknown names go, in order.
    pub upstreams: Vec<SocketAddr>,
    /// Permits for forwards in flight.
    pub forwards: Arc<Semaphore>,
    /// Permits for open TCP connections.
    pub connections: Arc<Semaphore>,
}

impl Shared {
    fn forward_permit(&self) -> Option<OwnedSemaphorePermit> {
        self.forwards.clone().try_acquire_owned().ok()
    }

    /// The reply to a query to forward: the upstream's, else SERVFAIL.
    async fn forwarded(&self, query: &[u8], failure: Failure, tcp: bool) -> Vec<u8> {
        match forward(query, &self.upstreams, tcp).await {
            Some(reply) => reply,
            None => failure.with(Rcode::ServFail),
        }
    }
}

/// The client's IPv4 address, for linked networks.
fn client_v4(peer: SocketAddr) -> Option<Ipv4Addr> {
    match peer {
        SocketAddr::V4(a) => Some(*a.ip()),
        SocketAddr::V6(a) => a.ip().to_ipv4_mapped(),
    }
}

/// Serves queries on `socket` until the task is aborted.
pub(super) async fn serve_udp(socket: UdpSocket, shared: Arc<Shared>) {
    let socket = Arc::new(socket);
    let mut inflight = JoinSet::new();
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let received = tokio::select! {
            Some(_) = inflight.join_next(), if !inflight.is_empty() => continue,
            r = socket.recv_from(&mut buf) => r,
        };
        let Ok((n, peer)) = received else {
            tokio::time::sleep(ERROR_PAUSE).await;
            continue;
        };
        let query = &buf[..n];
        let reply = match decide(query, client_v4(peer), &shared.records, false) {
            Action::Ignore => continue,
            Action::Reply(reply) => reply,
            Action::Forward(failure) => {
                let Some(permit) = shared.forward_permit() else {
                    // A send error only means this client is gone.
                    let _ = socket.send_to(&failure.with(Rcode::Refused), peer).await;
                    continue;
                };
                let (query, socket, shared) = (query.to_vec(), socket.clone(), shared.clone());
                inflight.spawn(async move {
                    let reply = shared.forwarded(&query, failure, false).await;
                    drop(permit);
                    let _ = socket.send_to(&reply, peer).await;
                });
                continue;
            }
        };
        let _ = socket.send_to(&reply, peer).await;
    }
}

/// Accepts connections on `listener` until the task is aborted.
pub(super) async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            a = listener.accept() => a,
        };
        let Ok((stream, peer)) = accepted else {
            tokio::time::sleep(ERROR_PAUSE).await;
            continue;
        };
        let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
            continue; // dropping the stream closes it
        };
        let shared = shared.clone();
        connections.spawn(async move {
            serve_connection(stream, client_v4(peer), &shared).await;
            drop(permit);
        });
    }
}

/// Answers queries on one connection until the client closes it, idles, sends
/// something unanswerable, or a read or write fails.
async fn serve_connection(mut stream: TcpStream, client: Option<Ipv4Addr>, shared: &Shared) {
    while let Some(query) = read_message(&mut stream).await {
        let reply = match decide(&query, client, &shared.records, true) {
            Action::Ignore => return,
            Action::Reply(reply) => reply,
            Action::Forward(failure) => match shared.forward_permit() {
                None => failure.with(Rcode::Refused),
                Some(_permit) => shared.forwarded(&query, failure, true).await,
            },
        };
        if !write_message(&mut stream, &reply).await {
            return;
        }
    }
}

/// One length-prefixed message; `None` on close, idle timeout, a zero length or a
/// short read. The 16-bit prefix bounds the allocation to 64 KiB.
async fn read_message(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    timeout(TCP_IDLE, stream.read_exact(&mut len))
        .await
        .ok()?
        .ok()?;
    let len = usize::from(u16::from_be_bytes(len));
    if len == 0 {
        return None;
    }
    let mut msg = vec![0u8; len];
    timeout(TCP_IO, stream.read_exact(&mut msg))
        .await
        .ok()?
        .ok()?;
    Some(msg)
}

/// Writes one length-prefixed message; false when it failed or timed out.
async fn write_message(stream: &mut TcpStream, msg: &[u8]) -> bool {
    let Ok(len) = u16::try_from(msg.len()) else {
        return false;
    };
    let mut framed = Vec::with_capacity(msg.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(msg);
    matches!(timeout(TCP_IO, stream.write_all(&framed)).await, Ok(Ok(())))
}
