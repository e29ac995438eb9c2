//! Broken downloads and bearer tokens against a tiny in-test HTTP server on 127.0.0.1:
//! it asks for a bearer token (served at its own `/token`), cuts the first blob response
//! half-way, and then answers the `Range` resume with 206 or, if told, a full 200.
#![allow(clippy::tests_outside_test_module)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use berth_registry::digest::sha256_digest;
use berth_registry::{Client, ClientConfig, Credentials, RegistryError};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// How the fake server behaves.
#[derive(Clone, Copy)]
enum Mode {
    /// Cut the first response, honour `Range` afterwards.
    Honour,
    /// Cut the first response, ignore `Range` afterwards (full 200).
    Ignore,
    /// Cut every response.
    AlwaysBreak,
}

struct Fake {
    host: String,
    blob: Vec<u8>,
    blob_requests: Arc<AtomicUsize>,
    token_requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(mode: Mode) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let blob: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let blob_requests = Arc::new(AtomicUsize::new(0));
    let token_requests = Arc::new(AtomicUsize::new(0));
    let (b, br, tr, h) = (
        blob.clone(),
        blob_requests.clone(),
        token_requests.clone(),
        host.clone(),
    );
    let task = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (b, br, tr, h) = (b.clone(), br.clone(), tr.clone(), h.clone());
            tokio::spawn(async move { serve(sock, mode, &b, &br, &tr, &h).await });
        }
    });
    Fake {
        host,
        blob,
        blob_requests,
        token_requests,
        task,
    }
}

async fn serve(
    mut sock: TcpStream,
    mode: Mode,
    blob: &[u8],
    blob_requests: &AtomicUsize,
    token_requests: &AtomicUsize,
    host: &str,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let path = head.split(' ').nth(1).unwrap_or("").to_string();
    let header = |name: &str| {
        head.lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
            .map(|l| l[name.len() + 1..].trim().to_string())
    };
    if path.starts_with("/token") {
        token_requests.fetch_add(1, Ordering::SeqCst);
        let ok = path.contains("service=fake")
            && path.contains("scope=repository%3Ademo%2Fapp%3Apull")
            && header("authorization").as_deref() == Some("Basic dXNlcjpwYXNz");
        let body = r#"{"access_token":"tok-123","expires_in":300}"#;
        let status = if ok { "200 OK" } else { "401 Unauthorized" };
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = sock.write_all(resp.as_bytes()).await;
        return;
    }
    if header("authorization").as_deref() != Some("Bearer tok-123") {
        let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
        let resp = format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://{host}/token\",service=\"fake\",scope=\"repository:demo/app:pull\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = sock.write_all(resp.as_bytes()).await;
        return;
    }
    let n = blob_requests.fetch_add(1, Ordering::SeqCst);
    let offset: usize = header("range")
        .and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
        .unwrap_or(0);
    let cut = matches!(mode, Mode::AlwaysBreak) || n == 0;
    let (status, start) = match mode {
        Mode::Honour | Mode::AlwaysBreak if offset > 0 => ("206 Partial Content", offset),
        _ => ("200 OK", 0),
    };
    let body = &blob[start..];
    let mut resp = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if start > 0 {
        resp.push_str(&format!(
            "Content-Range: bytes {start}-{}/{}\r\n",
            blob.len() - 1,
            blob.len()
        ));
    }
    resp.push_str("\r\n");
    let _ = sock.write_all(resp.as_bytes()).await;
    let send = if cut { &body[..body.len() / 2] } else { body };
    let _ = sock.write_all(send).await;
    let _ = sock.flush().await;
    // Dropping the socket short of Content-Length breaks the transfer.
}

fn config(max_resume_attempts: u32) -> ClientConfig {
    ClientConfig {
        credentials: Some(Credentials::Basic {
            username: "user".into(),
            password: "pass".into(),
        }),
        max_resume_attempts,
        ..ClientConfig::default()
    }
}

#[tokio::test]
async fn resumes_with_range_after_a_cut() {
    let fake = start(Mode::Honour).await;
    let client = Client::new(&fake.host, &config(3)).unwrap();
    let digest = sha256_digest(&fake.blob);
    let mut out = Vec::new();
    let n = client
        .download_blob("demo/app", &digest, &mut out, &|_| {})
        .await
        .unwrap();
    assert_eq!(n as usize, fake.blob.len());
    assert_eq!(out, fake.blob);
    assert_eq!(fake.blob_requests.load(Ordering::SeqCst), 2);
    // One token fetch, then the cached token is sent up front.
    assert_eq!(fake.token_requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn resumes_when_server_ignores_range() {
    let fake = start(Mode::Ignore).await;
    let client = Client::new(&fake.host, &config(3)).unwrap();
    let digest = sha256_digest(&fake.blob);
    let mut out = Vec::new();
    client
        .download_blob("demo/app", &digest, &mut out, &|_| {})
        .await
        .unwrap();
    assert_eq!(out, fake.blob);
}

#[tokio::test]
async fn gives_up_after_bounded_retries() {
    let fake = start(Mode::AlwaysBreak).await;
    let client = Client::new(&fake.host, &config(2)).unwrap();
    let digest = sha256_digest(&fake.blob);
    let mut out = Vec::new();
    let err = client
        .download_blob("demo/app", &digest, &mut out, &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::RetriesExhausted { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(fake.blob_requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn token_server_rejects_anonymous() {
    let fake = start(Mode::Honour).await;
    let client = Client::new(&fake.host, &ClientConfig::default()).unwrap();
    let digest = sha256_digest(&fake.blob);
    let err = client
        .fetch_blob("demo/app", &digest, 0)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
}
