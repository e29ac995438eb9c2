//! How a shim was started beyond its flags: the go gate of a shim that got its flags
//! before the bundle existed (docs/design/shim-protocol.md, "Standby"), and the flags a
//! sealing re-exec needs. Runs in the shim before it creates the container.

use std::fs::File;

/// How this shim was started, beyond its flags.
#[derive(Debug, Default)]
pub struct Start {
    /// Wait here, after the set-up that does not need the bundle, for berthd's go.
    pub gate: Option<Gate>,
    /// The flags, when they did not come on the command line (a standby): sealing the
    /// binary re-executes the shim with them.
    pub args: Option<Vec<std::ffi::OsString>>,
}

/// berthd's go for a shim it handed flags to before the bundle was written: one byte
/// `g` on stdin. EOF instead means the start was given up; the shim then removes its
/// directory and exits.
#[derive(Debug)]
pub struct Gate {
    input: File,
    /// Bytes that arrived behind the flags in the same read.
    early: Vec<u8>,
}

impl Gate {
    /// A gate on `input`, with `early` already read from it.
    pub fn new(input: File, early: Vec<u8>) -> Self {
        Gate { input, early }
    }

    /// True on go, false when berthd gave the start up.
    pub(crate) fn wait(mut self) -> bool {
        use std::io::Read;
        if let Some(b) = self.early.first() {
            return *b == b'g';
        }
        let mut b = [0u8; 1];
        loop {
            match self.input.read(&mut b) {
                Ok(1) => return b[0] == b'g',
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                _ => return false,
            }
        }
    }
}
