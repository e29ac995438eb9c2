//! `berth-runtime`: a runc-compatible OCI runtime binary over the berth-runtime library.
//!
//! Runs on the host, started by containerd-shim-runc-v2 (or by hand) once per verb.
//! main parses the command line, builds the logger, dispatches, and turns an error into one log line and exit code 1.

mod args;
mod commands;
mod log;
mod rfc3339;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    let log = log::Logger::new(&cli.global);
    let code = commands::dispatch(cli, &log).unwrap_or_else(|err| {
        log.error(&format!("{err:#}"));
        1
    });
    std::process::exit(code);
}
