//! POSIX rlimits for the container process.
//!
//! Runs in the container init (or exec'd process) before execve. A requested hard limit
//! above what this process may set (no CAP_SYS_RESOURCE, or above fs.nr_open) is clamped
//! to the current hard limit rather than failing: Docker-style defaults such as
//! NOFILE=1048576 must work on hosts with lower ceilings. Inconsistent requests (soft
//! above hard) are rejected earlier by `config`.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Map an OCI rlimit name (`RLIMIT_NOFILE`) to the kernel resource.
pub fn resource(name: &str) -> Option<Resource> {
    Some(match name {
        "RLIMIT_AS" => Resource::RLIMIT_AS,
        "RLIMIT_CORE" => Resource::RLIMIT_CORE,
        "RLIMIT_CPU" => Resource::RLIMIT_CPU,
        "RLIMIT_DATA" => Resource::RLIMIT_DATA,
        "RLIMIT_FSIZE" => Resource::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => Resource::RLIMIT_LOCKS,
        "RLIMIT_MEMLOCK" => Resource::RLIMIT_MEMLOCK,
        "RLIMIT_MSGQUEUE" => Resource::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => Resource::RLIMIT_NICE,
        "RLIMIT_NOFILE" => Resource::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => Resource::RLIMIT_NPROC,
        "RLIMIT_RSS" => Resource::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => Resource::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => Resource::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => Resource::RLIMIT_SIGPENDING,
        "RLIMIT_STACK" => Resource::RLIMIT_STACK,
        _ => return None,
    })
}

/// What to set when the requested limits cannot be: keep the hard limit we have and
/// lower the soft limit to fit under it.
pub fn clamped(soft: u64, hard: u64, current_hard: u64) -> (u64, u64) {
    let hard = hard.min(current_hard);
    (soft.min(hard), hard)
}

/// Apply every rlimit of `process`; returns a message naming the limit on failure.
pub fn apply(process: &oci_spec::runtime::Process) -> Result<(), String> {
    for r in process.rlimits().as_deref().unwrap_or_default() {
        let name = r.typ().to_string();
        let Some(res) = resource(&name) else {
            return Err(format!("unknown rlimit {name}"));
        };
        match setrlimit(res, r.soft(), r.hard()) {
            Ok(()) => {}
            Err(nix::errno::Errno::EPERM) => {
                let (_, cur_hard) = getrlimit(res).map_err(|e| format!("getrlimit {name}: {e}"))?;
                let (soft, hard) = clamped(r.soft(), r.hard(), cur_hard);
                setrlimit(res, soft, hard).map_err(|e| {
                    format!(
                        "setrlimit {name} soft={soft} hard={hard} (clamped from {}/{}): {e}",
                        r.soft(),
                        r.hard()
                    )
                })?;
            }
            Err(e) => {
                return Err(format!(
                    "setrlimit {name} soft={} hard={}: {e}",
                    r.soft(),
                    r.hard()
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_to_current_hard() {
        assert_eq!(clamped(1_048_576, 1_048_576, 20_000), (20_000, 20_000));
        assert_eq!(clamped(1024, 1_048_576, 20_000), (1024, 20_000));
        assert_eq!(clamped(1024, 4096, 20_000), (1024, 4096));
    }

    #[test]
    fn names() {
        assert!(resource("RLIMIT_NOFILE").is_some());
        assert!(resource("RLIMIT_NOPE").is_none());
    }
}
