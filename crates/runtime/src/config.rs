//! Loading and validating a bundle's config.json before anything on the system changes.
//!
//! Runs in the runtime process. Every error names the offending field and value, so
//! `create` fails before it has created a process, mount, cgroup or state directory.

use std::path::PathBuf;

/// A config.json that cannot be used; each variant names the field and the value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// config.json could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// config.json is not valid JSON for the OCI schema.
    #[error("parse {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// serde's message, which names the field and line.
        message: String,
    },
    /// A field holds a value the runtime cannot use.
    #[error("config.json: {field}: {message}: {value}")]
    Invalid {
        /// JSON path of the field, e.g. `linux.namespaces[2].type`.
        field: String,
        /// The offending value.
        value: String,
        /// Why it is invalid.
        message: &'static str,
    },
}
