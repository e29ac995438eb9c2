//! The embedded DNS server over real sockets, all on 127.0.0.0/8: each test binds the
//! server (and any fake upstream resolver) to its own random 127.x.y.z address, port 0,
//! so tests run in parallel. Covers local answers (case, trailing dot, several
//! addresses, removal, AAAA/other types, PTR, truncation, linked networks), forwarding
//! (client id kept, fallthrough, SERVFAIL, TCP, truncated upstream replies, the forward
//! limit), malformed input, start errors and stop.
#![allow(clippy::tests_outside_test_module)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_network::dns::{DnsServer, Records};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;
use tokio::time::timeout;

const A: u16 = 1;
const PTR: u16 = 12;
const MX: u16 = 15;
const TXT: u16 = 16;
const AAAA: u16 = 28;
const NOERROR: u8 = 0;
const FORMERR: u8 = 1;
const SERVFAIL: u8 = 2;
const NOTIMP: u8 = 4;
const REFUSED: u8 = 5;
/// What the fake upstream answers for every A query.
const UPSTREAM_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 44);

// ---- addresses and the server --------------------------------------------------

/// A random address in 127.0.0.0/8 (never 127.0.0.x), so parallel tests do not meet.
fn loopback() -> Ipv4Addr {
    let b = RandomState::new().build_hasher().finish().to_le_bytes();
    Ipv4Addr::new(127, 1 + b[0] % 254, 1 + b[1] % 254, 1 + b[2] % 254)
}

fn any_port(ip: Ipv4Addr) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(ip), 0)
}

async fn server(records: &Arc<Records>, upstreams: Vec<SocketAddr>) -> DnsServer {
    DnsServer::start(any_port(loopback()), records.clone(), upstreams)
        .await
        .expect("start DNS server")
}

fn web_records() -> Arc<Records> {
    let r = Records::new();
    r.add("web", Ipv4Addr::new(10, 0, 0, 2));
    r
}

// ---- messages -------------------------------------------------------------------

fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    q.extend_from_slice(&encode_name(name));
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// `query` with an EDNS OPT record offering `size`-byte UDP replies.
fn query_edns(id: u16, name: &str, qtype: u16, size: u16) -> Vec<u8> {
    let mut q = query(id, name, qtype);
    q[11] = 1;
    q.extend_from_slice(&[0, 0, 41]);
    q.extend_from_slice(&size.to_be_bytes());
    q.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    q
}

/// A decoded reply: header fields and the answer records.
#[derive(Debug)]
struct Reply {
    id: u16,
    rcode: u8,
    authoritative: bool,
    truncated: bool,
    len: usize,
    answers: Vec<Answer>,
}

#[derive(Debug)]
struct Answer {
    rtype: u16,
    ttl: u32,
    data: Vec<u8>,
}

impl Reply {
    fn a(&self) -> Vec<Ipv4Addr> {
        self.answers
            .iter()
            .filter(|a| a.rtype == A)
            .map(|a| Ipv4Addr::new(a.data[0], a.data[1], a.data[2], a.data[3]))
            .collect()
    }
}

/// Offset past the (possibly compressed) name at `pos`.
fn skip_name(m: &[u8], mut pos: usize) -> usize {
    loop {
        let len = m[pos];
        if len & 0xc0 == 0xc0 {
            return pos + 2;
        }
        pos += 1 + usize::from(len);
        if len == 0 {
            return pos;
        }
    }
}

