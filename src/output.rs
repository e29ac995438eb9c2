//! `CmdOutput`: exit code and captured output of one runtime invocation.
//!
//! Pure data plus assertion helpers whose panic messages show the whole command line,
//! exit code, stdout and stderr, so a failing test explains itself.

use std::fmt;

/// Result of one runtime invocation.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// The command line, for messages.
    pub cmd: String,
    /// Exit code (128+N when killed by signal N).
    pub code: i32,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
}

impl CmdOutput {
    /// True when the exit code is 0.
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// Panics with the full output unless the command succeeded.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(self.ok(), "expected success:\n{self}");
        self
    }

    /// Panics with the full output unless the command failed.
    #[track_caller]
    pub fn assert_failed(&self) -> &Self {
        assert!(!self.ok(), "expected failure:\n{self}");
        self
    }

    /// stdout followed by stderr.
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl fmt::Display for CmdOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$ {}\nexit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmd, self.code, self.stdout, self.stderr
        )
    }
}
