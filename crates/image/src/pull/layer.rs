//! Pull, async half of one layer: skip it when its chain id is unpacked already, unpack
//! it from a stored blob, or stream it from the registry into the blocking unpacker,
//! resuming a broken transfer at the byte offset already received.
//!
//! Runs on the pulling tokio task. Owns one HTTP response at a time and the sending end
//! of the chunk channel; the blocking half (`tee`) owns every file. The download starts
//! only once `LayerStore::ensure` runs the unpack closure, so a layer that another pull
//! is creating (it holds the chain id's flock) is never downloaded twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use berth_registry::{Client, RegistryError};
use futures_util::StreamExt as _;
use tokio::sync::{mpsc, oneshot};

use super::progress::{Events, Phase};
use super::tee::{self, Abandoned, Chunk, Job, Outcome};
use super::{LayerSource, PullError};
use crate::digest::Digest;
use crate::layers::LayerStore;
use crate::manifest::Descriptor;
use crate::store::BlobStore;
use crate::unpack::UnpackOptions;

/// Chunks buffered between the download and the unpacker.
const CHANNEL_DEPTH: usize = 32;
/// Bytes between two `Downloading` events.
const PROGRESS_STEP: u64 = 512 * 1024;

/// What every layer of one pull shares.
pub(crate) struct Shared<'a> {
    /// Registry client.
    pub client: &'a Client,
    /// Repository path.
    pub repo: &'a str,
    /// Blob store.
    pub blobs: &'a BlobStore,
    /// Layer store.
    pub layers: &'a LayerStore,
    /// Unpack limits.
    pub opts: &'a UnpackOptions,
    /// Resumes allowed per layer download.
    pub max_resumes: u32,
    /// Progress.
    pub events: &'a Events,
    /// Set when a layer failed: the others stop downloading.
    pub failed: &'a AtomicBool,
}

/// One layer to bring into the layer store.
pub(crate) struct Wanted {
    /// The compressed layer.
    pub desc: Descriptor,
    /// Its chain id.
    pub chain_id: Digest,
    /// Chain id of the layer below.
    pub parent: Option<Digest>,
}

/// Makes sure the layer `want` is unpacked; says where it came from.
pub(crate) async fn fetch(sh: &Shared<'_>, want: Wanted) -> Result<LayerSource, PullError> {
    let digest = want.desc.digest.clone();
    if sh.failed.load(Ordering::Relaxed) {
        return Err(PullError::Abandoned { digest });
    }
    if sh.layers.exists(&want.chain_id.to_string()) {
        sh.events
            .send(&digest, Phase::Exists, 0, Some(want.desc.size));
        return Ok(LayerSource::Exists {
            blob_stored: sh.blobs.exists(&digest),
        });
    }
    let size = want.desc.size;
    let job = Job {
        desc: want.desc,
        chain_id: want.chain_id,
        parent: want.parent,
        blobs: sh.blobs.clone(),
        layers: sh.layers.clone(),
        opts: sh.opts.clone(),
        events: sh.events.clone(),
    };
    let (outcome, source) = if sh.blobs.exists(&digest) {
        let worker = tokio::task::spawn_blocking(move || tee::unpack_local(job));
        (join(worker, &digest).await?, LayerSource::LocalBlob)
    } else {
        let (go_tx, go_rx) = oneshot::channel();
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        let worker = tokio::task::spawn_blocking(move || tee::unpack_streamed(job, go_tx, rx));
        // Wait until `ensure` asks for the bytes; a closed `go` means the layer appeared
        // meanwhile (another pull held its lock) or the closure never ran.
        let downloaded = match go_rx.await {
            Ok(()) => download(sh, &digest, size, tx).await,
            Err(_) => Ok(()),
        };
        let outcome = join(worker, &digest).await?;
        downloaded?;
        (outcome, LayerSource::Downloaded)
    };
    match outcome {
        Outcome {
            layer: Ok(_),
            ran: false,
            ..
        } => {
            // Another pull created it while this one waited for the chain id's lock.
            sh.events.send(&digest, Phase::Exists, 0, Some(size));
            Ok(LayerSource::Exists {
                blob_stored: sh.blobs.exists(&digest),
            })
        }
        Outcome { layer: Ok(_), .. } => {
            sh.events.send(&digest, Phase::Done, size, Some(size));
            Ok(source)
        }
        Outcome {
            cause: Some(cause), ..
        } => Err(cause),
        Outcome {
            layer: Err(source), ..
        } => Err(PullError::Unpack { digest, source }),
    }
}

