//! Pull, blocking half of one layer: the bytes arriving from the download task are
//! written into a `BlobWriter` and handed to `unpack` in the same pass, inside
//! `LayerStore::ensure` for the layer's chain id.
//!
//! Runs on a tokio blocking thread (file I/O, decompression, tar extraction). Owns the
//! blob temp file (removed unless the digest checks out) and, through `ensure`, the
//! temp layer dir (removed unless the closure succeeds). The compressed digest is
//! checked *before* `ensure` moves the layer into place, so a corrupted blob never
//! leaves a blob or a layer behind.

use std::io::{self, BufReader, Read, Write as _};

use bytes::{Buf as _, Bytes};
use tokio::sync::{mpsc, oneshot};

use super::progress::{Events, Phase};
use super::PullError;
use crate::digest::{Digest, DigestError, VerifyingReader};
use crate::layers::{Layer, LayerError, LayerStore};
use crate::manifest::Descriptor;
use crate::store::{BlobStore, BlobWriter, StoreError};
use crate::unpack::{unpack, UnpackError, UnpackOptions};

/// One message from the download task: bytes, or "the download was abandoned".
pub(crate) type Chunk = Result<Bytes, Abandoned>;

/// Marker sent when the download gives up; the reader turns it into an I/O error.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Abandoned;

/// What the blocking half needs; everything owned so it can move to another thread.
pub(crate) struct Job {
    /// The compressed layer.
    pub desc: Descriptor,
    /// Chain id of the layer.
    pub chain_id: Digest,
    /// Chain id of the layer below.
    pub parent: Option<Digest>,
    /// Blob store.
    pub blobs: BlobStore,
    /// Layer store.
    pub layers: LayerStore,
    /// Unpack limits.
    pub opts: UnpackOptions,
    /// Progress.
    pub events: Events,
}

/// The result of the blocking half.
pub(crate) struct Outcome {
    /// What `ensure` returned.
    pub layer: Result<Layer, LayerError>,
    /// The real cause when the closure failed for a reason that is not an unpack error
    /// (digest or size mismatch, store failure, abandoned download).
    pub cause: Option<PullError>,
    /// Whether the closure ran; false when another puller created the layer meanwhile.
    pub ran: bool,
}

/// Creates the layer from the streamed blob. `go` is fired when `ensure` actually needs
/// the bytes (not when another puller already created the layer).
pub(crate) fn unpack_streamed(
    job: Job,
    go: oneshot::Sender<()>,
    rx: mpsc::Receiver<Chunk>,
) -> Outcome {
    let mut cause = None;
    let mut ran = false;
    let parent = job.parent.as_ref().map(Digest::to_string);
    let res = job
        .layers
        .ensure(&job.chain_id.to_string(), parent.as_deref(), |dir| {
            ran = true;
            // The receiver is gone only if the pull was dropped; the reader then sees a
            // closed channel and the unpack fails.
            let _ = go.send(());
            let writer = job
                .blobs
                .begin(job.desc.digest.clone(), Some(job.desc.size))
                .map_err(|source| {
                    cause = Some(PullError::Store {
                        digest: job.desc.digest.clone(),
                        source,
                    });
                    verification_failed()
                })?;
            let mut tee = Tee {
                rx,
                buf: Bytes::new(),
                writer: Some(writer),
                write_err: None,
                abandoned: false,
            };
            let unpacked = unpack(&mut tee, dir, &job.opts);
            match tee.finish(&job.desc, &job.events) {
                Ok(()) => unpacked,
                Err(e) => {
                    cause = Some(e);
                    Err(verification_failed())
                }
            }
        });
    Outcome {
        layer: res,
        cause,
        ran,
    }
}

