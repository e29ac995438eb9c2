//! The container log in Docker's json-file format, with size-based rotation.
//!
//! Runs in the shim. [`LogFile`] owns the open log file `L` and renames `L`, `L.1`, …
//! when it rotates; nothing else writes there while the shim lives. Entries are written
//! with one plain write(2) each and never fsynced. [`LineSplitter`] turns a byte stream
//! into Docker's entries: one per `\n`-terminated line, partial lines flushed at 16 KiB
//! or at exit. Docker's `attrs` and `partial` metadata are left out.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Longest partial line kept before it is written as an entry of its own.
pub const MAX_PARTIAL: usize = 16 * 1024;

/// Which stream an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// stdout (also the tty).
    Stdout,
    /// stderr.
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Appends `secs.nanos` since the epoch as RFC 3339 UTC with nanoseconds
/// (`2026-11-28T04:21:24.123456789Z`).
pub fn write_rfc3339_nanos(out: &mut Vec<u8>, secs: i64, nanos: u32) {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
}

/// Appends `s` as the inside of a JSON string the way Go's encoding/json does (Docker
/// writes these logs with it): `"` `\` and controls escaped, `<` `>` `&` and U+2028/9
/// as `\uXXXX`, invalid UTF-8 replaced by U+FFFD.
pub fn write_json_escaped(out: &mut Vec<u8>, s: &[u8]) {
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if u32::from(c) < 0x20
                    || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') =>
                {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
}

/// Appends one json-file entry (with its trailing `\n`) to `out`.
pub fn encode_entry(out: &mut Vec<u8>, text: &[u8], stream: Stream, time: SystemTime) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    out.extend_from_slice(b"{\"log\":\"");
    write_json_escaped(out, text);
    out.extend_from_slice(b"\",\"stream\":\"");
    out.extend_from_slice(stream.name().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    write_rfc3339_nanos(
        out,
        i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        since.subsec_nanos(),
    );
    out.extend_from_slice(b"\"}\n");
}

/// The renames of one rotation, in order: `L.(n-1)` → `L.n`, …, `L` → `L.1` for
/// `max_file` files in total. Empty when only one file is kept (it is truncated).
pub fn rotation_plan(path: &Path, max_file: u32) -> Vec<(PathBuf, PathBuf)> {
    let numbered = |i: u32| {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".{i}"));
        PathBuf::from(p)
    };
    let mut plan = Vec::new();
    for i in (1..max_file).rev() {
        let from = if i == 1 {
            path.to_path_buf()
        } else {
            numbered(i - 1)
        };
        plan.push((from, numbered(i)));
    }
    plan
}

/// The open json-file log with its rotation settings.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: u64,
    max_file: u32,
    entry: Vec<u8>,
}

fn open_append(path: &Path, truncate: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true);
    if truncate {
        o.write(true).truncate(true);
    } else {
        o.append(true);
    }
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o640);
    o.open(path)
}

