//! `docker save`/`load`/`import`/`export`: image archives in the docker save format (an
//! OCI image layout plus `manifest.json` and `repositories`, as Docker 25+ writes, which
//! Docker 20.10+ loads) and the plain OCI image layout; rootfs tarballs in and out.
//!
//! Runs in berthd. Archives are untrusted: `load` streams every member into a private
//! staging dir under `<root>/images/` (never extracting by member name), refuses paths
//! that leave the archive, caps sizes and member counts, verifies blob digests and layer
//! diff ids before anything is stored, and on failure removes the staging dir and every
//! layer, blob and record it created. `save` writes stored blobs byte for byte, so ids and
//! manifest digests survive a round trip. Spec: OCI image-layout, moby `image/tarexport`.

mod change;
mod error;
mod export;
mod import;
mod layout;
mod load;
mod rollback;
mod save;
mod staging;

pub use change::apply_changes;
pub use error::ArchiveError;
pub use export::export;
pub use import::import;
pub use load::{load, LoadOptions, Loaded};
pub use save::{save, SaveFormat};
