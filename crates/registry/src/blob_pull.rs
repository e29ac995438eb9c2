//! Blob download: `GET /v2/<name>/blobs/<digest>` as a byte stream, resumable with
//! `Range`, and a download helper that verifies the digest and resumes broken transfers.
//!
//! Runs in the pulling process. The stream owns one HTTP response; dropping it closes
//! the connection. Redirects (to object storage) are followed. A server that ignores
//! `Range` (200 instead of 206) is handled by skipping the bytes already held.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::Method;
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::client::{expect, Client};
use crate::digest::{validate, Hasher};
use crate::progress::{emit, Phase, ProgressFn};
use crate::RegistryError;

/// A blob's bytes as they arrive.
pub type BlobStream = Pin<Box<dyn Stream<Item = Result<Bytes, RegistryError>> + Send>>;

impl Client {
    /// Streams blob `digest` of `repo` from byte `offset` on; also returns the blob's
    /// total size when the registry says it.
    pub async fn fetch_blob(
        &self,
        repo: &str,
        digest: &str,
        offset: u64,
    ) -> Result<(BlobStream, Option<u64>), RegistryError> {
        validate(digest)?;
        let url = self.repo_url(repo, &format!("blobs/{digest}"))?;
        let scope = self.scope(repo, "pull");
        let resp = self
            .send(Method::GET, &url, &scope, |r| {
                if offset > 0 {
                    r.header(RANGE, format!("bytes={offset}-"))
                } else {
                    r
                }
            })
            .await?;
        let resp = expect(resp, &[200, 206]).await?;
        let (mut skip, total) = if resp.status() == 206 {
            let total = resp
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit('/').next())
                .and_then(|t| t.parse().ok());
            (0u64, total)
        } else {
            (offset, resp.content_length())
        };
        let final_url = resp.url().to_string();
        let stream = resp.bytes_stream().map(move |chunk| {
            let mut bytes = chunk.map_err(|source| RegistryError::ReadBody {
                url: final_url.clone(),
                source,
            })?;
            if skip > 0 {
                let n = usize::try_from(skip).unwrap_or(usize::MAX).min(bytes.len());
                skip -= n as u64;
                bytes = bytes.slice(n..);
            }
            Ok(bytes)
        });
        Ok((Box::pin(stream), total))
    }

    /// Downloads blob `digest` into `out`, resuming at the bytes already written when
    /// the transfer breaks (at most [`crate::ClientConfig::max_resume_attempts`] times),
    /// then verifies the digest. Returns the size. `out` receives unverified bytes: write
    /// to a temporary file and move it into place only on success.
    pub async fn download_blob(
        &self,
        repo: &str,
        digest: &str,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        progress: ProgressFn<'_>,
    ) -> Result<u64, RegistryError> {
        validate(digest)?;
        emit(progress, digest, Phase::Waiting, 0, None);
        let mut state = Transfer {
            hasher: Hasher::default(),
            written: 0,
            total: None,
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.transfer(repo, digest, &mut state, out, progress).await {
                Ok(()) => break,
                Err(e) if !is_transient(&e) => return Err(e),
                Err(e) if attempts > self.max_resume_attempts => {
                    return Err(RegistryError::RetriesExhausted {
                        digest: digest.to_string(),
                        attempts,
                        source: Box::new(e),
                    })
                }
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempts))).await
                }
            }
        }
        out.flush()
            .await
            .map_err(|source| RegistryError::WriteBlob {
                digest: digest.to_string(),
                source,
            })?;
        emit(
            progress,
            digest,
            Phase::Verifying,
            state.written,
            state.total,
        );
        let actual = state.hasher.digest();
        if actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("{repo}@{digest}"),
                expected: digest.to_string(),
                actual,
            });
        }
        emit(progress, digest, Phase::Done, state.written, state.total);
        Ok(state.written)
    }

    /// One attempt: fetch from `state.written` on and append to `out`.
    async fn transfer(
        &self,
        repo: &str,
        digest: &str,
        state: &mut Transfer,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        progress: ProgressFn<'_>,
    ) -> Result<(), RegistryError> {
        let (mut stream, total) = self.fetch_blob(repo, digest, state.written).await?;
        state.total = state.total.or(total);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            out.write_all(&chunk)
                .await
                .map_err(|source| RegistryError::WriteBlob {
                    digest: digest.to_string(),
                    source,
                })?;
            state.hasher.update(&chunk);
            state.written += chunk.len() as u64;
            emit(
                progress,
                digest,
                Phase::Downloading,
                state.written,
                state.total,
            );
        }
        Ok(())
    }
}

/// What a download has received so far, kept across resumes.
struct Transfer {
    hasher: Hasher,
    written: u64,
    total: Option<u64>,
}

/// Errors worth a resume: the network, and server-side failures.
fn is_transient(e: &RegistryError) -> bool {
    match e {
        RegistryError::Send { .. } | RegistryError::ReadBody { .. } => true,
        RegistryError::Status { status, .. } => *status >= 500,
        _ => false,
    }
}
