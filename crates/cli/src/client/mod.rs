//! The Docker Engine API client: one blocking unix-socket connection per request.
//!
//! Runs in the CLI process. `Client` owns the socket path and the negotiated API version
//! (the first request goes out with the newest version; one `HEAD /_ping` per process
//! when the daemon refuses it, `GET` as fallback); every response with status ≥ 400
//! becomes a `DaemonError` carrying the daemon's `message`. Streams are read with the
//! helpers in `stream`, upgrades (attach, exec start) go through `hijack`.

pub mod hijack;
pub mod http;
pub mod sock;
pub mod stream;

use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ConnectError, DaemonError};
use http::{Body, ChunkedWriter, Head};

/// The newest API version this client speaks.
pub const MAX_API_VERSION: &str = "1.47";
/// The host used when neither `-H` nor `BERTH_HOST` is given.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

/// A client for one daemon.
#[derive(Debug, Clone)]
pub struct Client {
    host: String,
    sock: PathBuf,
    version: OnceLock<String>,
}

/// A response whose status was already checked; the body is still unread.
#[derive(Debug)]
pub struct Response {
    /// Status and headers.
    pub head: Head,
    /// The body, framing undone.
    pub body: Body<BufReader<UnixStream>>,
}

impl Response {
    /// Reads and parses the whole body as JSON.
    pub fn json<T: DeserializeOwned>(self) -> Result<T> {
        let bytes = self.bytes()?;
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "cannot parse the daemon's answer: {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    }

    /// Reads the whole body.
    pub fn bytes(mut self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.body.read_to_end(&mut v)?;
        Ok(v)
    }

    /// Reads and drops the body.
    pub fn discard(self) -> Result<()> {
        self.bytes().map(drop)
    }
}

/// `major.minor` as a comparable pair; unknown parts are 0.
pub fn parse_version(v: &str) -> (u32, u32) {
    let mut it = v.split('.').map(|p| p.parse().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// True when API version `v` is `min` or newer.
pub fn version_at_least(v: &str, min: &str) -> bool {
    parse_version(v) >= parse_version(min)
}

impl Client {
    /// A client for `host` (`unix:///path`; a bare path is accepted too).
    pub fn new(host: &str) -> Result<Self> {
        let sock = if let Some(p) = host.strip_prefix("unix://") {
            PathBuf::from(p)
        } else if host.starts_with('/') {
            PathBuf::from(host)
        } else {
            bail!("unsupported host {host:?}: only unix:///path is supported");
        };
        Ok(Client {
            host: host.to_string(),
            sock,
            version: OnceLock::new(),
        })
    }

    /// Opens a new connection to the daemon.
    pub fn connect(&self) -> Result<UnixStream> {
        UnixStream::connect(&self.sock).map_err(|e| {
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) {
                anyhow::Error::new(ConnectError {
                    host: self.host.clone(),
                })
            } else {
                anyhow!("cannot connect to {}: {e}", self.host)
            }
        })
    }

    /// The negotiated API version, pinging the daemon the first time.
    pub fn api_version(&self) -> Result<&str> {
        if let Some(v) = self.version.get() {
            return Ok(v);
        }
        let v = match std::env::var("BERTH_API_VERSION") {
            Ok(v) if !v.is_empty() => v,
            _ => self.negotiate()?,
        };
        Ok(self.version.get_or_init(|| v))
    }

    fn negotiate(&self) -> Result<String> {
        let mut head = self.raw("HEAD", "/_ping", &[], None)?.head;
        if head.status != 200 {
            head = self.raw("GET", "/_ping", &[], None)?.head;
        }
        let server = head.header("api-version").unwrap_or("1.24");
        Ok(if parse_version(server) < parse_version(MAX_API_VERSION) {
            server.to_string()
        } else {
            MAX_API_VERSION.to_string()
        })
    }

    /// True when the negotiated version is at least `v`.
    pub fn version_at_least(&self, v: &str) -> Result<bool> {
        Ok(version_at_least(self.api_version()?, v))
    }

    /// `/v{version}{path}`.
    pub fn url(&self, path: &str) -> Result<String> {
        Ok(format!("/v{}{path}", self.api_version()?))
    }

    /// Sends one request on a fresh connection without a version prefix or status check.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response> {
        let stream = self.connect()?;
        http::write_request(
            &mut sock::writer(&stream),
            method,
            path,
            headers,
            body,
            false,
        )
        .with_context(|| format!("sending {method} {path}"))?;
        read_response(stream, method)
    }

    /// Sends a versioned request and turns error statuses into `DaemonError`.
    ///
    /// Before the version is known, the request goes out with [`MAX_API_VERSION`]
    /// instead of after a `_ping`: berthd speaks it, so the usual first request costs
    /// one round trip, not two. On a 400 (an older dockerd refuses a newer client with
    /// one, before any handler runs; a HEAD answer carries no message to tell) the
    /// client negotiates; it sends the request again only when the daemon's version
    /// turns out to be older, and otherwise reports the 400.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response> {
        self.request_for_version(method, path, headers, &|_| Ok(body.map(<[u8]>::to_vec)))
    }

