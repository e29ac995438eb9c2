//! Reading a container's json-file log (written by `berth-shim`): entries from the
//! rotated files oldest first, `tail`, `since`/`until`, stream selection, and following
//! the live file across rotations until the container stops.
//!
//! Runs in berthd on a blocking thread (`spawn_blocking`): plain reads, a 50 ms poll for
//! `follow`. Owns nothing on disk; the shim owns the files. Order of filters as in moby
//! `daemon/logger/loggerutils/logfile.go`: `tail` counts raw entries, then `since`/`until`,
//! then the stream choice (so `--tail 1` of stdout alone can print nothing).

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{EngineError, Result};

/// How often `follow` looks at the file.
const POLL: Duration = Duration::from_millis(50);

/// Which stream an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// stdout (and a tty's output).
    Stdout,
    /// stderr.
    Stderr,
}

/// One decoded json-file entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Its stream.
    pub stream: LogStream,
    /// Unix nanoseconds.
    pub time: i64,
    /// The bytes as logged (with the trailing newline, if the line had one).
    pub line: Vec<u8>,
    /// Docker's `attrs` (labels/env picked by log-opts); empty for berth's own logs.
    pub attrs: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawEntry {
    log: String,
    stream: String,
    time: String,
    #[serde(default)]
    attrs: Option<BTreeMap<String, String>>,
}

