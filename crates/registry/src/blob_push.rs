//! Blob push: `HEAD` to skip blobs the registry has, cross-repository mount
//! (`POST …/uploads/?mount=&from=`), and monolithic upload (`POST` then `PUT ?digest=`).
//!
//! Runs in the pushing process. An upload streams from memory or from a file opened for
//! the duration of the call. Follows the OCI distribution spec's push section; chunked
//! `PATCH` uploads are left out, since every registry accepts the monolithic form.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Body, Method, Response};
use tokio::io::AsyncReadExt as _;
use url::Url;

use crate::client::{expect, Client};
use crate::digest::validate;
use crate::progress::{emit, Phase, ProgressFn};
use crate::RegistryError;

/// Bytes per upload chunk (and per progress step).
const CHUNK: usize = 256 * 1024;

/// Where the bytes of a blob to upload come from.
#[derive(Debug, Clone)]
pub enum BlobSource {
    /// In memory.
    Bytes(Bytes),
    /// A file holding exactly the blob.
    File(PathBuf),
}

/// What [`Client::push_blob`] had to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// The registry already had it.
    Exists,
    /// Mounted from another repository.
    Mounted,
    /// Uploaded.
    Uploaded,
}

/// Result of a mount request.
enum Mount {
    Done,
    Upload(Url),
}

impl Client {
    /// Whether `repo` already has blob `digest` (`HEAD`).
    pub async fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool, RegistryError> {
        validate(digest)?;
        let url = self.repo_url(repo, &format!("blobs/{digest}"))?;
        let scope = self.scope(repo, "pull,push");
        let resp = self.send(Method::HEAD, &url, &scope, |r| r).await?;
        if resp.status() == 404 {
            return Ok(false);
        }
        expect(resp, &[200]).await.map(|_| true)
    }

    /// Mounts blob `digest` from `from_repo` into `repo`; false when the registry
    /// declined (it answered 202 and the caller must upload).
    pub async fn mount_blob(
        &self,
        repo: &str,
        digest: &str,
        from_repo: &str,
    ) -> Result<bool, RegistryError> {
        Ok(matches!(
            self.mount(repo, digest, from_repo).await?,
            Mount::Done
        ))
    }

    async fn mount(&self, repo: &str, digest: &str, from: &str) -> Result<Mount, RegistryError> {
        validate(digest)?;
        let mut url = self.repo_url(repo, "blobs/uploads/")?;
        url.query_pairs_mut()
            .append_pair("mount", digest)
            .append_pair("from", &crate::endpoint::repository_path(self.host(), from));
        let scope = format!(
            "{} {}",
            self.scope(repo, "pull,push"),
            self.scope(from, "pull")
        );
        let resp = self
            .send(Method::POST, &url, &scope, |r| r.header(CONTENT_LENGTH, 0))
            .await?;
        let resp = expect(resp, &[201, 202]).await?;
        if resp.status() == 201 {
            return Ok(Mount::Done);
        }
        upload_location(&resp).map(Mount::Upload)
    }

    /// Uploads blob `digest` of `repo` from `source` (`POST`, then one `PUT`).
    pub async fn upload_blob(
        &self,
        repo: &str,
        digest: &str,
        source: &BlobSource,
        progress: ProgressFn<'_>,
    ) -> Result<(), RegistryError> {
        validate(digest)?;
        let url = self.repo_url(repo, "blobs/uploads/")?;
        let scope = self.scope(repo, "pull,push");
        let resp = self
            .send(Method::POST, &url, &scope, |r| r.header(CONTENT_LENGTH, 0))
            .await?;
        let location = upload_location(&expect(resp, &[202]).await?)?;
        self.finish_upload(repo, digest, location, source, progress)
            .await
    }

