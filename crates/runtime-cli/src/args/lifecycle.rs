//! Flags of the lifecycle verbs: create, run, start, delete, kill, pause, resume, state.
//!
//! Pure clap definitions, parsed in the CLI process. Flag names, short forms and
//! defaults are runc's, so containerd's go-runc command lines parse unchanged.

use std::path::PathBuf;

use clap::Args;

use super::signal::parse_signal;

/// A command that takes only a container id.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// Container id.
    pub id: String,
}

/// `create ID`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Path to the root of the bundle directory.
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// AF_UNIX socket that receives the pty master when process.terminal is set.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// File to write the container init's pid to.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Do not use pivot_root (for a rootfs on a ramdisk).
    #[arg(long)]
    pub no_pivot: bool,
    /// Do not create a new session keyring (accepted; berth never creates one).
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass N additional file descriptors (3..3+N) to the container.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Container id.
    pub id: String,
}

/// `run ID`: create flags plus detach.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Detach from the container's process.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Do not delete the container after it exits (accepted and ignored).
    #[arg(long)]
    pub keep: bool,
    /// Disable the subreaper (accepted and ignored).
    #[arg(long, hide = true)]
    pub no_subreaper: bool,
    /// The create flags and the id.
    #[command(flatten)]
    pub create: CreateArgs,
}

/// `kill [--all] ID [SIGNAL]`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Send the signal to every process in the container.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Container id.
    pub id: String,
    /// Signal number or name (KILL, SIGKILL, 9).
    #[arg(default_value = "SIGTERM", value_parser = parse_signal)]
    pub signal: i32,
}

/// `delete [--force] ID...`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Kill the container with SIGKILL first if it is still running.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Container ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
}