/// Decodes one line of a json-file log; `None` for a torn or foreign line.
pub fn parse_line(line: &[u8]) -> Option<LogEntry> {
    let raw: RawEntry = serde_json::from_slice(line).ok()?;
    let stream = match raw.stream.as_str() {
        "stdout" => LogStream::Stdout,
        "stderr" => LogStream::Stderr,
        _ => return None,
    };
    Some(LogEntry {
        stream,
        time: parse_rfc3339_nanos(&raw.time)?,
        line: raw.log.into_bytes(),
        attrs: raw.attrs.unwrap_or_default(),
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 with optional fraction and `Z` or `±hh:mm` → Unix nanoseconds.
pub fn parse_rfc3339_nanos(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut nanos = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &s[start..i];
        if frac.is_empty() || frac.len() > 9 {
            return None;
        }
        nanos = frac.parse::<i64>().ok()? * 10i64.pow(9 - frac.len() as u32);
    }
    let offset = match &s[i..] {
        "Z" | "z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
            let oh: i64 = tz.get(1..3)?.parse().ok()?;
            let om: i64 = tz.get(4..6)?.parse().ok()?;
            let o = oh * 3600 + om * 60;
            if tz.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    Some(secs * 1_000_000_000 + nanos)
}

/// Docker's `since`/`until` query values: Unix seconds with an optional fraction
/// (`1700000000.123456789`), as moby `api/types/time.ParseTimestamps` takes them.
pub fn parse_unix_timestamp(v: &str) -> Option<i64> {
    let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
    let secs: i64 = secs.parse().ok()?;
    if frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().ok()? * 10i64.pow(9 - frac.len() as u32)
    };
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Include stdout entries.
    pub stdout: bool,
    /// Include stderr entries.
    pub stderr: bool,
    /// Only entries at or after this Unix ns time.
    pub since: Option<i64>,
    /// Only entries at or before this Unix ns time.
    pub until: Option<i64>,
    /// Only the last N entries of what exists now (`None` = all).
    pub tail: Option<usize>,
    /// Keep reading new entries until the container stops.
    pub follow: bool,
}

impl LogOptions {
    /// Whether `e` passes the time and stream filters; `Err(())` once past `until`.
    fn admit(&self, e: &LogEntry) -> std::result::Result<bool, ()> {
        if self.since.is_some_and(|s| e.time < s) {
            return Ok(false);
        }
        if self.until.is_some_and(|u| e.time > u) {
            return Err(());
        }
        Ok(match e.stream {
            LogStream::Stdout => self.stdout,
            LogStream::Stderr => self.stderr,
        })
    }
}

/// The files of a log, oldest first: `L.n`, …, `L.1`, `L` (missing ones skipped).
pub fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut rotated = Vec::new();
    for i in 1.. {
        let mut p = path.as_os_str().to_owned();
        p.push(format!(".{i}"));
        let p = PathBuf::from(p);
        if !p.exists() {
            break;
        }
        rotated.push(p);
    }
    rotated.reverse();
    rotated.push(path.to_path_buf());
    rotated
}

/// Keeps the last `n` of the entries pushed (all when `n` is `None`).
#[derive(Debug)]
pub struct Tail {
    n: Option<usize>,
    kept: VecDeque<LogEntry>,
}

impl Tail {
    /// A selector for the last `n` entries.
    pub fn new(n: Option<usize>) -> Self {
        Self {
            n,
            kept: VecDeque::new(),
        }
    }
    /// Offers an entry.
    pub fn push(&mut self, e: LogEntry) {
        if self.n == Some(0) {
            return;
        }
        self.kept.push_back(e);
        if self.n.is_some_and(|n| self.kept.len() > n) {
            self.kept.pop_front();
        }
    }
    /// The kept entries, oldest first.
    pub fn into_entries(self) -> VecDeque<LogEntry> {
        self.kept
    }
}

/// An open log file and how far it has been read (complete lines only).
struct Cursor {
    reader: BufReader<File>,
    ino: (u64, u64),
    pos: u64,
    partial: Vec<u8>,
}

impl Cursor {
    fn open(path: &Path) -> io::Result<Option<Cursor>> {
        match File::open(path) {
            Ok(f) => {
                let m = f.metadata()?;
                Ok(Some(Cursor {
                    reader: BufReader::with_capacity(64 * 1024, f),
                    ino: (m.dev(), m.ino()),
                    pos: 0,
                    partial: Vec::new(),
                }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Calls `f` for every complete entry from the read position to the end of file.
    fn drain(&mut self, f: &mut dyn FnMut(LogEntry) -> bool) -> io::Result<bool> {
        // A file truncated under us (single-file rotation): start again at 0.
        if self.reader.get_ref().metadata()?.len() < self.pos {
            self.reader.seek(SeekFrom::Start(0))?;
            self.pos = 0;
            self.partial.clear();
        }
        loop {
            let n = self.reader.read_until(b'\n', &mut self.partial)?;
            if n == 0 {
                return Ok(true);
            }
            self.pos += n as u64;
            if self.partial.last() != Some(&b'\n') {
                // A line still being written: keep it until its newline arrives.
                continue;
            }
            let line = std::mem::take(&mut self.partial);
            if let Some(e) = parse_line(&line) {
                if !f(e) {
                    return Ok(false);
                }
            }
        }
    }
}

fn read_err(path: &Path, e: io::Error) -> EngineError {
    EngineError::io(format!("read log {}", path.display()), e)
}

/// Streams the log at `path` to `sink` per `opts`. With `follow`, keeps polling the live
/// file (re-opening it after a rotation) while `alive()` is true, then reads what is
/// left and returns. Stops early when `sink` returns false (the client went away).
pub fn read_log(
    path: &Path,
    opts: &LogOptions,
    alive: &dyn Fn() -> bool,
    sink: &mut dyn FnMut(&LogEntry) -> bool,
) -> Result<()> {
    // Open the live file first, so a rotation while reading the older ones cannot make
    // an entry disappear between the two.
    let mut live = Cursor::open(path).map_err(|e| read_err(path, e))?;
    let mut tail = Tail::new(opts.tail);
    let mut collect = |e: LogEntry| {
        tail.push(e);
        true
    };
    for file in log_files(path) {
        if file == path {
            break;
        }
        if let Some(mut c) = Cursor::open(&file).map_err(|e| read_err(&file, e))? {
            if live.as_ref().is_some_and(|l| l.ino == c.ino) {
                continue;
            }
            c.drain(&mut collect).map_err(|e| read_err(&file, e))?;
        }
    }
    if let Some(l) = live.as_mut() {
        l.drain(&mut collect).map_err(|e| read_err(path, e))?;
    }
    let mut past_until = false;
    let mut emit = |e: LogEntry| -> bool {
        match opts.admit(&e) {
            Ok(true) => sink(&e),
            Ok(false) => true,
            Err(()) => {
                past_until = true;
                false
            }
        }
    };
    for e in tail.into_entries() {
        if !emit(e) {
            return Ok(());
        }
    }
    if !opts.follow {
        return Ok(());
    }
    loop {
        let running = alive();
        // Rotated: finish the old file through its open fd, then switch.
        let now = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
        if let Some(l) = live.as_mut() {
            if !l.drain(&mut emit).map_err(|e| read_err(path, e))? {
                return Ok(());
            }
        }
        if now.is_some() && now != live.as_ref().map(|l| l.ino) {
            live = Cursor::open(path).map_err(|e| read_err(path, e))?;
            continue;
        }
        if !running {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}

/// The whole log of the past as one `Vec` (for `attach?logs=1`).
pub fn read_all(path: &Path, opts: &LogOptions) -> Result<Vec<LogEntry>> {
    let mut out = Vec::new();
    let opts = LogOptions {
        follow: false,
        ..opts.clone()
    };
    read_log(path, &opts, &|| false, &mut |e| {
        out.push(e.clone());
        true
    })?;
    Ok(out)
}

/// Docker's `details` prefix: `k=v,k2=v2` (sorted), with URL-style escaping of values.
pub fn attrs_prefix(attrs: &BTreeMap<String, String>) -> String {
    attrs
        .iter()
        .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
        .collect::<Vec<_>>()
        .join(",")
}

fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Renders one entry as `docker logs` shows it: `[time ][attrs ]line`.
pub fn render(e: &LogEntry, timestamps: bool, details: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(e.line.len() + 40);
    if timestamps {
        let secs = e.time.div_euclid(1_000_000_000);
        let nanos = e.time.rem_euclid(1_000_000_000) as u32;
        berth_shim::log::write_rfc3339_nanos(&mut out, secs, nanos);
        out.push(b' ');
    }
    if details {
        out.extend_from_slice(attrs_prefix(&e.attrs).as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(&e.line);
    out
}

/// Reads `r` fully (small helper for tests of files written elsewhere).
#[cfg(test)]
fn slurp(mut r: impl std::io::Read) -> Vec<u8> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).expect("read");
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn line(log: &str, stream: &str, time: &str) -> String {
        format!(
            "{{\"log\":{},\"stream\":\"{stream}\",\"time\":\"{time}\"}}\n",
            serde_json::to_string(log).expect("json")
        )
    }

    #[test]
    fn parses_json_file_lines() {
        let e = parse_line(line("hi\n", "stderr", "2026-11-28T04:21:24.123456789Z").as_bytes())
            .expect("entry");
        assert_eq!(e.stream, LogStream::Stderr);
        assert_eq!(e.line, b"hi\n");
        assert_eq!(e.time, 1_795_839_684_123_456_789);
        assert!(parse_line(b"{\"log\":\"x\"").is_none());
        assert!(parse_line(line("x", "stdin", "2026-11-28T04:21:24Z").as_bytes()).is_none());
    }

    #[test]
    fn parses_rfc3339_variants() {
        assert_eq!(
            parse_rfc3339_nanos("1970-01-01T00:00:01Z"),
            Some(1_000_000_000)
        );
        assert_eq!(
            parse_rfc3339_nanos("1970-01-01T00:00:01.5Z"),
            Some(1_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_nanos("1970-01-01T01:00:01+01:00"),
            Some(1_000_000_000)
        );
        assert_eq!(parse_rfc3339_nanos("1970-01-01 00:00:01Z"), None);
        assert_eq!(parse_unix_timestamp("12.25"), Some(12_250_000_000));
        assert_eq!(parse_unix_timestamp("12"), Some(12_000_000_000));
        assert_eq!(parse_unix_timestamp("x"), None);
    }

    #[test]
    fn renders_timestamps_fixed_width() {
        let e = LogEntry {
            stream: LogStream::Stdout,
            time: 1_000_000_000 + 5_000,
            line: b"a\n".to_vec(),
            attrs: BTreeMap::from([("k".into(), "v w".into())]),
        };
        assert_eq!(
            render(&e, true, false),
            b"1970-01-01T00:00:01.000005000Z a\n"
        );
        assert_eq!(render(&e, false, true), b"k=v+w a\n");
    }

    #[test]
    fn tail_keeps_the_last_entries() {
        let mk = |i: i64| LogEntry {
            stream: LogStream::Stdout,
            time: i,
            line: vec![],
            attrs: BTreeMap::new(),
        };
        let mut t = Tail::new(Some(2));
        (0..5).for_each(|i| t.push(mk(i)));
        let v: Vec<i64> = t.into_entries().iter().map(|e| e.time).collect();
        assert_eq!(v, [3, 4]);
        let mut t = Tail::new(Some(0));
        t.push(mk(1));
        assert!(t.into_entries().is_empty());
    }

    #[test]
    fn reads_rotated_files_in_order_with_filters() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("c-json.log");
        let write = |path: PathBuf, lines: &[(&str, &str, i64)]| {
            let mut f = File::create(path).expect("create");
            for (l, s, t) in lines {
                let mut ts = Vec::new();
                berth_shim::log::write_rfc3339_nanos(&mut ts, *t, 0);
                f.write_all(line(l, s, std::str::from_utf8(&ts).expect("utf8")).as_bytes())
                    .expect("write");
            }
        };
        write(p.with_file_name("c-json.log.2"), &[("a\n", "stdout", 1)]);
        write(p.with_file_name("c-json.log.1"), &[("b\n", "stderr", 2)]);
        write(p.clone(), &[("c\n", "stdout", 3), ("d\n", "stdout", 4)]);
        // A torn last line is not an entry yet.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .expect("open")
            .write_all(b"{\"log\":\"e")
            .expect("write");
        let texts = |o: LogOptions| -> Vec<String> {
            read_all(&p, &o)
                .expect("read")
                .iter()
                .map(|e| String::from_utf8_lossy(&e.line).trim().to_string())
                .collect()
        };
        let all = LogOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        assert_eq!(texts(all.clone()), ["a", "b", "c", "d"]);
        assert_eq!(
            texts(LogOptions {
                stderr: false,
                ..all.clone()
            }),
            ["a", "c", "d"]
        );
        assert_eq!(
            texts(LogOptions {
                tail: Some(3),
                stdout: false,
                ..all.clone()
            }),
            ["b"]
        );
        assert_eq!(
            texts(LogOptions {
                since: Some(2_000_000_000),
                until: Some(3_000_000_000),
                ..all.clone()
            }),
            ["b", "c"]
        );
        assert_eq!(slurp(File::open(&p).expect("open")).last(), Some(&b'e'));
    }

    #[test]
    fn follow_sees_appends_and_rotation_then_stops() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("f-json.log");
        std::fs::write(&p, line("one\n", "stdout", "1970-01-01T00:00:01Z")).expect("write");
        let p2 = p.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(120));
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&p2)
                .expect("open");
            f.write_all(line("two\n", "stdout", "1970-01-01T00:00:02Z").as_bytes())
                .expect("write");
            std::fs::rename(&p2, p2.with_file_name("f-json.log.1")).expect("rotate");
            std::fs::write(&p2, line("three\n", "stderr", "1970-01-01T00:00:03Z")).expect("write");
        });
        let start = std::time::Instant::now();
        let alive = || start.elapsed() < Duration::from_millis(500);
        let mut got = Vec::new();
        let opts = LogOptions {
            stdout: true,
            stderr: true,
            follow: true,
            ..Default::default()
        };
        read_log(&p, &opts, &alive, &mut |e| {
            got.push(String::from_utf8_lossy(&e.line).trim().to_string());
            true
        })
        .expect("follow");
        writer.join().expect("writer");
        assert_eq!(got, ["one", "two", "three"]);
    }
}
