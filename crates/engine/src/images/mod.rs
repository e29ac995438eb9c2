//! Image operations behind `/images/*` and `/auth`: pulls and pushes with Docker's error
//! texts, tag/remove/prune that know which containers use an image, `docker images`
//! filters and summaries, and the archive calls (save/load/import) on blocking threads.
//!
//! Runs in berthd on tokio. Everything persistent belongs to the image store; file-heavy
//! work (unpacking, tar writing, hashing) runs in `spawn_blocking`. Publishes Docker's
//! image events (`pull`, `push`, `tag`, `untag`, `delete`, `load`, `save`, `import`,
//! `prune`). Left out: registry search, import from a URL, parent images (so `all`
//! changes nothing), and `--platform` for save/load.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::sync::Arc;

use berth_image::archive::{self, ArchiveError, LoadOptions, Loaded, SaveFormat};
use berth_image::digest::Digest;
use berth_image::images::{timestamp, ContainerUse, Deleted, ImageError, ImageRecord, PruneReport};
use berth_image::manifest::{self, Parsed, Platform, MAX_CONFIG_SIZE, MAX_MANIFEST_SIZE};
use berth_image::pull::{
    self, PullContext, PullError, PullIntoError, PushContext, PushImage, PushLayer, Pushed,
};
use berth_image::reference::Reference;
use berth_image::unpack::UnpackOptions;
use berth_registry::{Client, ClientConfig, Credentials, RegistryError};
use serde::Serialize;

use crate::error::{EngineError, ErrorKind, Result};
use crate::Engine;

pub use berth_image::pull::ProgressFn;

/// `e` and its sources joined by `": "` (Go's wrapped-error style), skipping a source
/// whose text the message already ends with.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let text = s.to_string();
        if !text.is_empty() && !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        src = s.source();
    }
    out
}

/// An image store error as the API reports it: Docker's kind, the reference parser's
/// own text for bad references (`invalid reference format…`), the whole chain otherwise.
pub fn image_error(e: ImageError) -> EngineError {
    let message = match &e {
        ImageError::InvalidReference { source, .. } => source.to_string(),
        other => error_chain(other),
    };
    EngineError::new(EngineError::from(e).kind, message)
}

fn archive_error(e: ArchiveError) -> EngineError {
    match e {
        ArchiveError::Store { source } => image_error(source),
        e @ (ArchiveError::InvalidChange { .. }
        | ArchiveError::ChangeSyntax { .. }
        | ArchiveError::InvalidTag { .. }
        | ArchiveError::NothingToSave) => EngineError::invalid(error_chain(&e)),
        e @ (ArchiveError::Write { .. }
        | ArchiveError::Blob { .. }
        | ArchiveError::Layer { .. }
        | ArchiveError::Pack { .. }) => EngineError::internal(error_chain(&e)),
        e => EngineError::invalid(error_chain(&e)),
    }
}

fn worker_error(e: tokio::task::JoinError) -> EngineError {
    EngineError::internal(format!("image worker died: {e}"))
}

mod filters;
#[cfg(test)]
mod tests;

use filters::*;
pub use filters::{parse_until, ImageFilters, LIST_FILTERS, PRUNE_FILTERS};

/// One row of `GET /images/json` (Docker's `image.Summary`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    /// `sha256:<hex>`.
    pub id: String,
    /// Always empty: parents are not tracked.
    pub parent_id: String,
    /// Familiar tags.
    pub repo_tags: Vec<String>,
    /// Familiar repo digests.
    pub repo_digests: Vec<String>,
    /// Unix seconds.
    pub created: i64,
    /// Uncompressed bytes of all layers.
    pub size: i64,
    /// Bytes shared with other images; -1 unless asked for.
    pub shared_size: i64,
    /// Config labels (`null` when none, as Docker sends).
    pub labels: Option<BTreeMap<String, String>>,
    /// Containers using the image.
    pub containers: i64,
}

