//! `run` and `create`, following docker/cli's call sequence (compat-notes §3): create
//! (pull on 404 and retry), attach before start, wait before start, start, resize,
//! stream, exit code from the wait result.
//!
//! Runs in the CLI process. Errors exit 125 with Docker's `berth: …` + help hint; start
//! errors naming a missing or non-executable program exit 127/126.

use std::io;

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use super::session::{self, Outcome, Streams, DEFAULT_DETACH_KEYS};
use super::transfer;
use crate::client::{enc, version_at_least, Client};
use crate::error::{exit_code, exit_with, is_not_found, DaemonError, StatusError};
use crate::opts::container::ContainerOpts;
use crate::opts::network;
use crate::opts::reference::Reference;
use crate::term;

/// `run` flags.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub detach: bool,
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "IMAGE"
    )]
    pub args: Vec<String>,
}

/// `create` flags.
#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "IMAGE"
    )]
    pub args: Vec<String>,
}

/// Wraps an error the way `docker run`/`create` print it, exit 125 unless given.
fn run_error(verb: &str, e: anyhow::Error) -> anyhow::Error {
    if e.downcast_ref::<StatusError>().is_some() {
        return e;
    }
    let msg = match e.downcast_ref::<DaemonError>() {
        Some(d) => d.to_string(),
        None => format!("{e:#}"),
    };
    exit_with(
        125,
        format!("berth: {msg}\n\nRun 'berth {verb} --help' for more information"),
    )
}

/// Docker's exit code for a start failure (toStatusError).
pub fn start_error_code(msg: &str) -> i32 {
    if msg.contains("executable file not found") || msg.contains("no such file or directory") {
        127
    } else if msg.contains("permission denied") {
        126
    } else {
        125
    }
}

