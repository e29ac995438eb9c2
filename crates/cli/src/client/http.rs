//! A minimal blocking HTTP/1.1 codec: request writing and response parsing over any
//! `Read`/`Write` pair (in practice a `UnixStream` to the daemon).
//!
//! Runs in the CLI process. Handles exactly what the Docker Engine API uses: bodies with
//! `Content-Length`, chunked bodies (both directions), bodies delimited by EOF, and the
//! response head of an upgrade (101). Keep-alive is not used: one connection per request.

use std::io::{self, BufRead, Read, Write};

/// A parsed response head: status code and headers (names lowercased).
#[derive(Debug, Clone)]
pub struct Head {
    /// HTTP status code.
    pub status: u16,
    /// Header fields in arrival order, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Writes a request head and, for byte bodies, the body in one write.
pub fn write_request(
    w: &mut impl Write,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    chunked: bool,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(256 + body.map_or(0, <[u8]>::len));
    write!(
        buf,
        "{method} {path} HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth-cli/{}\r\n",
        env!("CARGO_PKG_VERSION")
    )?;
    for (k, v) in headers {
        write!(buf, "{k}: {v}\r\n")?;
    }
    if chunked {
        buf.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    } else if let Some(b) = body {
        write!(buf, "Content-Length: {}\r\n", b.len())?;
    } else if matches!(method, "POST" | "PUT") {
        buf.extend_from_slice(b"Content-Length: 0\r\n");
    }
    buf.extend_from_slice(b"\r\n");
    if let Some(b) = body {
        buf.extend_from_slice(b);
    }
    w.write_all(&buf)?;
    w.flush()
}

/// Reads a response head (status line and headers) up to the blank line.
pub fn read_head(r: &mut impl BufRead) -> io::Result<Head> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before the response",
        ));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad(format!("malformed status line {:?}", line.trim_end())))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(bad("connection closed inside the response head".into()));
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    Ok(Head { status, headers })
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (HEAD, 1xx, 204, 304).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    Eof,
}

/// Picks the body framing for a response to `method`.
pub fn framing(method: &str, head: &Head) -> Framing {
    if method == "HEAD" || head.status / 100 == 1 || head.status == 204 || head.status == 304 {
        return Framing::Empty;
    }
    if head
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        return Framing::Chunked;
    }
    match head.header("content-length").and_then(|v| v.parse().ok()) {
        Some(n) => Framing::Length(n),
        None => Framing::Eof,
    }
}

/// A response body reader that undoes the framing.
#[derive(Debug)]
pub struct Body<R> {
    inner: R,
    framing: Framing,
    /// Bytes left in the current chunk (chunked) or in the body (length).
    left: u64,
    done: bool,
}

impl<R: BufRead> Body<R> {
    /// Wraps `inner`, positioned just after the response head.
    pub fn new(inner: R, framing: Framing) -> Self {
        let (left, done) = match framing {
            Framing::Empty => (0, true),
            Framing::Length(n) => (n, n == 0),
            Framing::Chunked | Framing::Eof => (0, false),
        };
        Body {
            inner,
            framing,
            left,
            done,
        }
    }

    /// Reads the next chunk-size line; marks the body done at the last chunk.
    fn next_chunk(&mut self) -> io::Result<()> {
        let mut line = String::new();
        if self.inner.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a chunked body",
            ));
        }
        let size = line.trim().split(';').next().unwrap_or("").trim();
        let n = u64::from_str_radix(size, 16)
            .map_err(|_| bad(format!("bad chunk size {:?}", line.trim())))?;
        if n == 0 {
            // Trailers until the blank line.
            loop {
                line.clear();
                if self.inner.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    break;
                }
            }
            self.done = true;
        }
        self.left = n;
        Ok(())
    }
}

