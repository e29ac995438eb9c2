//! Loading and validating a bundle's config.json before anything on the system changes.
//!
//! Runs in the runtime process. Every error names the offending field and value, so
//! `create` fails before it has created a process, mount, cgroup or state directory.
