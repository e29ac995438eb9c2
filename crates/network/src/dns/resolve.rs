//! The server's decision for one received message: answer from the network's names,
//! reject, ignore, or forward upstream. Pure code over [`Records`]; the sockets are in
//! `serve`, the upstream exchange in `forward`.
//!
//! Follows Docker's embedded DNS (moby `libnetwork/resolver.go`) except where noted in
//! [`decide`].

use std::net::Ipv4Addr;

use super::records::Records;
use super::wire::{self, Parsed, Query, Rcode, Rdata};

/// What to do with one message from a client.
#[derive(Debug)]
pub(super) enum Action {
    /// Send this reply.
    Reply(Vec<u8>),
    /// Ask the upstream resolvers; if none answers, send the SERVFAIL in `Failure`.
    Forward(Failure),
    /// Send nothing.
    Ignore,
}

/// The reply header and question for a forwarded query, kept to answer it with an
/// error when the upstreams fail or the forward limit is reached.
#[derive(Debug)]
pub(super) struct Failure(Vec<u8>);

impl Failure {
    /// The error reply with `rcode`.
    pub(super) fn with(mut self, rcode: Rcode) -> Vec<u8> {
        self.0[3] = (self.0[3] & 0xf0) | rcode as u8;
        self.0
    }
}

/// Decides what to do with `msg` from `client` (its IPv4 address, for linked
/// networks), received over TCP when `tcp`.
///
/// - A (or ANY) for a known name: all its addresses, in the order added, TTL 600,
///   authoritative. Docker shuffles them; the order added is kept here.
/// - Any other type for a known name: NOERROR without records, never NXDOMAIN (musl
///   queries A and AAAA together and gives up on NXDOMAIN). Docker does this for AAAA
///   and MX and forwards other types (TXT, HTTPS…) upstream, leaking container names
///   and getting NXDOMAIN; here every type gets the empty answer.
/// - PTR for a known address: its first name (Docker answers `name.network`; the engine
///   may add that form first if it wants it).
/// - Everything else, single-label names included (Docker forwards them unless the
///   container set `ndots`), is forwarded.
pub(super) fn decide(msg: &[u8], client: Option<Ipv4Addr>, records: &Records, tcp: bool) -> Action {
    let q = match wire::parse(msg) {
        Parsed::Query(q) => q,
        Parsed::Reject(reply) => return Action::Reply(reply),
        Parsed::Ignore => return Action::Ignore,
    };
    match local_answers(&q, client, records) {
        Some(answers) => Action::Reply(wire::answer(&q, &answers, q.max_reply(tcp))),
        None => Action::Forward(Failure(wire::error_reply(&q, Rcode::ServFail))),
    }
}

/// The records answering `q` from the network's names; `None` when the name is not
/// the network's.
fn local_answers(q: &Query<'_>, client: Option<Ipv4Addr>, records: &Records) -> Option<Vec<Rdata>> {
    if q.qclass != wire::CLASS_IN && q.qclass != wire::CLASS_ANY {
        return None;
    }
    let name = q.name.as_deref().filter(|n| !n.is_empty())?;
    if q.qtype == wire::TYPE_PTR {
        let host = wire::ptr_address(name)
            .and_then(|ip| records.name_for(client, ip))
            .and_then(|host| wire::encode_name(&host));
        if let Some(host) = host {
            return Some(vec![Rdata::Ptr(host)]);
        }
    }
    let ips = records.lookup_for(client, name);
    if ips.is_empty() {
        return None;
    }
    Some(match q.qtype {
        wire::TYPE_A | wire::TYPE_ANY => ips.into_iter().map(Rdata::A).collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(&wire::encode_name(name).unwrap());
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&wire::CLASS_IN.to_be_bytes());
        q
    }

    fn records() -> std::sync::Arc<Records> {
        let r = Records::new();
        r.add("web", WEB);
        r
    }

    fn reply(a: Action) -> Vec<u8> {
        match a {
            Action::Reply(r) => r,
            other => panic!("no reply: {other:?}"),
        }
    }

    #[test]
    fn known_name_types() {
        let r = records();
        let a = reply(decide(&query("WEB", 1), None, &r, false));
        assert_eq!((a[3] & 0x0f, a[7]), (0, 1));
        assert_eq!(&a[a.len() - 4..], &WEB.octets());
        for qtype in [28, 15, 16, 65] {
            let e = reply(decide(&query("web", qtype), None, &r, false));
            assert_eq!(
                (e[3] & 0x0f, e[7], e[2] & 0x04),
                (0, 0, 0x04),
                "type {qtype}"
            );
        }
    }

    #[test]
    fn ptr_of_known_address() {
        let r = records();
        let p = reply(decide(&query("2.0.0.10.in-addr.arpa", 12), None, &r, false));
        assert!(p.ends_with(b"\x00\x0c\x00\x01\x00\x00\x02\x58\x00\x05\x03web\x00"));
        assert!(matches!(
            decide(&query("3.0.0.10.in-addr.arpa", 12), None, &r, false),
            Action::Forward(_)
        ));
    }

    #[test]
    fn unknown_and_other_class_names_are_forwarded() {
        let r = records();
        for q in [
            query("db", 1),
            query("example.com", 1),
            query("web.example", 1),
        ] {
            let Action::Forward(f) = decide(&q, None, &r, false) else {
                panic!("not forwarded");
            };
            let s = f.with(Rcode::ServFail);
            assert_eq!((&s[..2], s[3] & 0x0f), (&[0xab, 0xcd][..], 2));
            assert_eq!(&s[12..], &q[12..]);
        }
        let mut chaos = query("web", 16);
        let n = chaos.len();
        chaos[n - 1] = 3;
        assert!(matches!(
            decide(&chaos, None, &r, false),
            Action::Forward(_)
        ));
    }

    #[test]
    fn garbage_is_ignored_or_rejected() {
        let r = records();
        assert!(matches!(decide(&[0; 5], None, &r, false), Action::Ignore));
        let mut bad = query("web", 1);
        bad[12] = 0xc0;
        assert_eq!(reply(decide(&bad, None, &r, false))[3] & 0x0f, 1);
    }
}
