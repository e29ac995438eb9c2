//! `pull` through a cutting TCP proxy in front of a real `docker-registry` on 127.0.0.1:
//! a layer download broken in the middle resumes with `Range: bytes=N-` and yields the
//! right layer; a download broken on every attempt fails the pull and leaves nothing.
//!
//! The proxy (std threads, loopback only) forwards every connection to the registry
//! byte for byte, except the responses it is told to cut: for those it forwards the
//! response head and half of the body, then closes both sockets.
#![allow(clippy::tests_outside_test_module)]

mod pull_support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use berth_image::manifest::{chain_ids, Platform};
use berth_image::pull::{pull, LayerSource, PullError};
use berth_image::reference::Reference;
use berth_registry::RegistryError;
use pull_support::layout::{self, file, noise, Compression, OCI_MANIFEST};
use pull_support::{Stores, TestRegistry};

/// Which responses to the watched blob's `GET`s the proxy cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CutMode {
    /// Only the first response to a `GET` without a `Range` header.
    FirstPlain,
    /// Every response, ranged or not.
    Every,
}

/// What the proxy saw of the watched blob.
#[derive(Debug, Default)]
struct Seen {
    /// The `Range` header value (if any) of each `GET` for the blob, in order.
    gets: Vec<Option<String>>,
    /// Responses chosen for cutting so far.
    armed: usize,
    /// Body bytes forwarded by each cut response, in order.
    cuts: Vec<u64>,
}

/// Shared by the proxy's threads.
struct Rules {
    upstream: String,
    /// `/blobs/<digest>`.
    blob_path: String,
    mode: CutMode,
    stop: AtomicBool,
    seen: Mutex<Seen>,
    /// Every socket opened, so `Drop` can shut them down and unblock their threads.
    sockets: Mutex<Vec<TcpStream>>,
    /// One thread per client connection.
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Rules {
    fn track(&self, s: &TcpStream) {
        if let Ok(clone) = s.try_clone() {
            self.sockets.lock().unwrap().push(clone);
        }
    }
}

/// A cutting proxy on `127.0.0.1:<port>`; stops (and joins every thread) on drop.
struct Proxy {
    /// `127.0.0.1:<port>`.
    host: String,
    rules: Arc<Rules>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(upstream: &str, blob_digest: &str, mode: CutMode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        // Nonblocking accept so the loop sees the stop flag.
        listener.set_nonblocking(true).unwrap();
        let rules = Arc::new(Rules {
            upstream: upstream.to_owned(),
            blob_path: format!("/blobs/{blob_digest}"),
            mode,
            stop: AtomicBool::new(false),
            seen: Mutex::default(),
            sockets: Mutex::default(),
            workers: Mutex::default(),
        });
        let r = Arc::clone(&rules);
        let accept = std::thread::spawn(move || {
            while !r.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let rc = Arc::clone(&r);
                        let h = std::thread::spawn(move || connection(client, rc));
                        r.workers.lock().unwrap().push(h);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("proxy accept: {e}"),
                }
            }
        });
        Proxy {
            host,
            rules,
            accept: Some(accept),
        }
    }

    /// `(gets, cuts)` so far.
    fn seen(&self) -> (Vec<Option<String>>, Vec<u64>) {
        let s = self.rules.seen.lock().unwrap();
        (s.gets.clone(), s.cuts.clone())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.rules.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        // The accept loop is gone: no new sockets or workers appear from here on.
        for s in self.rules.sockets.lock().unwrap().iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
        let workers = std::mem::take(&mut *self.rules.workers.lock().unwrap());
        for h in workers {
            let _ = h.join();
        }
    }
}

/// One client connection: requests flow client → registry on this thread, responses
/// registry → client on a second one.
///
/// Keep-alive: the client (hyper) sends one request at a time on a connection and the
/// next one only after it has read the previous response to its end; it never
/// pipelines. So request heads are read one at a time here, and when a request's
/// response must be cut, `cut_next` is set *before* the request goes upstream: every
/// byte the response thread reads after that belongs to that response (the previous one
/// was already fully forwarded, or the client would not have sent this request). The
/// connection is closed only when a response is cut.
fn connection(client: TcpStream, rules: Arc<Rules>) {
    let Ok(upstream) = TcpStream::connect(&rules.upstream) else {
        return;
    };
    rules.track(&client);
    rules.track(&upstream);
    let cut_next = Arc::new(AtomicBool::new(false));
    let down = {
        let (up, cl) = (upstream.try_clone().unwrap(), client.try_clone().unwrap());
        let (cut, r) = (Arc::clone(&cut_next), Arc::clone(&rules));
        std::thread::spawn(move || responses(up, cl, &cut, &r))
    };
    requests(client, upstream, &cut_next, &rules);
    let _ = down.join();
}

