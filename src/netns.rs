//! A named network namespace (`ip netns add`) that is deleted on drop.
//!
//! Runs in the test process. Declare it before the `Runtime` in a test so the runtime
//! (and its containers) drop first.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;

/// `/run/netns/<name>`, removed with `ip netns del` on drop.
#[derive(Debug)]
pub struct NetNs {
    name: String,
}

impl NetNs {
    /// Creates `berthtest-<token>`.
    pub fn add(token: &str) -> NetNs {
        let name = format!("berthtest-{token}");
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("spawn ip");
        assert!(
            out.status.success(),
            "ip netns add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        NetNs { name }
    }

    /// The namespace file.
    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// Inode number of the namespace (matches `net:[N]` in /proc/<pid>/ns/net).
    pub fn inode(&self) -> u64 {
        std::fs::metadata(self.path()).expect("stat netns").ino()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let out = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        let ok = out.as_ref().map(|o| o.status.success()).unwrap_or(false);
        if !ok && !std::thread::panicking() {
            panic!("ip netns del {}: {out:?}", self.name);
        }
    }
}
