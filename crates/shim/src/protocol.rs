//! The berthd ↔ berth-shim wire protocol (docs/design/shim-protocol.md) as pure data:
//! request lines, reply lines, exit records and attach frame headers.
//!
//! Used by both sides: the shim's monitor loop parses requests and formats replies, the
//! [`crate::client`] does the reverse. No I/O here, so everything is unit-tested.

use std::fmt;

/// One request line sent by a client on a new connection to `D/shim.sock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Open the start gate.
    Start,
    /// Stream output (and optionally feed stdin).
    Attach {
        /// Bytes the client writes go to the container's stdin.
        stdin: bool,
        /// Send stdout.
        stdout: bool,
        /// Send stderr.
        stderr: bool,
    },
    /// TIOCSWINSZ on the pty master.
    Resize {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
    /// Block until the container has exited.
    Wait,
    /// Current state.
    State,
    /// Close the container's stdin.
    CloseStdin,
}

/// A request line that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Nothing but whitespace.
    #[error("empty request")]
    Empty,
    /// The first word names no request.
    #[error("unknown request {0:?}")]
    Unknown(String),
    /// Wrong number of arguments or an argument out of range.
    #[error("bad arguments for {request}: {line:?}")]
    BadArguments {
        /// The request word.
        request: &'static str,
        /// The whole line.
        line: String,
    },
}

fn flag(s: &str) -> Option<bool> {
    match s {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

impl Request {
    /// Parses one request line (without or with its trailing `\n`).
    pub fn parse(line: &str) -> Result<Self, ParseError> {
        let mut words = line.split_ascii_whitespace();
        let word = words.next().ok_or(ParseError::Empty)?;
        let args: Vec<&str> = words.collect();
        let bad = |request| ParseError::BadArguments {
            request,
            line: line.trim_end().to_string(),
        };
        let req = match (word, args.as_slice()) {
            ("start", []) => Request::Start,
            ("wait", []) => Request::Wait,
            ("state", []) => Request::State,
            ("close-stdin", []) => Request::CloseStdin,
            ("attach", [i, o, e]) => Request::Attach {
                stdin: flag(i).ok_or_else(|| bad("attach"))?,
                stdout: flag(o).ok_or_else(|| bad("attach"))?,
                stderr: flag(e).ok_or_else(|| bad("attach"))?,
            },
            ("resize", [r, c]) => Request::Resize {
                rows: r.parse().map_err(|_| bad("resize"))?,
                cols: c.parse().map_err(|_| bad("resize"))?,
            },
            ("start", _) => return Err(bad("start")),
            ("wait", _) => return Err(bad("wait")),
            ("state", _) => return Err(bad("state")),
            ("close-stdin", _) => return Err(bad("close-stdin")),
            ("attach", _) => return Err(bad("attach")),
            ("resize", _) => return Err(bad("resize")),
            (other, _) => return Err(ParseError::Unknown(other.to_string())),
        };
        Ok(req)
    }
}

impl fmt::Display for Request {
    /// The request line without its `\n`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = |v: bool| u8::from(v);
        match *self {
            Request::Start => f.write_str("start"),
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => write!(f, "attach {} {} {}", b(stdin), b(stdout), b(stderr)),
            Request::Resize { rows, cols } => write!(f, "resize {rows} {cols}"),
            Request::Wait => f.write_str("wait"),
            Request::State => f.write_str("state"),
            Request::CloseStdin => f.write_str("close-stdin"),
        }
    }
}

/// How the container ended: `exit <code> <oom 0/1> <finished unix ns>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitInfo {
    /// Exit status, or 128 + signal number for a signal death.
    pub code: i32,
    /// The cgroup's OOM-kill count rose while the container ran.
    pub oom: bool,
    /// When the init was reaped, nanoseconds since the Unix epoch.
    pub finished_ns: u64,
}

impl ExitInfo {
    /// Parses `exit <code> <oom> <ns>` (trailing whitespace allowed).
    pub fn parse(line: &str) -> Option<Self> {
        let mut w = line.split_ascii_whitespace();
        if w.next()? != "exit" {
            return None;
        }
        let code = w.next()?.parse().ok()?;
        let oom = flag(w.next()?)?;
        let finished_ns = w.next()?.parse().ok()?;
        w.next().is_none().then_some(ExitInfo {
            code,
            oom,
            finished_ns,
        })
    }
}

impl fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exit {} {} {}",
            self.code,
            u8::from(self.oom),
            self.finished_ns
        )
    }
}

