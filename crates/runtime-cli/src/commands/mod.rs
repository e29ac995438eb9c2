//! Acting on a parsed command line: one function per runc verb, grouped by file.
//!
//! Runs in the CLI process on the host. Each verb turns its flags into a typed call on
//! [`berth_runtime::Runtime`] and prints what runc prints; the container work itself
//! (namespaces, cgroups, state records) belongs to the library, which owns and cleans up
//! everything it creates. Errors are returned, not logged: `main` logs each one once.

mod exec;
mod lifecycle;
mod ps;
mod query;
mod spec;
mod table;
mod update;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use berth_runtime::Runtime;

use crate::args::{Cli, Command};
use crate::log::Logger;

/// What every verb needs: the runtime rooted at `--root` and the log.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The runtime library context.
    pub rt: Runtime,
    /// Where debug lines go.
    pub log: &'a Logger,
}

/// Run the verb; returns the process exit code (the container's for `run` and `exec`).
pub fn dispatch(cli: Cli, log: &Logger) -> Result<i32> {
    if cli.global.systemd_cgroup {
        bail!(
            "berth-runtime: --systemd-cgroup: the systemd cgroup driver is not supported; \
             use cgroupfs"
        );
    }
    log.debug(&format!("command: {:?}", cli.command));
    let ctx = Ctx {
        rt: Runtime::new(cli.global.root),
        log,
    };
    let done = |r: Result<()>| r.map(|()| 0);
    match cli.command {
        Command::Create(a) => done(lifecycle::create(&ctx, &a)),
        Command::Start(a) => done(lifecycle::start(&ctx, &a.id)),
        Command::Run(a) => lifecycle::run(&ctx, &a),
        Command::State(a) => done(query::state(&ctx, &a.id)),
        Command::List(a) => done(query::list(&ctx, &a)),
        Command::Kill(a) => done(lifecycle::kill(&ctx, &a)),
        Command::Delete(a) => done(lifecycle::delete(&ctx, &a)),
        Command::Exec(a) => exec::exec(&ctx, &a),
        Command::Ps(a) => done(ps::ps(&ctx, &a)),
        Command::Pause(a) => done(lifecycle::pause(&ctx, &a.id)),
        Command::Resume(a) => done(lifecycle::resume(&ctx, &a.id)),
        Command::Events(a) => done(update::events(&ctx, &a)),
        Command::Update(a) => done(update::update(&ctx, &a)),
        Command::Spec(a) => done(spec::spec(&a)),
        Command::Features => done(spec::features()),
        Command::Checkpoint(_) | Command::Restore(_) => bail!("checkpoint is not supported"),
    }
}

/// `path` made absolute against the current directory (runc resolves `--pid-file`,
/// `--bundle` and `--console-socket` the same way, before anything changes directory).
fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolve path {}", path.display()))
}
