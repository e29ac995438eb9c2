//! Flags of `exec`: either a process.json (`--process`) or a command line after the id.
//!
//! Pure clap definitions, parsed in the CLI process. As in runc, flags go before the id;
//! everything after the id is the command, hyphens included.

use std::path::PathBuf;

use clap::Args;

/// `exec [flags] ID [COMMAND [ARG...]]`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// AF_UNIX socket that receives the pty master.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Working directory in the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Extra environment variables (KEY=VALUE), repeatable.
    #[arg(short = 'e', long)]
    pub env: Vec<String>,
    /// Allocate a pseudo-terminal.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// User as `uid[:gid]`.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Additional group ids, repeatable.
    #[arg(short = 'g', long)]
    pub additional_gids: Vec<u32>,
    /// Path to an OCI Process JSON; other process flags are then ignored.
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// Return once the process has started.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// File to write the process's pid to.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// SELinux label for the process.
    #[arg(long)]
    pub process_label: Option<String>,
    /// AppArmor profile for the process.
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Set no_new_privs for the process.
    #[arg(long)]
    pub no_new_privs: bool,
    /// Add a capability, repeatable (CAP_NET_ADMIN or NET_ADMIN).
    #[arg(short = 'c', long)]
    pub cap: Vec<String>,
    /// Pass N additional file descriptors to the process.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Sub-cgroup to run in (accepted and ignored).
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// Allow exec in a paused container.
    #[arg(long)]
    pub ignore_paused: bool,
    /// Container id.
    pub id: String,
    /// The command and its arguments (when --process is not given).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}