impl<R: BufRead> Read for Body<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        match self.framing {
            Framing::Empty => Ok(0),
            Framing::Eof => self.inner.read(buf),
            Framing::Length(_) => {
                let want = usize::try_from(self.left)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                let n = self.inner.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed inside the body",
                    ));
                }
                self.left -= n as u64;
                self.done = self.left == 0;
                Ok(n)
            }
            Framing::Chunked => {
                if self.left == 0 {
                    self.next_chunk()?;
                    if self.done {
                        return Ok(0);
                    }
                }
                let want = usize::try_from(self.left)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                let n = self.inner.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed inside a chunk",
                    ));
                }
                self.left -= n as u64;
                if self.left == 0 {
                    let mut crlf = [0u8; 2];
                    self.inner.read_exact(&mut crlf)?;
                }
                Ok(n)
            }
        }
    }
}

/// Writes a request body with chunked transfer encoding.
#[derive(Debug)]
pub struct ChunkedWriter<W: Write> {
    inner: W,
}

impl<W: Write> ChunkedWriter<W> {
    /// Wraps a writer positioned after a request head that announced chunked encoding.
    pub fn new(inner: W) -> Self {
        ChunkedWriter { inner }
    }

    /// Writes the terminating zero-length chunk and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.write_all(b"0\r\n\r\n")?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ChunkedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut frame = Vec::with_capacity(buf.len() + 12);
        write!(frame, "{:x}\r\n", buf.len())?;
        frame.extend_from_slice(buf);
        frame.extend_from_slice(b"\r\n");
        self.inner.write_all(&frame)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn parse(raw: &[u8], method: &str) -> (Head, String) {
        let mut r = Cursor::new(raw.to_vec());
        let head = read_head(&mut r).unwrap();
        let f = framing(method, &head);
        let mut body = String::new();
        Body::new(&mut r, f).read_to_string(&mut body).unwrap();
        (head, body)
    }

    #[test]
    fn content_length_body() {
        let (h, b) = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nApi-Version: 1.41\r\n\r\nhelloEXTRA",
            "GET",
        );
        assert_eq!(h.status, 200);
        assert_eq!(h.header("api-version"), Some("1.41"));
        assert_eq!(b, "hello");
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers() {
        let (_, b) = parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0c\r\n hello world\r\n0\r\nX-T: 1\r\n\r\n",
            "GET",
        );
        assert_eq!(b, "abc hello world");
    }

    #[test]
    fn head_and_no_content_have_no_body() {
        let (_, b) = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "HEAD");
        assert_eq!(b, "");
        let (h, b) = parse(b"HTTP/1.1 204 No Content\r\n\r\n", "POST");
        assert_eq!((h.status, b.as_str()), (204, ""));
    }

    #[test]
    fn eof_body() {
        let (_, b) = parse(b"HTTP/1.1 200 OK\r\n\r\nraw stream", "POST");
        assert_eq!(b, "raw stream");
    }

    #[test]
    fn truncated_chunk_is_an_error() {
        let mut r =
            Cursor::new(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab".to_vec());
        let head = read_head(&mut r).unwrap();
        let mut s = String::new();
        assert!(Body::new(&mut r, framing("GET", &head))
            .read_to_string(&mut s)
            .is_err());
    }

    #[test]
    fn chunked_writer_round_trips() {
        let mut w = ChunkedWriter::new(Vec::new());
        w.write_all(b"hello").unwrap();
        w.write_all(b" world").unwrap();
        let out = w.finish().unwrap();
        let mut raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        raw.extend_from_slice(&out);
        assert_eq!(parse(&raw, "GET").1, "hello world");
    }

    #[test]
    fn request_has_length() {
        let mut out = Vec::new();
        write_request(
            &mut out,
            "POST",
            "/v1.41/x",
            &[("A", "b")],
            Some(b"{}"),
            false,
        )
        .unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("POST /v1.41/x HTTP/1.1\r\n"));
        assert!(s.contains("Content-Length: 2\r\n"));
        assert!(s.ends_with("\r\n\r\n{}"));
    }
}
