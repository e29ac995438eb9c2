//! The command tree (Docker's verbs, flags and `container`/`image`/`system` groups) and
//! dispatch to one function per command.
//!
//! Runs in the CLI process. `main` parses arguments (usage errors exit 125 like Docker's),
//! builds a `Client` for `-H`/`BERTH_HOST`, runs the command and maps its error to a
//! message and an exit code. Each command group lives in its own file.

pub mod attach;
pub mod auth;
pub mod cp;
pub mod disk;
pub mod exec;
mod fastparse;
pub mod images;
pub mod inspect;
pub mod lifecycle;
pub mod logs;
pub mod network;
pub mod progress;
pub mod ps;
pub mod run;
pub mod session;
pub mod stats;
pub mod system;
pub mod transfer;

use std::io::Write;

use clap::{Parser, Subcommand};

use crate::client::{Client, DEFAULT_HOST};
use crate::error::{ConnectError, DaemonError, StatusError};

/// berth: a Docker-compatible container engine client
#[derive(Debug, Parser)]
#[command(name = "berth", version, disable_help_subcommand = true)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    cmd: Cmd,
}

/// The flags that come before the verb.
#[derive(Debug, clap::Args)]
struct GlobalArgs {
    /// Daemon socket to connect to (unix:///path)
    #[arg(short = 'H', long = "host")]
    host: Option<String>,
}