/// What a pull did.
#[derive(Debug, Clone)]
pub struct PullOutcome {
    /// The stored image.
    pub record: ImageRecord,
    /// Digest of the index or manifest pulled (`Digest:` line).
    pub repo_digest: Digest,
    /// The tag already pointed at this image before the pull.
    pub up_to_date: bool,
}

/// One image to push and where to.
#[derive(Debug, Clone)]
pub struct PushJob {
    /// Target reference (with its tag).
    pub target: Reference,
    /// The image.
    pub record: ImageRecord,
    /// Repository of the same registry the blobs came from (cross-repo mount source).
    pub source: Option<Reference>,
}

impl PushJob {
    /// Docker's progress id for a blob: the short diff id of the layer it holds.
    pub fn progress_id(&self, blob: &Digest) -> String {
        let d = self
            .record
            .layer_blobs
            .iter()
            .position(|b| b == blob)
            .and_then(|i| self.record.diff_ids.get(i))
            .unwrap_or(blob);
        d.hex().chars().take(12).collect()
    }
}

/// What a push did.
#[derive(Debug, Clone)]
pub struct PushOutcome {
    /// The tag pushed.
    pub tag: String,
    /// Manifest digest.
    pub digest: Digest,
    /// Manifest size in bytes (0 when the manifest was rebuilt).
    pub size: u64,
}

impl Engine {
    fn registry_config(&self, credentials: Option<Credentials>) -> ClientConfig {
        ClientConfig {
            insecure_registries: self.config.insecure_registries.clone(),
            credentials,
            ..ClientConfig::default()
        }
    }

    /// Per image id (`sha256:…`): how many containers use it, and one user, a running
    /// one if any.
    fn image_users(&self) -> HashMap<String, (i64, ContainerUse)> {
        let mut out: HashMap<String, (i64, ContainerUse)> = HashMap::new();
        for c in self.all_containers() {
            let rec = c.record();
            let running = rec.state.status.is_alive();
            let entry = out.entry(rec.image_id.clone()).or_insert_with(|| {
                (
                    0,
                    ContainerUse {
                        id: rec.id.clone(),
                        running,
                    },
                )
            });
            entry.0 += 1;
            if running && !entry.1.running {
                entry.1 = ContainerUse {
                    id: rec.id,
                    running,
                };
            }
        }
        out
    }

    fn image_event(&self, action: &str, id: &str, name: Option<&str>) {
        let mut attrs = BTreeMap::new();
        if let Some(n) = name {
            attrs.insert("name".to_owned(), n.to_owned());
        }
        self.events.publish("image", action, id, attrs);
    }

    fn publish_deleted(&self, items: &[Deleted], image: &str) {
        for item in items {
            match item {
                Deleted::Untagged(r) => self.image_event("untag", image, Some(r)),
                Deleted::Deleted(d) if d == image => self.image_event("delete", d, Some(d)),
                Deleted::Deleted(_) => {}
            }
        }
    }

