//! `exec`, following docker/cli's sequence (compat-notes §4): inspect the container,
//! create the exec, start it hijacked (or detached), resize, stream, then read the exit
//! code from the exec's inspect.
//!
//! Runs in the CLI process. A failed exec start inside the stream ends with a non-zero
//! exit code read from `/exec/{id}/json`.

use std::io;

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use super::session::{self, Outcome, Streams, DEFAULT_DETACH_KEYS};
use crate::client::{enc, Client};
use crate::error::{exit_code, exit_with};
use crate::opts::values;
use crate::term;

/// `exec` flags.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long)]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// CONTAINER COMMAND [ARG...]
    #[arg(required = true, num_args = 2.., trailing_var_arg = true, allow_hyphen_values = true, value_name = "CONTAINER")]
    pub args: Vec<String>,
}

/// `berth exec`.
pub fn exec(c: &Client, a: ExecArgs) -> Result<()> {
    let container = &a.args[0];
    let info: Value = c.get_json(&format!("/containers/{}/json", enc(container)))?;
    let id = info["Id"].as_str().unwrap_or(container).to_string();
    let mut env = values::read_env_files(&a.env_file)?;
    env.extend(
        a.env
            .iter()
            .map(|e| values::env_value(e, |k| std::env::var(k).ok())),
    );
    let attach = !a.detach;
    let mut body = json!({
        "User": a.user.clone().unwrap_or_default(),
        "Privileged": a.privileged,
        "Tty": a.tty,
        "AttachStdin": a.interactive && attach,
        "AttachStdout": attach,
        "AttachStderr": attach,
        "Detach": a.detach,
        "Cmd": &a.args[1..],
        "Env": env,
        "WorkingDir": a.workdir.clone().unwrap_or_default(),
    });
    if let Some(k) = &a.detach_keys {
        body["DetachKeys"] = json!(k);
    }
    let console = if a.tty && c.version_at_least("1.42")? {
        term::size()
    } else {
        None
    };
    if let Some((h, w)) = console {
        body["ConsoleSize"] = json!([h, w]);
    }
    let created: Value = c
        .post(&format!("/containers/{id}/exec"), Some(&body))?
        .json()?;
    let exec_id = created["Id"].as_str().unwrap_or_default().to_string();
    let mut start = json!({"Detach": a.detach, "Tty": a.tty});
    if let Some((h, w)) = console {
        start["ConsoleSize"] = json!([h, w]);
    }
    let base = format!("/exec/{exec_id}");
    if a.detach {
        return c.post(&format!("{base}/start"), Some(&start))?.discard();
    }
    if a.tty && a.interactive && !term::is_tty(io::stdin()) {
        return Err(exit_with(1, "the input device is not a TTY"));
    }
    let signals = session::install_signals(c, base.clone(), a.tty)?;
    let hj = c.hijack("POST", &format!("{base}/start"), Some(&start))?;
    if a.tty && term::is_tty(io::stdout()) {
        session::resize(c, &base);
    }
    let keys = match &a.detach_keys {
        Some(k) => term::parse_detach_keys(k).map_err(anyhow::Error::msg)?,
        None => DEFAULT_DETACH_KEYS.to_vec(),
    };
    let streams = Streams {
        tty: a.tty,
        stdin: a.interactive,
        detach_keys: keys,
    };
    if session::stream(hj, &streams, signals)? == Outcome::Detached {
        return Ok(());
    }
    let v: Value = c.get_json(&format!("{base}/json"))?;
    match v["ExitCode"].as_i64().unwrap_or(0) {
        0 => Ok(()),
        n => Err(exit_code(i32::try_from(n).unwrap_or(1))),
    }
}