    /// [`Client::request`] with a body that depends on the API version (fields that
    /// moved between versions): `body` is called with the version the request goes out
    /// with, once more if the daemon turns out to be older than assumed.
    pub fn request_for_version(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &dyn Fn(&str) -> Result<Option<Vec<u8>>>,
    ) -> Result<Response> {
        if self.version.get().is_none() && std::env::var_os("BERTH_API_VERSION").is_none() {
            let url = format!("/v{MAX_API_VERSION}{path}");
            let resp = self.raw(method, &url, headers, body(MAX_API_VERSION)?.as_deref())?;
            if resp.head.status != 400 {
                let _ = self.version.set(MAX_API_VERSION.to_string());
                return check(resp);
            }
            let bytes = resp.bytes().unwrap_or_default();
            if self.api_version()? == MAX_API_VERSION {
                return Err(DaemonError {
                    status: 400,
                    message: error_message(400, &bytes),
                }
                .into());
            }
        }
        let version = self.api_version()?;
        let url = format!("/v{version}{path}");
        check(self.raw(method, &url, headers, body(version)?.as_deref())?)
    }

    /// `GET path` parsed as JSON.
    pub fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.request("GET", path, &[], None)?.json()
    }

    /// `POST path` with an optional JSON body.
    pub fn post(&self, path: &str, body: Option<&Value>) -> Result<Response> {
        match body {
            Some(v) => {
                let bytes = serde_json::to_vec(v)?;
                self.request(
                    "POST",
                    path,
                    &[("Content-Type", "application/json")],
                    Some(&bytes),
                )
            }
            None => self.request("POST", path, &[], None),
        }
    }

    /// Sends `body` with chunked encoding (uploads of tar archives).
    pub fn upload(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &mut dyn Read,
    ) -> Result<Response> {
        let url = self.url(path)?;
        let stream = self.connect()?;
        http::write_request(
            &mut sock::writer(&stream),
            method,
            &url,
            headers,
            None,
            true,
        )?;
        let mut w = ChunkedWriter::new(sock::writer(&stream));
        let copied = io::copy(body, &mut w).and_then(|_| w.finish().map(drop));
        // A daemon that rejects the upload early may close its side; its answer wins.
        let resp = read_response(stream, method);
        match (resp, copied) {
            (Ok(r), _) => check(r),
            (Err(e), Ok(())) => Err(e),
            (Err(_), Err(e)) => Err(e).context("uploading the request body"),
        }
    }
}

fn read_response(stream: UnixStream, method: &str) -> Result<Response> {
    let mut r = BufReader::new(stream);
    let head = http::read_head(&mut r).context("reading the daemon's response")?;
    let framing = http::framing(method, &head);
    Ok(Response {
        head,
        body: Body::new(r, framing),
    })
}

/// Turns a status ≥ 400 into a `DaemonError`; passes other responses through.
pub fn check(resp: Response) -> Result<Response> {
    if resp.head.status < 400 {
        return Ok(resp);
    }
    let status = resp.head.status;
    let bytes = resp.bytes().unwrap_or_default();
    Err(DaemonError {
        status,
        message: error_message(status, &bytes),
    }
    .into())
}