fn decode(m: &[u8]) -> Reply {
    assert!(m.len() >= 12, "short reply {m:?}");
    assert_eq!(m[2] & 0x80, 0x80, "QR set");
    let count = |at: usize| usize::from(u16::from_be_bytes([m[at], m[at + 1]]));
    let mut pos = 12;
    for _ in 0..count(4) {
        pos = skip_name(m, pos) + 4;
    }
    let mut answers = Vec::new();
    for _ in 0..count(6) {
        pos = skip_name(m, pos);
        let rtype = u16::from_be_bytes([m[pos], m[pos + 1]]);
        let ttl = u32::from_be_bytes([m[pos + 4], m[pos + 5], m[pos + 6], m[pos + 7]]);
        let len = usize::from(u16::from_be_bytes([m[pos + 8], m[pos + 9]]));
        let data = m[pos + 10..pos + 10 + len].to_vec();
        pos += 10 + len;
        answers.push(Answer { rtype, ttl, data });
    }
    Reply {
        id: u16::from_be_bytes([m[0], m[1]]),
        rcode: m[3] & 0x0f,
        authoritative: m[2] & 0x04 != 0,
        truncated: m[2] & 0x02 != 0,
        len: m.len(),
        answers,
    }
}

// ---- clients --------------------------------------------------------------------

async fn ask_from(from: Ipv4Addr, server: SocketAddr, q: &[u8]) -> Reply {
    let s = UdpSocket::bind(any_port(from))
        .await
        .expect("client socket");
    s.send_to(q, server).await.expect("send query");
    let mut buf = vec![0u8; 65535];
    let n = timeout(Duration::from_secs(8), s.recv(&mut buf))
        .await
        .expect("a reply within 8 s")
        .expect("recv");
    decode(&buf[..n])
}

async fn ask(server: SocketAddr, q: &[u8]) -> Reply {
    ask_from(Ipv4Addr::LOCALHOST, server, q).await
}

async fn ask_tcp_on(s: &mut TcpStream, q: &[u8]) -> Reply {
    s.write_all(&(q.len() as u16).to_be_bytes()).await.unwrap();
    s.write_all(q).await.unwrap();
    let mut len = [0u8; 2];
    timeout(Duration::from_secs(8), s.read_exact(&mut len))
        .await
        .expect("a TCP reply within 8 s")
        .expect("read length");
    let mut r = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut r).await.expect("read reply");
    decode(&r)
}

async fn ask_tcp(server: SocketAddr, q: &[u8]) -> Reply {
    let mut s = TcpStream::connect(server).await.expect("connect");
    ask_tcp_on(&mut s, q).await
}

// ---- a fake upstream resolver ----------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// A queries get UPSTREAM_IP; over UDP, names starting with `big.` get a truncated
    /// reply, over TCP 100 addresses.
    Answer,
    ServFail,
    Silent,
}

/// (transport, name, id) of each query an upstream received.
type Seen = Arc<Mutex<Vec<(&'static str, String, u16)>>>;

/// A UDP + TCP responder on its own loopback address; records what it was asked.
struct Upstream {
    addr: SocketAddr,
    seen: Seen,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn upstream_reply(q: &[u8], mode: Mode, tcp: bool) -> Option<Vec<u8>> {
    let end = skip_name(q, 12) + 4;
    let name = String::from_utf8_lossy(&q[13..end - 4]).replace(|c: char| c < ' ', ".");
    let qtype = u16::from_be_bytes([q[end - 4], q[end - 3]]);
    let mut r = q[..end].to_vec();
    r[2] |= 0x80;
    r[3] = 0x80;
    r[10] = 0;
    r[11] = 0;
    match mode {
        Mode::Silent => return None,
        Mode::ServFail => r[3] |= SERVFAIL,
        Mode::Answer if name.starts_with("big.") && !tcp => r[2] |= 0x02,
        Mode::Answer if qtype == A => {
            let n: u16 = if name.starts_with("big.") { 100 } else { 1 };
            r[6..8].copy_from_slice(&n.to_be_bytes());
            for i in 0..n {
                r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4]);
                let mut ip = UPSTREAM_IP.octets();
                ip[3] = ip[3].wrapping_add(i as u8);
                r.extend_from_slice(&ip);
            }
        }
        Mode::Answer => r[3] |= 3, // NXDOMAIN
    }
    Some(r)
}