async fn join(
    worker: tokio::task::JoinHandle<Outcome>,
    digest: &Digest,
) -> Result<Outcome, PullError> {
    worker.await.map_err(|source| PullError::Worker {
        digest: digest.clone(),
        source,
    })
}

/// Why one transfer attempt stopped.
enum Stop {
    /// The unpacker dropped its receiver (it failed; its error is the one to report).
    ReceiverGone,
    /// Another layer failed.
    Cancelled,
    /// The registry or the connection failed.
    Registry(RegistryError),
}

/// Streams the blob into `tx`, resuming at the received offset after transient errors.
/// On failure the unpacker is told with an [`Abandoned`] marker, so it never mistakes a
/// cut stream for the end of the layer.
async fn download(
    sh: &Shared<'_>,
    digest: &Digest,
    size: u64,
    tx: mpsc::Sender<Chunk>,
) -> Result<(), PullError> {
    let mut received = 0u64;
    let mut attempts = 0u32;
    sh.events.send(digest, Phase::Downloading, 0, Some(size));
    let result = loop {
        match transfer(sh, digest, size, &mut received, &tx).await {
            Ok(()) => break Ok(()),
            Err(Stop::ReceiverGone) => return Ok(()),
            Err(Stop::Cancelled) => {
                break Err(PullError::Abandoned {
                    digest: digest.clone(),
                })
            }
            Err(Stop::Registry(e)) if is_transient(&e) && attempts < sh.max_resumes => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempts))).await;
            }
            Err(Stop::Registry(source)) => {
                break Err(PullError::Download {
                    digest: digest.clone(),
                    source,
                })
            }
        }
    };
    match result {
        Ok(()) => {
            // Sent before `tx` is dropped, so it precedes the unpacker's `Verifying`.
            sh.events
                .send(digest, Phase::Extracting, received, Some(size));
            Ok(())
        }
        Err(e) => {
            // The unpacker may already be gone; then there is no one left to tell.
            let _ = tx.send(Err(Abandoned)).await;
            Err(e)
        }
    }
}

/// One attempt: `GET` from `received` on and forward every chunk.
async fn transfer(
    sh: &Shared<'_>,
    digest: &Digest,
    size: u64,
    received: &mut u64,
    tx: &mpsc::Sender<Chunk>,
) -> Result<(), Stop> {
    let (mut stream, _total) = sh
        .client
        .fetch_blob(sh.repo, &digest.to_string(), *received)
        .await
        .map_err(Stop::Registry)?;
    let mut reported = *received;
    while let Some(chunk) = stream.next().await {
        if sh.failed.load(Ordering::Relaxed) {
            return Err(Stop::Cancelled);
        }
        let chunk = chunk.map_err(Stop::Registry)?;
        *received += chunk.len() as u64;
        tx.send(Ok(chunk)).await.map_err(|_| Stop::ReceiverGone)?;
        if *received - reported >= PROGRESS_STEP {
            reported = *received;
            sh.events
                .send(digest, Phase::Downloading, *received, Some(size));
        }
    }
    Ok(())
}

/// Errors worth a resume: the connection, and server-side failures.
fn is_transient(e: &RegistryError) -> bool {
    match e {
        RegistryError::Send { .. } | RegistryError::ReadBody { .. } => true,
        RegistryError::Status { status, .. } => *status >= 500,
        _ => false,
    }
}