/// Reads request heads (and any `Content-Length` body) from the client and forwards
/// them unchanged, arming `cut_next` for the watched blob's `GET`s as the mode says.
fn requests(client: TcpStream, mut upstream: TcpStream, cut_next: &AtomicBool, rules: &Rules) {
    let mut reader = BufReader::new(client);
    while let Some(head) = read_head(&mut reader) {
        let text = String::from_utf8_lossy(&head).into_owned();
        let mut lines = text.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let (mut range, mut body_len) = (None, 0u64);
        for line in lines {
            if let Some((name, value)) = line.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "range" => range = Some(value.trim().to_owned()),
                    "content-length" => body_len = value.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
        }
        if request_line.starts_with("GET ") && request_line.contains(&rules.blob_path) {
            let mut seen = rules.seen.lock().unwrap();
            let cut = match rules.mode {
                CutMode::Every => true,
                CutMode::FirstPlain => range.is_none() && seen.armed == 0,
            };
            seen.gets.push(range);
            if cut {
                seen.armed += 1;
                cut_next.store(true, Ordering::SeqCst);
            }
        }
        if upstream.write_all(&head).is_err() {
            break;
        }
        let copied = std::io::copy(&mut (&mut reader).take(body_len), &mut upstream);
        if copied.map_or(true, |n| n != body_len) {
            break;
        }
    }
    let _ = upstream.shutdown(Shutdown::Write);
}

/// One request head up to and including the blank line; `None` at EOF or on error.
fn read_head(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    loop {
        let start = head.len();
        match reader.read_until(b'\n', &mut head) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        if &head[start..] == b"\r\n" {
            return Some(head);
        }
    }
}

/// Forwards registry bytes to the client; a response started while `cut_next` is set
/// gets its head and half of its `Content-Length` body through, then both sockets close.
fn responses(mut upstream: TcpStream, mut client: TcpStream, cut_next: &AtomicBool, rules: &Rules) {
    let mut buf = vec![0u8; 64 * 1024];
    // While cutting: the head gathered so far, then (once the head is complete) the
    // body bytes still to forward and the number forwarded in total.
    let mut head: Option<Vec<u8>> = None;
    let mut budget: Option<(u64, u64)> = None;
    loop {
        let n = match upstream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if head.is_none() && budget.is_none() && cut_next.swap(false, Ordering::SeqCst) {
            head = Some(Vec::new());
        }
        let rest: Vec<u8>;
        let mut data = &buf[..n];
        if let Some(h) = &mut head {
            h.extend_from_slice(data);
            let Some(end) = h.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4) else {
                continue;
            };
            let length = content_length(&h[..end]).unwrap_or(0);
            if client.write_all(&h[..end]).is_err() {
                break;
            }
            // What follows the head in the last read is the start of the body.
            rest = h.split_off(end);
            head = None;
            budget = Some((length / 2, length / 2));
            data = &rest;
        }
        if let Some((left, total)) = &mut budget {
            let take = usize::try_from(*left).unwrap_or(usize::MAX).min(data.len());
            if client.write_all(&data[..take]).is_err() {
                break;
            }
            *left -= take as u64;
            if *left == 0 {
                rules.seen.lock().unwrap().cuts.push(*total);
                let _ = client.shutdown(Shutdown::Both);
                let _ = upstream.shutdown(Shutdown::Both);
                return;
            }
        } else if client.write_all(data).is_err() {
            break;
        }
    }
    let _ = client.shutdown(Shutdown::Write);
}

fn content_length(head: &[u8]) -> Option<u64> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
}

/// The start offset of a `bytes=N-` range.
fn range_start(range: &str) -> Option<u64> {
    range
        .strip_prefix("bytes=")?
        .strip_suffix('-')?
        .parse()
        .ok()
}

/// A registry seeded with `demo/resume:v1`: one gzip layer of a few MB of noise.
fn seeded() -> (TestRegistry, layout::Image) {
    let reg = TestRegistry::start();
    let oci = reg.path("oci");
    let img = layout::image(
        &oci,
        "amd64",
        &[(
            Compression::Gzip,
            vec![file("big", noise(4_000_000, 21)), file("tail", "t")],
        )],
    );
    layout::tag(&oci, "v1", OCI_MANIFEST, &img.manifest);
    reg.seed(&oci, "v1", "demo/resume");
    (reg, img)
}

