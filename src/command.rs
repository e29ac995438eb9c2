//! Runs a command to completion with a deadline, capturing its output via files.
//!
//! Runs in the test process. Output goes to files, not pipes, so a container process
//! that inherits stdout (detached `create`, `exec --detach`) can never make the test
//! block on EOF. On timeout the child is SIGKILLed and the test panics with what it
//! printed so far.

use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Exit code, with death by signal N reported as 128+N (the shell convention).
pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Runs `cmd` with stdin from /dev/null and stdout/stderr into `<stem>.out`/`.err`.
/// Returns (exit code, stdout, stderr) as read after the command exits.
pub fn run_captured(cmd: &mut Command, stem: &Path, timeout: Duration) -> (i32, String, String) {
    try_run_captured(cmd, stem, timeout).unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`run_captured`] but reports spawn failures and timeouts as `Err` (for Drop).
pub fn try_run_captured(
    cmd: &mut Command,
    stem: &Path,
    timeout: Duration,
) -> Result<(i32, String, String), String> {
    let out_path = stem.with_extension("out");
    let err_path = stem.with_extension("err");
    let out = File::create(&out_path).expect("create stdout file");
    let err = File::create(&err_path).expect("create stderr file");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("spawn {cmd:?}: {e}"))?;
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child
            .try_wait()
            .map_err(|e| format!("wait for {cmd:?}: {e}"))?
        {
            break st;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{cmd:?} timed out after {timeout:?}\nstdout: {}\nstderr: {}",
                fs::read_to_string(&out_path).unwrap_or_default(),
                fs::read_to_string(&err_path).unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok((
        exit_code(status),
        fs::read_to_string(&out_path).unwrap_or_default(),
        fs::read_to_string(&err_path).unwrap_or_default(),
    ))
}

/// Polls `f` every 20 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
