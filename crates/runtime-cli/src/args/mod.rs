//! The runc-compatible command line: global flags, subcommands and their value parsers.
//!
//! Pure clap definitions, parsed once in `main` in the CLI process. As with runc (and
//! containerd's go-runc), global flags come before the subcommand:
//! `berth-runtime --root R --log L --log-format json create --bundle B ID`.
//! Nothing here touches the system; [`crate::commands`] acts on the parsed values.

mod duration;
mod exec;
mod info;
mod lifecycle;
mod resources;
mod signal;
mod size;

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

pub use exec::ExecArgs;
pub use info::{Format, ListArgs, PsArgs, SpecArgs, UnsupportedArgs};
pub use lifecycle::{CreateArgs, DeleteArgs, IdArgs, KillArgs, RunArgs};
pub use resources::{EventsArgs, UpdateArgs};

/// `berth-runtime version 0.1.0\nspec: <runtime-spec version>`, as `runc --version` prints.
fn version_text() -> String {
    format!(
        "version {}\nspec: {}",
        env!("CARGO_PKG_VERSION"),
        oci_spec::runtime::VERSION
    )
}

/// berth-runtime: an OCI container runtime with runc's command line.
#[derive(Debug, Parser)]
#[command(name = "berth-runtime", version = version_text(), disable_version_flag = true)]
pub struct Cli {
    /// Print the version.
    #[arg(short = 'v', long, action = ArgAction::Version)]
    version: Option<bool>,
    /// Flags that come before the subcommand.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Format of the lines written to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// logrus-style `time="..." level=error msg="..."`.
    Text,
    /// One JSON object per line (containerd reads the last error from it).
    Json,
}

/// runc's global options.
#[derive(Debug, Args)]
pub struct GlobalOpts {
    /// Root directory for container state (should be on tmpfs).
    #[arg(long, default_value = "/run/berth-runtime")]
    pub root: PathBuf,
    /// Log file (default: stderr).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Enable debug logging.
    #[arg(long)]
    pub debug: bool,
    /// Use the systemd cgroup driver (not supported: any command fails).
    #[arg(long)]
    pub systemd_cgroup: bool,
    /// Rootless mode (accepted and ignored).
    #[arg(long, value_parser = ["true", "false", "auto"], default_value = "auto")]
    pub rootless: String,
    /// Path to criu (accepted and ignored; checkpointing is not supported).
    #[arg(long, hide = true)]
    pub criu: Option<PathBuf>,
}

