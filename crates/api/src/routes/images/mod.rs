//! `/images/...` and `/auth`: HTTP in, engine image calls, Docker's JSON out — including
//! the `\r\n`-separated progress streams of pull, push, load and import.
//!
//! Runs in berthd on tokio. A pull runs in its own task; the response starts only once
//! the registry has answered (first progress event), so "not found"/"access denied"
//! still get real HTTP statuses, later errors go in-band as `errorDetail`. A client that
//! goes away aborts its pull. Request bodies (load, import) are fed to blocking readers
//! and save archives come back through a channel writer: no tokio thread blocks on I/O.
//! Left out: search (503), import from a URL (501).

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::sync::Arc;

use base64::Engine as _;
use berth_engine::images::{ImageFilters, PullOutcome, PushJob, LIST_FILTERS, PRUNE_FILTERS};
use berth_engine::{Engine, EngineError};
use berth_image::digest::Digest;
use berth_image::manifest::Platform;
use berth_image::pull::{Event, Phase};
use berth_image::reference::Reference;
use berth_registry::Credentials;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::body::Body;
use crate::error::{ApiError, ApiResult};
use crate::request::{empty, ok_json, stream, Req};
use crate::server::ServerState;

// ---------------------------------------------------------------------------------------
// Shared helpers: credentials, JSON stream lines, progress bars, body adapters.

/// `X-Registry-Auth`: base64url JSON `{"username","password","identitytoken",…}`; empty,
/// `e30=` (`{}`) or no user means anonymous.
fn registry_auth(req: &Req) -> ApiResult<Option<Credentials>> {
    let Some(raw) = req
        .header("x-registry-auth")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Ok(None);
    };
    let engines = [
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    let bytes = engines
        .iter()
        .find_map(|e| e.decode(raw).ok())
        .ok_or_else(|| ApiError::bad_request("invalid X-Registry-Auth header: not base64"))?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid X-Registry-Auth header: {e}")))?;
    Ok(credentials_from(&v))
}

fn credentials_from(v: &Value) -> Option<Credentials> {
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let token = field("identitytoken");
    if !token.is_empty() {
        return Some(Credentials::IdentityToken(token));
    }
    let (username, password) = (field("username"), field("password"));
    (!username.is_empty()).then_some(Credentials::Basic { username, password })
}

/// One line of a JSON progress stream.
fn line(v: &Value) -> Bytes {
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.extend_from_slice(b"\r\n");
    Bytes::from(out)
}

fn status(text: impl Into<String>) -> Value {
    json!({ "status": text.into() })
}

fn error_line(message: &str) -> Value {
    json!({ "errorDetail": { "message": message }, "error": message })
}

/// go-units `HumanSize`: decimal units, 4 significant digits (`2.289kB`, `1.2MB`).
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    #[allow(clippy::cast_precision_loss)]
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    let int_digits = if size < 1.0 {
        1
    } else {
        size.log10().floor() as usize + 1
    };
    let decimals = 4usize.saturating_sub(int_digits);
    let mut s = format!("{size:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    format!("{s}{}", UNITS[unit])
}

/// Docker's `progress` string (jsonmessage `JSONProgress.String`, wide terminal).
fn progress_bar(current: u64, total: Option<u64>) -> String {
    match total.filter(|t| *t > 0) {
        None => format!("{:>8}", human_size(current)),
        Some(total) => {
            let pct = usize::try_from(current.saturating_mul(50) / total)
                .unwrap_or(50)
                .min(50);
            let bar = format!("[{}>{}] ", "=".repeat(pct), " ".repeat(50 - pct));
            let numbers = if current > total {
                String::new()
            } else {
                format!("{:>8}/{}", human_size(current), human_size(total))
            };
            bar + &numbers
        }
    }
}

