//! nfnetlink plumbing for [`super`]: nf_tables messages built as bytes, sent as one
//! batch (`NFNL_MSG_BATCH_BEGIN` … `NFNL_MSG_BATCH_END`, one kernel transaction) on a
//! `NETLINK_NETFILTER` socket, and the kernel's per-message answers collected.
//!
//! Runs in berthd, in the network namespace of the calling thread. Each call opens
//! its own socket and closes it when done, so no answer of an earlier call can be
//! mistaken for one of a later call and no state outlives the call. Only what
//! nf_tables needs here is implemented (see `nfnetlink.h` and `nf_tables.h`).

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    bind, recv, send, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag,
    SockProtocol, SockType,
};
use nix::sys::time::TimeVal;

/// `NLM_F_REQUEST`.
const F_REQUEST: u16 = 0x1;
/// `NLM_F_ACK`.
const F_ACK: u16 = 0x4;
/// `NLA_F_NESTED`.
const NLA_F_NESTED: u16 = 0x8000;
/// `NLMSG_ERROR`: an acknowledgement (error 0) or an error.
const NLMSG_ERROR: u16 = 2;
/// `NFNL_SUBSYS_NFTABLES`: the high byte of every nf_tables message type.
const NFNL_SUBSYS_NFTABLES: u16 = 10;
/// `NFNL_MSG_BATCH_BEGIN` / `_END` (`NLMSG_MIN_TYPE` and the next one).
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
/// `NFPROTO_IPV4`: berth's table is in the `ip` family.
const NFPROTO_IPV4: u8 = 2;
/// `NFPROTO_UNSPEC`, used by the batch markers.
const NFPROTO_UNSPEC: u8 = 0;
/// Size of `struct nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;
/// How long to wait for the kernel's answer before giving up.
const ANSWER_TIMEOUT_SECS: i64 = 5;
/// Above this many bytes (sent, or expected back) the socket buffers are raised;
/// the defaults (`net.core.{w,r}mem_default`) are about 208 KiB.
const DEFAULT_BUFFER: usize = 128 * 1024;

/// One nf_tables message under construction: header, `struct nfgenmsg`, attributes.
#[derive(Debug)]
pub(super) struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Narrows a length that netlink carries in 16 bits; messages built here stay far
/// below that (a set element is under 100 bytes).
fn len16(n: usize) -> u16 {
    u16::try_from(n).expect("netlink attribute longer than 64 KiB")
}

impl Msg {
    /// An nf_tables message `NFT_MSG_*` number `nft_type` for the `ip` family.
    pub(super) fn new(nft_type: u16) -> Msg {
        Msg::raw((NFNL_SUBSYS_NFTABLES << 8) | nft_type, NFPROTO_IPV4, 0)
    }

