//! Forwarding of queries the network's names cannot answer to the upstream resolvers
//! (the host's, read by the caller from its resolv.conf, or `--dns`).
//!
//! Runs in berthd, in the host's network namespace, so loopback upstreams
//! (systemd-resolved's 127.0.0.53) work. Each exchange opens one socket and closes it
//! when done. The query goes out byte for byte except its id, replaced by a fresh one
//! so a client's predictable ids do not help spoofing; the reply gets the client's id
//! back. A truncated UDP reply is passed on as it is, as Docker does: the client then
//! retries over TCP, which is forwarded over TCP.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

use super::wire::{self, Rcode};

/// How long one upstream gets before the next is asked.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// The first usable reply of `upstreams` to `query`, asked in order over TCP when
/// `tcp` (else UDP), with the client's id; `None` when every upstream timed out, was
/// unreachable, or answered SERVFAIL or REFUSED (Docker then tries the next one too).
pub(super) async fn forward(query: &[u8], upstreams: &[SocketAddr], tcp: bool) -> Option<Vec<u8>> {
    let mut outgoing = query.to_vec();
    for &upstream in upstreams {
        outgoing[..2].copy_from_slice(&fresh_id());
        let exchange = async {
            if tcp {
                exchange_tcp(upstream, &outgoing).await
            } else {
                exchange_udp(upstream, &outgoing).await
            }
        };
        let Ok(Some(mut reply)) = timeout(UPSTREAM_TIMEOUT, exchange).await else {
            continue;
        };
        let rcode = wire::rcode(&reply);
        if rcode == Rcode::ServFail as u8 || rcode == Rcode::Refused as u8 {
            continue;
        }
        reply[..2].copy_from_slice(&query[..2]);
        return Some(reply);
    }
    None
}

/// One query over UDP from an ephemeral port; replies that do not match are skipped.
async fn exchange_udp(upstream: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    let local = match upstream {
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    };
    let socket = UdpSocket::bind(local).await.ok()?;
    socket.connect(upstream).await.ok()?;
    socket.send(query).await.ok()?;
    let mut buf = vec![0u8; wire::MAX_MESSAGE];
    loop {
        // An ICMP port unreachable fails this with ECONNREFUSED: next upstream.
        let n = socket.recv(&mut buf).await.ok()?;
        if wire::is_reply_to(&buf[..n], query) {
            buf.truncate(n);
            return Some(buf);
        }
    }
}

/// One query over a fresh TCP connection (RFC 7766 framing).
async fn exchange_tcp(upstream: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    let mut stream = TcpStream::connect(upstream).await.ok()?;
    let len = u16::try_from(query.len()).ok()?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    stream.write_all(&framed).await.ok()?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await.ok()?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut reply).await.ok()?;
    wire::is_reply_to(&reply, query).then_some(reply)
}

/// An unpredictable query id: std's per-process random SipHash keys (a fresh key per
/// `RandomState`) over the clock.
fn fresh_id() -> [u8; 2] {
    let mut h = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    h.write_u32(nanos);
    let bytes = h.finish().to_le_bytes();
    [bytes[0], bytes[1]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_vary() {
        let ids: std::collections::HashSet<[u8; 2]> = (0..64).map(|_| fresh_id()).collect();
        assert!(ids.len() > 48, "{} distinct of 64", ids.len());
    }
}
