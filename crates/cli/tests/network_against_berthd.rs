//! The `berth` networking commands against berthd: the scenario in `support` (checked
//! against dockerd in `network_against_dockerd.rs`) on a private `TestBerthd`.
//!
//! Needs root and `berthd`, `berth-shim`, `berth-runtime` built into the same target
//! profile directory as this test (`cargo build --workspace --bins`).

#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration test crate: every #[test] here is outside a unit-test module by design"
)]

mod support;

use berth_tests::berthd::TestBerthd;
use support::{Daemon, Out};

struct Berthd(TestBerthd);

impl Daemon for Berthd {
    fn sock(&self) -> String {
        self.0.sock.display().to_string()
    }

    fn docker(&self, args: &[&str]) -> Out {
        let o = self.0.docker(args);
        Out {
            code: o.code(),
            stdout: o.stdout,
            stderr: o.stderr,
        }
    }
}

#[test]
fn network_commands_against_berthd() {
    let d = Berthd(TestBerthd::start("cli-net"));
    support::network_flow(&d, 21);
}
