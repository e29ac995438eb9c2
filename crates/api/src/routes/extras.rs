//! `/containers/{id}/logs|top|stats|changes|export|archive`: reading a container from
//! outside. The engine does the work (`berth_engine::{logs, stats, top, archive}`);
//! this file validates queries before the 200, frames log lines (8-byte headers unless
//! the container has a tty), and bridges blocking readers/writers to streamed bodies.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use berth_engine::archive::ExtractOptions;
use berth_engine::logs::{self, LogEntry, LogOptions, LogStream};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::hijack;
use crate::request::{empty, ok_json, Req};
use crate::server::ServerState;

/// Docker's header carrying a `docker cp` path stat.
pub const PATH_STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

fn join_err(e: tokio::task::JoinError) -> ApiError {
    ApiError::internal(e.to_string())
}

/// One log entry as sent: rendered, then framed unless the container has a tty.
pub fn frame_entry(e: &LogEntry, tty: bool, timestamps: bool, details: bool) -> Vec<u8> {
    let line = logs::render(e, timestamps, details);
    if tty {
        return line;
    }
    let stream = match e.stream {
        LogStream::Stdout => 1,
        LogStream::Stderr => 2,
    };
    let mut out = hijack::frame_header(stream, line.len()).to_vec();
    out.extend_from_slice(&line);
    out
}

/// The log so far, framed for an attach with `logs=1`.
pub async fn log_replay(
    e: &Arc<berth_engine::Engine>,
    id: &str,
    stdout: bool,
    stderr: bool,
    tty: bool,
) -> ApiResult<Vec<u8>> {
    if !stdout && !stderr {
        return Ok(Vec::new());
    }
    let path = e.log_path(id);
    let opts = LogOptions {
        stdout,
        stderr,
        ..Default::default()
    };
    let entries = tokio::task::spawn_blocking(move || logs::read_all(&path, &opts))
        .await
        .map_err(join_err)??;
    Ok(entries
        .iter()
        .flat_map(|en| frame_entry(en, tty, false, false))
        .collect())
}

/// `since`/`until` values (Unix seconds, optional fraction); `0`/empty = unset.
fn time_param(req: &Req, key: &str) -> ApiResult<Option<i64>> {
    match req.q(key) {
        None | Some("") | Some("0") => Ok(None),
        Some(v) => logs::parse_unix_timestamp(v)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("invalid value for {key}: {v:?}"))),
    }
}

/// `tail`: a count, or anything else (incl. `all` and negatives) for everything.
fn tail_param(v: Option<&str>) -> Option<usize> {
    v.and_then(|t| t.trim().parse::<i64>().ok())
        .and_then(|n| usize::try_from(n).ok())
}

/// `GET /containers/{id}/logs`.
pub async fn logs(s: &Arc<ServerState>, req: Req, n: &str) -> ApiResult<Response<Body>> {
    let stdout = req.q_bool("stdout", false);
    let stderr = req.q_bool("stderr", false);
    if !stdout && !stderr {
        return Err(ApiError::bad_request(
            "Bad parameters: you must choose at least one stream",
        ));
    }
    let c = s.engine.container(n)?;
    let rec = c.record();
    if matches!(
        rec.state.status,
        berth_engine::container::Status::Removing | berth_engine::container::Status::Dead
    ) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "can not get logs from container which is dead or marked for removal",
        ));
    }
    if rec
        .host_config
        .log_config
        .as_ref()
        .and_then(|l| l.typ.as_deref())
        == Some("none")
    {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "configured logging driver does not support reading",
        ));
    }
    let opts = LogOptions {
        stdout,
        stderr,
        since: time_param(&req, "since")?,
        until: time_param(&req, "until")?,
        tail: tail_param(req.q("tail")),
        follow: req.q_bool("follow", false),
    };
    let timestamps = req.q_bool("timestamps", false);
    let details = req.q_bool("details", false);
    let tty = rec.tty();
    let path = s.engine.log_path(&rec.id);
    let (tx, body) = Body::channel();
    tokio::task::spawn_blocking(move || {
        let alive = || !tx.is_closed() && c.record().state.status.is_alive();
        let _ = logs::read_log(&path, &opts, &alive, &mut |e| {
            let data = frame_entry(e, tty, timestamps, details);
            tx.blocking_send(Bytes::from(data)).is_ok()
        });
    });
    Ok(crate::request::stream(
        hijack::stream_type(tty, req.version),
        body,
    ))
}

/// `GET /containers/{id}/top?ps_args=`.
pub async fn top(s: &Arc<ServerState>, req: Req, n: &str) -> ApiResult<Response<Body>> {
    let v = s
        .engine
        .top_container(n, req.q("ps_args").unwrap_or(""))
        .await?;
    ok_json(&v)
}

