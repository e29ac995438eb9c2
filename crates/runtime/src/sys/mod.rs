//! Thin, documented wrappers over raw system calls. Only this module may use `unsafe`.
//!
//! Each file covers one kernel area; wrappers take and return owned fds where they can.
