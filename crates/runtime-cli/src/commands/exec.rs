//! `exec`: build the OCI Process to run (from `--process` or from flags) and run it.
//!
//! Runs in the CLI process, already re-executed from the sealed binary copy; the library
//! spawns the process inside the container's namespaces and, unless `--detach`, waits
//! for it. Without `--process` the container's config.json process supplies the defaults
//! (env, capabilities, rlimits, user, cwd) and the flags are applied on top, as in runc.

use std::path::Path;

use anyhow::{bail, Context, Result};
use berth_runtime::{ExecOptions, Status};
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, Process, Spec};

use super::{absolute, Ctx};
use crate::args::ExecArgs;

/// `exec`; returns the process's exit code, or 0 with `--detach`.
pub fn exec(ctx: &Ctx<'_>, args: &ExecArgs) -> Result<i32> {
    let st = ctx.rt.load(&args.id)?;
    match st.status {
        Status::Paused if !args.ignore_paused => {
            bail!("cannot exec in a paused container (use --ignore-paused to override)")
        }
        Status::Stopped => bail!("cannot exec in a stopped container"),
        _ => {}
    }
    if !args.cgroup.is_empty() {
        ctx.log
            .debug("--cgroup is ignored: exec joins the container's cgroup");
    }
    let process = match &args.process {
        Some(path) => read_process(path)?,
        None => {
            let config = st.bundle.join("config.json");
            let spec = Spec::load(&config).with_context(|| format!("load {}", config.display()))?;
            process_from_flags(spec.process().clone().unwrap_or_default(), args)?
        }
    };
    validate(&process)?;
    let opts = ExecOptions {
        detach: args.detach,
        pid_file: args.pid_file.as_deref().map(absolute).transpose()?,
        console_socket: args.console_socket.as_deref().map(absolute).transpose()?,
        preserve_fds: args.preserve_fds,
    };
    let code = ctx.rt.exec(&args.id, &process, &opts)?;
    Ok(if args.detach { 0 } else { code })
}

/// The process JSON given with `--process` (containerd writes one per exec).
fn read_process(path: &Path) -> Result<Process> {
    let data = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    serde_json::from_slice(&data).with_context(|| format!("parse process {}", path.display()))
}

/// Apply the exec flags to the container's own process, as runc's `getProcess` does.
pub fn process_from_flags(mut p: Process, args: &ExecArgs) -> Result<Process> {
    p.set_args(Some(args.command.clone()));
    if let Some(cwd) = &args.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some(profile) = &args.apparmor {
        p.set_apparmor_profile(Some(profile.clone()));
    }
    if let Some(label) = &args.process_label {
        p.set_selinux_label(Some(label.clone()));
    }
    if !args.cap.is_empty() {
        let caps = args
            .cap
            .iter()
            .map(|c| parse_capability(c))
            .collect::<Result<Vec<_>>>()?;
        let current = p.capabilities().clone();
        p.set_capabilities(Some(add_capabilities(current, &caps)));
    }
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(args.env.iter().cloned());
    p.set_env(Some(env));
    p.set_terminal(Some(args.tty));
    if args.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(user) = &args.user {
        let (uid, gid) = parse_user(user)?;
        p.user_mut().set_uid(uid);
        if let Some(gid) = gid {
            p.user_mut().set_gid(gid);
        }
    }
    if !args.additional_gids.is_empty() {
        let mut gids = p.user().additional_gids().clone().unwrap_or_default();
        gids.extend(&args.additional_gids);
        p.user_mut().set_additional_gids(Some(gids));
    }
    Ok(p)
}

/// `CAP_NET_ADMIN`, `NET_ADMIN` or `net_admin`.
fn parse_capability(name: &str) -> Result<Capability> {
    serde_json::from_value(serde_json::Value::from(name))
        .map_err(|_| anyhow::anyhow!("unknown capability {name:?}"))
}