fn detailed(status: &str, id: &str, current: u64, total: Option<u64>) -> Value {
    let mut detail = json!({ "current": current });
    if let Some(t) = total {
        detail["total"] = json!(t);
    }
    json!({
        "status": status,
        "progressDetail": detail,
        "progress": progress_bar(current, total),
        "id": id,
    })
}

fn plain(status: &str, id: &str) -> Value {
    json!({ "status": status, "progressDetail": {}, "id": id })
}

/// The request body as a blocking reader (for archive code on blocking threads).
struct BodyReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

/// Most bytes of an unread request body drained after a failure (so the client sees
/// the error rather than a broken pipe).
const MAX_DRAIN: u64 = 1 << 30;

impl BodyReader {
    /// The reader and the task feeding it; the task drains what the reader leaves
    /// (up to [`MAX_DRAIN`]), so awaiting it before an error response lets the client
    /// finish sending.
    fn new(body: Option<Incoming>) -> (BodyReader, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(16);
        let task = tokio::spawn(async move {
            let Some(mut body) = body else { return };
            let mut drained = 0u64;
            let mut reader_gone = false;
            while let Some(frame) = body.frame().await {
                let item = match frame {
                    Ok(f) => match f.into_data() {
                        Ok(d) => Ok(d),
                        Err(_) => continue,
                    },
                    Err(e) => Err(io::Error::other(e)),
                };
                if reader_gone {
                    drained += item.as_ref().map_or(0, |d| d.len() as u64);
                    if item.is_err() || drained > MAX_DRAIN {
                        return;
                    }
                    continue;
                }
                let failed = item.is_err();
                reader_gone = tx.send(item).await.is_err();
                if failed {
                    return;
                }
            }
        });
        let reader = BodyReader {
            rx,
            current: Bytes::new(),
        };
        (reader, task)
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// A blocking writer feeding a streamed response body in 256 KiB chunks.
struct ChannelWriter {
    tx: mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    const CHUNK: usize = 256 * 1024;

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= Self::CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

fn parse_reference(s: &str) -> ApiResult<Reference> {
    Reference::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))
}

// ---------------------------------------------------------------------------------------
// Listing and inspecting.

/// Image summaries for `/images/json` and `/system/df` (with `SharedSize` when `size`).
pub fn summaries(e: &Engine, size: bool) -> ApiResult<Vec<Value>> {
    let rows = e.image_summaries(&ImageFilters::default(), size)?;
    Ok(rows
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
        .collect())
}

/// `GET /images/json`.
pub async fn list(s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    let filters = ImageFilters::parse(&req.filters()?, LIST_FILTERS)?;
    let rows = s.engine.image_summaries(&filters, false)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut v = serde_json::to_value(&r).unwrap_or(Value::Null);
        if !req.version.at_least(43) && r.repo_tags.is_empty() && r.repo_digests.is_empty() {
            v["RepoTags"] = json!(["<none>:<none>"]);
            v["RepoDigests"] = json!(["<none>@<none>"]);
        }
        if !req.version.at_least(44) {
            v["VirtualSize"] = json!(r.size);
        }
        out.push(v);
    }
    ok_json(&out)
}

/// `GET /images/{name}/json`.
pub async fn inspect(s: &Arc<ServerState>, req: Req, name: &str) -> ApiResult<Response<Body>> {
    let store = s.engine.images();
    let rec = store.resolve(name)?;
    let mut v = store.inspect(&rec.id)?;
    if let Value::Object(m) = &mut v {
        if !req.version.at_least(44) {
            m.insert("VirtualSize".into(), json!(rec.size));
        }
        if req.version.at_least(45) {
            m.remove("Container");
            m.remove("ContainerConfig");
        }
    }
    ok_json(&v)
}

/// `GET /images/{name}/history`.
pub async fn history(s: &Arc<ServerState>, _req: Req, name: &str) -> ApiResult<Response<Body>> {
    let store = s.engine.images();
    let rec = store.resolve(name)?;
    ok_json(&store.history(&rec.id)?)
}

