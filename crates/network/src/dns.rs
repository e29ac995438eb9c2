//! The embedded DNS server of user-defined networks: answers A (and PTR) queries for the
//! containers on the network, forwards everything else to upstream resolvers.
//!
//! Hand-written on purpose: it reads only the header and the question of a query and
//! forwards every other query byte for byte, so a general DNS library would add code,
//! not safety. Parsing is bounds-checked; a malformed packet is dropped.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// TTL of answers (Docker's embedded DNS uses 600 s).
const TTL: u32 = 600;
const TYPE_A: u16 = 1;
const TYPE_PTR: u16 = 12;
const RCODE_SERVFAIL: u8 = 2;
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// Names of one network (case-insensitive) → addresses, in the order added.
#[derive(Debug, Default)]
pub struct Records {
    names: RwLock<HashMap<String, Vec<Ipv4Addr>>>,
    /// Client address on this network → the names of the other networks that client
    /// is connected to (Docker resolves every network a container is on).
    links: RwLock<HashMap<Ipv4Addr, Vec<Arc<Records>>>>,
}

fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Records {
    /// An empty table.
    pub fn new() -> Arc<Records> {
        Arc::new(Records::default())
    }

    /// `name` resolves (also) to `ip`.
    pub fn add(&self, name: &str, ip: Ipv4Addr) {
        let mut m = self.names.write().expect("records");
        let list = m.entry(norm(name)).or_default();
        if !list.contains(&ip) {
            list.push(ip);
        }
    }

    /// `name` no longer resolves to `ip`.
    pub fn remove(&self, name: &str, ip: Ipv4Addr) {
        let mut m = self.names.write().expect("records");
        let key = norm(name);
        if let Some(list) = m.get_mut(&key) {
            list.retain(|i| *i != ip);
            if list.is_empty() {
                m.remove(&key);
            }
        }
    }

    /// Every name of `ip` goes (its container left the network).
    pub fn remove_ip(&self, ip: Ipv4Addr) {
        self.links.write().expect("links").remove(&ip);
        let mut m = self.names.write().expect("records");
        m.retain(|_, list| {
            list.retain(|i| *i != ip);
            !list.is_empty()
        });
    }

    /// The addresses of `name`.
    pub fn lookup(&self, name: &str) -> Vec<Ipv4Addr> {
        self.names
            .read()
            .expect("records")
            .get(&norm(name))
            .cloned()
            .unwrap_or_default()
    }

    /// Queries from `client` (an address on this network) also see the names of
    /// `others`; replaces earlier links of that client.
    pub fn set_links(&self, client: Ipv4Addr, others: Vec<Arc<Records>>) {
        let mut l = self.links.write().expect("links");
        if others.is_empty() {
            l.remove(&client);
        } else {
            l.insert(client, others);
        }
    }

    /// What `client` sees for `name`: this network's names, then its other networks'.
    pub fn lookup_for(&self, client: Option<Ipv4Addr>, name: &str) -> Vec<Ipv4Addr> {
        let own = self.lookup(name);
        if !own.is_empty() {
            return own;
        }
        let Some(client) = client else { return own };
        let others = self.links.read().expect("links").get(&client).cloned();
        others
            .into_iter()
            .flatten()
            .map(|r| r.lookup(name))
            .find(|ips| !ips.is_empty())
            .unwrap_or_default()
    }

    /// A name of `ip` (the shortest, for a stable answer).
    fn name_of(&self, ip: Ipv4Addr) -> Option<String> {
        let m = self.names.read().expect("records");
        m.iter()
            .filter(|(_, list)| list.contains(&ip))
            .map(|(n, _)| n.clone())
            .min_by_key(|n| (n.len(), n.clone()))
    }
}