async fn sample(
    s: &Arc<ServerState>,
    c: &Arc<berth_engine::container::Container>,
) -> ApiResult<Option<berth_engine::stats::StatsSample>> {
    let (e, c) = (s.engine.clone(), c.clone());
    Ok(tokio::task::spawn_blocking(move || e.stats_sample(&c))
        .await
        .map_err(join_err)??)
}

/// `GET /containers/{id}/stats?stream=&one-shot=`.
pub async fn stats(s: &Arc<ServerState>, req: Req, n: &str) -> ApiResult<Response<Body>> {
    let c = s.engine.container(n)?;
    let stream = req.q_bool("stream", true);
    let one_shot = req.q_bool("one-shot", false);
    let machine = berth_engine::stats::machine_memory();
    let (name, id) = (c.record().name, c.id.clone());
    if !stream {
        let mut prev = None;
        let mut cur = sample(s, &c).await?;
        if cur.is_some() && !one_shot {
            tokio::time::sleep(Duration::from_secs(1)).await;
            prev = cur.take();
            cur = sample(s, &c).await?;
            if cur.is_none() {
                prev = None;
            }
        }
        let v = berth_engine::stats::stats_json(&name, &id, cur.as_ref(), prev.as_ref(), machine);
        return ok_json(&v);
    }
    let (tx, body) = Body::channel();
    let st = s.clone();
    tokio::spawn(async move {
        let mut prev = None;
        let mut sent = false;
        loop {
            let cur = sample(&st, &c).await.unwrap_or_default();
            if cur.is_none() && sent {
                break; // it stopped
            }
            let v =
                berth_engine::stats::stats_json(&name, &id, cur.as_ref(), prev.as_ref(), machine);
            let mut line = serde_json::to_vec(&v).unwrap_or_default();
            line.push(b'\n');
            if tx.send(Bytes::from(line)).await.is_err() || cur.is_none() {
                break;
            }
            sent = true;
            prev = cur;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = tx.closed() => break,
            }
        }
    });
    Ok(crate::request::stream("application/json", body))
}

/// `GET /containers/{id}/changes` → `[{"Path","Kind"}]` (`null` when none, as Docker).
pub async fn changes(s: &Arc<ServerState>, _req: Req, n: &str) -> ApiResult<Response<Body>> {
    let (e, n) = (s.engine.clone(), n.to_string());
    let list = tokio::task::spawn_blocking(move || e.container_changes(&n))
        .await
        .map_err(join_err)??;
    if list.is_empty() {
        return ok_json(&Value::Null);
    }
    let v: Vec<Value> = list
        .iter()
        .map(|c| json!({"Path": c.path.to_string_lossy(), "Kind": c.kind.docker_code()}))
        .collect();
    ok_json(&v)
}

/// A blocking `Write` feeding a body channel in 32 KiB chunks.
pub struct ChannelWriter {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    /// A writer into `tx`.
    pub fn new(tx: mpsc::Sender<Bytes>) -> Self {
        Self {
            tx,
            buf: Vec::with_capacity(32 * 1024),
        }
    }
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(32 * 1024),
        ));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 32 * 1024 {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}

