//! berth-shim: the per-container monitor (see docs/design/shim-protocol.md).
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStringExt;

use berth_shim::monitor::{Gate, Start};

/// The last flag berthd sends to a standby that it will start later: set up, then wait
/// for a byte on stdin before creating the container.
const THEN_WAIT: &[u8] = b"--then-wait";

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let standby = args.first().is_some_and(|a| a == "--standby");
    let mut gate = None;
    if standby {
        // Started ahead of time by berthd: the flags of the container come on stdin,
        // NUL-separated, up to EOF or up to `--then-wait`.
        match read_flags() {
            Ok((flags, wait)) => {
                args = flags;
                gate = wait;
            }
            Err(e) => {
                println!("error read flags from stdin: {e}");
                std::process::exit(1);
            }
        }
    }
    let code = match berth_shim::args::parse(args.clone()) {
        Ok(cfg) => {
            if standby {
                berth_shim::monitor::adopt_dir(&cfg.dir);
            }
            match std::io::stdout().as_fd().try_clone_to_owned() {
                Ok(ready) => berth_shim::monitor::run(
                    cfg,
                    ready,
                    Start {
                        gate,
                        // A re-exec (to seal the binary) needs the flags on its command line.
                        args: standby.then_some(args),
                    },
                ),
                Err(e) => {
                    eprintln!("berth-shim: dup stdout: {e}");
                    1
                }
            }
        }
        Err(e) => {
            println!("error {e}");
            1
        }
    };
    std::process::exit(code);
}

/// The flags, and the gate to wait on when berthd sent `--then-wait` (not returned as
/// a flag). Reads stdin unbuffered, so that a go byte behind the flags stays ours.
fn read_flags() -> std::io::Result<(Vec<OsString>, Option<Gate>)> {
    let mut stdin = File::from(std::io::stdin().as_fd().try_clone_to_owned()?);
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stdin.read(&mut chunk)?;
        if n == 0 {
            return Ok((split(&raw), None));
        }
        raw.extend_from_slice(&chunk[..n]);
        let mut start = 0;
        while let Some(len) = raw[start..].iter().position(|b| *b == 0) {
            if &raw[start..start + len] == THEN_WAIT {
                let early = raw[start + len + 1..].to_vec();
                return Ok((split(&raw[..start]), Some(Gate::new(stdin, early))));
            }
            start += len + 1;
        }
    }
}

fn split(raw: &[u8]) -> Vec<OsString> {
    raw.split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| OsString::from_vec(f.to_vec()))
        .collect()
}
