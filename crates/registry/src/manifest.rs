//! Manifests: resolve a tag or digest (`GET /v2/<name>/manifests/<ref>`) and push one
//! (`PUT`).
//!
//! Runs in the pulling or pushing process; holds nothing beyond the call. Follows the
//! OCI distribution spec's "pulling manifests" and "pushing manifests" sections. The
//! body is capped at [`MAX_MANIFEST_SIZE`] and, when pulled by digest, checked against it.

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::Method;

use crate::client::{expect, Client};
use crate::digest::{is_digest, sha256_digest, validate};
use crate::RegistryError;

/// Largest manifest accepted (4 MiB, as containerd and the distribution spec use).
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// A manifest as the registry served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// sha256 digest of `bytes`.
    pub digest: String,
    /// Media type from `Content-Type`, else from the document's `mediaType`.
    pub media_type: String,
    /// Raw bytes, exactly as served (their digest is the manifest's identity).
    pub bytes: Bytes,
}

impl Client {
    /// Fetches the manifest `reference` (tag or digest) of `repo`, asking for the media
    /// types in `accept` (see [`crate::media_type`]).
    pub async fn resolve(
        &self,
        repo: &str,
        reference: &str,
        accept: &[&str],
    ) -> Result<Manifest, RegistryError> {
        if is_digest(reference) {
            validate(reference)?;
        }
        let url = self.repo_url(repo, &format!("manifests/{reference}"))?;
        let accept = accept.join(", ");
        let scope = self.scope(repo, "pull");
        let resp = self
            .send(Method::GET, &url, &scope, |r| r.header(ACCEPT, &accept))
            .await?;
        let mut resp = expect(resp, &[200]).await?;
        let too_large = || RegistryError::ManifestTooLarge {
            url: url.to_string(),
            limit: MAX_MANIFEST_SIZE,
        };
        if resp.content_length().is_some_and(|n| n > MAX_MANIFEST_SIZE) {
            return Err(too_large());
        }
        let header_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string());
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|source| RegistryError::ReadBody {
                url: url.to_string(),
                source,
            })?
        {
            if (body.len() + chunk.len()) as u64 > MAX_MANIFEST_SIZE {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let digest = sha256_digest(&body);
        if is_digest(reference) && digest != reference {
            return Err(RegistryError::DigestMismatch {
                what: url.to_string(),
                expected: reference.to_string(),
                actual: digest,
            });
        }
        let media_type = header_type
            .filter(|t| !t.is_empty() && t != "application/json" && t != "text/plain")
            .or_else(|| embedded_media_type(&body))
            .unwrap_or_default();
        Ok(Manifest {
            digest,
            media_type,
            bytes: body.into(),
        })
    }

    /// Uploads a manifest under `reference` (tag or its digest); returns its digest.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<String, RegistryError> {
        let digest = sha256_digest(&bytes);
        if is_digest(reference) && reference != digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("{repo}@{reference}"),
                expected: reference.to_string(),
                actual: digest,
            });
        }
        let url = self.repo_url(repo, &format!("manifests/{reference}"))?;
        let scope = self.scope(repo, "pull,push");
        let resp = self
            .send(Method::PUT, &url, &scope, |r| {
                r.header(CONTENT_TYPE, media_type)
                    .header(CONTENT_LENGTH, bytes.len())
                    .body(bytes.clone())
            })
            .await?;
        expect(resp, &[201, 200]).await?;
        Ok(digest)
    }
}

/// The `mediaType` field of a manifest document, if it has one.
fn embedded_media_type(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
    }
    serde_json::from_slice::<Head>(body).ok()?.media_type
}
