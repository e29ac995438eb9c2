//! OCI lifecycle hooks: each is run with the container's state JSON on stdin, its own
//! args (args[0] is argv[0]) and env, and an optional timeout.
//!
//! prestart, createRuntime, poststart and poststop run in the runtime process (host
//! namespaces); createContainer and startContainer run in the container init. A failing
//! hook fails the step, except poststart/poststop whose errors are only reported.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks, Spec};

/// A hook failed to run or exited non-zero.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The hook could not be started.
    #[error("{kind} hook {path}: {source}")]
    Spawn {
        /// Which lifecycle point.
        kind: &'static str,
        /// The hook binary.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The hook exited unsuccessfully or timed out.
    #[error("{kind} hook {path}: {status}")]
    Failed {
        /// Which lifecycle point.
        kind: &'static str,
        /// The hook binary.
        path: PathBuf,
        /// Exit status or "timed out after Ns".
        status: String,
    },
}

/// The lifecycle points.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Deprecated; run together with createRuntime.
    Prestart,
    /// After the container environment exists, before pivot_root (runtime namespace).
    CreateRuntime,
    /// After createRuntime, before pivot_root (container namespace).
    CreateContainer,
    /// Just before the user process starts (container namespace).
    StartContainer,
    /// After the user process started (runtime namespace).
    Poststart,
    /// After the container is deleted (runtime namespace).
    Poststop,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Prestart => "prestart",
            Kind::CreateRuntime => "createRuntime",
            Kind::CreateContainer => "createContainer",
            Kind::StartContainer => "startContainer",
            Kind::Poststart => "poststart",
            Kind::Poststop => "poststop",
        }
    }

    fn select(self, h: &Hooks) -> Option<&Vec<Hook>> {
        #[allow(deprecated)]
        match self {
            Kind::Prestart => h.prestart().as_ref(),
            Kind::CreateRuntime => h.create_runtime().as_ref(),
            Kind::CreateContainer => h.create_container().as_ref(),
            Kind::StartContainer => h.start_container().as_ref(),
            Kind::Poststart => h.poststart().as_ref(),
            Kind::Poststop => h.poststop().as_ref(),
        }
    }
}

/// Whether `spec` has hooks of any of `kinds` (to skip handshake steps that only serve them).
pub fn any(spec: &Spec, kinds: &[Kind]) -> bool {
    spec.hooks().as_ref().is_some_and(|h| {
        kinds
            .iter()
            .any(|k| k.select(h).is_some_and(|v| !v.is_empty()))
    })
}

/// The hooks that make `create` pause the init before pivot_root (and need the state).
pub const SETUP_HOOKS: &[Kind] = &[
    Kind::Prestart,
    Kind::CreateRuntime,
    Kind::CreateContainer,
    Kind::StartContainer,
];

/// Run every hook of `kind` in `spec`, in order, feeding `state_json` on stdin.
pub fn run(spec: &Spec, kind: Kind, state_json: &[u8]) -> Result<(), HookError> {
    let Some(hooks) = spec.hooks().as_ref().and_then(|h| kind.select(h)) else {
        return Ok(());
    };
    for hook in hooks {
        run_one(hook, kind.name(), state_json)?;
    }
    Ok(())
}

fn run_one(hook: &Hook, kind: &'static str, state_json: &[u8]) -> Result<(), HookError> {
    let path = hook.path().clone();
    let mut cmd = Command::new(&path);
    let args = hook.args().clone().unwrap_or_default();
    if let Some((argv0, rest)) = args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for kv in hook.env().as_deref().unwrap_or_default() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    let spawn_err = |source| HookError::Spawn {
        kind,
        path: path.clone(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state_json);
    }
    let deadline = hook
        .timeout()
        .and_then(|t| u64::try_from(t).ok())
        .map(|t| Instant::now() + Duration::from_secs(t));
    let status = if deadline.is_none() {
        child.wait().map_err(spawn_err)?
    } else {
        loop {
            if let Some(st) = child.try_wait().map_err(spawn_err)? {
                break st;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HookError::Failed {
                    kind,
                    path,
                    status: format!("timed out after {}s", hook.timeout().unwrap_or(0)),
                });
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    if status.success() {
        Ok(())
    } else {
        Err(HookError::Failed {
            kind,
            path,
            status: status.to_string(),
        })
    }
}
