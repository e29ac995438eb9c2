//! The embedded DNS server over real sockets on 127.0.0.0/8: records, case, AAAA,
//! PTR, forwarding to a test upstream, SERVFAIL, TCP, malformed input.
#![allow(clippy::tests_outside_test_module)]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use berth_network::dns::{DnsServer, Records};

fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for l in name.split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

fn ask(server: SocketAddr, q: &[u8]) -> Option<Vec<u8>> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
    s.send_to(q, server).unwrap();
    let mut buf = [0u8; 1500];
    let n = s.recv(&mut buf).ok()?;
    Some(buf[..n].to_vec())
}

/// Answer count, rcode and the A addresses of a reply.
fn decode(r: &[u8]) -> (u16, u8, Vec<Ipv4Addr>) {
    let an = u16::from_be_bytes([r[6], r[7]]);
    let rcode = r[3] & 0x0f;
    let ips = r
        .windows(10)
        .enumerate()
        .filter(|(_, w)| w[0] == 0xc0 && w[1] == 0x0c && w[2..4] == [0, 1])
        .map(|(i, _)| Ipv4Addr::new(r[i + 12], r[i + 13], r[i + 14], r[i + 15]))
        .collect();
    (an, rcode, ips)
}

#[tokio::test]
async fn answers_forwards_and_survives_garbage() {
    // A fake upstream on another loopback address: answers every query with 1.2.3.4.
    let up = UdpSocket::bind("127.0.0.77:0").unwrap();
    let up_addr = up.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, peer)) = up.recv_from(&mut buf) {
            let mut r = buf[..n].to_vec();
            r[2] |= 0x80;
            r[7] = 1;
            r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4]);
            let _ = up.send_to(&r, peer);
        }
    });
    let records = Records::new();
    records.add("Web", Ipv4Addr::new(10, 0, 0, 2));
    records.add("web", Ipv4Addr::new(10, 0, 0, 3));
    records.add("db.", Ipv4Addr::new(10, 0, 0, 4));
    let server = DnsServer::start(
        "127.0.0.78:0".parse().unwrap(),
        records.clone(),
        vec![up_addr],
    )
    .await
    .unwrap();
    let addr = server.local_addr();
    let r = tokio::task::spawn_blocking(move || {
        let web = decode(&ask(addr, &query(7, "WEB", 1)).unwrap());
        let aaaa = decode(&ask(addr, &query(8, "db", 28)).unwrap());
        let ptr = ask(addr, &query(9, "4.0.0.10.in-addr.arpa", 12)).unwrap();
        let _ = ask_nowait(addr, &[1, 2, 3]);
        let fwd = ask(addr, &query(0x4242, "example.test", 1)).unwrap();
        (web, aaaa, ptr, fwd)
    })
    .await
    .unwrap();
    assert_eq!(r.0 .0, 2);
    assert_eq!(
        r.0 .2,
        vec![Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)]
    );
    assert_eq!(
        (r.1 .0, r.1 .1),
        (0, 0),
        "AAAA of a known name: NOERROR, no answer"
    );
    assert!(r.2.windows(4).any(|w| w == b"\x02db\x00"), "{:?}", r.2);
    assert_eq!(&r.3[0..2], &[0x42, 0x42]);
    assert_eq!(decode(&r.3).2, vec![Ipv4Addr::new(1, 2, 3, 4)]);
    records.remove_ip(Ipv4Addr::new(10, 0, 0, 2));
    let after =
        tokio::task::spawn_blocking(move || decode(&ask(addr, &query(10, "web", 1)).unwrap()))
            .await
            .unwrap();
    assert_eq!(after.2, vec![Ipv4Addr::new(10, 0, 0, 3)]);
    // Over TCP too.
    let tcp = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        let q = query(11, "db", 1);
        s.write_all(&(q.len() as u16).to_be_bytes()).unwrap();
        s.write_all(&q).unwrap();
        let mut len = [0u8; 2];
        s.read_exact(&mut len).unwrap();
        let mut r = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut r).unwrap();
        decode(&r)
    })
    .await
    .unwrap();
    assert_eq!(tcp.2, vec![Ipv4Addr::new(10, 0, 0, 4)]);
}

fn ask_nowait(server: SocketAddr, q: &[u8]) -> std::io::Result<usize> {
    UdpSocket::bind("127.0.0.1:0")?.send_to(q, server)
}

#[tokio::test]
async fn unreachable_upstream_is_servfail() {
    // A port on loopback where nothing listens.
    let dead = UdpSocket::bind("127.0.0.79:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = DnsServer::start("127.0.0.80:0".parse().unwrap(), Records::new(), vec![dead])
        .await
        .unwrap();
    let addr = server.local_addr();
    let r = tokio::task::spawn_blocking(move || {
        decode(&ask(addr, &query(3, "nowhere.test", 1)).unwrap())
    })
    .await
    .unwrap();
    assert_eq!(r.1, 2);
}