/// `GET /images/search`: needs Docker Hub's search API, which berth does not talk to.
pub async fn search(_s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    let term = req.q("term").unwrap_or("");
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("cannot search for {term:?}: berth has no registry search client (index.docker.io search API); browse the registry instead"),
    ))
}

// ---------------------------------------------------------------------------------------
// Tag, remove, prune.

/// `POST /images/{name}/tag?repo=&tag=` → 201.
pub async fn tag(s: &Arc<ServerState>, req: Req, name: &str) -> ApiResult<Response<Body>> {
    let repo = req.q("repo").unwrap_or("");
    if repo.is_empty() {
        return Err(ApiError::bad_request("repository name (repo) is required"));
    }
    let target = match req.q("tag").filter(|t| !t.is_empty()) {
        Some(t) => {
            let r = parse_reference(repo)?;
            if r.digest().is_some() {
                return Err(ApiError::bad_request(
                    "refusing to create a tag with a digest reference",
                ));
            }
            r.with_tag(t)
                .map_err(|e| ApiError::bad_request(e.to_string()))?
                .to_string()
        }
        None => repo.to_owned(),
    };
    s.engine.tag_image(name, &target)?;
    empty(StatusCode::CREATED)
}

/// `DELETE /images/{name}?force=&noprune=`.
pub async fn remove(s: &Arc<ServerState>, req: Req, name: &str) -> ApiResult<Response<Body>> {
    let items = s.engine.remove_image(name, req.q_bool("force", false))?;
    ok_json(&items)
}

/// `POST /images/prune`.
pub async fn prune(s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    let filters = ImageFilters::parse(&req.filters()?, PRUNE_FILTERS)?;
    let engine = s.engine.clone();
    let report = tokio::task::spawn_blocking(move || engine.prune_images(&filters))
        .await
        .map_err(|e| ApiError::internal(format!("prune worker: {e}")))??;
    ok_json(&json!({
        "ImagesDeleted": if report.deleted.is_empty() { Value::Null } else { json!(report.deleted) },
        "SpaceReclaimed": report.space_reclaimed,
    }))
}

// ---------------------------------------------------------------------------------------
// Pull and import (`POST /images/create`).

/// `POST /images/create`: pull (`fromImage`) or import (`fromSrc`).
pub async fn create(s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    if let Some(src) = req.q("fromSrc").filter(|v| !v.is_empty()) {
        if src != "-" {
            return Err(ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                format!("import from {src:?} is not supported: send the tarball as the body with fromSrc=-"),
            ));
        }
        return import(s, req).await;
    }
    let from = req.q("fromImage").unwrap_or("");
    if from.is_empty() {
        return Err(ApiError::bad_request("fromImage or fromSrc is required"));
    }
    let mut reference = parse_reference(from)?;
    if let Some(tag) = req.q("tag").filter(|t| !t.is_empty()) {
        reference = match tag.parse::<Digest>() {
            Ok(d) => reference.with_digest(d),
            Err(_) => reference
                .with_tag(tag)
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        };
    }
    let platform = match req.q("platform").filter(|p| !p.is_empty()) {
        Some(p) => Platform::parse(p).map_err(|e| ApiError::bad_request(e.to_string()))?,
        None => Platform::host(),
    };
    let creds = registry_auth(&req)?;
    pull(s.engine.clone(), reference, platform, creds).await
}

async fn import(s: &Arc<ServerState>, mut req: Req) -> ApiResult<Response<Body>> {
    let repo = req.q("repo").unwrap_or("").to_owned();
    let tag = match (repo.as_str(), req.q("tag").filter(|t| !t.is_empty())) {
        ("", _) => None,
        (r, Some(t)) => Some(format!("{r}:{t}")),
        (r, None) => Some(r.to_owned()),
    };
    let changes = req.q_all("changes");
    let (reader, feeder) = BodyReader::new(req.take_body());
    let res = s.engine.import_image(reader, changes, tag).await;
    let _ = feeder.await; // the client must finish sending before it can read an answer
    let id = res?;
    Ok(stream(
        "application/json",
        Body::full(line(&status(id.to_string()))),
    ))
}