async fn upstream(mode: Mode) -> Upstream {
    let udp = UdpSocket::bind(any_port(loopback())).await.unwrap();
    let addr = udp.local_addr().unwrap();
    let tcp = TcpListener::bind(addr).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = |seen: &Seen, transport, q: &[u8]| {
        let end = skip_name(q, 12);
        let name = String::from_utf8_lossy(&q[13..end - 1]).replace(|c: char| c < ' ', ".");
        let id = u16::from_be_bytes([q[0], q[1]]);
        seen.lock().unwrap().push((transport, name, id));
    };
    let udp_task = {
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, peer)) = udp.recv_from(&mut buf).await {
                record(&seen, "udp", &buf[..n]);
                if let Some(r) = upstream_reply(&buf[..n], mode, false) {
                    let _ = udp.send_to(&r, peer).await;
                }
            }
        })
    };
    let tcp_task = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = tcp.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut len = [0u8; 2];
                    s.read_exact(&mut len).await.unwrap();
                    let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    s.read_exact(&mut q).await.unwrap();
                    record(&seen, "tcp", &q);
                    if let Some(r) = upstream_reply(&q, mode, true) {
                        s.write_all(&(r.len() as u16).to_be_bytes()).await.unwrap();
                        s.write_all(&r).await.unwrap();
                    } else {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                });
            }
        })
    };
    Upstream {
        addr,
        seen,
        tasks: vec![udp_task, tcp_task],
    }
}

/// A loopback UDP port with nothing behind it (the kernel answers port unreachable).
async fn dead_port() -> SocketAddr {
    UdpSocket::bind(any_port(loopback()))
        .await
        .unwrap()
        .local_addr()
        .unwrap()
}

