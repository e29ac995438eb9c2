//! berth: the Docker-compatible command line client. It speaks only the Docker Engine API
//! over the daemon's unix socket (see `client`), never links the engine.
#![deny(unsafe_code)]

/// HTTP/1.1 over the unix socket: requests, streaming, hijacking, stream framing.
mod client;
/// The command tree and one module per command group.
mod commands;
/// Error values carrying daemon messages and exit codes.
mod error;
/// Tables, `--format` templates and human-readable units.
mod format;
/// Flag value parsers and the create-request builder.
mod opts;
/// Raw mode, window size, signal thread (the only `unsafe`: one ioctl).
#[allow(unsafe_code)]
mod term;

fn main() {
    term::default_sigpipe();
    std::process::exit(commands::main());
}
