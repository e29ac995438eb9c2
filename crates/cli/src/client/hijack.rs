//! Connection hijacking for attach and exec start: `Connection: Upgrade`, `Upgrade: tcp`,
//! expect `101`, then a raw bidirectional byte stream.
//!
//! Runs in the CLI process. `Hijacked` owns the socket: `reader` for the container's
//! output (bytes the daemon sent right after the head stay buffered in it) and `writer`
//! (a dup of the same socket) for stdin; half-closing the writer gives the container EOF
//! on stdin while output keeps flowing.

use std::io::BufReader;
use std::os::unix::net::UnixStream;

use anyhow::{Context, Result};
use serde_json::Value;

use super::{check, http, Client, Response};

/// An upgraded connection.
#[derive(Debug)]
pub struct Hijacked {
    /// The container's output.
    pub reader: BufReader<UnixStream>,
    /// Where stdin goes.
    pub writer: UnixStream,
}

impl Client {
    /// `method path` with upgrade headers; fails unless the daemon answers 101 (or 200).
    pub fn hijack(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Hijacked> {
        let url = self.url(path)?;
        let stream = self.connect()?;
        let bytes = body.map(serde_json::to_vec).transpose()?;
        let mut headers = vec![("Connection", "Upgrade"), ("Upgrade", "tcp")];
        if bytes.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        http::write_request(
            &mut super::sock::writer(&stream),
            method,
            &url,
            &headers,
            bytes.as_deref(),
            false,
        )
        .with_context(|| format!("sending {method} {url}"))?;
        let writer = stream.try_clone().context("dup the hijacked socket")?;
        let mut reader = BufReader::new(stream);
        let head = http::read_head(&mut reader).context("reading the upgrade response")?;
        match head.status {
            101 | 200 => Ok(Hijacked { reader, writer }),
            status => {
                let framing = http::framing(method, &head);
                let resp = Response {
                    head,
                    body: http::Body::new(reader, framing),
                };
                check(resp)?;
                anyhow::bail!("unable to upgrade to tcp, received {status}")
            }
        }
    }
}
