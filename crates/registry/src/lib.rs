//! OCI distribution client for berth: resolve and push manifests, fetch, mount and
//! upload blobs, with Docker-compatible authentication and credential storage.
//!
//! Runs in whichever process pulls or pushes (berthd; the CLI for `login`/`logout`),
//! on tokio. It owns HTTP connections and an in-memory token cache per [`Client`], and
//! rewrites the Docker config file only in [`login`]/[`logout`].
//!
//! Implements the OCI distribution spec v1.1 (pull, push, cross-repository mount) and
//! Docker's token authentication. Left out: chunked (PATCH) uploads, the referrers and
//! tag-list APIs, schema 1 manifests, and signature verification.
//!
//! Why not the `oci-client` crate: it covers the HTTP operations, but not Docker config
//! files, credential helpers, `login`/`logout` storage, per-blob progress events or
//! resumed downloads, and its error type and its `oci-spec`/`chrono` dependencies
//! would have to be wrapped. Those parts are most of this crate, so a small own client
//! on reqwest is simpler than bending `oci-client` around them. TLS is rustls with
//! `rustls-platform-verifier` (reqwest's `rustls` feature), which trusts the system
//! root store on Linux; no OpenSSL.

#![warn(missing_docs)]
#![deny(unsafe_code)]

/// Bearer/basic challenges, token fetch and token cache.
mod auth;
/// Blob download: byte streams with `Range` resumes and a verifying, retrying download.
mod blob_pull;
/// Blob push: existence check, cross-repository mount and monolithic upload.
mod blob_push;
/// The client, its configuration and the authenticated request loop.
mod client;
/// Docker config file credentials and credential helpers.
pub mod credentials;
/// sha256 digests.
pub mod digest;
/// Registry host → API URL and config key.
pub mod endpoint;
/// Error enum and registry error body mapping.
mod error;
/// `login` and `logout`.
mod login;
/// Manifest resolve and push.
mod manifest;
/// Manifest media types.
pub mod media_type;
/// Progress events.
pub mod progress;

pub use blob_pull::BlobStream;
pub use blob_push::{BlobSource, PushOutcome};
pub use client::{Client, ClientConfig};
pub use credentials::{CredentialError, Credentials, DockerConfig};
pub use error::RegistryError;
pub use login::{login, logout};
pub use manifest::{Manifest, MAX_MANIFEST_SIZE};
pub use progress::{Phase, Progress, ProgressFn};
