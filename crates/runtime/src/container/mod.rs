//! The container verbs, one file per operation, all methods of [`Runtime`].
//!
//! Runs in the runtime process on the host. [`Runtime`] is the context (runtime root
//! directory, cache directories); there is no process-global state.
//!
//! `create`, `run` and `exec` fork the calling process without exec (the child runs the
//! init code from memory), so they must be called from a single-threaded process: the
//! `berth-runtime` binary, or berth-shim, never from a thread of a tokio runtime. They
//! may also re-execute the calling process from a read-only copy of its binary first
//! (see [`crate::sealed_exe`]).

mod create;
mod delete;
mod exec;
mod kill;
mod query;
mod run;
mod start;
mod tty_relay;
mod wait;

use std::path::PathBuf;

/// The runtime context: where state records and caches live.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// State root (`--root`), e.g. /run/berth-runtime.
    pub root: PathBuf,
}

/// Options of `create` and `run`.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Container id.
    pub id: String,
    /// Bundle directory holding config.json.
    pub bundle: PathBuf,
    /// Where to write the init's host pid.
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when `process.terminal` is true.
    pub console_socket: Option<PathBuf>,
    /// Number of fds after stdio (3..3+n) passed through to the container.
    pub preserve_fds: u32,
    /// Use MS_MOVE + chroot instead of pivot_root (for ramfs roots).
    pub no_pivot: bool,
}

/// Options of `exec`.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Return as soon as the process has started.
    pub detach: bool,
    /// Where to write the process's host pid.
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master when `process.terminal` is true.
    pub console_socket: Option<PathBuf>,
    /// Number of fds after stdio passed through.
    pub preserve_fds: u32,
}

impl Runtime {
    /// A runtime rooted at `root` (created on first use).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Directory of cached compiled seccomp programs.
    pub fn seccomp_cache_dir(&self) -> PathBuf {
        self.root.join(".seccomp-cache")
    }
}

impl Runtime {
    /// The spec's seccomp profile compiled to BPF (from the cache when seen before).
    fn compile_seccomp(
        &self,
        spec: &oci_spec::runtime::Spec,
    ) -> crate::error::Result<Option<crate::seccomp::CompiledFilter>> {
        let Some(profile) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
            return Ok(None);
        };
        Ok(Some(crate::seccomp::compile(
            profile,
            Some(&self.seccomp_cache_dir()),
        )?))
    }
}

/// Joins a pid namespace for our future children only (setns(CLONE_NEWPID)) and undoes
/// that once they are forked: while it is in effect this process cannot start threads
/// (clone of a thread fails with EINVAL), which the terminal relay needs.
#[derive(Debug)]
struct PidNsForChildren {
    own: std::os::fd::OwnedFd,
}

impl PidNsForChildren {
    fn enter(target: &std::os::fd::OwnedFd, what: &str) -> crate::error::Result<Self> {
        let own: std::os::fd::OwnedFd = std::fs::File::open("/proc/self/ns/pid")
            .map_err(|e| crate::Error::sys("open /proc/self/ns/pid", e))?
            .into();
        nix::sched::setns(target, nix::sched::CloneFlags::CLONE_NEWPID)
            .map_err(|e| crate::Error::sys(format!("setns pid {what}"), e))?;
        Ok(Self { own })
    }

    fn leave(self) -> crate::error::Result<()> {
        nix::sched::setns(&self.own, nix::sched::CloneFlags::CLONE_NEWPID)
            .map_err(|e| crate::Error::sys("setns back to our pid namespace", e))
    }
}

/// The console for a process: the caller's socket when given; for a foreground process
/// without one, a private pair whose far end the runtime relays itself (as runc does).
/// Returns (the fd the container process sends its pty master to, our end if private).
fn console_for(
    process: &oci_spec::runtime::Process,
    socket: Option<&std::path::Path>,
    foreground: bool,
) -> crate::error::Result<(Option<std::os::fd::OwnedFd>, Option<tty_relay::ConsolePeer>)> {
    match (process.terminal().unwrap_or(false), socket) {
        (true, Some(path)) => Ok((Some(crate::console::connect(path)?), None)),
        (true, None) if foreground => {
            let (theirs, ours) = tty_relay::console_pair()?;
            Ok((Some(theirs), Some(ours)))
        }
        (true, None) => Err(crate::console::ConsoleError::NoSocket.into()),
        (false, _) => Ok((None, None)),
    }
}

/// Current time as RFC 3339 UTC with nanoseconds, as runc writes `created`.
pub(crate) fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(now.as_secs()).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_nanos()
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The invoking user's name (or uid), for `list`'s OWNER column. Read from /etc/passwd
/// directly: NSS lookups would dlopen modules, which a static binary should not do.
pub(crate) fn owner() -> String {
    let uid = nix::unistd::getuid().as_raw();
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| user_name(&p, uid))
        .unwrap_or_else(|| uid.to_string())
}

fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lookup() {
        let p = "root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000::/home/berth:/bin/sh\n";
        assert_eq!(user_name(p, 1000).as_deref(), Some("berth"));
        assert_eq!(user_name(p, 0).as_deref(), Some("root"));
        assert_eq!(user_name(p, 7), None);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_785), (2026, 11, 28));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
