//! A minimal rtnetlink client (netlink(7)): messages built as bytes (header, fixed
//! part, attributes, nested attributes), sent on a `nix` socket and acknowledged one by
//! one. [`crate::link`] needs only a handful of message types, all on the container
//! start path, so a few hundred bytes of encoding beat a general netlink stack. The
//! socket is owned by its [`Socket`] and closed on drop.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    bind, connect, recv, send, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag,
    SockProtocol, SockType,
};

/// `NLM_F_REQUEST`.
pub const F_REQUEST: u16 = 0x1;
/// `NLM_F_ACK`.
pub const F_ACK: u16 = 0x4;
/// `NLM_F_EXCL`.
pub const F_EXCL: u16 = 0x200;
/// `NLM_F_CREATE`.
pub const F_CREATE: u16 = 0x400;
/// `NLA_F_NESTED`.
const NLA_F_NESTED: u16 = 0x8000;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

/// One message under construction.
pub struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

impl Msg {
    /// A message of `typ` with `flags`, followed by the fixed header `fixed`.
    pub fn new(typ: u16, flags: u16, fixed: &[u8]) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set in finish
        buf.extend_from_slice(&typ.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // seq, set by the socket
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id
        buf.extend_from_slice(fixed);
        buf.resize(align4(buf.len()), 0);
        Msg {
            buf,
            nests: Vec::new(),
        }
    }

    /// Appends an attribute.
    pub fn attr(&mut self, typ: u16, data: &[u8]) -> &mut Self {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&typ.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    /// Raw bytes (a fixed header inside a nested attribute), padded to 4.
    pub fn raw(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    /// A NUL-terminated string attribute.
    pub fn attr_str(&mut self, typ: u16, s: &str) -> &mut Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.attr(typ, &v)
    }

    /// A u32 attribute in host order.
    pub fn attr_u32(&mut self, typ: u16, v: u32) -> &mut Self {
        self.attr(typ, &v.to_ne_bytes())
    }

    /// Opens a nested attribute; close it with [`Msg::end`].
    pub fn begin(&mut self, typ: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(typ | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Closes the innermost nested attribute.
    pub fn end(&mut self) -> &mut Self {
        let start = self.nests.pop().expect("end without begin");
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    /// The finished bytes with `seq`.
    fn finish(mut self, seq: u32) -> Vec<u8> {
        debug_assert!(self.nests.is_empty());
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

/// An rtnetlink socket, in the network namespace of the thread that opened it (it
/// stays there even if that thread later changes namespace or exits).
pub struct Socket {
    fd: OwnedFd,
    seq: u32,
}

impl Socket {
    /// A `NETLINK_ROUTE` socket talking to the kernel.
    pub fn route() -> std::io::Result<Socket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
        // Port 0 is the kernel: `send` then needs no address.
        connect(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
        Ok(Socket { fd, seq: 1 })
    }

    /// Sends one request that asked for an ACK (`F_ACK`) and waits for the kernel's
    /// answer: `Ok` for a zero error code, the errno otherwise.
    pub fn request(&mut self, msg: Msg) -> std::io::Result<()> {
        self.requests(vec![msg]).map_err(|(_, e)| e)
    }

    /// Sends requests that all asked for an ACK in one write; the kernel carries them
    /// out in order, each one even if an earlier one failed. Waits for every answer and
    /// returns the first failure as (its index in `msgs`, errno); a failure of the
    /// socket itself is reported against message 0. Replies to other sequence numbers
    /// (left over from an earlier call) are skipped.
    pub fn requests(&mut self, msgs: Vec<Msg>) -> Result<(), (usize, std::io::Error)> {
        if msgs.is_empty() {
            return Ok(());
        }
        let first = self.seq.wrapping_add(1);
        let mut out = Vec::new();
        for m in msgs.into_iter() {
            self.seq = self.seq.wrapping_add(1);
            out.extend_from_slice(&m.finish(self.seq));
        }
        let count = self.seq.wrapping_sub(first).wrapping_add(1) as usize;
        let io_err = |e: nix::Error| (0, std::io::Error::from(e));
        send(self.fd.as_raw_fd(), &out, MsgFlags::empty()).map_err(io_err)?;
        let mut answers: Vec<Option<i32>> = vec![None; count];
        let mut buf = [0u8; 8192];
        while answers.iter().any(Option::is_none) {
            let n = recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()).map_err(io_err)?;
            let mut off = 0;
            while off + 16 <= n {
                let len = u32::from_ne_bytes(buf[off..off + 4].try_into().expect("4")) as usize;
                let typ = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
                let seq = u32::from_ne_bytes(buf[off + 8..off + 12].try_into().expect("4"));
                if len < 16 || off + len > n {
                    break;
                }
                let i = seq.wrapping_sub(first) as usize;
                if i < count && typ == NLMSG_ERROR && len >= 20 {
                    answers[i] = Some(i32::from_ne_bytes(
                        buf[off + 16..off + 20].try_into().expect("4"),
                    ));
                } else if i < count && typ == NLMSG_DONE {
                    answers[i] = Some(0);
                }
                off += align4(len);
            }
        }
        match answers.iter().flatten().enumerate().find(|(_, c)| **c != 0) {
            Some((i, c)) => Err((i, std::io::Error::from_raw_os_error(-c))),
            None => Ok(()),
        }
    }
}
