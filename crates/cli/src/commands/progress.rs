//! Rendering of Docker's JSON progress messages (pull, push, load, import), like
//! docker/cli's `jsonmessage.DisplayJSONMessagesStream`: on a terminal one line per layer
//! redrawn in place with cursor movements; otherwise plain status lines, progress bars
//! left out.
//!
//! Runs in the CLI process. In-band errors (`{"error":…}`) end the stream with that
//! message as the error.

use std::collections::HashMap;
use std::io::{self, Write};

use anyhow::{anyhow, Result};
use serde_json::Value;

use crate::format::units::human_size;

/// Renders a stream of JSON messages to `out`.
#[derive(Debug)]
pub struct Progress<W: Write> {
    out: W,
    tty: bool,
    width: u16,
    lines: HashMap<String, usize>,
}

impl<W: Write> Progress<W> {
    /// A renderer writing to `out`; `tty` enables in-place redrawing.
    pub fn new(out: W, tty: bool) -> Self {
        let width = crate::term::size().map_or(80, |(_, w)| w);
        Progress {
            out,
            tty,
            width,
            lines: HashMap::new(),
        }
    }

    /// Renders one message; returns an error for `error`/`errorDetail` messages.
    pub fn message(&mut self, m: &Value) -> Result<()> {
        let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
        if let Some(e) = m
            .get("errorDetail")
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
        {
            return Err(anyhow!("{e}"));
        }
        if !s("error").is_empty() {
            return Err(anyhow!("{}", s("error")));
        }
        let id = s("id");
        let detail = m.get("progressDetail");
        let is_progress = detail.is_some() || m.get("progress").is_some();
        let mut diff = 0;
        if !id.is_empty() && is_progress {
            let n = self.lines.len();
            let line = *self.lines.entry(id.to_string()).or_insert_with(|| n);
            if line == n && self.tty {
                writeln!(self.out)?;
            }
            diff = self.lines.len() - line;
            if self.tty {
                write!(self.out, "\x1b[{diff}A")?;
            }
        } else {
            self.lines.clear();
        }
        let bar = detail.map(|d| self.bar(d)).unwrap_or_default();
        let stream = s("stream");
        let mut endl = "";
        if self.tty && stream.is_empty() && is_progress {
            write!(self.out, "\x1b[2K\r")?;
            endl = "\r";
        } else if is_progress && !bar.is_empty() {
            // No progress bars off a terminal.
            return Ok(());
        }
        if !id.is_empty() {
            write!(self.out, "{id}: ")?;
        }
        if is_progress && self.tty {
            write!(self.out, "{} {bar}{endl}", s("status"))?;
        } else if !stream.is_empty() {
            write!(self.out, "{stream}{endl}")?;
        } else if !s("status").is_empty() || !id.is_empty() {
            writeln!(self.out, "{}{endl}", s("status"))?;
        }
        if !id.is_empty() && self.tty && diff > 0 {
            write!(self.out, "\x1b[{diff}B")?;
        }
        self.out.flush()?;
        Ok(())
    }

    /// `[====>     ]  1.2MB/3.4MB` from `progressDetail`.
    fn bar(&self, d: &Value) -> String {
        let cur = d.get("current").and_then(Value::as_i64).unwrap_or(0);
        let total = d.get("total").and_then(Value::as_i64).unwrap_or(0);
        if cur <= 0 && total <= 0 {
            return String::new();
        }
        #[allow(clippy::cast_precision_loss, reason = "display only")]
        let (c, t) = (cur as f64, total as f64);
        if total <= 0 {
            return format!("{:>8}", human_size(c));
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "0..=50"
        )]
        let pct = ((c / t * 100.0) as usize / 2).min(50);
        let mut s = String::new();
        if self.width > 110 {
            s = format!("[{}>{}] ", "=".repeat(pct), " ".repeat(50 - pct));
        }
        if cur <= total {
            s.push_str(&format!("{:>8}/{}", human_size(c), human_size(t)));
        }
        s
    }
}

/// Renders every message of a JSON-lines body to `out`.
pub fn render(body: impl io::Read, out: &mut dyn Write, tty: bool) -> Result<()> {
    let mut p = Progress::new(out, tty);
    crate::client::json_lines(body, |m| {
        p.message(&m)?;
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plain(msgs: &[Value]) -> String {
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, false);
        for m in msgs {
            p.message(m).unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_output_skips_bars() {
        let s = plain(&[
            json!({"status":"Pulling from library/busybox","id":"latest"}),
            json!({"status":"Pulling fs layer","progressDetail":{},"id":"abc"}),
            json!({"status":"Downloading","progressDetail":{"current":10,"total":100},"id":"abc"}),
            json!({"status":"Pull complete","progressDetail":{},"id":"abc"}),
            json!({"status":"Digest: sha256:x"}),
        ]);
        assert_eq!(
            s,
            "latest: Pulling from library/busybox\nabc: Pulling fs layer\nabc: Pull complete\nDigest: sha256:x\n"
        );
    }

    #[test]
    fn terminal_redraws_in_place() {
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, true);
        p.message(&json!({"status":"Waiting","progressDetail":{},"id":"a"}))
            .unwrap();
        p.message(&json!({"status":"Waiting","progressDetail":{},"id":"b"}))
            .unwrap();
        p.message(&json!({"status":"Done","progressDetail":{},"id":"a"}))
            .unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.ends_with("\x1b[2A\x1b[2K\ra: Done \r\x1b[2B"), "{s:?}");
    }

    #[test]
    fn errors_and_streams() {
        let mut out = Vec::new();
        let mut p = Progress::new(&mut out, false);
        p.message(&json!({"stream":"Loaded image: busybox:latest\n"}))
            .unwrap();
        let e = p
            .message(&json!({"errorDetail":{"message":"boom"},"error":"boom"}))
            .unwrap_err();
        assert_eq!(e.to_string(), "boom");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Loaded image: busybox:latest\n"
        );
    }
}