/// A running server; stops when dropped.
#[derive(Debug)]
pub struct DnsServer {
    tasks: Vec<JoinHandle<()>>,
    addr: SocketAddr,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl DnsServer {
    /// Serves `records` on `bind` (UDP and TCP), forwarding unknown names to `upstreams`.
    pub async fn start(
        bind: SocketAddr,
        records: Arc<Records>,
        upstreams: Vec<SocketAddr>,
    ) -> std::io::Result<DnsServer> {
        let named =
            |e: std::io::Error| std::io::Error::new(e.kind(), format!("listen on {bind}: {e}"));
        let udp = Arc::new(UdpSocket::bind(bind).await.map_err(named)?);
        let addr = udp.local_addr()?;
        let tcp = TcpListener::bind(addr).await.map_err(named)?;
        let ctx = Arc::new(Ctx {
            records,
            upstreams,
            limit: Arc::new(Semaphore::new(100)),
        });
        let udp_task = {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                        continue;
                    };
                    let query = buf[..n].to_vec();
                    let (ctx, udp) = (ctx.clone(), udp.clone());
                    let Ok(permit) = ctx.clone().limit_owned() else {
                        continue;
                    };
                    tokio::spawn(async move {
                        let _permit = permit;
                        if let Some(reply) = ctx.answer(&query, client_v4(peer), false).await {
                            let _ = udp.send_to(&reply, peer).await;
                        }
                    });
                }
            })
        };
        let tcp_task = {
            let ctx = ctx.clone();
            tokio::spawn(async move {
                loop {
                    let Ok((mut stream, peer)) = tcp.accept().await else {
                        continue;
                    };
                    let Ok(permit) = ctx.clone().limit_owned() else {
                        continue;
                    };
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        let _permit = permit;
                        let _ = tokio::time::timeout(Duration::from_secs(10), async {
                            let mut len = [0u8; 2];
                            stream.read_exact(&mut len).await?;
                            let mut query = vec![0u8; u16::from_be_bytes(len) as usize];
                            stream.read_exact(&mut query).await?;
                            if let Some(reply) = ctx.answer(&query, client_v4(peer), true).await {
                                stream
                                    .write_all(&(reply.len() as u16).to_be_bytes())
                                    .await?;
                                stream.write_all(&reply).await?;
                            }
                            Ok::<(), std::io::Error>(())
                        })
                        .await;
                    });
                }
            })
        };
        Ok(DnsServer {
            tasks: vec![udp_task, tcp_task],
            addr,
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

fn client_v4(peer: SocketAddr) -> Option<Ipv4Addr> {
    match peer {
        SocketAddr::V4(a) => Some(*a.ip()),
        SocketAddr::V6(a) => a.ip().to_ipv4_mapped(),
    }
}

struct Ctx {
    records: Arc<Records>,
    upstreams: Vec<SocketAddr>,
    limit: Arc<Semaphore>,
}

/// The question of a query.
struct Question {
    name: String,
    qtype: u16,
    /// Offset just past the question section.
    end: usize,
}

/// Reads the header's question count and the first question; None when malformed or
/// not a standard query.
fn parse_question(q: &[u8]) -> Option<Question> {
    if q.len() < 12 || q[2] & 0x80 != 0 || (q[2] >> 3) & 0x0f != 0 {
        return None;
    }
    if u16::from_be_bytes([q[4], q[5]]) != 1 {
        return None;
    }
    let mut pos = 12;
    let mut labels = Vec::new();
    loop {
        let len = *q.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        let label = q.get(pos..pos + len)?;
        labels.push(String::from_utf8_lossy(label).into_owned());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*q.get(pos)?, *q.get(pos + 1)?]);
    pos += 4;
    (pos <= q.len()).then(|| Question {
        name: labels.join("."),
        qtype,
        end: pos,
    })
}

/// A reply header + the question copied from `q`, with `rcode` and `answers` counted.
fn reply_head(q: &[u8], end: usize, rcode: u8, answers: u16) -> Vec<u8> {
    let mut r = Vec::with_capacity(end + 64);
    r.extend_from_slice(&q[0..2]);
    r.push(0x80 | 0x04 | (q[2] & 0x01)); // QR, AA, RD as asked
    r.push(0x80 | rcode); // RA
    r.extend_from_slice(&[0, 1]);
    r.extend_from_slice(&answers.to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0]);
    r.extend_from_slice(&q[12..end]);
    r
}

fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len().min(63) as u8);
        out.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
    }
    out.push(0);
    out
}

/// `d.c.b.a.in-addr.arpa` → a.b.c.d.
fn ptr_address(name: &str) -> Option<Ipv4Addr> {
    let rest = name.to_ascii_lowercase();
    let rest = rest.strip_suffix(".in-addr.arpa")?;
    let parts: Vec<u8> = rest
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    (parts.len() == 4).then(|| Ipv4Addr::new(parts[3], parts[2], parts[1], parts[0]))
}

impl Ctx {
    /// A slot for one more query in flight; none when 100 are (the query is dropped,
    /// the client retries), so a flood cannot exhaust descriptors.
    fn limit_owned(
        self: Arc<Self>,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, tokio::sync::TryAcquireError> {
        self.limit.clone().try_acquire_owned()
    }

    /// The reply to one query; None to drop it.
    async fn answer(&self, q: &[u8], client: Option<Ipv4Addr>, tcp: bool) -> Option<Vec<u8>> {
        let question = parse_question(q)?;
        if question.qtype == TYPE_PTR {
            if let Some(name) = ptr_address(&question.name).and_then(|ip| self.records.name_of(ip))
            {
                let data = encode_name(&name);
                let mut r = reply_head(q, question.end, 0, 1);
                r.extend_from_slice(&[0xc0, 0x0c]);
                r.extend_from_slice(&TYPE_PTR.to_be_bytes());
                r.extend_from_slice(&1u16.to_be_bytes());
                r.extend_from_slice(&TTL.to_be_bytes());
                r.extend_from_slice(&(data.len() as u16).to_be_bytes());
                r.extend_from_slice(&data);
                return Some(r);
            }
        } else {
            let ips = self.records.lookup_for(client, &question.name);
            if !ips.is_empty() {
                // Known name: A records; any other type gets an empty NOERROR (not
                // NXDOMAIN, which would make musl drop the A answer too).
                let ips: Vec<Ipv4Addr> = if question.qtype == TYPE_A {
                    ips
                } else {
                    Vec::new()
                };
                let mut r = reply_head(q, question.end, 0, ips.len() as u16);
                for ip in ips {
                    r.extend_from_slice(&[0xc0, 0x0c]);
                    r.extend_from_slice(&TYPE_A.to_be_bytes());
                    r.extend_from_slice(&1u16.to_be_bytes());
                    r.extend_from_slice(&TTL.to_be_bytes());
                    r.extend_from_slice(&4u16.to_be_bytes());
                    r.extend_from_slice(&ip.octets());
                }
                return Some(r);
            }
        }
        for up in &self.upstreams {
            if let Some(reply) = forward(*up, q, tcp).await {
                return Some(reply);
            }
        }
        Some(reply_head(q, question.end, RCODE_SERVFAIL, 0))
    }
}

/// Sends `q` to `up` (TCP when the client used TCP or the UDP answer was truncated).
async fn forward(up: SocketAddr, q: &[u8], tcp: bool) -> Option<Vec<u8>> {
    if !tcp {
        let local: SocketAddr = if up.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
            .parse()
            .ok()?;
        let sock = UdpSocket::bind(local).await.ok()?;
        sock.connect(up).await.ok()?;
        sock.send(q).await.ok()?;
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(UPSTREAM_TIMEOUT, sock.recv(&mut buf))
            .await
            .ok()?
            .ok()?;
        buf.truncate(n);
        if n >= 12 && buf[0..2] == q[0..2] && buf[2] & 0x02 == 0 {
            return Some(buf);
        }
    }
    tokio::time::timeout(UPSTREAM_TIMEOUT, async {
        let mut s = tokio::net::TcpStream::connect(up).await.ok()?;
        s.write_all(&(q.len() as u16).to_be_bytes()).await.ok()?;
        s.write_all(q).await.ok()?;
        let mut len = [0u8; 2];
        s.read_exact(&mut len).await.ok()?;
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf).await.ok()?;
        Some(buf)
    })
    .await
    .ok()?
}