    /// Pushes one blob the cheapest way: skip if present, else mount from `mount_from`
    /// when given, else upload. Emits `Exists`, `Mounted` or `Pushing…Done`.
    pub async fn push_blob(
        &self,
        repo: &str,
        digest: &str,
        source: &BlobSource,
        mount_from: Option<&str>,
        progress: ProgressFn<'_>,
    ) -> Result<PushOutcome, RegistryError> {
        emit(progress, digest, Phase::Waiting, 0, None);
        if self.blob_exists(repo, digest).await? {
            emit(progress, digest, Phase::Exists, 0, None);
            return Ok(PushOutcome::Exists);
        }
        if let Some(from) = mount_from {
            match self.mount(repo, digest, from).await? {
                Mount::Done => {
                    emit(progress, digest, Phase::Mounted, 0, None);
                    return Ok(PushOutcome::Mounted);
                }
                Mount::Upload(location) => {
                    self.finish_upload(repo, digest, location, source, progress)
                        .await?;
                    return Ok(PushOutcome::Uploaded);
                }
            }
        }
        self.upload_blob(repo, digest, source, progress).await?;
        Ok(PushOutcome::Uploaded)
    }

    /// `PUT <location>&digest=` with the whole blob as body.
    async fn finish_upload(
        &self,
        repo: &str,
        digest: &str,
        mut location: Url,
        source: &BlobSource,
        progress: ProgressFn<'_>,
    ) -> Result<(), RegistryError> {
        location.query_pairs_mut().append_pair("digest", digest);
        let sent = Arc::new(AtomicU64::new(0));
        let (body, size) = body_for(source, sent.clone()).await?;
        emit(progress, digest, Phase::Pushing, 0, Some(size));
        let scope = self.scope(repo, "pull,push");
        let request = self
            .send_once(Method::PUT, &location, &scope)
            .await?
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size)
            .body(body)
            .send();
        tokio::pin!(request);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let resp = loop {
            tokio::select! {
                r = &mut request => break r,
                _ = tick.tick() => {
                    emit(progress, digest, Phase::Pushing, sent.load(Ordering::Relaxed), Some(size));
                }
            }
        };
        let resp = resp.map_err(|source| RegistryError::Send {
            method: "PUT".to_string(),
            url: location.to_string(),
            source,
        })?;
        expect(resp, &[201, 204]).await?;
        emit(progress, digest, Phase::Done, size, Some(size));
        Ok(())
    }
}

/// The upload URL from a 202's `Location`, relative or absolute.
fn upload_location(resp: &Response) -> Result<Url, RegistryError> {
    resp.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|loc| resp.url().join(loc).ok())
        .ok_or_else(|| RegistryError::MissingHeader {
            url: resp.url().to_string(),
            header: "Location",
        })
}

/// A streaming request body for `source` that counts bytes into `sent`, and its size.
async fn body_for(source: &BlobSource, sent: Arc<AtomicU64>) -> Result<(Body, u64), RegistryError> {
    match source {
        BlobSource::Bytes(bytes) => {
            let chunks: Vec<Bytes> = (0..bytes.len())
                .step_by(CHUNK)
                .map(|i| bytes.slice(i..(i + CHUNK).min(bytes.len())))
                .collect();
            let stream = counting(futures_util::stream::iter(chunks.into_iter().map(Ok)), sent);
            Ok((Body::wrap_stream(stream), bytes.len() as u64))
        }
        BlobSource::File(path) => {
            let err = |source| RegistryError::ReadBlobFile {
                path: path.clone(),
                source,
            };
            let file = tokio::fs::File::open(path).await.map_err(err)?;
            let size = file.metadata().await.map_err(err)?.len();
            let stream = futures_util::stream::unfold(file, |mut f| async move {
                let mut buf = vec![0u8; CHUNK];
                match f.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(Bytes::from(buf)), f))
                    }
                    Err(e) => Some((Err(e), f)),
                }
            });
            Ok((Body::wrap_stream(counting(stream, sent)), size))
        }
    }
}

/// Counts the bytes of a chunk stream into `sent` as they are taken.
fn counting<S>(
    stream: S,
    sent: Arc<AtomicU64>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static
where
    S: futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    use futures_util::StreamExt as _;
    stream.map(move |item| {
        if let Ok(b) = &item {
            sent.fetch_add(b.len() as u64, Ordering::Relaxed);
        }
        item
    })
}
