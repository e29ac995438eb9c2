//! Per-blob progress events of pulls and pushes, and their Docker JSON message form.
//!
//! Pure data plus a cloneable sender. Pipeline code (async tasks and blocking unpack
//! threads alike) sends [`Event`]s into an unbounded channel; `pull`/`push` forward
//! them to the caller's callback on the calling task, so the callback needs no `'static`
//! bound. Events for one blob arrive in phase order. The JSON form follows the
//! `{"status","progressDetail","id"}` objects of Docker's `/images/create` and
//! `/images/{name}/push` streams; the rendered `progress` bar string is left out.

use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use crate::digest::Digest;

/// What is happening to one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Queued behind the concurrency limit.
    Waiting,
    /// Pull: compressed bytes are arriving (and being unpacked as they arrive).
    Downloading,
    /// Pull: all bytes received, the unpacker is finishing.
    Extracting,
    /// Pull: checking the compressed digest before the layer becomes visible.
    Verifying,
    /// Pull: stored and unpacked. Push: uploaded.
    Done,
    /// Pull: the layer (chain id) was already unpacked. Push: the registry had it.
    Exists,
    /// Push: packing an unpacked layer into a gzip blob (no stored compressed blob).
    Packing,
    /// Push: bytes are being uploaded.
    Pushing,
    /// Push: mounted from another repository of the same registry.
    Mounted,
}

/// One progress event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The blob (compressed layer or config) the event is about.
    pub digest: Digest,
    /// Phase.
    pub phase: Phase,
    /// Bytes done so far in this phase.
    pub current: u64,
    /// Total bytes when known.
    pub total: Option<u64>,
}

/// Callback receiving progress events.
pub type ProgressFn<'a> = &'a (dyn Fn(Event) + Send + Sync);

impl Event {
    /// Docker's short id for the blob: the first 12 hex digits.
    pub fn short_id(&self) -> &str {
        let hex = self.digest.hex();
        &hex[..hex.len().min(12)]
    }

    /// The event as one JSON message of Docker's pull (`push == false`) or push stream.
    pub fn docker_json(&self, push: bool) -> Value {
        let status = match (self.phase, push) {
            (Phase::Waiting, false) => "Pulling fs layer",
            (Phase::Waiting, true) => "Preparing",
            (Phase::Downloading, _) => "Downloading",
            (Phase::Extracting, _) => "Extracting",
            (Phase::Verifying, _) => "Verifying Checksum",
            (Phase::Done, false) => "Pull complete",
            (Phase::Done, true) => "Pushed",
            (Phase::Exists, false) => "Already exists",
            (Phase::Exists, true) => "Layer already exists",
            (Phase::Packing, _) => "Preparing",
            (Phase::Pushing, _) => "Pushing",
            (Phase::Mounted, _) => "Mounted from another repository",
        };
        let mut msg = json!({ "status": status, "id": self.short_id() });
        if matches!(
            self.phase,
            Phase::Downloading | Phase::Extracting | Phase::Pushing
        ) {
            let mut detail = json!({ "current": self.current });
            if let Some(total) = self.total {
                detail["total"] = json!(total);
            }
            msg["progressDetail"] = detail;
        } else {
            msg["progressDetail"] = json!({});
        }
        msg
    }
}

/// Sends events towards the caller's callback; cheap to clone, usable from any thread.
#[derive(Debug, Clone)]
pub(crate) struct Events {
    tx: UnboundedSender<Event>,
}

impl Events {
    /// Wraps the sending half of the forwarding channel.
    pub(crate) fn new(tx: UnboundedSender<Event>) -> Events {
        Events { tx }
    }

    /// Sends one event; dropped silently if the pull was abandoned by its caller.
    pub(crate) fn send(&self, digest: &Digest, phase: Phase, current: u64, total: Option<u64>) {
        // The receiver only goes away when the caller dropped the pull future; progress
        // is then of no interest to anyone.
        let _ = self.tx.send(Event {
            digest: digest.clone(),
            phase,
            current,
            total,
        });
    }
}

/// Runs `work` while forwarding the events it sends to `progress`, on this task.
pub(crate) async fn forwarding<T>(
    progress: ProgressFn<'_>,
    work: impl AsyncFnOnce(Events) -> T,
) -> T {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let work = work(Events::new(tx));
    let forward = async {
        while let Some(event) = rx.recv().await {
            progress(event);
        }
    };
    let (out, ()) = tokio::join!(work, forward);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_json_shapes() {
        let digest = Digest::sha256_of(b"layer");
        let ev = Event {
            digest: digest.clone(),
            phase: Phase::Downloading,
            current: 10,
            total: Some(100),
        };
        let msg = ev.docker_json(false);
        assert_eq!(msg["status"], "Downloading");
        assert_eq!(msg["id"], &digest.hex()[..12]);
        assert_eq!(msg["progressDetail"]["current"], 10);
        assert_eq!(msg["progressDetail"]["total"], 100);
        let done = Event {
            phase: Phase::Exists,
            ..ev
        };
        assert_eq!(done.docker_json(true)["status"], "Layer already exists");
        assert_eq!(done.docker_json(false)["status"], "Already exists");
        assert_eq!(done.docker_json(false)["progressDetail"], json!({}));
    }
}
