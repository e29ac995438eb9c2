//! Reference check of the `berth` networking commands against Docker's own dockerd:
//! the scenario in `support` must pass there before it means anything for berthd.
//!
//! `berth_tests::docker::TestDocker` starts a private containerd + dockerd (`--bridge
//! none --iptables=false`, so only user-defined networks exist); set
//! `BERTH_TEST_RUNTIME=runc` to run its containers with runc instead of berth-runtime.

#![allow(
    clippy::tests_outside_test_module,
    reason = "an integration test crate: every #[test] here is outside a unit-test module by design"
)]

mod support;

use berth_tests::docker::TestDocker;
use support::{Daemon, Out};

struct Docker(TestDocker);

impl Daemon for Docker {
    fn sock(&self) -> String {
        // The harness has no public socket accessor; its Debug output shows it.
        let dbg = format!("{:?}", self.0);
        let start = dbg.find("sock: \"").expect("TestDocker Debug shows sock") + 7;
        let end = dbg[start..].find('"').expect("closing quote") + start;
        dbg[start..end].to_string()
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
fn network_commands_against_dockerd() {
    let d = Docker(TestDocker::start("cli-net"));
    support::network_flow(&d, 11);
}
