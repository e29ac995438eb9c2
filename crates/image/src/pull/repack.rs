//! Push helper: turns an unpacked layer that has no stored compressed blob (an
//! imported or committed image) back into a gzip blob in the blob store.
//!
//! Runs on a tokio blocking thread. Packs twice, both times with `write_tar` (which
//! sorts entries, so the same tree gives the same bytes): once into a hashing sink to
//! learn the digest and size the blob store wants up front, once into a `BlobWriter`
//! that verifies them. This costs a second compression instead of a temp file outside
//! the store. The repacked tar is not byte-identical to the original one (no tar-split
//! data is kept), so its diff id differs and the caller rewrites the config.

use std::io;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::PushError;
use crate::digest::{Algorithm, Digest, HashingWriter};
use crate::layers::LayerStore;
use crate::store::BlobStore;
use crate::unpack::write_tar;

/// A layer packed into a stored gzip blob.
pub(crate) struct Repacked {
    /// Digest of the gzip blob.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// Digest of the uncompressed tar.
    pub diff_id: Digest,
}

/// Packs the layer `chain_id` into a stored gzip blob.
pub(crate) fn repack(
    blobs: &BlobStore,
    layers: &LayerStore,
    chain_id: &Digest,
) -> Result<Repacked, PushError> {
    let layer = layers
        .get(&chain_id.to_string())
        .map_err(|source| PushError::LayerMissing {
            chain_id: chain_id.clone(),
            source,
        })?;
    let pack_err = |source| PushError::Pack {
        chain_id: chain_id.clone(),
        source,
    };
    let finish_err = |source: io::Error| PushError::Pack {
        chain_id: chain_id.clone(),
        source: crate::unpack::WriteTarError::Finish { source },
    };

    // Pass 1: measure.
    let compressed = HashingWriter::new(io::sink(), Algorithm::Sha256);
    let gz = GzEncoder::new(compressed, Compression::fast());
    let raw = HashingWriter::new(gz, Algorithm::Sha256);
    let (gz, diff_id, _) = write_tar(&layer.diff_dir, raw).map_err(pack_err)?.finish();
    let (_, digest, size) = gz.finish().map_err(finish_err)?.finish();
    let repacked = Repacked {
        digest,
        size,
        diff_id,
    };
    if blobs.exists(&repacked.digest) {
        return Ok(repacked);
    }

    // Pass 2: store, verified against pass 1.
    let store_err = |source| PushError::Store {
        chain_id: chain_id.clone(),
        source,
    };
    let writer = blobs
        .begin(repacked.digest.clone(), Some(size))
        .map_err(store_err)?;
    let gz = GzEncoder::new(writer, Compression::fast());
    let writer = write_tar(&layer.diff_dir, gz)
        .map_err(pack_err)?
        .finish()
        .map_err(finish_err)?;
    writer.commit().map_err(store_err)?;
    Ok(repacked)
}
