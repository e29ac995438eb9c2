//! Test helpers for berth's integration tests: fixtures, OCI bundles, a runtime driver
//! with per-test roots, and leak checks. Never shipped; only `tests/` links this crate.
//!
//! Runtime tests run against `runc` (`BERTH_TEST_RUNTIME=runc`) as the reference and
//! against `target/<profile>/berth-runtime` by default.

/// Checks for raw Engine API tests: Docker's error bodies, headers, nothing left behind.
pub mod api_checks;
/// `TestBerthd`: a private berthd per test with busybox imported.
pub mod berthd;
/// Bundle builder: private rootfs copy plus an editable config.
pub mod bundle;
/// Running commands with captured output and a deadline.
pub mod command;
/// `--console-socket` listener receiving the pty master over SCM_RIGHTS.
pub mod console;
/// `TestDocker`: a private containerd + dockerd per test with berth as a Docker runtime.
pub mod docker;
/// Cached busybox rootfs built by `tests/fixtures/make-busybox-rootfs.sh`.
pub mod fixture;
/// Leftover detection (mounts, cgroups, processes, state dirs) and cleanup.
pub mod leaks;
/// Named network namespace guard (`ip netns add/del`).
pub mod netns;
/// Exit code and output of one runtime invocation, with assertion helpers.
pub mod output;
/// Small parsers for /proc files read inside and outside containers.
pub mod procfs;
/// `Runtime`: a per-test runtime root that force-deletes and leak-checks on drop.
pub mod runtime;
/// Which OCI runtime binary the tests drive, root checks, target-dir discovery.
pub mod select;
/// Default runc/Docker-like OCI `config.json` as JSON.
pub mod spec;

pub use bundle::Bundle;
pub use console::ConsoleSocket;
pub use fixture::busybox_rootfs;
pub use runtime::{CmdOutput, Runtime};
pub use select::{require_root, RuntimeKind};