enum PullMsg {
    Progress(Event),
    Done(Box<Result<PullOutcome, EngineError>>),
}

async fn pull(
    engine: Arc<Engine>,
    reference: Reference,
    platform: Platform,
    creds: Option<Credentials>,
) -> ApiResult<Response<Body>> {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<PullMsg>();
    let pulled_ref = reference.clone();
    let task = tokio::spawn(async move {
        let progress_tx = ev_tx.clone();
        let progress = move |e: Event| {
            // The receiver only goes away with the response; the pull is aborted then.
            let _ = progress_tx.send(PullMsg::Progress(e));
        };
        let res = engine
            .pull_image(&pulled_ref, &platform, creds, &progress)
            .await;
        let _ = ev_tx.send(PullMsg::Done(Box::new(res)));
    });
    let first = ev_rx.recv().await;
    if let Some(PullMsg::Done(res)) = &first {
        if let Err(e) = res.as_ref() {
            return Err(e.clone().into());
        }
    }
    let (tx, body) = Body::channel();
    tokio::spawn(async move {
        let mut out = PullStream::new(tx, reference);
        let mut next = first;
        while let Some(msg) = next {
            if !out.handle(msg).await {
                task.abort();
                return;
            }
            next = ev_rx.recv().await;
        }
    });
    Ok(stream("application/json", body))
}

/// Turns pull events into Docker's messages. "Pulling fs layer"/"Already exists" are
/// held back until something is really fetched: an image that is up to date shows
/// only its summary lines, as with Docker.
struct PullStream {
    tx: mpsc::Sender<Bytes>,
    reference: Reference,
    pending: Vec<(Digest, Value)>,
    extracting: Vec<Digest>,
    started: bool,
}

impl PullStream {
    fn new(tx: mpsc::Sender<Bytes>, reference: Reference) -> PullStream {
        PullStream {
            tx,
            reference,
            pending: Vec::new(),
            extracting: Vec::new(),
            started: false,
        }
    }

    async fn send(&mut self, v: Value) -> bool {
        if !self.started {
            self.started = true;
            let id = match (self.reference.digest(), self.reference.tag()) {
                (Some(d), _) => d.to_string(),
                (None, t) => t.unwrap_or("latest").to_owned(),
            };
            let head =
                json!({"status": format!("Pulling from {}", self.reference.path()), "id": id});
            if self.tx.send(line(&head)).await.is_err() {
                return false;
            }
        }
        self.tx.send(line(&v)).await.is_ok()
    }

    async fn flush(&mut self) -> bool {
        for (_, v) in std::mem::take(&mut self.pending) {
            if !self.send(v).await {
                return false;
            }
        }
        true
    }

    /// Handles one message; false when the client is gone.
    async fn handle(&mut self, msg: PullMsg) -> bool {
        match msg {
            PullMsg::Progress(e) => self.progress(e).await,
            PullMsg::Done(res) => self.done(*res).await,
        }
    }

    async fn done(&mut self, res: Result<PullOutcome, EngineError>) -> bool {
        match res {
            Ok(o) => {
                if !o.up_to_date && !self.flush().await {
                    return false;
                }
                let name = self.reference.familiar();
                let verdict = if o.up_to_date {
                    format!("Status: Image is up to date for {name}")
                } else {
                    format!("Status: Downloaded newer image for {name}")
                };
                self.send(status(format!("Digest: {}", o.repo_digest)))
                    .await
                    && self.send(status(verdict)).await
            }
            Err(e) => self.flush().await && self.send(error_line(&e.message)).await,
        }
    }

