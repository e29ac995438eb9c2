//! `docker export`: a container's merged root filesystem as one tar stream.
//!
//! Runs in berthd. `rootfs` must be a mounted overlay view (the container's merged dir,
//! or a [`crate::snapshot::Snapshot::for_readonly_view`] of an image), in which overlayfs
//! already hides whiteouts and opaque markers, so the stream has none. Owns nothing.

use std::io::Write;
use std::path::Path;

use super::ArchiveError;
use crate::unpack::write_tar;

/// Writes the tree under `rootfs` as an uncompressed tar to `writer`; returns the writer.
pub fn export<W: Write>(rootfs: &Path, writer: W) -> Result<W, ArchiveError> {
    write_tar(rootfs, writer).map_err(|source| ArchiveError::Pack { source })
}
