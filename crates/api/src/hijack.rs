//! Hijacked connections (`101 UPGRADED`, `Upgrade: tcp`) and Docker's stream framing.

use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, UPGRADE};
use hyper::upgrade::OnUpgrade;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::body::Body;
use crate::version::ApiVersion;

/// Raw stream content type (tty, or clients below 1.42).
pub const RAW: &str = "application/vnd.docker.raw-stream";
/// Multiplexed stream content type.
pub const MULTIPLEXED: &str = "application/vnd.docker.multiplexed-stream";

/// The content type Docker announces for a stream.
pub fn stream_type(tty: bool, v: ApiVersion) -> &'static str {
    if !tty && v.at_least(42) {
        MULTIPLEXED
    } else {
        RAW
    }
}

/// `HTTP/1.1 101 UPGRADED` with Docker's headers.
pub fn upgrade_response(content_type: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("tcp"));
    r.extensions_mut()
        .insert(hyper::ext::ReasonPhrase::from_static(b"UPGRADED"));
    r
}

/// An 8-byte frame header: stream, 0, 0, 0, big-endian length.
pub fn frame_header(stream: u8, len: usize) -> [u8; 8] {
    let n = (len as u32).to_be_bytes();
    [stream, 0, 0, 0, n[0], n[1], n[2], n[3]]
}

/// Waits for the upgrade and returns the raw connection.
pub async fn upgraded(on: OnUpgrade) -> std::io::Result<TokioIo<hyper::upgrade::Upgraded>> {
    on.await
        .map(TokioIo::new)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Splices a client connection and a container stream: client bytes go to the
/// container (half-close passed on), container bytes go to the client until EOF, then
/// the client connection is closed.
pub async fn splice<C, S>(client: C, container: S)
where
    C: AsyncRead + AsyncWrite + Send + 'static,
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut sr, mut sw) = tokio::io::split(container);
    let input = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
        let _ = sw.shutdown().await;
        // Keep the write half alive until aborted: dropping it would close nothing more.
        std::future::pending::<()>().await;
    });
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match sr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if cw.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                let _ = cw.flush().await;
            }
        }
    }
    let _ = cw.shutdown().await;
    input.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_types() {
        assert_eq!(frame_header(1, 258), [1, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(stream_type(false, ApiVersion(42)), MULTIPLEXED);
        assert_eq!(stream_type(false, ApiVersion(41)), RAW);
        assert_eq!(stream_type(true, ApiVersion(47)), RAW);
    }
}