/// Verbs that exist both at the top level and under `berth container`.
#[derive(Debug, Subcommand)]
pub enum ContainerVerb {
    /// Create and run a new container from an image
    #[command(disable_help_flag = true)]
    Run(run::RunArgs),
    /// Create a new container
    #[command(disable_help_flag = true)]
    Create(run::CreateArgs),
    /// Start one or more stopped containers
    Start(attach::StartArgs),
    /// Stop one or more running containers
    Stop(lifecycle::StopArgs),
    /// Restart one or more containers
    Restart(lifecycle::StopArgs),
    /// Kill one or more running containers
    Kill(lifecycle::KillArgs),
    /// Remove one or more containers
    Rm(lifecycle::RmArgs),
    /// Fetch the logs of a container
    Logs(logs::LogsArgs),
    /// Execute a command in a running container
    Exec(exec::ExecArgs),
    /// Attach local standard input, output, and error streams to a running container
    Attach(attach::AttachArgs),
    /// Display the running processes of a container
    Top(inspect::TopArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(stats::StatsArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(lifecycle::IdsArgs),
    /// Pause all processes within one or more containers
    Pause(lifecycle::IdsArgs),
    /// Unpause all processes within one or more containers
    Unpause(lifecycle::IdsArgs),
    /// Rename a container
    Rename(lifecycle::RenameArgs),
    /// Update configuration of one or more containers
    Update(lifecycle::UpdateArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(cp::CpArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(inspect::OneArg),
    /// Export a container's filesystem as a tar archive
    Export(cp::ExportArgs),
    /// List port mappings or a specific mapping for the container
    Port(inspect::PortArgs),
}

/// Verbs that exist both at the top level and under `berth image`.
#[derive(Debug, Subcommand)]
pub enum ImageVerb {
    /// Download an image from a registry
    Pull(transfer::PullArgs),
    /// Upload an image to a registry
    Push(transfer::PushArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(images::TagArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(transfer::SaveArgs),
    /// Load an image from a tar archive or STDIN
    Load(transfer::LoadArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(transfer::ImportArgs),
    /// Show the history of an image
    History(images::HistoryArgs),
}

#[derive(Debug, Subcommand)]
enum Cmd {
    #[command(flatten)]
    Container(ContainerVerb),
    #[command(flatten)]
    Image(ImageVerb),
    /// List containers
    Ps(ps::PsArgs),
    /// List images
    Images(images::ImagesArgs),
    /// Remove one or more images
    Rmi(images::RmiArgs),
    /// Return low-level information on Docker objects
    Inspect(inspect::InspectArgs),
    /// Log in to a registry
    Login(auth::LoginArgs),
    /// Log out from a registry
    Logout(auth::LogoutArgs),
    /// Display system-wide information
    Info(system::FormatArgs),
    /// Show the berth version information
    Version(system::FormatArgs),
    /// Get real time events from the server
    Events(system::EventsArgs),
    /// Manage containers
    #[command(name = "container", subcommand)]
    ContainerGroup(ContainerGroup),
    /// Manage images
    #[command(name = "image", subcommand)]
    ImageGroup(ImageGroup),
    /// Manage networks
    #[command(subcommand)]
    Network(network::NetworkCmd),
    /// Manage berth
    #[command(subcommand)]
    System(SystemGroup),
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per process")]
enum ContainerGroup {
    #[command(flatten)]
    Verb(ContainerVerb),
    /// List containers
    #[command(visible_aliases = ["ps", "list"])]
    Ls(ps::PsArgs),
    /// Display detailed information on one or more containers
    Inspect(inspect::InspectArgs),
    /// Remove all stopped containers
    Prune(lifecycle::PruneArgs),
}

#[derive(Debug, Subcommand)]
enum ImageGroup {
    #[command(flatten)]
    Verb(ImageVerb),
    /// List images
    #[command(visible_aliases = ["list"])]
    Ls(images::ImagesArgs),
    /// Remove one or more images
    #[command(visible_aliases = ["remove"])]
    Rm(images::RmiArgs),
    /// Display detailed information on one or more images
    Inspect(inspect::InspectArgs),
    /// Remove unused images
    Prune(images::ImagePruneArgs),
}

#[derive(Debug, Subcommand)]
enum SystemGroup {
    /// Show berth disk usage
    Df(disk::DfArgs),
    /// Remove unused data
    Prune(disk::SystemPruneArgs),
    /// Display system-wide information
    Info(system::FormatArgs),
    /// Get real time events from the server
    Events(system::EventsArgs),
}

fn container_verb(c: &Client, v: ContainerVerb) -> anyhow::Result<()> {
    use ContainerVerb as V;
    match v {
        V::Run(a) => run::run(c, a),
        V::Create(a) => run::create(c, a),
        V::Start(a) => attach::start(c, a),
        V::Stop(a) => lifecycle::stop(c, a, "stop"),
        V::Restart(a) => lifecycle::stop(c, a, "restart"),
        V::Kill(a) => lifecycle::kill(c, a),
        V::Rm(a) => lifecycle::rm(c, a),
        V::Logs(a) => logs::logs(c, a),
        V::Exec(a) => exec::exec(c, a),
        V::Attach(a) => attach::attach(c, a),
        V::Top(a) => inspect::top(c, a),
        V::Stats(a) => stats::stats(c, a),
        V::Wait(a) => lifecycle::wait(c, a),
        V::Pause(a) => lifecycle::simple(c, a, "pause"),
        V::Unpause(a) => lifecycle::simple(c, a, "unpause"),
        V::Rename(a) => lifecycle::rename(c, a),
        V::Update(a) => lifecycle::update(c, a),
        V::Cp(a) => cp::cp(c, a),
        V::Diff(a) => inspect::diff(c, a),
        V::Export(a) => cp::export(c, a),
        V::Port(a) => inspect::port(c, a),
    }
}

fn image_verb(c: &Client, v: ImageVerb) -> anyhow::Result<()> {
    use ImageVerb as V;
    match v {
        V::Pull(a) => transfer::pull(c, a),
        V::Push(a) => transfer::push(c, a),
        V::Tag(a) => images::tag(c, a),
        V::Save(a) => transfer::save(c, a),
        V::Load(a) => transfer::load(c, a),
        V::Import(a) => transfer::import(c, a),
        V::History(a) => images::history(c, a),
    }
}

fn dispatch(c: &Client, cmd: Cmd) -> anyhow::Result<()> {
    match cmd {
        Cmd::Container(v) => container_verb(c, v),
        Cmd::Image(v) => image_verb(c, v),
        Cmd::Ps(a) => ps::ps(c, a),
        Cmd::Images(a) => images::images(c, a),
        Cmd::Rmi(a) => images::rmi(c, a),
        Cmd::Inspect(a) => inspect::inspect(c, a, None),
        Cmd::Login(a) => auth::login(c, a),
        Cmd::Logout(a) => auth::logout(a),
        Cmd::Info(a) => system::info(c, a),
        Cmd::Version(a) => system::version(c, a),
        Cmd::Events(a) => system::events(c, a),
        Cmd::Network(n) => network::network(c, n),
        Cmd::ContainerGroup(g) => match g {
            ContainerGroup::Verb(v) => container_verb(c, v),
            ContainerGroup::Ls(a) => ps::ps(c, a),
            ContainerGroup::Inspect(a) => inspect::inspect(c, a, Some("container")),
            ContainerGroup::Prune(a) => lifecycle::prune(c, a),
        },
        Cmd::ImageGroup(g) => match g {
            ImageGroup::Verb(v) => image_verb(c, v),
            ImageGroup::Ls(a) => images::images(c, a),
            ImageGroup::Rm(a) => images::rmi(c, a),
            ImageGroup::Inspect(a) => inspect::inspect(c, a, Some("image")),
            ImageGroup::Prune(a) => images::prune(c, a),
        },
        Cmd::System(g) => match g {
            SystemGroup::Df(a) => disk::df(c, a),
            SystemGroup::Prune(a) => disk::prune(c, a),
            SystemGroup::Info(a) => system::info(c, a),
            SystemGroup::Events(a) => system::events(c, a),
        },
    }
}

/// Parses arguments, runs the command and returns the process exit code.
pub fn main() -> i32 {
    let parsed =
        fastparse::parse_hot_verb(std::env::args_os().collect()).map_or_else(Cli::try_parse, Ok);
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 125 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let host = cli
        .global
        .host
        .or_else(|| std::env::var("BERTH_HOST").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| DEFAULT_HOST.to_string());
    let result = Client::new(&host).and_then(|c| dispatch(&c, cli.cmd));
    let _ = std::io::stdout().flush();
    match result {
        Ok(()) => 0,
        Err(e) => report(&e),
    }
}

/// Prints `e` the way Docker does and picks the exit code.
fn report(e: &anyhow::Error) -> i32 {
    if let Some(s) = e.downcast_ref::<StatusError>() {
        if let Some(m) = &s.message {
            eprintln!("{m}");
        }
        return s.code;
    }
    if let Some(d) = e.downcast_ref::<DaemonError>() {
        eprintln!("{d}");
        return 1;
    }
    if let Some(c) = e.downcast_ref::<ConnectError>() {
        eprintln!("{c}");
        return 1;
    }
    if e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    {
        return 0;
    }
    eprintln!("Error: {e:#}");
    1
}

/// Runs `f` for each item, printing per-item errors like Docker's multi-target verbs
/// (`Error response from daemon: …`), and fails with exit 1 if any failed.
pub fn for_each(
    items: &[String],
    mut f: impl FnMut(&str) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut failed = false;
    for it in items {
        if let Err(e) = f(it) {
            failed = true;
            match e.downcast_ref::<DaemonError>() {
                Some(d) => eprintln!("{d}"),
                None => eprintln!("Error: {e:#}"),
            }
        }
    }
    if failed {
        return Err(crate::error::exit_code(1));
    }
    Ok(())
}