    async fn progress(&mut self, e: Event) -> bool {
        let id = e.short_id().to_owned();
        match e.phase {
            Phase::Waiting => {
                self.pending
                    .push((e.digest, plain("Pulling fs layer", &id)));
                true
            }
            Phase::Exists => {
                self.pending.retain(|(d, _)| *d != e.digest);
                self.pending.push((e.digest, plain("Already exists", &id)));
                true
            }
            Phase::Downloading => {
                self.flush().await
                    && self
                        .send(detailed("Downloading", &id, e.current, e.total))
                        .await
            }
            Phase::Extracting | Phase::Verifying => {
                if self.extracting.contains(&e.digest) {
                    return true;
                }
                self.extracting.push(e.digest);
                let size = e.total.unwrap_or(e.current);
                self.flush().await
                    && self.send(plain("Verifying Checksum", &id)).await
                    && self.send(plain("Download complete", &id)).await
                    && self
                        .send(detailed("Extracting", &id, size, Some(size)))
                        .await
            }
            Phase::Done => self.flush().await && self.send(plain("Pull complete", &id)).await,
            Phase::Packing | Phase::Pushing | Phase::Mounted => true,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Push.

/// `POST /images/{name}/push?tag=`.
pub async fn push(s: &Arc<ServerState>, req: Req, name: &str) -> ApiResult<Response<Body>> {
    let creds = registry_auth(&req)?;
    let jobs = s.engine.push_jobs(name, req.q("tag"))?;
    let (tx, body) = Body::channel();
    let engine = s.engine.clone();
    tokio::spawn(async move {
        let Some(repo) = jobs.first().map(|j| j.target.name()) else {
            return;
        };
        let head = format!(
            "The push refers to repository [{}]",
            repo.trim_start_matches("docker.io/")
        );
        if tx.send(line(&status(head))).await.is_err() {
            return;
        }
        for job in jobs {
            if !push_one(engine.clone(), job, creds.clone(), tx.clone()).await {
                return;
            }
        }
    });
    Ok(stream("application/json", body))
}

/// Pushes one tag, streaming its messages; false when the stream ended (error or gone).
async fn push_one(
    engine: Arc<Engine>,
    job: PushJob,
    creds: Option<Credentials>,
    tx: mpsc::Sender<Bytes>,
) -> bool {
    let job = &job;
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<Event>();
    let config = job.record.id.clone();
    let mounted_from = job
        .source
        .as_ref()
        .map(|r| format!("Mounted from {}", r.path()))
        .unwrap_or_else(|| "Mounted from another repository".to_owned());
    let progress = move |e: Event| {
        if e.digest != config {
            let _ = ev_tx.send(e);
        }
    };
    let work = engine.push_image(job.clone(), creds, Box::new(progress));
    tokio::pin!(work);
    let mut seen: HashSet<Digest> = HashSet::new();
    let result = loop {
        tokio::select! {
            res = &mut work => break res,
            Some(e) = ev_rx.recv() => {
                if let Some(v) = push_message(job, &e, &mounted_from, &mut seen) {
                    if tx.send(line(&v)).await.is_err() {
                        return false;
                    }
                }
            }
        }
    };
    while let Ok(e) = ev_rx.try_recv() {
        if let Some(v) = push_message(job, &e, &mounted_from, &mut seen) {
            if tx.send(line(&v)).await.is_err() {
                return false;
            }
        }
    }
    let (ok, msgs) = match result {
        Ok(o) => (
            true,
            vec![
                status(format!("{}: digest: {} size: {}", o.tag, o.digest, o.size)),
                json!({
                    "progressDetail": {},
                    "aux": {"Tag": o.tag, "Digest": o.digest.to_string(), "Size": o.size},
                }),
            ],
        ),
        Err(e) => (false, vec![error_line(&e.message)]),
    };
    for m in msgs {
        if tx.send(line(&m)).await.is_err() {
            return false;
        }
    }
    ok
}

fn push_message(
    job: &PushJob,
    e: &Event,
    mounted_from: &str,
    seen: &mut HashSet<Digest>,
) -> Option<Value> {
    let id = job.progress_id(&e.digest);
    Some(match e.phase {
        Phase::Waiting | Phase::Packing => {
            if !seen.insert(e.digest.clone()) {
                return None;
            }
            plain("Preparing", &id)
        }
        Phase::Pushing => detailed("Pushing", &id, e.current, e.total),
        Phase::Done => plain("Pushed", &id),
        Phase::Exists => plain("Layer already exists", &id),
        Phase::Mounted => plain(mounted_from, &id),
        Phase::Downloading | Phase::Extracting | Phase::Verifying => return None,
    })
}

// ---------------------------------------------------------------------------------------
// Save and load.

/// `GET /images/{name}/get`.
pub async fn get_one(s: &Arc<ServerState>, _req: Req, name: &str) -> ApiResult<Response<Body>> {
    save(s, vec![name.to_owned()])
}

/// `GET /images/get?names=a&names=b`.
pub async fn get_many(s: &Arc<ServerState>, req: Req) -> ApiResult<Response<Body>> {
    save(s, req.q_all("names"))
}

fn save(s: &Arc<ServerState>, names: Vec<String>) -> ApiResult<Response<Body>> {
    s.engine.check_save_names(&names)?;
    let (tx, body) = Body::channel();
    let engine = s.engine.clone();
    tokio::spawn(async move {
        let writer = ChannelWriter {
            tx,
            buf: Vec::new(),
        };
        if let Err(e) = engine.save_images(names, FlushOnDrop(writer)).await {
            // The tar stream has begun; ending it early is all that is left (as Docker).
            eprintln!("berthd: save: {}", e.message);
        }
    });
    Ok(stream("application/x-tar", body))
}

/// Sends the last partial chunk when the archive writer is dropped.
struct FlushOnDrop(ChannelWriter);

impl Write for FlushOnDrop {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.write(data)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        // Runs on the blocking thread that wrote the archive; a gone client is no error.
        let _ = self.0.send();
    }
}

/// `POST /images/load?quiet=`: always `application/json`, errors in-band (as Docker).
pub async fn load(s: &Arc<ServerState>, mut req: Req) -> ApiResult<Response<Body>> {
    let (reader, feeder) = BodyReader::new(req.take_body());
    let res = s.engine.load_images(reader).await;
    let _ = feeder.await; // the client must finish sending before it can read an answer
    let lines: Vec<Value> = match res {
        Ok(loaded) => loaded
            .iter()
            .flat_map(|l| {
                if l.tags.is_empty() {
                    vec![format!("Loaded image ID: {}\n", l.id)]
                } else {
                    l.tags
                        .iter()
                        .map(|t| format!("Loaded image: {t}\n"))
                        .collect()
                }
            })
            .map(|s| json!({ "stream": s }))
            .collect(),
        Err(e) => vec![error_line(&e.message)],
    };
    let mut out = Vec::new();
    for l in &lines {
        out.extend_from_slice(&line(l));
    }
    Ok(stream("application/json", Body::full(out)))
}

// ---------------------------------------------------------------------------------------
// `POST /auth`.

/// `POST /auth`: checks the credentials against the registry; stores nothing.
pub async fn auth(s: &Arc<ServerState>, mut req: Req) -> ApiResult<Response<Body>> {
    let v: Value = req.json(false).await?;
    let server = v.get("serveraddress").and_then(Value::as_str).unwrap_or("");
    let creds = credentials_from(&v).ok_or_else(|| {
        ApiError::bad_request("username and password (or identitytoken) are required")
    })?;
    s.engine.check_login(server, creds).await?;
    ok_json(&json!({ "Status": "Login Succeeded", "IdentityToken": "" }))
}

#[cfg(test)]
mod tests;
