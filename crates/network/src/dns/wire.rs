//! DNS messages, only as far as the embedded server reads and writes them: the header
//! and the one question of a query, an EDNS OPT record's UDP size, and replies made of
//! A or PTR answers (RFC 1035 §4, RFC 6891 §6.2.3).
//!
//! Pure code, no I/O. Every read is bounds-checked; anything else in a query (other
//! additional records, trailing bytes) is left alone, because unknown names are
//! forwarded byte for byte. Name compression is only written, as a pointer to the
//! question; a query whose question uses it is refused with FORMERR.

use std::net::Ipv4Addr;

/// Record type A.
pub(super) const TYPE_A: u16 = 1;
/// Record type PTR.
pub(super) const TYPE_PTR: u16 = 12;
/// Pseudo record type OPT (EDNS).
const TYPE_OPT: u16 = 41;
/// Query type ANY.
pub(super) const TYPE_ANY: u16 = 255;
/// Class IN.
pub(super) const CLASS_IN: u16 = 1;
/// Class ANY.
pub(super) const CLASS_ANY: u16 = 255;
/// TTL of local answers: Docker's embedded DNS uses 600 s.
const TTL: u32 = 600;
/// Header length.
const HEADER: usize = 12;
/// Largest UDP reply to a client that sent no OPT record (RFC 1035 §4.2.1).
const MIN_UDP: usize = 512;
/// Largest message: a TCP length prefix is 16 bits.
pub(super) const MAX_MESSAGE: usize = 65535;

/// Response codes the server writes or inspects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rcode {
    /// The query was answered (possibly with no records).
    NoError = 0,
    /// The query could not be parsed.
    FormErr = 1,
    /// No upstream resolver could answer.
    ServFail = 2,
    /// Not a standard query.
    NotImp = 4,
    /// Too many forwards in flight.
    Refused = 5,
}

/// A standard query with one question, borrowed from the received bytes.
#[derive(Debug)]
pub(super) struct Query<'a> {
    /// The whole message as received.
    pub bytes: &'a [u8],
    /// The question name lowercased, without the trailing dot; `None` when a label holds
    /// a byte no record name has (a dot, a space, a control or non-ASCII byte).
    pub name: Option<String>,
    /// Question type.
    pub qtype: u16,
    /// Question class.
    pub qclass: u16,
    /// Offset just past the question.
    question_end: usize,
    /// Largest UDP reply the client takes: its OPT size, at least 512.
    pub udp_size: usize,
}

/// What a received message is.
#[derive(Debug)]
pub(super) enum Parsed<'a> {
    /// A query to answer or forward.
    Query(Query<'a>),
    /// A query the server will not serve; the error reply to send.
    Reject(Vec<u8>),
    /// Too short to answer, or a response (never answer one: no loops).
    Ignore,
}

/// An answer record's data; its owner is always the question name.
#[derive(Debug)]
pub(super) enum Rdata {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// A host name in wire form (see [`encode_name`]).
    Ptr(Vec<u8>),
}

/// Sorts one received message.
pub(super) fn parse(msg: &[u8]) -> Parsed<'_> {
    if msg.len() < HEADER || msg[2] & 0x80 != 0 {
        return Parsed::Ignore;
    }
    if opcode(msg) != 0 {
        return Parsed::Reject(bare_reply(msg, Rcode::NotImp));
    }
    let Some((name, qtype, qclass, question_end)) =
        (count(msg, 4) == 1).then(|| question(msg)).flatten()
    else {
        return Parsed::Reject(bare_reply(msg, Rcode::FormErr));
    };
    Parsed::Query(Query {
        bytes: msg,
        name,
        qtype,
        qclass,
        question_end,
        udp_size: opt_size(msg, question_end).unwrap_or(MIN_UDP).max(MIN_UDP),
    })
}

fn count(msg: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([msg[at], msg[at + 1]])
}

fn opcode(msg: &[u8]) -> u8 {
    (msg[2] >> 3) & 0x0f
}