/// The subcommands, as in runc.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a container (it waits for `start`).
    Create(CreateArgs),
    /// Start a created container.
    Start(IdArgs),
    /// Create and start a container.
    Run(RunArgs),
    /// Print a container's state as JSON.
    State(IdArgs),
    /// List containers.
    List(ListArgs),
    /// Send a signal to the container's init (or all its processes).
    Kill(KillArgs),
    /// Delete containers.
    Delete(DeleteArgs),
    /// Run a new process inside a container.
    Exec(ExecArgs),
    /// Show the processes running inside a container.
    Ps(PsArgs),
    /// Freeze all processes of a container.
    Pause(IdArgs),
    /// Thaw a paused container.
    Resume(IdArgs),
    /// Print resource usage statistics.
    Events(EventsArgs),
    /// Update a container's resource limits.
    Update(UpdateArgs),
    /// Write a default config.json.
    Spec(SpecArgs),
    /// Print the runtime's features document.
    Features,
    /// Checkpoint a container (not supported).
    Checkpoint(UnsupportedArgs),
    /// Restore a container (not supported).
    Restore(UnsupportedArgs),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Cli {
        let argv = std::iter::once("berth-runtime").chain(line.split_whitespace());
        Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    #[test]
    fn containerd_create() {
        let cli = parse(
            "--root /run/containerd/runc/moby --log /b/log.json --log-format json \
             create --bundle /b --pid-file /b/init.pid --console-socket /tmp/s.sock abc",
        );
        assert_eq!(cli.global.root, PathBuf::from("/run/containerd/runc/moby"));
        assert_eq!(cli.global.log, Some(PathBuf::from("/b/log.json")));
        assert_eq!(cli.global.log_format, LogFormat::Json);
        let Command::Create(c) = cli.command else {
            panic!("not create")
        };
        assert_eq!(c.id, "abc");
        assert_eq!(c.bundle, PathBuf::from("/b"));
        assert_eq!(c.pid_file, Some(PathBuf::from("/b/init.pid")));
        assert_eq!(c.console_socket, Some(PathBuf::from("/tmp/s.sock")));
        assert_eq!(c.preserve_fds, 0);
    }

    #[test]
    fn defaults() {
        let cli = parse("create x");
        assert_eq!(cli.global.root, PathBuf::from("/run/berth-runtime"));
        assert_eq!(cli.global.log_format, LogFormat::Text);
        assert!(cli.global.log.is_none());
        let Command::Create(c) = cli.command else {
            panic!()
        };
        assert_eq!(c.bundle, PathBuf::from("."));
    }

    #[test]
    fn global_flags_only_before_subcommand() {
        assert!(Cli::try_parse_from(["berth-runtime", "state", "--root", "/x", "id"]).is_err());
        let cli = parse("--debug --systemd-cgroup --rootless=false --criu /bin/criu state id");
        assert!(cli.global.debug && cli.global.systemd_cgroup);
        assert_eq!(cli.global.rootless, "false");
        assert!(Cli::try_parse_from(["berth-runtime", "--rootless", "maybe", "list"]).is_err());
    }

    #[test]
    fn kill_all_with_signal() {
        let Command::Kill(k) = parse("--root /r kill --all abc 9").command else {
            panic!()
        };
        assert!(k.all);
        assert_eq!((k.id.as_str(), k.signal), ("abc", 9));
        let Command::Kill(k) = parse("kill abc").command else {
            panic!()
        };
        assert_eq!(k.signal, libc::SIGTERM);
        let Command::Kill(k) = parse("kill -a abc SIGKILL").command else {
            panic!()
        };
        assert_eq!(k.signal, libc::SIGKILL);
        let err = Cli::try_parse_from(["berth-runtime", "kill", "abc", "FOO"]).unwrap_err();
        assert!(err.to_string().contains("unknown signal \"FOO\""), "{err}");
    }

    #[test]
    fn update_resources_stdin() {
        let Command::Update(u) = parse("update --resources - abc").command else {
            panic!()
        };
        assert_eq!(u.resources, Some(PathBuf::from("-")));
        assert_eq!(u.id, "abc");
        let Command::Update(u) =
            parse("update --memory 512m --memory-swap -1 --cpu-quota -1 --pids-limit 100 x")
                .command
        else {
            panic!()
        };
        assert_eq!(u.memory, Some(512 << 20));
        assert_eq!(u.memory_swap, Some(-1));
        assert_eq!(u.cpu_quota, Some(-1));
        assert_eq!(u.pids_limit, Some(100));
    }

    #[test]
    fn exec_process_detached() {
        let line = "--root /r --log /l --log-format json exec --process /tmp/runc-process1 \
                    --detach --pid-file /p/exec.pid abc";
        let Command::Exec(e) = parse(line).command else {
            panic!()
        };
        assert_eq!(e.process, Some(PathBuf::from("/tmp/runc-process1")));
        assert!(e.detach);
        assert_eq!(e.pid_file, Some(PathBuf::from("/p/exec.pid")));
        assert_eq!(e.id, "abc");
        assert!(e.command.is_empty());
    }

    #[test]
    fn exec_command_keeps_its_flags() {
        let Command::Exec(e) =
            parse("exec -t -e A=1 -e B=2 -u 1000:100 -g 10 -g 11 --cap NET_ADMIN abc sh -c ls -l")
                .command
        else {
            panic!()
        };
        assert!(e.tty);
        assert_eq!(e.env, ["A=1", "B=2"]);
        assert_eq!(e.user.as_deref(), Some("1000:100"));
        assert_eq!(e.additional_gids, [10, 11]);
        assert_eq!(e.cap, ["NET_ADMIN"]);
        assert_eq!(e.command, ["sh", "-c", "ls", "-l"]);
    }

    #[test]
    fn other_containerd_shapes() {
        let Command::Delete(d) = parse("delete --force a b").command else {
            panic!()
        };
        assert!(d.force);
        assert_eq!(d.ids, ["a", "b"]);
        let Command::Ps(p) = parse("ps --format json abc").command else {
            panic!()
        };
        assert_eq!(p.format, Format::Json);
        let Command::Ps(p) = parse("ps abc -o pid,comm").command else {
            panic!()
        };
        assert_eq!(p.ps_args, ["-o", "pid,comm"]);
        let Command::Events(e) = parse("events --interval=2s abc").command else {
            panic!()
        };
        assert_eq!(e.interval, std::time::Duration::from_secs(2));
        let Command::Run(r) = parse("run -d -b /b --keep abc").command else {
            panic!()
        };
        assert!(r.detach);
        assert_eq!(r.create.id, "abc");
        assert!(matches!(parse("features").command, Command::Features));
        assert!(matches!(parse("start x").command, Command::Start(_)));
        assert!(matches!(
            parse("checkpoint --image-path /x abc").command,
            Command::Checkpoint(_)
        ));
        let Command::List(l) = parse("list -q").command else {
            panic!()
        };
        assert!(l.quiet && l.format == Format::Table);
    }

    #[test]
    fn version_flag() {
        for flag in ["-v", "--version"] {
            let err = Cli::try_parse_from(["berth-runtime", flag]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion);
            let text = err.to_string();
            assert!(
                text.starts_with("berth-runtime version 0.1.0\nspec: "),
                "{text}"
            );
        }
    }

    #[test]
    fn definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