/// Add `caps` to the bounding, effective and permitted sets, and to ambient only when
/// the process already has inheritable capabilities (ambient needs inheritable).
fn add_capabilities(current: Option<LinuxCapabilities>, caps: &[Capability]) -> LinuxCapabilities {
    let mut c = current.unwrap_or_else(|| {
        let mut empty = LinuxCapabilities::default();
        empty.set_bounding(None);
        empty.set_effective(None);
        empty.set_inheritable(None);
        empty.set_permitted(None);
        empty.set_ambient(None);
        empty
    });
    let with = |set: &Option<Capabilities>| {
        let mut set = set.clone().unwrap_or_default();
        set.extend(caps.iter().copied());
        Some(set)
    };
    c.set_bounding(with(c.bounding()));
    c.set_effective(with(c.effective()));
    c.set_permitted(with(c.permitted()));
    if c.inheritable().as_ref().is_some_and(|s| !s.is_empty()) {
        c.set_ambient(with(c.ambient()));
    }
    c
}

/// `uid[:gid]`.
fn parse_user(user: &str) -> Result<(u32, Option<u32>)> {
    let (uid, gid) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let uid = uid
        .parse()
        .with_context(|| format!("parsing {uid:?} as int for uid failed"))?;
    let gid = gid
        .map(|g| {
            g.parse()
                .with_context(|| format!("parsing {g:?} as int for gid failed"))
        })
        .transpose()?;
    Ok((uid, gid))
}

/// The checks runc makes before handing a process to the container.
fn validate(p: &Process) -> Result<()> {
    if p.args().as_ref().is_none_or(Vec::is_empty) {
        bail!("exec args cannot be empty");
    }
    if p.cwd().as_os_str().is_empty() {
        bail!("cwd property must not be empty");
    }
    if !p.cwd().is_absolute() {
        bail!("cwd must be an absolute path: {}", p.cwd().display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn exec_args(line: &str) -> ExecArgs {
        let argv = ["berth-runtime", "exec"]
            .into_iter()
            .chain(line.split_whitespace());
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Exec(e) => e,
            other => panic!("{other:?}"),
        }
    }

    fn base() -> Process {
        serde_json::from_value(serde_json::json!({
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["nginx"],
            "env": ["PATH=/usr/bin", "HOME=/root"],
            "cwd": "/srv",
            "capabilities": {
                "bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": false
        }))
        .unwrap()
    }

    #[test]
    fn flags_override_container_defaults() {
        let args = exec_args("-e A=1 --cwd /tmp -u 1000:100 -g 5 --cap net_admin -t id ls -l");
        let p = process_from_flags(base(), &args).unwrap();
        assert_eq!(
            p.args().as_deref(),
            Some(&["ls".to_string(), "-l".to_string()][..])
        );
        assert_eq!(
            p.env().as_ref().unwrap(),
            &["PATH=/usr/bin", "HOME=/root", "A=1"]
        );
        assert_eq!(p.cwd(), Path::new("/tmp"));
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 100));
        assert_eq!(p.user().additional_gids().as_deref(), Some(&[5][..]));
        assert_eq!(p.terminal(), Some(true));
        let caps = p.capabilities().as_ref().unwrap();
        for set in [caps.bounding(), caps.effective(), caps.permitted()] {
            let set = set.as_ref().unwrap();
            assert!(set.contains(&Capability::NetAdmin) && set.contains(&Capability::Kill));
        }
        assert!(caps.ambient().is_none());
        assert_eq!(p.rlimits().as_ref().unwrap().len(), 1);
        validate(&p).unwrap();
    }

    #[test]
    fn keeps_defaults_without_flags() {
        let p = process_from_flags(base(), &exec_args("id true")).unwrap();
        assert_eq!(p.cwd(), Path::new("/srv"));
        assert_eq!(p.user().uid(), 0);
        assert_eq!(p.terminal(), Some(false));
        assert_eq!(p.env().as_ref().unwrap().len(), 2);
    }

    #[test]
    fn bad_values() {
        assert!(process_from_flags(base(), &exec_args("-u abc id true")).is_err());
        let err = process_from_flags(base(), &exec_args("--cap CAP_NOPE id true")).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability \"CAP_NOPE\"");
        let p = process_from_flags(base(), &exec_args("id")).unwrap();
        assert_eq!(
            validate(&p).unwrap_err().to_string(),
            "exec args cannot be empty"
        );
        let p = process_from_flags(base(), &exec_args("--cwd rel id true")).unwrap();
        assert!(validate(&p).is_err());
    }

    #[test]
    fn parses_users() {
        assert_eq!(parse_user("1000").unwrap(), (1000, None));
        assert_eq!(parse_user("0:0").unwrap(), (0, Some(0)));
        assert!(parse_user("1000:x").is_err());
    }
}
