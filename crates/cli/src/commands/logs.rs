//! `logs`: inspect the container for its TTY setting, then stream
//! `GET /containers/{id}/logs`, demultiplexed unless the container has a TTY.
//!
//! Runs in the CLI process.

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use crate::client::{enc, query, stream, Client};
use crate::format::units::api_timestamp;

/// `logs` flags.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Show logs since timestamp or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Show logs before a timestamp or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    pub until: Option<String>,
    /// CONTAINER
    pub container: String,
}

/// `berth logs`.
pub fn logs(c: &Client, a: LogsArgs) -> Result<()> {
    let info: Value = c.get_json(&format!("/containers/{}/json", enc(&a.container)))?;
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let id = info["Id"].as_str().unwrap_or(&a.container).to_string();
    let mut q = vec![
        ("stdout", "1".to_string()),
        ("stderr", "1".to_string()),
        ("tail", a.tail.clone()),
    ];
    if a.follow {
        q.push(("follow", "1".into()));
    }
    if a.timestamps {
        q.push(("timestamps", "1".into()));
    }
    if a.details {
        q.push(("details", "1".into()));
    }
    if let Some(s) = &a.since {
        q.push(("since", api_timestamp(s)?));
    }
    if let Some(u) = &a.until {
        q.push(("until", api_timestamp(u)?));
    }
    let resp = c.request(
        "GET",
        &format!("/containers/{id}/logs{}", query(&q)),
        &[],
        None,
    )?;
    stream::copy_output(resp.body, tty)?;
    Ok(())
}
