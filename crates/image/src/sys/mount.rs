//! Mount syscalls for snapshots. Placeholder: being written.