    /// `docker images`: summaries matching `f`, newest first. `shared_size` computes
    /// `SharedSize` (for `/system/df`); otherwise it is -1.
    pub fn image_summaries(
        &self,
        f: &ImageFilters,
        shared_size: bool,
    ) -> Result<Vec<ImageSummary>> {
        let store = self.images();
        let bound = |name: &Option<String>| -> Result<Option<i64>> {
            name.as_deref()
                .map(|n| {
                    store
                        .resolve(n)
                        .map(|r| created_secs(&r))
                        .map_err(image_error)
                })
                .transpose()
        };
        let (before, since) = (bound(&f.before)?, bound(&f.since)?);
        let users = self.image_users();
        let records = store.list();
        let mut chain_use: HashMap<&Digest, usize> = HashMap::new();
        for r in &records {
            for c in &r.chain_ids {
                *chain_use.entry(c).or_default() += 1;
            }
        }
        let mut out = Vec::new();
        for rec in &records {
            let created = created_secs(rec);
            if before.is_some_and(|b| created >= b)
                || since.is_some_and(|s| created <= s)
                || f.until.is_some_and(|u| created >= u)
                || !labels_match(rec, &f.labels)
            {
                continue;
            }
            let keep = |refs: &[(Reference, String)]| -> Vec<String> {
                refs.iter()
                    .filter(|(r, _)| {
                        f.references.is_empty() || f.references.iter().any(|p| familiar_match(p, r))
                    })
                    .map(|(_, s)| s.clone())
                    .collect()
            };
            let tags = keep(&familiar_all(&rec.repo_tags));
            let digests = keep(&familiar_all(&rec.repo_digests));
            if tags.is_empty() && digests.is_empty() {
                if !f.references.is_empty() || f.dangling == Some(false) {
                    continue;
                }
            } else if f.dangling == Some(true) && !tags.is_empty() {
                continue;
            }
            let shared = if shared_size {
                let mut n = 0u64;
                for c in rec.chain_ids.iter().filter(|c| chain_use[c] > 1) {
                    n += store
                        .layers()
                        .get(&c.to_string())
                        .map_or(0, |l| l.uncompressed_bytes);
                }
                i64::try_from(n).unwrap_or(i64::MAX)
            } else {
                -1
            };
            out.push(ImageSummary {
                id: rec.id.to_string(),
                parent_id: String::new(),
                repo_tags: tags,
                repo_digests: digests,
                created,
                size: i64::try_from(rec.size).unwrap_or(i64::MAX),
                shared_size: shared,
                labels: rec.config.config.as_ref().and_then(|c| c.labels.clone()),
                containers: users.get(&rec.id.to_string()).map_or(0, |u| u.0),
            });
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Pulls `reference` for `platform`, reporting layer progress; records and tags the
    /// image and publishes the `pull` event.
    pub async fn pull_image(
        &self,
        reference: &Reference,
        platform: &Platform,
        credentials: Option<Credentials>,
        progress: ProgressFn<'_>,
    ) -> Result<PullOutcome> {
        let store = self.images();
        let before = store.resolve(&reference.to_string()).ok().map(|r| r.id);
        let client = self.registry_config(credentials);
        let unpack = UnpackOptions::default();
        let ctx = PullContext {
            blobs: store.blobs(),
            layers: store.layers(),
            client: &client,
            unpack: &unpack,
            max_concurrent: pull::DEFAULT_CONCURRENCY,
        };
        let pulled = pull::pull(&ctx, reference, platform, progress)
            .await
            .map_err(|e| pull_error(reference, PullIntoError::Pull(e)))?;
        let record = pull::register(store, &pulled).map_err(|e| pull_error(reference, e))?;
        let repo_digest = pulled
            .index_digest
            .clone()
            .unwrap_or_else(|| pulled.manifest_digest.clone());
        let up_to_date = before.as_ref() == Some(&record.id);
        self.image_event(
            "pull",
            &reference.familiar(),
            Some(&reference.familiar_name()),
        );
        Ok(PullOutcome {
            record,
            repo_digest,
            up_to_date,
        })
    }

    /// What `docker push <name>[:tag]` pushes: the one tag, or with no tag anywhere every
    /// tag of the repository.
    pub fn push_jobs(&self, name: &str, tag: Option<&str>) -> Result<Vec<PushJob>> {
        let store = self.images();
        let parsed = Reference::parse(name).map_err(|e| EngineError::invalid(e.to_string()))?;
        let last = name.rsplit('/').next().unwrap_or(name);
        let named_tag = last.contains(':') || name.contains('@');
        let missing = || {
            EngineError::not_found(format!(
                "An image does not exist locally with the tag: {}",
                parsed.familiar_name()
            ))
        };
        let targets: Vec<Reference> = match tag.filter(|t| !t.is_empty()) {
            Some(t) => vec![parsed
                .with_tag(t)
                .map_err(|e| EngineError::invalid(e.to_string()))?],
            None if named_tag => vec![parsed.clone()],
            None => {
                let prefix = format!("{}:", parsed.name());
                let mut all: Vec<Reference> = store
                    .list()
                    .iter()
                    .flat_map(|r| r.repo_tags.iter())
                    .filter(|t| t.starts_with(&prefix))
                    .filter_map(|t| Reference::parse(t).ok())
                    .collect();
                all.sort_by_key(Reference::familiar);
                all
            }
        };
        let mut jobs = Vec::new();
        for target in targets {
            let record = store.resolve(&target.to_string()).map_err(|_| missing())?;
            let source = record
                .repo_digests
                .iter()
                .filter_map(|d| Reference::parse(d).ok())
                .find(|r| r.registry_host() == target.registry_host());
            jobs.push(PushJob {
                target,
                record,
                source,
            });
        }
        if jobs.is_empty() {
            return Err(missing());
        }
        Ok(jobs)
    }

    /// Pushes one job; records the pushed repo digest and publishes the `push` event.
    /// The image crate's push future borrows into async closures that rustc cannot prove
    /// `Send`, so it is driven by `Handle::block_on` on a blocking thread; it runs to the
    /// end even when the caller stops listening.
    pub async fn push_image(
        self: &Arc<Self>,
        job: PushJob,
        credentials: Option<Credentials>,
        progress: Box<dyn Fn(berth_image::pull::Event) + Send + Sync>,
    ) -> Result<PushOutcome> {
        let me = self.clone();
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            handle.block_on(me.push_inner(&job, credentials, &*progress))
        })
        .await
        .map_err(worker_error)?
    }