/// The response code of a reply.
pub(super) fn rcode(msg: &[u8]) -> u8 {
    msg.get(3).map_or(0, |b| b & 0x0f)
}

/// Name, type, class and end offset of the question at offset 12.
fn question(msg: &[u8]) -> Option<(Option<String>, u16, u16, usize)> {
    let mut pos = HEADER;
    let mut name = String::new();
    let mut plain = true;
    loop {
        let len = usize::from(*msg.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        // 0x40.. are extended label types, 0xc0.. compression pointers.
        if len > 63 || pos + len + 1 - HEADER > 255 {
            return None;
        }
        let label = msg.get(pos..pos + len)?;
        pos += len;
        plain &= label.iter().all(|b| b.is_ascii_graphic() && *b != b'.');
        if plain {
            if !name.is_empty() {
                name.push('.');
            }
            name.extend(label.iter().map(|b| char::from(b.to_ascii_lowercase())));
        }
    }
    let qtype = u16::from_be_bytes(msg.get(pos..pos + 2)?.try_into().ok()?);
    let qclass = u16::from_be_bytes(msg.get(pos + 2..pos + 4)?.try_into().ok()?);
    Some((plain.then_some(name), qtype, qclass, pos + 4))
}

/// The UDP size of an OPT record that directly follows the question, when the query has
/// no answer or authority records (the shape every stub resolver sends).
fn opt_size(msg: &[u8], question_end: usize) -> Option<usize> {
    if count(msg, 6) != 0 || count(msg, 8) != 0 || count(msg, 10) == 0 {
        return None;
    }
    let rr = msg.get(question_end..question_end + 5)?;
    (rr[0] == 0 && u16::from_be_bytes([rr[1], rr[2]]) == TYPE_OPT)
        .then(|| usize::from(u16::from_be_bytes([rr[3], rr[4]])))
}

/// A reply header for `msg`: its id, QR, its opcode and RD, RA, `rcode`; counts zero.
fn header(msg: &[u8], rcode: Rcode, authoritative: bool) -> Vec<u8> {
    let aa = if authoritative { 0x04 } else { 0 };
    let flags = 0x80 | (msg[2] & 0x79) | aa; // keep opcode and RD
    vec![
        msg[0],
        msg[1],
        flags,
        0x80 | rcode as u8,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]
}

/// An error reply without a question (for queries whose question is unusable).
fn bare_reply(msg: &[u8], rcode: Rcode) -> Vec<u8> {
    header(msg, rcode, false)
}

/// A reply to `q` with `rcode`, the question and no records (SERVFAIL, REFUSED).
pub(super) fn error_reply(q: &Query<'_>, rcode: Rcode) -> Vec<u8> {
    let mut r = header(q.bytes, rcode, false);
    r[5] = 1;
    r.extend_from_slice(&q.bytes[HEADER..q.question_end]);
    r
}

/// An authoritative NOERROR reply to `q` with `answers`, each owned by the question
/// name. When the reply would exceed `max` bytes, trailing answers are left out and TC
/// is set, so the client can retry over TCP.
pub(super) fn answer(q: &Query<'_>, answers: &[Rdata], max: usize) -> Vec<u8> {
    let mut r = header(q.bytes, Rcode::NoError, true);
    r[5] = 1;
    r.extend_from_slice(&q.bytes[HEADER..q.question_end]);
    let mut written: u16 = 0;
    for rdata in answers {
        let (rtype, data): (u16, &[u8]) = match rdata {
            Rdata::A(ip) => (TYPE_A, &ip.octets()[..]),
            Rdata::Ptr(name) => (TYPE_PTR, name),
        };
        let Ok(len) = u16::try_from(data.len()) else {
            break;
        };
        if r.len() + 12 + data.len() > max || written == u16::MAX {
            r[2] |= 0x02;
            break;
        }
        r.extend_from_slice(&[0xc0, 0x0c]); // pointer to the question name
        r.extend_from_slice(&rtype.to_be_bytes());
        r.extend_from_slice(&CLASS_IN.to_be_bytes());
        r.extend_from_slice(&TTL.to_be_bytes());
        r.extend_from_slice(&len.to_be_bytes());
        r.extend_from_slice(data);
        written += 1;
    }
    r[6..8].copy_from_slice(&written.to_be_bytes());
    r
}

impl Query<'_> {
    /// Largest reply for this query: 64 KiB over TCP, the client's UDP size otherwise.
    pub(super) fn max_reply(&self, tcp: bool) -> usize {
        if tcp {
            MAX_MESSAGE
        } else {
            self.udp_size.min(MAX_MESSAGE)
        }
    }
}

