//! Per-blob progress events for pulls and pushes, for a CLI to draw bars.
//!
//! Pure data. Callers pass a callback `&(dyn Fn(Progress) + Send + Sync)`; a channel
//! user wraps its sender in a closure. Events for one blob arrive in phase order.

/// What is happening to a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Queued, nothing transferred yet.
    Waiting,
    /// Bytes are arriving.
    Downloading,
    /// All bytes received, checking the digest.
    Verifying,
    /// Downloaded and verified, or uploaded.
    Done,
    /// Push: the registry already has the blob.
    Exists,
    /// Push: mounted from another repository, nothing uploaded.
    Mounted,
    /// Push: bytes are being uploaded.
    Pushing,
}

/// One progress event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Blob digest.
    pub digest: String,
    /// Phase.
    pub phase: Phase,
    /// Bytes transferred so far.
    pub current: u64,
    /// Total size when known.
    pub total: Option<u64>,
}

/// Callback type for progress events.
pub type ProgressFn<'a> = &'a (dyn Fn(Progress) + Send + Sync);

/// Emits one event through `progress`.
pub(crate) fn emit(
    progress: ProgressFn<'_>,
    digest: &str,
    phase: Phase,
    current: u64,
    total: Option<u64>,
) {
    progress(Progress {
        digest: digest.to_string(),
        phase,
        current,
        total,
    });
}