/// The reply to `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Created, waiting at the start gate.
    Created(i32),
    /// Started and not yet exited.
    Running(i32),
    /// Exited.
    Exited(ExitInfo),
}

impl State {
    /// Parses a `state` reply line.
    pub fn parse(line: &str) -> Option<Self> {
        let mut w = line.split_ascii_whitespace();
        match w.next()? {
            "created" => Some(State::Created(w.next()?.parse().ok()?)),
            "running" => Some(State::Running(w.next()?.parse().ok()?)),
            "exit" => ExitInfo::parse(line).map(State::Exited),
            _ => None,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Created(pid) => write!(f, "created {pid}"),
            State::Running(pid) => write!(f, "running {pid}"),
            State::Exited(e) => e.fmt(f),
        }
    }
}

/// Exit code of a waited-for process: its status, or 128 + the signal that killed it.
pub fn exit_code(status: Option<i32>, signal: Option<i32>) -> i32 {
    match (status, signal) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 255,
    }
}

/// Stream number of stdout in attach frames.
pub const STDOUT: u8 = 1;
/// Stream number of stderr in attach frames.
pub const STDERR: u8 = 2;

/// Docker's multiplexed frame header: `[stream, 0, 0, 0, len as u32 big-endian]`.
/// Payloads are at most a read buffer (32 KiB), so `len` always fits.
pub fn frame_header(stream: u8, len: usize) -> [u8; 8] {
    let n = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
    [stream, 0, 0, 0, n[0], n[1], n[2], n[3]]
}

/// Splits a frame header into (stream, payload length).
pub fn parse_frame_header(h: &[u8; 8]) -> (u8, u32) {
    (h[0], u32::from_be_bytes([h[4], h[5], h[6], h[7]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        let all = [
            Request::Start,
            Request::Attach {
                stdin: true,
                stdout: false,
                stderr: true,
            },
            Request::Resize { rows: 24, cols: 80 },
            Request::Wait,
            Request::State,
            Request::CloseStdin,
        ];
        for r in all {
            assert_eq!(Request::parse(&format!("{r}\n")), Ok(r));
        }
        assert_eq!(
            Request::Resize { rows: 5, cols: 7 }.to_string(),
            "resize 5 7"
        );
        assert_eq!(
            Request::Attach {
                stdin: false,
                stdout: true,
                stderr: true
            }
            .to_string(),
            "attach 0 1 1"
        );
    }

    #[test]
    fn bad_requests() {
        assert_eq!(Request::parse("  \n"), Err(ParseError::Empty));
        assert_eq!(
            Request::parse("frobnicate"),
            Err(ParseError::Unknown("frobnicate".into()))
        );
        assert!(matches!(
            Request::parse("attach 1 2 0"),
            Err(ParseError::BadArguments { .. })
        ));
        assert!(Request::parse("attach 1 1").is_err());
        assert!(Request::parse("resize 70000 1").is_err());
        assert!(Request::parse("resize -1 1").is_err());
        assert!(Request::parse("start now").is_err());
    }

    #[test]
    fn exit_lines() {
        let e = ExitInfo {
            code: 137,
            oom: true,
            finished_ns: 1_700_000_000_123_456_789,
        };
        assert_eq!(e.to_string(), "exit 137 1 1700000000123456789");
        assert_eq!(ExitInfo::parse(&format!("{e}\n")), Some(e));
        assert_eq!(ExitInfo::parse("exit 1 2 3"), None);
        assert_eq!(ExitInfo::parse("exit 1 0"), None);
        assert_eq!(ExitInfo::parse("exit 1 0 5 6"), None);
        assert_eq!(ExitInfo::parse("ok 1 0 5"), None);
    }

    #[test]
    fn states() {
        for s in [
            State::Created(7),
            State::Running(8),
            State::Exited(ExitInfo {
                code: 3,
                oom: false,
                finished_ns: 9,
            }),
        ] {
            assert_eq!(State::parse(&s.to_string()), Some(s));
        }
        assert_eq!(State::parse("paused 1"), None);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(Some(3), None), 3);
        assert_eq!(exit_code(None, Some(9)), 137);
        assert_eq!(exit_code(None, None), 255);
    }

    #[test]
    fn frames() {
        let h = frame_header(STDERR, 0x0102_0304);
        assert_eq!(h, [2, 0, 0, 0, 1, 2, 3, 4]);
        assert_eq!(parse_frame_header(&h), (2, 0x0102_0304));
    }
}