// ---- local answers ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_names_ignore_case_and_trailing_dot() {
    let records = Records::new();
    records.add("Web", Ipv4Addr::new(10, 0, 0, 2));
    records.add("db.", Ipv4Addr::new(10, 0, 0, 4));
    let s = server(&records, vec![]).await;
    for (name, ip) in [
        ("WEB", [10, 0, 0, 2]),
        ("web.", [10, 0, 0, 2]),
        ("wEb", [10, 0, 0, 2]),
        ("db", [10, 0, 0, 4]),
        ("DB.", [10, 0, 0, 4]),
    ] {
        let r = ask(s.local_addr(), &query(7, name, A)).await;
        assert_eq!(
            (r.id, r.rcode, r.authoritative),
            (7, NOERROR, true),
            "{name}"
        );
        assert_eq!(r.a(), vec![Ipv4Addr::from(ip)], "{name}");
        assert_eq!(r.answers[0].ttl, 600, "Docker's TTL");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_addresses_come_in_the_order_added() {
    let records = Records::new();
    let ips = [[10, 0, 0, 9], [10, 0, 0, 3], [10, 0, 0, 5]].map(Ipv4Addr::from);
    for ip in ips {
        records.add("svc", ip);
    }
    let s = server(&records, vec![]).await;
    assert_eq!(ask(s.local_addr(), &query(1, "svc", A)).await.a(), ips);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_names_are_forwarded() {
    let up = upstream(Mode::Answer).await;
    let records = Records::new();
    let (a, b) = (Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3));
    records.add("web", a);
    records.add("web", b);
    records.add("alias", a);
    let s = server(&records, vec![up.addr]).await;
    records.remove("web", a);
    assert_eq!(ask(s.local_addr(), &query(1, "web", A)).await.a(), vec![b]);
    records.remove_ip(b);
    records.remove_ip(a);
    for name in ["web", "alias"] {
        let r = ask(s.local_addr(), &query(2, name, A)).await;
        assert_eq!(r.a(), vec![UPSTREAM_IP], "{name} now comes from upstream");
        assert!(!r.authoritative);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_types_of_known_names_are_empty_noerror() {
    let up = upstream(Mode::Answer).await;
    let s = server(&web_records(), vec![up.addr]).await;
    for qtype in [AAAA, MX, TXT, 65] {
        let r = ask(s.local_addr(), &query(3, "web", qtype)).await;
        assert_eq!((r.rcode, r.answers.len()), (NOERROR, 0), "type {qtype}");
        assert!(r.authoritative);
    }
    assert!(up.seen.lock().unwrap().is_empty(), "nothing forwarded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ptr_gives_the_first_name() {
    let up = upstream(Mode::Answer).await;
    let records = Records::new();
    let ip = Ipv4Addr::new(10, 0, 0, 4);
    records.add("My-App", ip);
    records.add("0123456789ab", ip);
    records.add("db", ip);
    let s = server(&records, vec![up.addr]).await;
    let r = ask(s.local_addr(), &query(4, "4.0.0.10.in-addr.arpa", PTR)).await;
    assert_eq!((r.rcode, r.answers.len()), (NOERROR, 1));
    assert_eq!((r.answers[0].rtype, r.answers[0].ttl), (PTR, 600));
    assert_eq!(r.answers[0].data, encode_name("My-App"));
    let unknown = ask(s.local_addr(), &query(5, "5.0.0.10.in-addr.arpa", PTR)).await;
    assert_eq!(
        unknown.rcode, 3,
        "forwarded; the fake upstream says NXDOMAIN"
    );
    assert_eq!(up.seen.lock().unwrap()[0].1, "5.0.0.10.in-addr.arpa");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_local_answers_truncate_over_udp_only() {
    let records = Records::new();
    for i in 1..=60 {
        records.add("many", Ipv4Addr::new(10, 0, 1, i));
    }
    let s = server(&records, vec![]).await;
    let udp = ask(s.local_addr(), &query(1, "many", A)).await;
    assert!(udp.truncated && udp.len <= 512, "{} bytes", udp.len);
    assert!(!udp.answers.is_empty());
    let edns = ask(s.local_addr(), &query_edns(2, "many", A, 4096)).await;
    assert_eq!((edns.truncated, edns.answers.len()), (false, 60));
    let tcp = ask_tcp(s.local_addr(), &query(3, "many", A)).await;
    assert_eq!((tcp.truncated, tcp.answers.len()), (false, 60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_networks_resolve_for_their_client_only() {
    let own = web_records();
    let other = Records::new();
    other.add("cache", Ipv4Addr::new(10, 9, 0, 7));
    let client = loopback();
    own.set_links(client, vec![other.clone()]);
    let s = server(&own, vec![]).await;
    let linked = ask_from(client, s.local_addr(), &query(1, "cache", A)).await;
    assert_eq!(linked.a(), vec![Ipv4Addr::new(10, 9, 0, 7)]);
    let ptr = ask_from(
        client,
        s.local_addr(),
        &query(2, "7.0.9.10.in-addr.arpa", PTR),
    )
    .await;
    assert_eq!(ptr.answers[0].data, encode_name("cache"));
    let stranger = ask(s.local_addr(), &query(3, "cache", A)).await;
    assert_eq!(
        stranger.rcode, SERVFAIL,
        "not linked: forwarded, no upstream"
    );
}

// ---- forwarding --------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_are_forwarded_with_the_client_id() {
    let up = upstream(Mode::Answer).await;
    let s = server(&web_records(), vec![up.addr]).await;
    let r = ask(s.local_addr(), &query(0x4242, "example.test", A)).await;
    assert_eq!((r.id, r.rcode), (0x4242, NOERROR));
    assert_eq!(r.a(), vec![UPSTREAM_IP]);
    assert_eq!(r.answers[0].ttl, 9, "the upstream's answer, unchanged");
    // A single-label unknown name is forwarded too (Docker without ndots).
    let bare = ask(s.local_addr(), &query(0x4343, "printer", A)).await;
    assert_eq!((bare.id, bare.a()), (0x4343, vec![UPSTREAM_IP]));
    let seen = up.seen.lock().unwrap().clone();
    let names: Vec<_> = seen.iter().map(|(t, n, _)| (*t, n.as_str())).collect();
    assert_eq!(names, [("udp", "example.test"), ("udp", "printer")]);
    let ids: Vec<u16> = seen.iter().map(|s| s.2).collect();
    assert_ne!(ids, [0x4242, 0x4343], "upstream queries carry fresh ids");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_upstreams_fall_through_to_the_next() {
    let failing = upstream(Mode::ServFail).await;
    let good = upstream(Mode::Answer).await;
    let s = server(
        &web_records(),
        vec![dead_port().await, failing.addr, good.addr],
    )
    .await;
    let r = ask(s.local_addr(), &query(9, "example.test", A)).await;
    assert_eq!((r.id, r.rcode, r.a()), (9, NOERROR, vec![UPSTREAM_IP]));
    assert_eq!(failing.seen.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_upstream_is_servfail() {
    let s = server(&web_records(), vec![dead_port().await]).await;
    let started = Instant::now();
    let r = ask(s.local_addr(), &query(3, "nowhere.test", A)).await;
    assert_eq!((r.id, r.rcode, r.answers.len()), (3, SERVFAIL, 0));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "port unreachable fails fast"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_upstream_times_out_to_servfail() {
    let silent = upstream(Mode::Silent).await;
    let s = server(&web_records(), vec![silent.addr]).await;
    let started = Instant::now();
    let r = ask(s.local_addr(), &query(3, "slow.test", A)).await;
    assert_eq!(r.rcode, SERVFAIL);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_upstreams_is_servfail() {
    let s = server(&web_records(), vec![]).await;
    let r = ask(s.local_addr(), &query(6, "example.test", A)).await;
    assert_eq!((r.id, r.rcode), (6, SERVFAIL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_queries_are_answered_and_forwarded_over_tcp() {
    let up = upstream(Mode::Answer).await;
    let s = server(&web_records(), vec![up.addr]).await;
    let mut conn = TcpStream::connect(s.local_addr()).await.unwrap();
    let local = ask_tcp_on(&mut conn, &query(11, "web", A)).await;
    assert_eq!(local.a(), vec![Ipv4Addr::new(10, 0, 0, 2)]);
    // Same connection, a second query (RFC 7766), forwarded over TCP.
    let fwd = ask_tcp_on(&mut conn, &query(12, "example.test", A)).await;
    assert_eq!((fwd.id, fwd.a()), (12, vec![UPSTREAM_IP]));
    assert_eq!(up.seen.lock().unwrap()[0].0, "tcp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_upstream_reply_reaches_the_client_which_retries_over_tcp() {
    let up = upstream(Mode::Answer).await;
    let s = server(&web_records(), vec![up.addr]).await;
    let udp = ask(s.local_addr(), &query(21, "big.example", A)).await;
    assert_eq!((udp.id, udp.truncated, udp.answers.len()), (21, true, 0));
    let tcp = ask_tcp(s.local_addr(), &query(22, "big.example", A)).await;
    assert_eq!((tcp.id, tcp.truncated, tcp.answers.len()), (22, false, 100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_in_flight_are_bounded() {
    let silent = upstream(Mode::Silent).await;
    let s = server(&web_records(), vec![silent.addr]).await;
    let client = UdpSocket::bind(any_port(Ipv4Addr::LOCALHOST))
        .await
        .unwrap();
    for id in 0..130u16 {
        client
            .send_to(&query(id, &format!("n{id}.test"), A), s.local_addr())
            .await
            .unwrap();
    }
    // While 100 forwards wait on the silent upstream, local names still resolve.
    let local = ask(s.local_addr(), &query(999, "web", A)).await;
    assert_eq!(local.a(), vec![Ipv4Addr::new(10, 0, 0, 2)]);
    let mut counts = [0usize; 16];
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while counts.iter().sum::<usize>() < 130 {
        let Ok(got) = tokio::time::timeout_at(deadline, client.recv(&mut buf)).await else {
            break;
        };
        counts[usize::from(decode(&buf[..got.unwrap()]).rcode)] += 1;
    }
    assert_eq!(
        (counts[usize::from(REFUSED)], counts[usize::from(SERVFAIL)]),
        (30, 100)
    );
}

// ---- robustness -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packets_do_not_stop_the_server() {
    let s = server(&web_records(), vec![]).await;
    let addr = s.local_addr();
    let junk = UdpSocket::bind(any_port(Ipv4Addr::LOCALHOST))
        .await
        .unwrap();
    let good = query(0x0102, "web", A);
    let mut is_response = good.clone();
    is_response[2] |= 0x80;
    let mut pointer_loop = good.clone();
    pointer_loop[12..14].copy_from_slice(&[0xc0, 12]);
    let mut huge_label = good.clone();
    huge_label[12] = 63;
    let mut no_question = good.clone();
    no_question[5] = 0;
    let mut notify = good.clone();
    notify[2] = 4 << 3;
    for packet in [
        vec![],
        vec![1, 2, 3],
        is_response,
        good[..good.len() - 3].to_vec(),
        pointer_loop.clone(),
        huge_label.clone(),
        (0..=255u8).cycle().take(4000).collect(),
    ] {
        junk.send_to(&packet, addr).await.unwrap();
    }
    let mut buf = [0u8; 512];
    // Queries with a header but a bad question get FORMERR; short packets and responses
    // get nothing.
    let mut ids = Vec::new();
    for _ in 0..4 {
        let n = timeout(Duration::from_secs(2), junk.recv(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let r = decode(&buf[..n]);
        assert_eq!((r.rcode, r.answers.len()), (FORMERR, 0), "{r:?}");
        ids.push(r.id);
    }
    ids.sort_unstable();
    assert_eq!(
        ids,
        [0x0001, 0x0102, 0x0102, 0x0102],
        "the 4000-byte junk has id 1"
    );
    assert_eq!(ask(addr, &no_question).await.rcode, FORMERR);
    assert_eq!(ask(addr, &notify).await.rcode, NOTIMP);
    // TCP: zero length, a length promising more than is sent, garbage.
    for bytes in [
        &[0u8, 0][..],
        &[0xff, 0xff, 1, 2, 3][..],
        &[0, 3, 1, 2, 3][..],
    ] {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(bytes).await.unwrap();
        c.shutdown().await.unwrap();
        let mut rest = Vec::new();
        let _ = timeout(Duration::from_secs(2), c.read_to_end(&mut rest)).await;
    }
    assert_eq!(ask(addr, &good).await.a(), vec![Ipv4Addr::new(10, 0, 0, 2)]);
    assert_eq!(
        ask_tcp(addr, &good).await.a(),
        vec![Ipv4Addr::new(10, 0, 0, 2)]
    );
}

// ---- lifecycle ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_error_names_the_address() {
    let taken = std::net::UdpSocket::bind(any_port(loopback())).unwrap();
    let addr = taken.local_addr().unwrap();
    let err = DnsServer::start(addr, Records::new(), vec![])
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&addr.to_string()) && msg.contains("UDP"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_closes_both_sockets() {
    let s = server(&web_records(), vec![]).await;
    let addr = s.local_addr();
    assert_eq!(ask(addr, &query(1, "web", A)).await.rcode, NOERROR);
    s.stop().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "TCP listener closed"
    );
    UdpSocket::bind(addr).await.expect("UDP port free again");
    TcpListener::bind(addr).await.expect("TCP port free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_stops_the_server() {
    let s = server(&web_records(), vec![]).await;
    let addr = s.local_addr();
    drop(s);
    let deadline = Instant::now() + Duration::from_secs(2);
    while TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "listener still open after drop");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---- a real resolver ------------------------------------------------------------------

/// busybox's nslookup (its own resolver, querying A and AAAA together like musl) against
/// the server: the AAAA half must not spoil the A answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busybox_nslookup_resolves_a_container_name() {
    if Command::new("busybox").arg("true").status().is_err() {
        eprintln!("busybox_nslookup_resolves_a_container_name: skipped, no busybox");
        return;
    }
    let s = server(&web_records(), vec![]).await;
    let target = s.local_addr().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("busybox")
            .args(["nslookup", "web", &target])
            .output()
            .expect("run busybox nslookup")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Address: 10.0.0.2"), "{stdout}");
}
