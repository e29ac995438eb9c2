//! Raw syscalls for the image crate; the only module allowed `unsafe`.

/// File-level calls for unpacking: mknod, xattrs, ownership, timestamps.
pub mod fs;
/// The mount API for overlay snapshots (mount, fsopen/fsconfig/fsmount).
pub mod mount;