/// `POST /containers/create`, pulling the image first or on 404 per `--pull`.
pub fn create_container(
    c: &Client,
    opts: &ContainerOpts,
    args: &[String],
    detached: bool,
) -> Result<String> {
    let image = &args[0];
    // Built for the version the request goes out with: the first request of a process
    // is sent before any `_ping` (see `Client::request_for_version`).
    let body = |version: &str| -> Result<Option<Vec<u8>>> {
        let console = if opts.tty && version_at_least(version, "1.42") {
            term::size()
        } else {
            None
        };
        let mut body = opts.create_body(image, &args[1..], detached, console)?;
        network::place_mac_address(&mut body, version_at_least(version, "1.44"));
        Ok(Some(serde_json::to_vec(&body)?))
    };
    let mut path = String::from("/containers/create");
    let mut sep = '?';
    if let Some(n) = &opts.name {
        path.push_str(&format!("{sep}name={}", enc(n)));
        sep = '&';
    }
    if let Some(p) = &opts.platform {
        path.push_str(&format!("{sep}platform={}", enc(p)));
    }
    let reference = Reference::parse(image);
    if opts.pull == "always" {
        transfer::pull_image(
            c,
            &reference,
            opts.platform.as_deref(),
            &mut io::stderr(),
            false,
        )?;
    }
    let json = [("Content-Type", "application/json")];
    let post = || c.request_for_version("POST", &path, &json, &body);
    let resp = match post() {
        Err(e) if is_not_found(&e) && opts.pull == "missing" => {
            eprintln!("Unable to find image '{}' locally", reference.familiar());
            transfer::pull_image(
                c,
                &reference,
                opts.platform.as_deref(),
                &mut io::stderr(),
                false,
            )?;
            post()?
        }
        r => r?,
    };
    let v: Value = resp.json()?;
    if let Some(ws) = v.get("Warnings").and_then(Value::as_array) {
        for w in ws.iter().filter_map(Value::as_str) {
            eprintln!("WARNING: {w}");
        }
    }
    v.get("Id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("create returned no Id"))
}

/// IMAGE takes hyphen values so that the container's own flags pass through after it,
/// which also lets a mistyped flag before it land there: Docker's parser stops at the
/// first non-flag, so it reports such a word as an unknown flag, and so does berth.
fn reject_flag_as_image(verb: &str, args: &[String]) -> Result<()> {
    match args.first() {
        Some(first) if first.starts_with('-') => Err(exit_with(
            125,
            format!("unknown flag: {first}\n\nRun 'berth {verb} --help' for more information"),
        )),
        _ => Ok(()),
    }
}

/// `berth create`.
pub fn create(c: &Client, a: CreateArgs) -> Result<()> {
    reject_flag_as_image("create", &a.args)?;
    let id = create_container(c, &a.opts, &a.args, true).map_err(|e| run_error("create", e))?;
    println!("{id}");
    Ok(())
}

/// `berth run`.
pub fn run(c: &Client, a: RunArgs) -> Result<()> {
    reject_flag_as_image("run", &a.args)?;
    run_inner(c, &a).map_err(|e| run_error("run", e))
}

fn run_inner(c: &Client, a: &RunArgs) -> Result<()> {
    let o = &a.opts;
    let detach_keys = match &o.detach_keys {
        Some(k) => term::parse_detach_keys(k).map_err(anyhow::Error::msg)?,
        None => DEFAULT_DETACH_KEYS.to_vec(),
    };
    if o.tty && o.interactive && !a.detach && !term::is_tty(io::stdin()) {
        return Err(exit_with(1, "the input device is not a TTY"));
    }
    let id = create_container(c, o, &a.args, a.detach)?;
    let base = format!("/containers/{id}");
    let signals = if a.detach {
        None
    } else {
        session::install_signals(c, base.clone(), o.tty)?
    };
    let hijacked = if a.detach {
        None
    } else {
        let q = format!(
            "{base}/attach?stream=1&stdin={}&stdout=1&stderr=1",
            u8::from(o.interactive)
        );
        Some(c.hijack("POST", &q, None)?)
    };
    let condition = if o.rm { "removed" } else { "next-exit" };
    let waiter = session::wait_start(c, &id, condition)?;
    if let Err(e) = c.request("POST", &format!("{base}/start"), &[], None) {
        let msg = match e.downcast_ref::<DaemonError>() {
            Some(d) => d.to_string(),
            None => format!("{e:#}"),
        };
        let code = start_error_code(&msg);
        return Err(exit_with(
            code,
            format!("berth: {msg}\n\nRun 'berth run --help' for more information"),
        ));
    }
    let Some(hj) = hijacked else {
        println!("{id}");
        return Ok(());
    };
    if o.tty && term::is_tty(io::stdout()) {
        session::resize(c, &base);
    }
    let streams = Streams {
        tty: o.tty,
        stdin: o.interactive,
        detach_keys,
    };
    if session::stream(hj, &streams, signals)? == Outcome::Detached {
        return Ok(());
    }
    match waiter.result() {
        Some(Ok(0)) => Ok(()),
        Some(Ok(code)) => Err(exit_code(i32::try_from(code).unwrap_or(125))),
        Some(Err(msg)) => Err(exit_with(
            125,
            format!("berth: Error response from daemon: {msg}"),
        )),
        None => Err(exit_code(125)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_error_codes() {
        assert_eq!(
            start_error_code("exec: \"nope\": executable file not found in $PATH"),
            127
        );
        assert_eq!(start_error_code("stat /x: no such file or directory"), 127);
        assert_eq!(start_error_code("exec /etc: permission denied"), 126);
        assert_eq!(start_error_code("something else"), 125);
    }

    #[test]
    fn a_flag_in_the_image_position_is_an_unknown_flag() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = reject_flag_as_image("run", &args(&["--no-such-flag", "busybox"])).unwrap_err();
        let s = e.downcast_ref::<StatusError>().expect("a StatusError");
        assert_eq!(s.code, 125);
        assert!(
            s.message
                .as_deref()
                .unwrap_or("")
                .starts_with("unknown flag: --no-such-flag\n"),
            "{s:?}"
        );
        assert!(reject_flag_as_image("run", &args(&["busybox", "ls", "-l"])).is_ok());
    }
}
