//! Thin, documented wrappers over raw system calls. Only this module may use `unsafe`.
//!
//! Each file covers one kernel area. Most calls go through `nix`; what it lacks
//! (clone3, close_range, setdomainname, TIOCSCTTY) is wrapped here.

/// clone3(2) with namespace flags and CLONE_INTO_CGROUP.
pub mod clone;
/// Read-only detached mounts of the runtime binary and execveat(2).
pub mod exe;
/// close_range(2) and fd hygiene before execve.
pub mod fd;
/// Controlling-terminal ioctls.
pub mod tty;
/// setdomainname(2).
pub mod uts;
