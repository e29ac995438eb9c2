//! berth-shim: the per-container monitor (see docs/design/shim-protocol.md).
use std::os::fd::AsFd;

fn main() {
    let code = match berth_shim::args::parse(std::env::args_os().skip(1)) {
        Ok(cfg) => match std::io::stdout().as_fd().try_clone_to_owned() {
            Ok(ready) => berth_shim::monitor::run(cfg, ready),
            Err(e) => {
                eprintln!("berth-shim: dup stdout: {e}");
                1
            }
        },
        Err(e) => {
            println!("error {e}");
            1
        }
    };
    std::process::exit(code);
}
