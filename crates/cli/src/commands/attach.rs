//! `start` (optionally attached with `-a`/`-i`) and `attach`.
//!
//! Runs in the CLI process. Both inspect the container first to learn whether it has a
//! TTY (which decides the stream framing), then share the session code with `run`.

use std::io;

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use super::for_each;
use super::session::{self, Outcome, Streams, DEFAULT_DETACH_KEYS};
use crate::client::{enc, Client};
use crate::error::{exit_code, exit_with};
use crate::term;

/// `start` flags.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// CONTAINER...
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `attach` flags.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// CONTAINER
    pub container: String,
}

fn detach_keys(k: Option<&str>) -> Result<Vec<u8>> {
    match k {
        Some(k) => term::parse_detach_keys(k).map_err(anyhow::Error::msg),
        None => Ok(DEFAULT_DETACH_KEYS.to_vec()),
    }
}

/// Attaches to a created container, starts it and streams until it ends.
fn start_attached(c: &Client, a: &StartArgs) -> Result<()> {
    if a.containers.len() > 1 {
        anyhow::bail!("you cannot start and attach multiple containers at once");
    }
    let name = &a.containers[0];
    let info: Value = c.get_json(&format!("/containers/{}/json", enc(name)))?;
    let id = info["Id"].as_str().unwrap_or(name).to_string();
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let stdin = a.interactive && info["Config"]["OpenStdin"].as_bool().unwrap_or(false);
    let base = format!("/containers/{id}");
    let signals = session::install_signals(c, base.clone(), tty)?;
    let hj = c.hijack(
        "POST",
        &format!(
            "{base}/attach?stream=1&stdin={}&stdout=1&stderr=1",
            u8::from(stdin)
        ),
        None,
    )?;
    let auto_remove = info["HostConfig"]["AutoRemove"].as_bool().unwrap_or(false);
    let waiter = session::wait_start(c, &id, if auto_remove { "removed" } else { "next-exit" })?;
    c.request("POST", &format!("{base}/start"), &[], None)?
        .discard()?;
    if tty && term::is_tty(io::stdout()) {
        session::resize(c, &base);
    }
    let streams = Streams {
        tty,
        stdin,
        detach_keys: detach_keys(a.detach_keys.as_deref())?,
    };
    if session::stream(hj, &streams, signals)? == Outcome::Detached {
        return Ok(());
    }
    match waiter.result() {
        Some(Ok(0)) => Ok(()),
        Some(Ok(code)) => Err(exit_code(i32::try_from(code).unwrap_or(1))),
        Some(Err(m)) => Err(exit_with(1, format!("Error response from daemon: {m}"))),
        None => Err(exit_code(1)),
    }
}

/// `berth start`.
pub fn start(c: &Client, a: StartArgs) -> Result<()> {
    if a.attach || a.interactive {
        return start_attached(c, &a);
    }
    for_each(&a.containers, |id| {
        c.request("POST", &format!("/containers/{}/start", enc(id)), &[], None)?
            .discard()?;
        println!("{id}");
        Ok(())
    })
}

/// `berth attach`.
pub fn attach(c: &Client, a: AttachArgs) -> Result<()> {
    let info: Value = c.get_json(&format!("/containers/{}/json", enc(&a.container)))?;
    let id = info["Id"].as_str().unwrap_or(&a.container).to_string();
    if !info["State"]["Running"].as_bool().unwrap_or(false) {
        anyhow::bail!("You cannot attach to a stopped container, start it first");
    }
    if info["State"]["Paused"].as_bool().unwrap_or(false) {
        anyhow::bail!("You cannot attach to a paused container, unpause it first");
    }
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let stdin = !a.no_stdin && info["Config"]["OpenStdin"].as_bool().unwrap_or(false);
    let base = format!("/containers/{id}");
    let signals = if a.sig_proxy {
        session::install_signals(c, base.clone(), tty)?
    } else {
        None
    };
    let mut q = format!(
        "{base}/attach?stream=1&stdin={}&stdout=1&stderr=1",
        u8::from(stdin)
    );
    if let Some(k) = &a.detach_keys {
        q.push_str(&format!("&detachKeys={}", enc(k)));
    }
    let hj = c.hijack("POST", &q, None)?;
    if tty && term::is_tty(io::stdout()) {
        session::resize(c, &base);
    }
    let streams = Streams {
        tty,
        stdin,
        detach_keys: detach_keys(a.detach_keys.as_deref())?,
    };
    if session::stream(hj, &streams, signals)? == Outcome::Detached {
        return Ok(());
    }
    let v: Value = c
        .request(
            "POST",
            &format!("{base}/wait?condition=not-running"),
            &[],
            None,
        )?
        .json()?;
    match v["StatusCode"].as_i64().unwrap_or(0) {
        0 => Ok(()),
        n => Err(exit_code(i32::try_from(n).unwrap_or(1))),
    }
}