    async fn push_inner(
        &self,
        job: &PushJob,
        credentials: Option<Credentials>,
        progress: ProgressFn<'_>,
    ) -> Result<PushOutcome> {
        let store = self.images();
        let rec = &job.record;
        let blob_err = |e: berth_image::store::StoreError| EngineError::internal(error_chain(&e));
        let config = store
            .blobs()
            .read(&rec.id, MAX_CONFIG_SIZE)
            .map_err(blob_err)?;
        let mut manifest_bytes = None;
        let mut descriptors = None;
        let mut config_type = manifest::media_type::OCI_CONFIG.to_owned();
        if let Some(d) = rec
            .manifest_digest
            .as_ref()
            .filter(|d| store.blobs().exists(d))
        {
            let bytes = store.blobs().read(d, MAX_MANIFEST_SIZE).map_err(blob_err)?;
            if let Ok(Parsed::Manifest(m)) = manifest::parse(&bytes, None) {
                config_type.clone_from(&m.config.media_type);
                if m.layers.len() == rec.chain_ids.len() {
                    descriptors = Some(m.layers.clone());
                    manifest_bytes = Some((bytes, m.media_type.clone()));
                }
            }
        }
        let layers = rec
            .chain_ids
            .iter()
            .enumerate()
            .map(|(i, chain)| PushLayer {
                descriptor: descriptors.as_ref().and_then(|d| d.get(i).cloned()),
                chain_id: chain.clone(),
            })
            .collect();
        let image = PushImage {
            config: &config,
            config_media_type: &config_type,
            manifest: manifest_bytes
                .as_ref()
                .map(|(b, t)| (b.as_slice(), t.as_str())),
            layers,
            source: job.source.as_ref(),
        };
        let client = self.registry_config(credentials);
        let ctx = PushContext {
            blobs: store.blobs(),
            layers: store.layers(),
            client: &client,
            max_concurrent: pull::DEFAULT_CONCURRENCY,
        };
        let pushed: Pushed = pull::push(&ctx, &image, &job.target, progress)
            .await
            .map_err(|e| EngineError::internal(error_chain(&e)))?;
        let size = match (&manifest_bytes, pushed.rebuilt) {
            (Some((b, _)), false) => b.len() as u64,
            _ => 0,
        };
        if pushed.config_digest == rec.id {
            let repo_digest = format!("{}@{}", job.target.name(), pushed.digest);
            store
                .add_repo_digest(&rec.id, &repo_digest)
                .map_err(image_error)?;
        }
        let target = job.target.familiar();
        self.image_event("push", &target, Some(&job.target.familiar_name()));
        Ok(PushOutcome {
            tag: job.target.tag().unwrap_or("latest").to_owned(),
            digest: pushed.digest,
            size,
        })
    }

