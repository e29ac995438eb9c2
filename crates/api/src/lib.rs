//! berth-api: the Docker Engine API (v1.24–1.47) over the berth engine.
//!
//! A hand-written router on hyper 1 (Docker's routes have greedy image names in the
//! middle of paths, which path-template routers don't express), JSON in and out with
//! Docker's field names, streams as channel-fed bodies, and hijacked connections for
//! attach and exec. `berthd` (src/main.rs) wires it to unix and TCP listeners.
#![deny(unsafe_code)]
#![recursion_limit = "256"]

pub mod body;
pub mod error;
pub mod hijack;
pub mod request;
pub mod router;
pub mod routes;
pub mod server;
pub mod tls;
pub mod version;

pub use server::{serve_unix, ServerState};