/// A blocking `Read` over body chunks received from a channel.
pub struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    cur: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.cur.len());
        out[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

fn tar_response(body: Body) -> Response<Body> {
    crate::request::stream("application/x-tar", body)
}

/// `GET /containers/{id}/export`.
pub async fn export(s: &Arc<ServerState>, _req: Req, n: &str) -> ApiResult<Response<Body>> {
    let c = s.engine.container(n)?;
    let (tx, body) = Body::channel();
    let e = s.engine.clone();
    tokio::spawn(async move {
        let _ = e.export_container(&c.id, ChannelWriter::new(tx)).await;
    });
    Ok(tar_response(body))
}

/// `X-Docker-Container-Path-Stat`: base64 (standard, padded) of the stat JSON.
pub fn path_stat_header(stat: &berth_engine::archive::PathStat) -> String {
    let json = serde_json::to_vec(&stat.to_json()).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(json)
}

fn path_param(req: &Req) -> ApiResult<String> {
    match req.q("path") {
        Some(p) if !p.is_empty() => Ok(p.to_string()),
        _ => Err(ApiError::bad_request("path cannot be empty")),
    }
}

async fn stat_response(
    s: &Arc<ServerState>,
    req: &Req,
    n: &str,
    body: Body,
) -> ApiResult<(Response<Body>, String)> {
    let path = path_param(req)?;
    let c = s.engine.container(n)?;
    let stat = s
        .engine
        .stat_container_path(&c.id, &path)
        .await
        .map_err(|e| {
            let mut e = ApiError::from(e);
            if e.status == StatusCode::NOT_FOUND {
                e.message = format!("Could not find the file {path} in container {n}");
            }
            e
        })?;
    let mut r = Response::new(body);
    r.headers_mut().insert(
        PATH_STAT_HEADER,
        HeaderValue::from_str(&path_stat_header(&stat))
            .map_err(|e| ApiError::internal(e.to_string()))?,
    );
    Ok((r, c.id.clone()))
}

/// `HEAD /containers/{id}/archive?path=`.
pub async fn archive_head(s: &Arc<ServerState>, req: Req, n: &str) -> ApiResult<Response<Body>> {
    let (r, _) = stat_response(s, &req, n, Body::Empty).await?;
    Ok(r)
}

/// `GET /containers/{id}/archive?path=`.
pub async fn archive_get(s: &Arc<ServerState>, req: Req, n: &str) -> ApiResult<Response<Body>> {
    let (tx, body) = Body::channel();
    let (mut r, id) = stat_response(s, &req, n, body).await?;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    let (e, path) = (s.engine.clone(), path_param(&req)?);
    tokio::spawn(async move {
        let _ = e
            .archive_container_path(&id, &path, ChannelWriter::new(tx))
            .await;
    });
    Ok(r)
}

/// `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=&copyUIDGID=`.
pub async fn archive_put(s: &Arc<ServerState>, mut req: Req, n: &str) -> ApiResult<Response<Body>> {
    let path = path_param(&req)?;
    let c = s.engine.container(n)?;
    let opts = ExtractOptions {
        no_overwrite_dir_non_dir: req.q_bool("noOverwriteDirNonDir", false),
        copy_uid_gid: req.q_bool("copyUIDGID", false),
    };
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(16);
    if let Some(mut incoming) = req.take_body() {
        tokio::spawn(async move {
            while let Some(frame) = incoming.frame().await {
                let item = match frame {
                    Ok(f) => match f.into_data() {
                        Ok(d) => Ok(d),
                        Err(_) => continue,
                    },
                    Err(e) => Err(io::Error::other(e.to_string())),
                };
                let stop = item.is_err();
                if tx.send(item).await.is_err() || stop {
                    break;
                }
            }
        });
    }
    let reader = ChannelReader {
        rx,
        cur: Bytes::new(),
    };
    s.engine
        .extract_to_container(&c.id, &path, reader, opts)
        .await
        .map_err(|e| {
            let mut e = ApiError::from(e);
            if e.status == StatusCode::NOT_FOUND {
                e.message = format!("Could not find the file {path} in container {n}");
            }
            e
        })?;
    empty(StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn entry(stream: LogStream, line: &str) -> LogEntry {
        LogEntry {
            stream,
            time: 1_000_000_000,
            line: line.as_bytes().to_vec(),
            attrs: BTreeMap::new(),
        }
    }

    #[test]
    fn frames_non_tty_lines() {
        let f = frame_entry(&entry(LogStream::Stderr, "err\n"), false, false, false);
        assert_eq!(f, [&[2u8, 0, 0, 0, 0, 0, 0, 4][..], b"err\n"].concat());
        let f = frame_entry(&entry(LogStream::Stdout, "x\n"), false, true, false);
        assert_eq!(f[0], 1);
        assert_eq!(&f[8..], b"1970-01-01T00:00:01.000000000Z x\n");
        assert_eq!(f[7] as usize, f.len() - 8);
        let raw = frame_entry(&entry(LogStream::Stderr, "e\n"), true, false, false);
        assert_eq!(raw, b"e\n");
    }

    #[test]
    fn tail_values() {
        assert_eq!(tail_param(Some("3")), Some(3));
        assert_eq!(tail_param(Some("all")), None);
        assert_eq!(tail_param(Some("-1")), None);
        assert_eq!(tail_param(None), None);
    }

    #[test]
    fn stat_header_is_base64_json() {
        let st = berth_engine::archive::PathStat {
            name: "etc".into(),
            size: 4096,
            mode: (1 << 31) | 0o755,
            mtime: 1_000_000_000,
            link_target: String::new(),
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(path_stat_header(&st))
            .expect("base64");
        let v: Value = serde_json::from_slice(&raw).expect("json");
        assert_eq!(v["name"], "etc");
        assert_eq!(v["mode"], 2_147_484_141u64);
        assert_eq!(v["mtime"], "1970-01-01T00:00:01Z");
        assert_eq!(v["linkTarget"], "");
    }

    #[test]
    fn channel_reader_and_writer_bridge() {
        let (tx, mut rx) = mpsc::channel(4);
        let t = std::thread::spawn(move || {
            let mut w = ChannelWriter::new(tx);
            w.write_all(b"hello").expect("write");
        });
        t.join().expect("join");
        assert_eq!(rx.blocking_recv().as_deref(), Some(&b"hello"[..]));
        let (tx, rx) = mpsc::channel(4);
        tx.blocking_send(Ok(Bytes::from_static(b"ab")))
            .expect("send");
        tx.blocking_send(Ok(Bytes::from_static(b"c")))
            .expect("send");
        drop(tx);
        let mut r = ChannelReader {
            rx,
            cur: Bytes::new(),
        };
        let mut s = String::new();
        r.read_to_string(&mut s).expect("read");
        assert_eq!(s, "abc");
    }
}
