//! The only place in this crate that calls the kernel through `libc` or uses `unsafe`.
//!
//! Runs in the runtime process. Owns the fds it returns (as `OwnedFd`); callers close them
//! by dropping. `bpf` wraps bpf(2) for cgroup device programs; `fs` opens cgroup
//! directories with flags std does not name.

pub mod bpf;
pub mod fs;
