//! Flag value parsers (ports, mounts, sizes, env, restart, ulimits, filters, network
//! attachments, IPAM) and the `run`/`create` flag set with its translation to the create
//! request body.
//!
//! Runs in the CLI process; pure code apart from env files and the environment.
//! Errors carry Docker's wording; callers exit 125 on them.

pub mod container;
pub mod ipam;
pub mod mounts;
pub mod network;
pub mod ports;
pub mod reference;
pub mod values;