impl LogFile {
    /// Opens (appends to) `path`; `max_size` 0 means unlimited, `max_file` ≥ 1.
    pub fn open(path: &Path, max_size: u64, max_file: u32) -> io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = open_append(path, false)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            file,
            size,
            max_size,
            max_file: max_file.max(1),
            entry: Vec::new(),
        })
    }

    /// Writes one entry, rotating first when it would push the file past max-size.
    pub fn write_entry(&mut self, text: &[u8], stream: Stream) -> io::Result<()> {
        self.entry.clear();
        encode_entry(&mut self.entry, text, stream, SystemTime::now());
        let len = self.entry.len() as u64;
        if self.max_size > 0 && self.size > 0 && self.size + len > self.max_size {
            self.rotate()?;
        }
        self.file.write_all(&self.entry)?;
        self.size += len;
        if self.entry.capacity() > 4 * MAX_PARTIAL {
            self.entry = Vec::new();
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let plan = rotation_plan(&self.path, self.max_file);
        for (from, to) in &plan {
            match std::fs::rename(from, to) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        self.file = open_append(&self.path, plan.is_empty())?;
        self.size = 0;
        Ok(())
    }
}

/// Cuts a byte stream into log entries: complete lines, or partial lines of
/// [`MAX_PARTIAL`] bytes. Keeps the unfinished tail between reads.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// Feeds `data`, calling `emit` for every entry it completes.
    pub fn feed(&mut self, mut data: &[u8], emit: &mut dyn FnMut(&[u8])) {
        while !data.is_empty() {
            let room = MAX_PARTIAL - self.partial.len();
            let newline = data[..data.len().min(room)]
                .iter()
                .position(|&b| b == b'\n');
            match newline {
                Some(i) if self.partial.is_empty() => emit(&data[..=i]),
                Some(i) => {
                    self.partial.extend_from_slice(&data[..=i]);
                    emit(&self.partial);
                    self.partial.clear();
                }
                None if data.len() < room => {
                    self.partial.extend_from_slice(data);
                    return;
                }
                None => {
                    self.partial.extend_from_slice(&data[..room]);
                    emit(&self.partial);
                    self.partial.clear();
                    data = &data[room..];
                    continue;
                }
            }
            let i = newline.unwrap_or(0);
            data = &data[i + 1..];
        }
    }

    /// Emits the unfinished tail, if any (at exit).
    pub fn flush(&mut self, emit: &mut dyn FnMut(&[u8])) {
        if !self.partial.is_empty() {
            emit(&self.partial);
            self.partial = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entries(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, &mut |e| out.push(e.to_vec()));
        }
        s.flush(&mut |e| out.push(e.to_vec()));
        out
    }

    #[test]
    fn splits_lines() {
        assert_eq!(
            entries(&[b"a\nb", b"c\n\nd"]),
            vec![
                b"a\n".to_vec(),
                b"bc\n".to_vec(),
                b"\n".to_vec(),
                b"d".to_vec()
            ]
        );
        assert!(entries(&[b""]).is_empty());
    }

    #[test]
    fn long_partial_lines_are_cut() {
        let big = vec![b'x'; MAX_PARTIAL * 2 + 5];
        let mut data = big.clone();
        data.push(b'\n');
        let got = entries(&[&data[..100], &data[100..]]);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].len(), MAX_PARTIAL);
        assert_eq!(got[1].len(), MAX_PARTIAL);
        assert_eq!(got[2], b"xxxxx\n".to_vec());
    }

    #[test]
    fn time_format() {
        let mut v = Vec::new();
        write_rfc3339_nanos(&mut v, 1_795_839_684, 123_456_789);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "2026-11-28T04:21:24.123456789Z"
        );
        let mut v = Vec::new();
        write_rfc3339_nanos(&mut v, 951_782_400, 5);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "2000-02-29T00:00:00.000000005Z"
        );
    }

    #[test]
    fn json_escaping_matches_go() {
        let mut v = Vec::new();
        let mut input = b"a\"b\\c\n\t\x01<&>\xff".to_vec();
        input.extend_from_slice("\u{e9}".as_bytes());
        write_json_escaped(&mut v, &input);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "a\\\"b\\\\c\\n\\t\\u0001\\u003c\\u0026\\u003e\u{fffd}é"
        );
    }

    #[test]
    fn entry_is_json() {
        let mut v = Vec::new();
        let t = UNIX_EPOCH + Duration::new(1_795_839_684, 7);
        encode_entry(&mut v, b"hi\n", Stream::Stderr, t);
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "{\"log\":\"hi\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-28T04:21:24.000000007Z\"}\n"
        );
    }

    #[test]
    fn rotation_renames() {
        let p = Path::new("/l/c.log");
        assert!(rotation_plan(p, 1).is_empty());
        let plan = rotation_plan(p, 3);
        let s: Vec<(String, String)> = plan
            .iter()
            .map(|(a, b)| (a.display().to_string(), b.display().to_string()))
            .collect();
        assert_eq!(
            s,
            vec![
                ("/l/c.log.1".into(), "/l/c.log.2".into()),
                ("/l/c.log".into(), "/l/c.log.1".into())
            ]
        );
    }
}
