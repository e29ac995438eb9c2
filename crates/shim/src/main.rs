//! berth-shim: the per-container monitor (see docs/design/shim-protocol.md).
use std::ffi::OsString;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStringExt;

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let standby = args.first().is_some_and(|a| a == "--standby");
    if standby {
        // Started ahead of time by berthd: the flags of the container come on stdin,
        // NUL-separated, up to EOF.
        match read_flags() {
            Ok(flags) => args = flags,
            Err(e) => {
                println!("error read flags from stdin: {e}");
                std::process::exit(1);
            }
        }
    }
    let code = match berth_shim::args::parse(args) {
        Ok(cfg) => {
            if standby {
                berth_shim::monitor::adopt_dir(&cfg.dir);
            }
            match std::io::stdout().as_fd().try_clone_to_owned() {
                Ok(ready) => berth_shim::monitor::run(cfg, ready),
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

fn read_flags() -> std::io::Result<Vec<OsString>> {
    let mut raw = Vec::new();
    std::io::stdin().read_to_end(&mut raw)?;
    Ok(raw
        .split(|b| *b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| OsString::from_vec(f.to_vec()))
        .collect())
}
