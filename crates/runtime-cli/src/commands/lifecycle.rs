//! The lifecycle verbs: create, start, run, kill, delete, pause, resume.
//!
//! Runs in the CLI process; each verb is one call on [`berth_runtime::Runtime`], which
//! owns the container's processes, cgroup and state directory. `delete` also removes a
//! state directory left without a record by an aborted `create`, as runc does.

use anyhow::{bail, Context, Result};
use berth_runtime::{CreateOptions, Error};

use super::{absolute, Ctx};
use crate::args::{CreateArgs, DeleteArgs, KillArgs, RunArgs};

fn create_options(args: &CreateArgs) -> Result<CreateOptions> {
    Ok(CreateOptions {
        id: args.id.clone(),
        bundle: absolute(&args.bundle)?,
        pid_file: args.pid_file.as_deref().map(absolute).transpose()?,
        console_socket: args.console_socket.as_deref().map(absolute).transpose()?,
        preserve_fds: args.preserve_fds,
        no_pivot: args.no_pivot,
    })
}

/// `create`: set the container up; its init waits for `start`.
pub fn create(ctx: &Ctx<'_>, args: &CreateArgs) -> Result<()> {
    let opts = create_options(args)?;
    if args.no_new_keyring {
        ctx.log
            .debug("--no-new-keyring: berth never creates a session keyring");
    }
    let st = ctx.rt.create(&opts)?;
    ctx.log
        .debug(&format!("created {} with init pid {}", st.id, st.pid));
    Ok(())
}

/// `start`: release a created container's init.
pub fn start(ctx: &Ctx<'_>, id: &str) -> Result<()> {
    Ok(ctx.rt.start(id)?)
}

/// `run`: create and start; returns the container's exit code unless detached.
pub fn run(ctx: &Ctx<'_>, args: &RunArgs) -> Result<i32> {
    let opts = create_options(&args.create)?;
    Ok(ctx.rt.run(&opts, args.detach)?)
}

/// `kill`: signal the init, or every process with `--all`.
pub fn kill(ctx: &Ctx<'_>, args: &KillArgs) -> Result<()> {
    ctx.rt
        .kill(&args.id, args.signal, args.all)
        .with_context(|| format!("send signal {} to container {}", args.signal, args.id))
}

/// `delete`: remove each container; keeps going past failures and reports them all.
pub fn delete(ctx: &Ctx<'_>, args: &DeleteArgs) -> Result<()> {
    let mut failed = Vec::new();
    for id in &args.ids {
        if let Err(e) = delete_one(ctx, id, args.force) {
            ctx.log.error(&format!("{e:#}"));
            failed.push(id.as_str());
        }
    }
    if !failed.is_empty() {
        bail!("unable to delete {}", failed.join(", "));
    }
    Ok(())
}

fn delete_one(ctx: &Ctx<'_>, id: &str, force: bool) -> Result<()> {
    match ctx.rt.delete(id, force) {
        Ok(()) => Ok(()),
        Err(Error::NotFound(_)) => {
            // An aborted create can leave a directory without state.json.
            let dir = berth_runtime::state::dir(&ctx.rt.root, id);
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if force {
                        Ok(())
                    } else {
                        Err(Error::NotFound(id.to_string()).into())
                    }
                }
                Err(e) => Err(e).with_context(|| format!("remove {}", dir.display())),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// `pause`: freeze the container.
pub fn pause(ctx: &Ctx<'_>, id: &str) -> Result<()> {
    Ok(ctx.rt.pause(id)?)
}

/// `resume`: thaw the container.
pub fn resume(ctx: &Ctx<'_>, id: &str) -> Result<()> {
    Ok(ctx.rt.resume(id)?)
}