    /// `docker tag`: points `repo[:tag]` at the image `source` names.
    pub fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        let store = self.images();
        let rec = store.resolve(source).map_err(image_error)?;
        let r = Reference::parse(target).map_err(|e| EngineError::invalid(e.to_string()))?;
        store.tag(&rec.id, &r.to_string()).map_err(image_error)?;
        self.image_event("tag", &rec.id.to_string(), Some(&r.familiar()));
        Ok(())
    }

    /// `docker rmi`: Docker's untag/delete rules against the containers using images.
    pub fn remove_image(&self, name: &str, force: bool) -> Result<Vec<Deleted>> {
        let store = self.images();
        let id = store.resolve(name).map_err(image_error)?.id.to_string();
        let users = self.image_users();
        let uses = |d: &Digest| users.get(&d.to_string()).map(|u| u.1.clone());
        let items = store.remove(name, force, &uses).map_err(image_error)?;
        self.publish_deleted(&items, &id);
        Ok(items)
    }

    /// `docker image prune`: `dangling=false` prunes every unused image; `label`,
    /// `label!` and `until` narrow it.
    pub fn prune_images(&self, f: &ImageFilters) -> Result<PruneReport> {
        let store = self.images();
        let users = self.image_users();
        let records: HashMap<Digest, ImageRecord> = store
            .list()
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let kept = |d: &Digest| -> bool {
            records.get(d).is_some_and(|rec| {
                f.until.is_some_and(|u| created_secs(rec) >= u)
                    || !labels_match(rec, &f.labels)
                    || (!f.not_labels.is_empty() && labels_match(rec, &f.not_labels))
            })
        };
        let uses = |d: &Digest| -> Option<ContainerUse> {
            users.get(&d.to_string()).map(|u| u.1.clone()).or_else(|| {
                kept(d).then(|| ContainerUse {
                    id: String::new(),
                    running: false,
                })
            })
        };
        let dangling_only = f.dangling.unwrap_or(true);
        let report = store.prune(dangling_only, &uses).map_err(image_error)?;
        for item in &report.deleted {
            match item {
                Deleted::Untagged(r) => self.image_event("untag", r, Some(r)),
                Deleted::Deleted(d)
                    if d.parse::<Digest>().is_ok_and(|d| records.contains_key(&d)) =>
                {
                    self.image_event("delete", d, Some(d));
                }
                Deleted::Deleted(_) => {}
            }
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("reclaimed".to_owned(), report.space_reclaimed.to_string());
        self.events.publish("image", "prune", "", attrs);
        Ok(report)
    }

    /// Resolves every name first (404 for a missing one), as `docker save` does before
    /// writing a byte.
    pub fn check_save_names(&self, names: &[String]) -> Result<()> {
        if names.is_empty() {
            return Err(EngineError::invalid("no images specified"));
        }
        for n in names {
            self.images().resolve(n).map_err(image_error)?;
        }
        Ok(())
    }

    /// `docker save`: writes the archive of `names` to `writer` on a blocking thread.
    pub async fn save_images<W: Write + Send + 'static>(
        self: &Arc<Self>,
        names: Vec<String>,
        writer: W,
    ) -> Result<()> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            archive::save(me.images(), &refs, SaveFormat::Docker, writer).map_err(archive_error)?;
            for n in &names {
                if let Ok(rec) = me.images().resolve(n) {
                    me.image_event("save", &rec.id.to_string(), Some(n));
                }
            }
            Ok(())
        })
        .await
        .map_err(worker_error)?
    }

    /// `docker load`: reads an archive from `reader` on a blocking thread.
    pub async fn load_images<R: Read + Send + 'static>(
        self: &Arc<Self>,
        reader: R,
    ) -> Result<Vec<Loaded>> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let loaded = archive::load(me.images(), reader, &LoadOptions::default())
                .map_err(archive_error)?;
            for l in &loaded {
                let id = l.id.to_string();
                self_event_load(&me, &id, &l.tags);
            }
            Ok(loaded)
        })
        .await
        .map_err(worker_error)?
    }

    /// `docker import`: a rootfs tarball from `reader` becomes an image tagged `tag`.
    pub async fn import_image<R: Read + Send + 'static>(
        self: &Arc<Self>,
        reader: R,
        changes: Vec<String>,
        tag: Option<String>,
    ) -> Result<Digest> {
        if let Some(t) = &tag {
            Reference::parse(t).map_err(|e| EngineError::invalid(e.to_string()))?;
        }
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let id = archive::import(me.images(), reader, &changes, tag.as_deref())
                .map_err(archive_error)?;
            me.image_event("import", &id.to_string(), tag.as_deref());
            Ok(id)
        })
        .await
        .map_err(worker_error)?
    }

    /// `POST /auth`: checks credentials against `server`'s `/v2/` without storing them.
    /// Returns the registry host checked.
    pub async fn check_login(&self, server: &str, credentials: Credentials) -> Result<String> {
        let host = registry_host_of(server);
        let client = Client::new(&host, &self.registry_config(Some(credentials)))
            .map_err(|e| EngineError::invalid(error_chain(&e)))?;
        match client.ping().await {
            Ok(()) => Ok(host),
            Err(RegistryError::Unauthorized { .. }) => Err(EngineError::new(
                ErrorKind::Unauthorized,
                format!(
                    "login attempt to {}v2/ failed with status: 401 Unauthorized",
                    client.base_url()
                ),
            )),
            Err(e) => Err(EngineError::new(ErrorKind::Internal, error_chain(&e))),
        }
    }
}