/// `d.c.b.a.in-addr.arpa` (lowercase, no trailing dot) → `a.b.c.d`.
pub(super) fn ptr_address(name: &str) -> Option<Ipv4Addr> {
    let rest = name.strip_suffix(".in-addr.arpa")?;
    let mut octets = [0u8; 4];
    let mut parts = rest.split('.');
    for slot in octets.iter_mut().rev() {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = part.parse().ok()?;
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

/// `name` in wire form, ending with the root label; `None` when a label is empty or
/// longer than 63 bytes, or the whole is longer than 255.
pub(super) fn encode_name(name: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.split('.') {
        out.push(
            u8::try_from(label.len())
                .ok()
                .filter(|l| (1..=63).contains(l))?,
        );
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    (out.len() <= 255).then_some(out)
}

/// Whether `reply` answers `query`: same id, QR set, and the same question (ASCII case
/// aside), or no question at all (some servers' error replies).
pub(super) fn is_reply_to(reply: &[u8], query: &[u8]) -> bool {
    if reply.len() < HEADER || reply[..2] != query[..2] || reply[2] & 0x80 == 0 {
        return false;
    }
    if count(reply, 4) == 0 {
        return true;
    }
    let Some((_, _, _, end)) = question(query) else {
        return false;
    };
    reply
        .get(HEADER..end)
        .is_some_and(|q| q.eq_ignore_ascii_case(&query[HEADER..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut q = id.to_be_bytes().to_vec();
        q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        q.extend_from_slice(&encode_name(name).unwrap());
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&CLASS_IN.to_be_bytes());
        q
    }

    fn parsed(msg: &[u8]) -> Query<'_> {
        match parse(msg) {
            Parsed::Query(q) => q,
            other => panic!("not a query: {other:?}"),
        }
    }

    #[test]
    fn parses_name_type_and_default_udp_size() {
        let q = query(7, "Web.Example", TYPE_A);
        let p = parsed(&q);
        assert_eq!(p.name.as_deref(), Some("web.example"));
        assert_eq!((p.qtype, p.qclass, p.udp_size), (TYPE_A, CLASS_IN, 512));
        assert_eq!(p.question_end, q.len());
    }

    #[test]
    fn reads_the_opt_udp_size() {
        let mut q = query(7, "web", TYPE_A);
        q[11] = 1;
        let opt = q.len();
        q.extend_from_slice(&[0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0]);
        assert_eq!(parsed(&q).udp_size, 4096);
        q[opt + 3] = 0x01; // OPT size 256: never below 512
        q[opt + 4] = 0x00;
        assert_eq!(parsed(&q).udp_size, 512);
    }

    #[test]
    fn unusual_label_bytes_give_no_local_name() {
        let mut q = query(1, "a.b", TYPE_A);
        q[13] = b'.'; // label "." then "b"
        let p = parsed(&q);
        assert_eq!(p.name, None);
        let q = query(1, "caf\u{e9}", TYPE_A);
        assert_eq!(parsed(&q).name, None);
    }

    #[test]
    fn root_name_is_empty() {
        let q = query(1, "x", 2);
        let mut root = q[..12].to_vec();
        root.extend_from_slice(&[0, 0, 2, 0, 1]);
        assert_eq!(parsed(&root).name.as_deref(), Some(""));
    }

    #[test]
    fn ignores_short_messages_and_responses() {
        assert!(matches!(parse(&[1, 2, 3]), Parsed::Ignore));
        let mut q = query(1, "web", TYPE_A);
        q[2] |= 0x80;
        assert!(matches!(parse(&q), Parsed::Ignore));
    }

    #[test]
    fn rejects_bad_questions_with_formerr_and_other_opcodes_with_notimp() {
        let rcode_of = |m: &[u8]| match parse(m) {
            Parsed::Reject(r) => (r[..2].to_vec(), rcode(&r), r[2] & 0x80),
            other => panic!("accepted: {other:?}"),
        };
        let good = query(0x1234, "web", TYPE_A);
        let mut no_question = good.clone();
        no_question[5] = 0;
        assert_eq!(rcode_of(&no_question), (vec![0x12, 0x34], 1, 0x80));
        let mut two = good.clone();
        two[5] = 2;
        assert_eq!(rcode_of(&two).1, 1);
        let mut pointer = good.clone();
        pointer[12] = 0xc0;
        assert_eq!(rcode_of(&pointer).1, 1);
        let mut long_label = good.clone();
        long_label[12] = 64;
        assert_eq!(rcode_of(&long_label).1, 1);
        assert_eq!(rcode_of(&good[..good.len() - 1]).1, 1);
        assert_eq!(rcode_of(&good[..14]).1, 1);
        let mut update = good.clone();
        update[2] = 5 << 3;
        assert_eq!(rcode_of(&update).1, 4);
    }

    #[test]
    fn rejects_names_over_255_bytes() {
        let label = "a".repeat(63);
        let name = [&label[..]; 4].join(".");
        let mut q = query(1, &label, TYPE_A);
        q.truncate(12);
        for _ in 0..4 {
            q.push(63);
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert!(matches!(parse(&q), Parsed::Reject(_)), "{name}");
    }

    #[test]
    fn answers_point_at_the_question_and_truncate() {
        let q = query(9, "Web", TYPE_A);
        let p = parsed(&q);
        let ips: Vec<Rdata> = (1..=40)
            .map(|i| Rdata::A(Ipv4Addr::new(10, 0, 0, i)))
            .collect();
        let r = answer(&p, &ips, 512);
        assert!(r.len() <= 512);
        assert_eq!(r[2] & 0x06, 0x06, "AA and TC");
        let n = usize::from(u16::from_be_bytes([r[6], r[7]]));
        assert_eq!(r.len(), q.len() + 16 * n);
        assert_eq!(
            &r[q.len()..q.len() + 12],
            &[0xc0, 12, 0, 1, 0, 1, 0, 0, 2, 0x58, 0, 4]
        );
        let all = answer(&p, &ips, MAX_MESSAGE);
        assert_eq!((all[2] & 0x02, all[7]), (0, 40));
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            ptr_address("4.3.2.10.in-addr.arpa"),
            Some(Ipv4Addr::new(10, 2, 3, 4))
        );
        for bad in [
            "3.2.10.in-addr.arpa",
            "5.4.3.2.10.in-addr.arpa",
            "+4.3.2.10.in-addr.arpa",
            "256.3.2.10.in-addr.arpa",
            ".3.2.10.in-addr.arpa",
            "4.3.2.10.ip6.arpa",
        ] {
            assert_eq!(ptr_address(bad), None, "{bad}");
        }
    }

    #[test]
    fn encodes_names() {
        assert_eq!(encode_name("db.x").unwrap(), b"\x02db\x01x\x00");
        assert_eq!(encode_name("a..b"), None);
        assert_eq!(encode_name(&"a".repeat(64)), None);
    }

    #[test]
    fn matches_replies_to_queries() {
        let q = query(5, "web.test", TYPE_A);
        let mut r = q.clone();
        r[2] |= 0x80;
        r[13] = b'W';
        assert!(is_reply_to(&r, &q));
        r[1] = 6;
        assert!(!is_reply_to(&r, &q));
        r[1] = 5;
        r[15] = b'x';
        assert!(!is_reply_to(&r, &q));
        assert!(!is_reply_to(&q, &q), "not a response");
    }
}