/// The message of an error body: `{"message":…}`, else the text itself.
pub fn error_message(status: u16, body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if let Some(m) = v.get("message").and_then(Value::as_str) {
            return m.to_string();
        }
    }
    let text = String::from_utf8_lossy(body).trim().to_string();
    if text.is_empty() {
        format!("request returned {status} for API route and version, check if the server supports the requested API version")
    } else {
        text
    }
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds a query string from pairs, skipping none.
pub fn query(pairs: &[(&str, String)]) -> String {
    let mut s = String::new();
    for (k, v) in pairs {
        s.push(if s.is_empty() { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        s.push_str(&enc(v));
    }
    s
}

/// Reads newline-delimited JSON messages from a streaming body, calling `f` for each.
pub fn json_lines(body: impl Read, mut f: impl FnMut(Value) -> Result<bool>) -> Result<()> {
    let mut r = BufReader::new(body);
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(t).with_context(|| format!("bad JSON message {t:?}"))?;
        if !f(v)? {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixListener;
    use std::thread;

    /// A fake daemon answering each connection with the next canned response; returns
    /// the client and a handle yielding the raw requests it received.
    fn fake(
        responses: Vec<Vec<u8>>,
    ) -> (Client, tempfile::TempDir, thread::JoinHandle<Vec<String>>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sock");
        let l = UnixListener::bind(&path).unwrap();
        let h = thread::spawn(move || {
            let mut reqs = Vec::new();
            for resp in responses {
                let (mut s, _) = l.accept().unwrap();
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut req = String::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                    req.push_str(&line);
                }
                if let Some(n) = req
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|n| n.trim().parse::<usize>().ok())
                {
                    let mut body = vec![0; n];
                    r.read_exact(&mut body).unwrap();
                    req.push_str(&String::from_utf8_lossy(&body));
                }
                s.write_all(&resp).unwrap();
                reqs.push(req);
            }
            reqs
        });
        let c = Client::new(&format!("unix://{}", path.display())).unwrap();
        (c, dir, h)
    }

    const PING_141: &[u8] = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 0\r\n\r\n";

    const TOO_NEW: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 83\r\n\r\n{\"message\":\"client version 1.47 is too new. Maximum supported API version is 1.41\"}";

    #[test]
    fn first_request_goes_out_with_the_newest_version() {
        let (c, _d, h) = fake(vec![
            b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 37\r\n\r\n{\"message\":\"No such container: nope\"}".to_vec(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".to_vec(),
        ]);
        let e = c
            .request("GET", "/containers/nope/json", &[], None)
            .unwrap_err();
        assert!(crate::error::is_not_found(&e));
        // No ping: the version the daemon accepted is kept for later requests.
        assert_eq!(c.api_version().unwrap(), MAX_API_VERSION);
        c.request("GET", "/info", &[], None).unwrap();
        let reqs = h.join().unwrap();
        assert!(reqs[0].starts_with("GET /v1.47/containers/nope/json HTTP/1.1"));
        assert!(reqs[1].starts_with("GET /v1.47/info HTTP/1.1"));
    }

    #[test]
    fn a_bodiless_400_from_an_older_daemon_is_negotiated_and_resent() {
        let (c, _d, h) = fake(vec![
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(),
            PING_141.to_vec(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ]);
        c.request("HEAD", "/containers/web/archive?path=/tmp", &[], None)
            .unwrap();
        let reqs = h.join().unwrap();
        assert!(reqs[0].starts_with("HEAD /v1.47/containers/web/archive"));
        assert!(reqs[1].starts_with("HEAD /_ping"));
        assert!(reqs[2].starts_with("HEAD /v1.41/containers/web/archive"));
    }

    #[test]
    fn a_400_from_a_current_daemon_is_reported_not_resent() {
        let (c, _d, h) = fake(vec![
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{\"message\":\"bad spec\"}".to_vec(),
            b"HTTP/1.1 200 OK\r\nApi-Version: 1.47\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ]);
        let e = c
            .request("POST", "/containers/create", &[], Some(b"{}"))
            .unwrap_err();
        assert_eq!(e.to_string(), "Error response from daemon: bad spec");
        assert_eq!(h.join().unwrap().len(), 2, "sent once, then one ping");
    }

    #[test]
    fn a_version_dependent_body_is_rebuilt_for_an_older_daemon() {
        let (c, _d, h) = fake(vec![
            TOO_NEW.to_vec(),
            PING_141.to_vec(),
            b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}".to_vec(),
        ]);
        let body = |v: &str| Ok(Some(format!("{{\"built_for\":\"{v}\"}}").into_bytes()));
        c.request_for_version("POST", "/containers/create", &[], &body)
            .unwrap();
        let reqs = h.join().unwrap();
        assert!(reqs[0].starts_with("POST /v1.47/containers/create"));
        assert!(reqs[0].ends_with("{\"built_for\":\"1.47\"}"), "{}", reqs[0]);
        assert!(reqs[2].starts_with("POST /v1.41/containers/create"));
        assert!(reqs[2].ends_with("{\"built_for\":\"1.41\"}"), "{}", reqs[2]);
    }

    #[test]
    fn negotiates_and_reports_errors() {
        let (c, _d, h) = fake(vec![
            TOO_NEW.to_vec(),
            PING_141.to_vec(),
            b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 37\r\n\r\n{\"message\":\"No such container: nope\"}".to_vec(),
        ]);
        let e = c
            .request("GET", "/containers/nope/json", &[], None)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Error response from daemon: No such container: nope"
        );
        assert!(crate::error::is_not_found(&e));
        let reqs = h.join().unwrap();
        assert!(reqs[0].starts_with("GET /v1.47/containers/nope/json HTTP/1.1"));
        assert!(reqs[1].starts_with("HEAD /_ping HTTP/1.1"));
        assert!(reqs[2].starts_with("GET /v1.41/containers/nope/json HTTP/1.1"));
    }

    #[test]
    fn newer_server_is_capped_and_ping_falls_back_to_get() {
        let (c, _d, h) = fake(vec![
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n".to_vec(),
            b"HTTP/1.1 200 OK\r\nApi-Version: 1.52\r\nContent-Length: 2\r\n\r\nOK".to_vec(),
        ]);
        assert_eq!(c.api_version().unwrap(), MAX_API_VERSION);
        let reqs = h.join().unwrap();
        assert!(reqs[1].starts_with("GET /_ping"));
    }

    #[test]
    fn chunked_json_lines() {
        let body = "{\"status\":\"a\"}\r\n{\"status\":\"b\"}\r\n";
        let resp = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
            7, &body[..7], body.len() - 7, &body[7..]
        );
        let (c, _d, _h) = fake(vec![resp.into_bytes()]);
        let r = c
            .post("/images/create?fromImage=x", Some(&serde_json::json!({})))
            .unwrap();
        let mut seen = Vec::new();
        json_lines(r.body, |v| {
            seen.push(v["status"].as_str().unwrap().to_string());
            Ok(true)
        })
        .unwrap();
        assert_eq!(seen, ["a", "b"]);
    }

    #[test]
    fn hijack_streams_frames_and_half_closes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.sock");
        let l = UnixListener::bind(&path).unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            s.write_all(PING_141).unwrap();
            let (s2, _) = l.accept().unwrap();
            let mut r = BufReader::new(s2.try_clone().unwrap());
            let mut head = String::new();
            while r.read_line(&mut head).unwrap() > 2 && !head.ends_with("\r\n\r\n") {}
            assert!(head.contains("Upgrade: tcp"));
            let mut w = s2;
            w.write_all(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
                .unwrap();
            // Echo stdin back as a stdout frame once the client half-closes.
            let mut input = Vec::new();
            r.read_to_end(&mut input).unwrap();
            let mut frame = vec![1, 0, 0, 0];
            frame.extend_from_slice(&u32::try_from(input.len()).unwrap().to_be_bytes());
            frame.extend_from_slice(&input);
            w.write_all(&frame).unwrap();
        });
        let c = Client::new(&format!("unix://{}", path.display())).unwrap();
        let hj = c
            .hijack("POST", "/containers/x/attach?stream=1", None)
            .unwrap();
        sock::writer(&hj.writer).write_all(b"ping").unwrap();
        hj.writer.shutdown(std::net::Shutdown::Write).unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        stream::demux(hj.reader, &mut out, &mut err).unwrap();
        assert_eq!(out, b"ping");
        server.join().unwrap();
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(parse_version("1.9") < parse_version("1.41"));
        assert!(parse_version("1.47") > parse_version("1.41"));
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            error_message(404, br#"{"message":"No such container: x"}"#),
            "No such container: x"
        );
        assert_eq!(error_message(500, b"boom\n"), "boom");
        assert!(error_message(404, b"").contains("404"));
    }

    #[test]
    fn query_encoding() {
        assert_eq!(
            query(&[("name", "a b".into()), ("filters", "{\"x\":1}".into())]),
            "?name=a%20b&filters=%7B%22x%22%3A1%7D"
        );
    }
}