fn via(proxy: &Proxy) -> Reference {
    Reference::parse(&format!("{}/demo/resume:v1", proxy.host)).unwrap()
}

fn amd64() -> Platform {
    Platform::parse("linux/amd64").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_layer_download_resumes_with_range() {
    let (reg, img) = seeded();
    let layer = &img.layers[0];
    let size = layer.bytes.len() as u64;
    assert!(size > 3_000_000, "layer compressed away: {size} bytes");
    let proxy = Proxy::start(&reg.host, &layer.digest.to_string(), CutMode::FirstPlain);

    let stores = Stores::new();
    let pulled = pull(&stores.ctx(), &via(&proxy), &amd64(), &|_| {})
        .await
        .unwrap_or_else(|e| panic!("pull through the proxy: {e:?}"));

    let (gets, cuts) = proxy.seen();
    assert_eq!(cuts, [size / 2], "exactly the first response is cut");
    assert_eq!(gets.len(), 2, "one cut GET and one resume: {gets:?}");
    assert_eq!(gets[0], None, "the first GET is not ranged");
    // The resume starts exactly after the bytes that got through: none lost, none twice.
    assert_eq!(
        gets[1].as_deref().and_then(range_start),
        Some(size / 2),
        "the second GET must resume with bytes=N-: {gets:?}"
    );

    assert_eq!(pulled.manifest_digest, img.manifest.digest);
    assert_eq!(pulled.diff_ids(), img.diff_ids);
    assert_eq!(pulled.layers.len(), 1);
    assert_eq!(pulled.layers[0].source, LayerSource::Downloaded);
    assert_eq!(pulled.layers[0].descriptor.digest, layer.digest);
    assert!(stores.blobs.exists(&layer.digest));
    let listed = stores.layers.list().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let meta = stores
        .layers
        .get(&pulled.layers[0].chain_id.to_string())
        .unwrap();
    assert_eq!(meta.diff_id, img.diff_ids[0].to_string());
    assert_eq!(
        std::fs::read(meta.diff_dir.join("big")).unwrap(),
        noise(4_000_000, 21)
    );
    assert!(stores.leftovers().is_empty(), "{:?}", stores.leftovers());
    drop(proxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_on_every_attempt_fails_and_leaves_nothing() {
    let (reg, img) = seeded();
    let layer = &img.layers[0];
    let proxy = Proxy::start(&reg.host, &layer.digest.to_string(), CutMode::Every);

    let mut stores = Stores::new();
    // Fewer resumes than the default keep the backoff sleeps short.
    stores.client.max_resume_attempts = 2;
    let err = pull(&stores.ctx(), &via(&proxy), &amd64(), &|_| {})
        .await
        .expect_err("a download cut on every attempt must fail the pull");

    match &err {
        PullError::Download { digest, source } => {
            assert_eq!(digest, &layer.digest);
            assert!(
                matches!(source, RegistryError::ReadBody { .. }),
                "{source:?}"
            );
        }
        other => panic!("expected a download error, got {other:?}"),
    }
    let (gets, cuts) = proxy.seen();
    let attempts = stores.client.max_resume_attempts as usize + 1;
    assert_eq!(gets.len(), attempts, "{gets:?}");
    assert_eq!(cuts.len(), attempts, "{cuts:?}");
    assert_eq!(gets[0], None);
    // Each resume starts where the bytes received so far end.
    let starts: Vec<Option<u64>> = gets[1..]
        .iter()
        .map(|g| g.as_deref().and_then(range_start))
        .collect();
    let received: Vec<Option<u64>> = cuts[..attempts - 1]
        .iter()
        .scan(0, |sum, c| {
            *sum += c;
            Some(Some(*sum))
        })
        .collect();
    assert_eq!(starts, received, "{gets:?} {cuts:?}");

    assert!(!stores.blobs.exists(&layer.digest));
    let chain = chain_ids(&img.diff_ids)[0].to_string();
    assert!(!stores.layers.exists(&chain));
    assert!(stores.layers.list().unwrap().is_empty());
    assert!(stores.leftovers().is_empty(), "{:?}", stores.leftovers());
    drop(proxy);
}
