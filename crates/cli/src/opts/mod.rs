//! Flag value parsers (ports, mounts, sizes, env, restart, ulimits, filters) and the
//! `run`/`create` flag set with its translation to the create request body.
//!
//! Runs in the CLI process; pure code apart from env files and the environment.
//! Errors carry Docker's wording; callers exit 125 on them.

pub mod container;
pub mod mounts;
pub mod ports;
pub mod reference;
pub mod values;
