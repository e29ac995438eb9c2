//! Raw syscalls. Placeholder: being written.