fn self_event_load(e: &Engine, id: &str, tags: &[String]) {
    if tags.is_empty() {
        e.image_event("load", id, Some(id));
    }
    for t in tags {
        e.image_event("load", id, Some(t));
    }
}

/// The registry host of a `serveraddress` (`https://index.docker.io/v1/` → `docker.io`,
/// `http://127.0.0.1:5000/` → `127.0.0.1:5000`).
pub fn registry_host_of(server: &str) -> String {
    let s = server.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or("");
    match host {
        "" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        h => h.to_owned(),
    }
}

/// A pull failure in Docker's words (moby `distribution/errors.go`).
fn pull_error(reference: &Reference, e: PullIntoError) -> EngineError {
    if let PullIntoError::Pull(PullError::Resolve { source, .. }) = &e {
        match source {
            RegistryError::Unauthorized { message, .. } | RegistryError::Denied { message, .. } => {
                return EngineError::not_found(format!(
                    "pull access denied for {}, repository does not exist or may require 'docker login': denied: {message}",
                    reference.familiar_name()
                ));
            }
            RegistryError::NotFound { code, message, .. } if code == "NAME_UNKNOWN" => {
                return EngineError::not_found(format!(
                    "repository {} not found: name unknown: {message}",
                    reference.familiar_name()
                ));
            }
            RegistryError::NotFound { message, .. } => {
                return EngineError::not_found(format!(
                    "manifest for {} not found: manifest unknown: {message}",
                    reference.familiar()
                ));
            }
            _ => {}
        }
    }
    if let PullIntoError::Pull(PullError::Platform { source, .. }) = &e {
        return EngineError::not_found(source.to_string());
    }
    EngineError::internal(error_chain(&e))
}
