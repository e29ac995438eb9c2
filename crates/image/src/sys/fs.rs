//! File-level syscalls for unpacking. Placeholder: being written.
