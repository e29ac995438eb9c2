//! Flags of the read-only verbs and `spec`: list, ps, spec, checkpoint/restore.
//!
//! Pure clap definitions, parsed in the CLI process, with runc's names and defaults.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Output format of `list` and `ps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// JSON.
    Json,
}

/// `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print only the container ids.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `ps ID [PS_ARGS...]`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Container id.
    pub id: String,
    /// Arguments passed to ps(1) in table format (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// `spec`.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Directory to write config.json into (default: the current directory).
    #[arg(short = 'b', long)]
    pub bundle: Option<PathBuf>,
    /// Generate a spec for a rootless container.
    #[arg(long)]
    pub rootless: bool,
}

/// `checkpoint` and `restore`: every argument is accepted, then refused.
#[derive(Debug, Args)]
pub struct UnsupportedArgs {
    /// Whatever runc would accept.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}
