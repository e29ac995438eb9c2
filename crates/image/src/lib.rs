//! berth-image: images as read-only layered templates.
//!
//! Content-addressed blobs, Docker/OCI manifests and configs, image references, layer
//! unpacking (gzip/zstd/plain tar, whiteouts to overlayfs form, hardened against escapes),
//! layers shared by chain id, and overlayfs snapshots for container root filesystems.
//! Runs inside berthd (and tests); knows nothing about containers or HTTP. All `unsafe`
//! lives in `sys`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

/// `save`/`load` archives (docker save format and OCI layout), `import` and `export`.
pub mod archive;
/// Digests (`sha256:<hex>`, `sha512:<hex>`): parsing, hashing, verifying writers.
pub mod digest;
/// Image records: tags, lookup by name or id, reference-counted removal, prune.
pub mod images;
/// Layer store: unpacked layers by chain id, shared between images.
pub mod layers;
/// Docker v2 schema2 / OCI manifests, indexes, image configs, platform selection.
pub mod manifest;
/// Pulling from and pushing to registries: manifests, streaming layer download + unpack.
pub mod pull;
/// Image references with Docker's normalisation rules.
pub mod reference;
/// overlayfs snapshots: a container rootfs from image layers.
pub mod snapshot;
/// Content-addressed blob store with verified, atomic writes.
pub mod store;
/// Raw syscalls (mknod, xattrs, new mount API); the only module allowed `unsafe`.
#[allow(unsafe_code)]
mod sys;
/// Layer tar streams → directories: decompression, whiteouts, path hardening.
pub mod unpack;