/// Creates the layer from a blob already in the store, checking its digest on the way.
pub(crate) fn unpack_local(job: Job) -> Outcome {
    let mut cause = None;
    let mut ran = false;
    let parent = job.parent.as_ref().map(Digest::to_string);
    let digest = job.desc.digest.clone();
    let res = job
        .layers
        .ensure(&job.chain_id.to_string(), parent.as_deref(), |dir| {
            ran = true;
            let file = job.blobs.open_blob(&digest).map_err(|source| {
                cause = Some(PullError::Store {
                    digest: digest.clone(),
                    source,
                });
                verification_failed()
            })?;
            let mut reader = VerifyingReader::new(BufReader::new(file), digest.clone());
            let unpacked = unpack(&mut reader, dir, &job.opts);
            let rest = io::copy(&mut reader, &mut io::sink());
            job.events.send(
                &digest,
                Phase::Verifying,
                job.desc.size,
                Some(job.desc.size),
            );
            match (rest, reader.finish()) {
                (_, Err(DigestError::Mismatch { actual, .. })) => {
                    cause = Some(PullError::Store {
                        digest: digest.clone(),
                        source: StoreError::Corrupt {
                            digest: digest.clone(),
                            actual,
                        },
                    });
                    Err(verification_failed())
                }
                (Err(source), _) => {
                    cause = Some(PullError::Store {
                        digest: digest.clone(),
                        source: StoreError::Read {
                            path: job.blobs.path_of(&digest),
                            source,
                        },
                    });
                    Err(verification_failed())
                }
                _ => unpacked,
            }
        });
    Outcome {
        layer: res,
        cause,
        ran,
    }
}

/// The unpack error returned to `ensure` when the real cause is kept aside.
fn verification_failed() -> UnpackError {
    UnpackError::ReadTrailer {
        source: io::Error::other("compressed layer blob failed verification"),
    }
}

/// Reads chunks from the channel, writing each into the blob writer as it arrives.
struct Tee {
    rx: mpsc::Receiver<Chunk>,
    buf: Bytes,
    writer: Option<BlobWriter>,
    write_err: Option<io::Error>,
    abandoned: bool,
}

impl Tee {
    /// Takes the next chunk, tees it into the blob; `false` at the end of the stream.
    fn next_chunk(&mut self) -> io::Result<bool> {
        match self.rx.blocking_recv() {
            None => Ok(false),
            Some(Err(Abandoned)) => {
                self.abandoned = true;
                Err(io::Error::other("layer download abandoned"))
            }
            Some(Ok(bytes)) => {
                if let Some(writer) = &mut self.writer {
                    if let Err(e) = writer.write_all(&bytes) {
                        let kind = e.kind();
                        self.write_err = Some(e);
                        return Err(io::Error::new(kind, "writing the layer blob failed"));
                    }
                }
                self.buf = bytes;
                Ok(true)
            }
        }
    }

    /// Drains what the unpacker did not read, then verifies and commits the blob.
    fn finish(mut self, desc: &Descriptor, events: &Events) -> Result<(), PullError> {
        while self.write_err.is_none() && !self.abandoned {
            match self.next_chunk() {
                Ok(true) => {}
                Ok(false) | Err(_) => break,
            }
        }
        let digest = &desc.digest;
        let writer = self.writer.take().expect("the writer is only taken here");
        if self.abandoned {
            writer.abort();
            return Err(PullError::Abandoned {
                digest: digest.clone(),
            });
        }
        if let Some(e) = self.write_err.take() {
            let temp = writer.temp_path().to_owned();
            writer.abort();
            let source = match e.into_inner().map(|b| b.downcast::<StoreError>()) {
                Some(Ok(store)) => *store,
                Some(Err(other)) => StoreError::Write {
                    path: temp,
                    source: io::Error::other(other),
                },
                None => StoreError::Write {
                    path: temp,
                    source: io::Error::other("write failed"),
                },
            };
            return Err(store_error(digest, source));
        }
        events.send(digest, Phase::Verifying, writer.written(), Some(desc.size));
        writer.commit().map_err(|e| store_error(digest, e))
    }
}

/// Turns a blob writer error into the pull error naming the layer.
fn store_error(digest: &Digest, source: StoreError) -> PullError {
    match source {
        StoreError::DigestMismatch { actual, .. } => PullError::BlobDigest {
            digest: digest.clone(),
            actual,
        },
        StoreError::SizeMismatch {
            expected, actual, ..
        } => PullError::BlobSize {
            digest: digest.clone(),
            expected,
            actual,
        },
        source => PullError::Store {
            digest: digest.clone(),
            source,
        },
    }
}

impl Read for Tee {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.buf.is_empty() {
            if !self.next_chunk()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf.advance(n);
        Ok(n)
    }
}
