//! The spec's `process` section: argv, environment, cwd, user, capabilities, rlimits,
//! no_new_privs, oom_score_adj (moby `daemon/oci_linux.go` WithCommonOptions, WithUser,
//! WithRlimits, WithCapabilities; `daemon/container/container.go` CreateDaemonEnvironment).

use oci_spec::runtime::{BoxBuilder, PosixRlimit, PosixRlimitBuilder, PosixRlimitType, Process};

use super::merge::DEFAULT_PATH_ENV;
use super::{caps, user, SecurityOpts, SpecError, SpecInput, INIT_PATH_IN_CONTAINER};

/// Docker's `ReplaceOrAppendEnvValues`: each `KEY=value` override replaces the default
/// with the same key or is appended; a bare `KEY` removes the default.
pub fn replace_or_append_env(defaults: Vec<String>, overrides: &[String]) -> Vec<String> {
    let key = |e: &str| e.split_once('=').map_or(e, |(k, _)| k).to_string();
    let cache: Vec<String> = defaults.iter().map(|e| key(e)).collect();
    let mut out: Vec<Option<String>> = defaults.into_iter().map(Some).collect();
    for value in overrides {
        let k = key(value);
        let existing = cache.iter().position(|c| *c == k);
        if !value.contains('=') {
            if let Some(i) = existing {
                out[i] = None;
            }
            continue;
        }
        match existing {
            Some(i) => out[i] = Some(value.clone()),
            None => out.push(Some(value.clone())),
        }
    }
    out.into_iter().flatten().collect()
}

/// A Docker ulimit name (`nofile`, `nproc`, …) → the OCI rlimit type.
pub fn ulimit_type(name: &str) -> Option<PosixRlimitType> {
    const NAMES: &[&str] = &[
        "as",
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ];
    if !NAMES.contains(&name) {
        return None;
    }
    let value = serde_json::Value::String(format!("RLIMIT_{}", name.to_uppercase()));
    serde_json::from_value(value).ok()
}

fn rlimits(input: &SpecInput<'_>) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut out = Vec::new();
    for u in input.host.ulimits.as_deref().unwrap_or_default() {
        let name = u.name.as_deref().unwrap_or("");
        let typ = ulimit_type(name).ok_or_else(|| SpecError::UlimitName {
            name: name.to_string(),
        })?;
        let (soft, hard) = (u.soft.unwrap_or(0), u.hard.unwrap_or(0));
        if hard >= 0 && (soft > hard || soft < 0) {
            return Err(SpecError::UlimitRange { soft, hard });
        }
        // Docker converts with uint64(), so -1 means unlimited.
        out.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(soft as u64)
                .hard(hard as u64)
                .build()
                .expect("every rlimit field is set"),
        );
    }
    Ok(out)
}

/// `Entrypoint` + `Cmd`, prefixed with the init for `HostConfig.Init`.
fn args(input: &SpecInput<'_>) -> Result<Vec<String>, SpecError> {
    let config = input.config;
    let mut args: Vec<String> = config.entrypoint.clone().unwrap_or_default();
    args.extend(config.cmd.clone().unwrap_or_default());
    if args.is_empty() || args[0].is_empty() {
        return Err(SpecError::NoCommand);
    }
    if input.host.init.unwrap_or(false) && input.init_path.is_some() {
        let mut with_init = vec![INIT_PATH_IN_CONTAINER.to_string(), "--".to_string()];
        with_init.extend(args);
        args = with_init;
    }
    Ok(args)
}

pub(super) fn process(
    input: &SpecInput<'_>,
    final_caps: &[String],
    hostname: &str,
    security: &SecurityOpts,
) -> Result<Process, SpecError> {
    let config = input.config;
    let tty = config.tty.unwrap_or(false);
    let mut env = vec![DEFAULT_PATH_ENV.to_string(), format!("HOSTNAME={hostname}")];
    if tty {
        env.push("TERM=xterm".to_string());
    }
    let env = replace_or_append_env(env, config.env.as_deref().unwrap_or_default());

    let spec_user = user::resolve_user(
        input.rootfs,
        config.user.as_deref().unwrap_or(""),
        input.host.group_add.as_deref().unwrap_or_default(),
    )?;

    let cwd = config
        .working_dir
        .as_deref()
        .filter(|w| !w.is_empty())
        .unwrap_or("/");
    let rlimits = rlimits(input)?;

    let mut p = Process::default();
    p.set_terminal(Some(tty));
    p.set_console_size(None);
    if let Some([h, w]) = input.host.console_size.as_deref() {
        if tty && *h > 0 && *w > 0 {
            p.set_console_size(Some(
                BoxBuilder::default()
                    .height(*h as u64)
                    .width(*w as u64)
                    .build()
                    .expect("every box field is set"),
            ));
        }
    }
    p.set_user(spec_user);
    p.set_args(Some(args(input)?));
    p.set_env(Some(env));
    p.set_cwd(cwd.into());
    p.set_capabilities(Some(caps::linux_capabilities(final_caps)));
    p.set_rlimits((!rlimits.is_empty()).then_some(rlimits));
    p.set_no_new_privileges(security.no_new_privileges.then_some(true));
    p.set_apparmor_profile(None);
    p.set_selinux_label(None);
    p.set_oom_score_adj(Some(
        input.host.oom_score_adj.unwrap_or(0).clamp(-1000, 1000) as i32,
    ));
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn env_replace_append_and_unset() {
        let out = replace_or_append_env(
            s(&["PATH=/default", "HOSTNAME=abc", "TERM=xterm"]),
            &s(&["PATH=/img", "A=1", "TERM", "A=2"]),
        );
        assert_eq!(out, s(&["PATH=/img", "HOSTNAME=abc", "A=1", "A=2"]));
    }

    #[test]
    fn ulimit_names() {
        assert_eq!(ulimit_type("nofile"), Some(PosixRlimitType::RlimitNofile));
        assert_eq!(ulimit_type("as"), Some(PosixRlimitType::RlimitAs));
        assert_eq!(ulimit_type("rttime"), Some(PosixRlimitType::RlimitRttime));
        assert_eq!(ulimit_type("bogus"), None);
        assert_eq!(ulimit_type("NOFILE"), None);
    }
}
