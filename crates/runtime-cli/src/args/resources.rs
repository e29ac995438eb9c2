//! Flags of `update` and `events`: resource limits and stats sampling.
//!
//! Pure clap definitions, parsed in the CLI process. Memory sizes accept runc's suffixes
//! (`512m`, `1g`, `-1`), intervals Go durations (`5s`). runc's Intel RDT flags
//! (`--l3-cache-schema`, `--mem-bw-schema`) are left out: berth has no RDT support.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::duration::parse_duration;
use super::size::parse_memory;

/// `update [flags] ID`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// JSON LinuxResources file, or `-` for stdin; all other flags are then ignored.
    #[arg(short = 'r', long)]
    pub resources: Option<PathBuf>,
    /// Block IO weight (10..1000).
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period in microseconds.
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds per period.
    #[arg(long, allow_negative_numbers = true)]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight).
    #[arg(long)]
    pub cpu_share: Option<u64>,
    /// CPU realtime period in microseconds.
    #[arg(long)]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime runtime in microseconds per period.
    #[arg(long, allow_negative_numbers = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs to use (cpuset list, e.g. 0-2,4).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to use.
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Memory limit in bytes (suffixes k, m, g allowed).
    #[arg(long, value_parser = parse_memory, allow_hyphen_values = true)]
    pub memory: Option<i64>,
    /// Memory soft limit in bytes.
    #[arg(long, value_parser = parse_memory, allow_hyphen_values = true)]
    pub memory_reservation: Option<i64>,
    /// Memory plus swap limit; -1 for unlimited swap.
    #[arg(long, value_parser = parse_memory, allow_hyphen_values = true)]
    pub memory_swap: Option<i64>,
    /// Maximum number of pids; -1 for unlimited.
    #[arg(long, allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Container id.
    pub id: String,
}

/// `events [--stats] [--interval D] ID`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Print one stats event and exit.
    #[arg(long)]
    pub stats: bool,
    /// Interval between stats events.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Container id.
    pub id: String,
}