    /// A message with an explicit type and `struct nfgenmsg` (family, version 0,
    /// big-endian resource id).
    fn raw(typ: u16, family: u8, res_id: u16) -> Msg {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, set by `finish`
        buf.extend_from_slice(&typ.to_ne_bytes());
        buf.extend_from_slice(&F_REQUEST.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_seq, set by `finish`
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: 0, the kernel fills it
        buf.push(family);
        buf.push(0); // NFNETLINK_V0
        buf.extend_from_slice(&res_id.to_be_bytes());
        Msg {
            buf,
            nests: Vec::new(),
        }
    }

    /// Appends an attribute holding `data`.
    pub(super) fn attr(&mut self, typ: u16, data: &[u8]) -> &mut Msg {
        self.buf
            .extend_from_slice(&len16(4 + data.len()).to_ne_bytes());
        self.buf.extend_from_slice(&typ.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    /// Appends a NUL-terminated string attribute.
    pub(super) fn attr_str(&mut self, typ: u16, s: &str) -> &mut Msg {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.attr(typ, &v)
    }

    /// Opens a nested attribute; [`Msg::end`] closes it.
    pub(super) fn begin(&mut self, typ: u16) -> &mut Msg {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(typ | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Closes the innermost nested attribute.
    pub(super) fn end(&mut self) -> &mut Msg {
        let start = self.nests.pop().expect("Msg::end without Msg::begin");
        let len = len16(self.buf.len() - start);
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    /// Appends the finished message with `seq` (and `NLM_F_ACK` when `ack`) to `out`.
    fn write(&self, seq: u32, ack: bool, out: &mut Vec<u8>) {
        debug_assert!(self.nests.is_empty(), "unclosed nested attribute");
        let start = out.len();
        out.extend_from_slice(&self.buf);
        let len = u32::try_from(self.buf.len()).expect("netlink message longer than 4 GiB");
        out[start..start + 4].copy_from_slice(&len.to_ne_bytes());
        if ack {
            out[start + 6..start + 8].copy_from_slice(&(F_REQUEST | F_ACK).to_ne_bytes());
        }
        out[start + 8..start + 12].copy_from_slice(&seq.to_ne_bytes());
    }
}

/// Why a batch or request did not go through.
#[derive(Debug)]
pub(super) enum Failure {
    /// The kernel refused these messages (index in the batch, errno); in a batch,
    /// nothing at all was committed.
    Refused(Vec<(usize, Errno)>),
    /// Talking to the kernel failed at `step`.
    Io {
        /// What was being done.
        step: &'static str,
        /// The error.
        errno: Errno,
    },
}

fn io(step: &'static str) -> impl Fn(Errno) -> Failure {
    move |errno| Failure::Io { step, errno }
}

/// A `NETLINK_NETFILTER` socket connected to the kernel.
#[derive(Debug)]
pub(super) struct Socket {
    fd: OwnedFd,
}

impl Socket {
    /// Opens a socket in the calling thread's network namespace; on error, the step
    /// that failed.
    pub(super) fn open() -> Result<Socket, (&'static str, Errno)> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkNetFilter,
        )
        .map_err(|e| ("open", e))?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(|e| ("bind", e))?;
        let timeout = TimeVal::new(ANSWER_TIMEOUT_SECS, 0);
        setsockopt(&fd, sockopt::ReceiveTimeout, &timeout).map_err(|e| ("set timeout on", e))?;
        Ok(Socket { fd })
    }

    /// Runs `msgs` as one nf_tables transaction: all of them are committed, or none.
    /// Only the last message asks for an acknowledgement; the kernel answers every
    /// failed message anyway, and answers in order after processing the whole batch,
    /// so the last answer ends the wait.
    pub(super) fn transact(&self, msgs: &[Msg]) -> Result<(), Failure> {
        if msgs.is_empty() {
            return Ok(());
        }
        let begin = Msg::raw(NFNL_MSG_BATCH_BEGIN, NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES);
        let end = Msg::raw(NFNL_MSG_BATCH_END, NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES);
        let size: usize = msgs.iter().map(|m| m.buf.len()).sum::<usize>() + 2 * NLMSG_HDRLEN + 8;
        let mut out = Vec::with_capacity(size);
        // Sequence numbers: 1 for the batch header, 2.. for the messages, then the end.
        begin.write(1, false, &mut out);
        for (i, m) in msgs.iter().enumerate() {
            m.write(seq_of(i), i + 1 == msgs.len(), &mut out);
        }
        end.write(seq_of(msgs.len()), false, &mut out);
        // An error answer copies the failed message: room for every message to fail.
        self.fit_buffers(out.len(), out.len() + msgs.len() * 1024);
        send(self.fd.as_raw_fd(), &out, MsgFlags::empty()).map_err(io("send batch on"))?;
        let last = seq_of(msgs.len() - 1);
        let mut refused = Vec::new();
        let mut batch_refused = None;
        let done = self.answers(|seq, errno| {
            if let Some(e) = errno {
                match index_of(seq, msgs.len()) {
                    Some(i) => refused.push((i, e)),
                    // The batch header or trailer was refused: nothing else comes.
                    None => {
                        batch_refused = Some(e);
                        return true;
                    }
                }
            }
            seq == last
        });
        if let Some(errno) = batch_refused {
            return Err(Failure::Io {
                step: "run a batch on",
                errno,
            });
        }
        match done {
            Ok(()) if refused.is_empty() => Ok(()),
            Ok(()) => Err(Failure::Refused(refused)),
            // The answers overflowed the receive buffer: only failures are that many.
            Err(Errno::ENOBUFS) if !refused.is_empty() => Err(Failure::Refused(refused)),
            Err(errno) => Err(Failure::Io {
                step: "receive answers on",
                errno,
            }),
        }
    }

    /// Sends one request outside a batch (a `GET`) and waits for its acknowledgement.
    pub(super) fn request(&self, msg: &Msg) -> Result<(), Failure> {
        let mut out = Vec::new();
        msg.write(1, true, &mut out);
        send(self.fd.as_raw_fd(), &out, MsgFlags::empty()).map_err(io("send request on"))?;
        let mut result = Ok(());
        self.answers(|seq, errno| {
            if let Some(e) = errno {
                result = Err(Failure::Refused(vec![(0, e)]));
            }
            seq == 1
        })
        .map_err(io("receive answer on"))?;
        result
    }

    /// Reads answers and hands each acknowledgement or error (sequence number, errno
    /// or None for success) to `each` until it returns true. Other messages (the data
    /// of a `GET`) are skipped.
    fn answers(&self, mut each: impl FnMut(u32, Option<Errno>) -> bool) -> Result<(), Errno> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
            let mut off = 0;
            while off + NLMSG_HDRLEN <= n {
                let len = read_u32(&buf, off) as usize;
                if len < NLMSG_HDRLEN || off + len > n {
                    return Err(Errno::EBADMSG);
                }
                let typ = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
                let seq = read_u32(&buf, off + 8);
                if typ == NLMSG_ERROR {
                    if len < NLMSG_HDRLEN + 4 {
                        return Err(Errno::EBADMSG);
                    }
                    let code =
                        i32::from_ne_bytes(buf[off + 16..off + 20].try_into().expect("4 bytes"));
                    let errno = (code != 0).then(|| Errno::from_raw(-code));
                    if each(seq, errno) {
                        return Ok(());
                    }
                }
                off += align4(len);
            }
        }
    }

    /// Raises the socket buffers for a batch of `send` bytes whose answers may take
    /// `recv` bytes. berthd is root, so the `FORCE` options may pass the sysctl
    /// limits; if they fail anyway the send reports `EMSGSIZE` or the receive
    /// `ENOBUFS`, and that error is returned.
    fn fit_buffers(&self, send: usize, recv: usize) {
        if send > DEFAULT_BUFFER {
            let _ = setsockopt(&self.fd, sockopt::SndBufForce, &(send * 2));
        }
        if recv > DEFAULT_BUFFER {
            let _ = setsockopt(&self.fd, sockopt::RcvBufForce, &(recv * 2));
        }
    }
}

/// Sequence number of message `i` of a batch (1 is the batch header).
fn seq_of(i: usize) -> u32 {
    u32::try_from(i + 2).expect("batch of more than 4 billion messages")
}

/// Index of the message with sequence number `seq` in a batch of `n`, if it is one.
fn index_of(seq: u32, n: usize) -> Option<usize> {
    let i = usize::try_from(seq).ok()?.checked_sub(2)?;
    (i < n).then_some(i)
}

fn read_u32(buf: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(buf[off..off + 4].try_into().expect("4 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout_follows_nlmsghdr_nfgenmsg_and_nlattr() {
        let mut m = Msg::new(12);
        m.attr_str(1, "t").begin(3).attr(1, &[9, 9, 9]).end();
        let mut out = Vec::new();
        m.write(7, true, &mut out);
        assert_eq!(read_u32(&out, 0) as usize, out.len());
        assert_eq!(u16::from_ne_bytes([out[4], out[5]]), (10 << 8) | 12);
        assert_eq!(u16::from_ne_bytes([out[6], out[7]]), F_REQUEST | F_ACK);
        assert_eq!(read_u32(&out, 8), 7);
        assert_eq!(&out[16..20], &[NFPROTO_IPV4, 0, 0, 0]);
        // "t\0" in a 6-byte attribute padded to 8.
        assert_eq!(&out[20..28], &[6, 0, 1, 0, b't', 0, 0, 0]);
        // Nested attribute: 4-byte header + one 7-byte attribute padded to 8.
        assert_eq!(u16::from_ne_bytes([out[28], out[29]]), 12);
        assert_eq!(u16::from_ne_bytes([out[30], out[31]]), 3 | NLA_F_NESTED);
        assert_eq!(out.len(), 40);
    }

    #[test]
    fn batch_markers_carry_the_subsystem_big_endian() {
        let mut out = Vec::new();
        Msg::raw(NFNL_MSG_BATCH_BEGIN, NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES)
            .write(1, false, &mut out);
        assert_eq!(&out[16..20], &[0, 0, 0, 10]);
        assert_eq!(u16::from_ne_bytes([out[6], out[7]]), F_REQUEST);
    }

    #[test]
    fn sequence_numbers_map_back_to_messages() {
        assert_eq!(index_of(seq_of(0), 3), Some(0));
        assert_eq!(index_of(seq_of(2), 3), Some(2));
        assert_eq!(index_of(1, 3), None);
        assert_eq!(index_of(seq_of(3), 3), None);
    }
}
