//! Create-request checks with Docker's error texts (moby `daemon/container.go`
//! verifyContainerSettings, `daemon/daemon_unix.go` verifyPlatformContainerSettings /
//! verifyPlatformContainerResources, `api/types/container` ValidateRestartPolicy,
//! go-connections `nat`, docker `opts`), plus signal-name parsing.
//!
//! Runs in berthd before anything is created; pure apart from reading the host's CPU
//! count and online CPU / memory-node lists. Mount checks live in `spec::plan_mounts`.

use bollard_stubs::models::{ContainerConfig, HostConfig, RestartPolicyNameEnum};

/// Smallest memory limit Docker accepts (moby `linuxMinMemory`).
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;
/// Smallest non-zero healthcheck duration (moby `containertypes.MinimumDuration`, 1 ms).
const MIN_HEALTH_DURATION: i64 = 1_000_000;

/// A request the daemon refuses; the message is Docker's (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidParameter {
    /// The message sent to the client.
    pub message: String,
}

impl InvalidParameter {
    fn new(message: impl Into<String>) -> Self {
        InvalidParameter {
            message: message.into(),
        }
    }
}

type Result<T> = std::result::Result<T, InvalidParameter>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(InvalidParameter::new(message))
}

/// Linux signal names without `SIG` (Go's `syscall` table as moby's `signal.SignalMap`).
const SIGNALS: &[(&str, i32)] = &[
    ("ABRT", 6),
    ("ALRM", 14),
    ("BUS", 7),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("FPE", 8),
    ("HUP", 1),
    ("ILL", 4),
    ("INT", 2),
    ("IO", 29),
    ("IOT", 6),
    ("KILL", 9),
    ("PIPE", 13),
    ("POLL", 29),
    ("PROF", 27),
    ("PWR", 30),
    ("QUIT", 3),
    ("SEGV", 11),
    ("STKFLT", 16),
    ("STOP", 19),
    ("SYS", 31),
    ("TERM", 15),
    ("TRAP", 5),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("USR1", 10),
    ("USR2", 12),
    ("VTALRM", 26),
    ("WINCH", 28),
    ("XCPU", 24),
    ("XFSZ", 25),
];
/// Go's SIGRTMIN / SIGRTMAX on Linux (glibc reserves 32 and 33).
const RTMIN: i32 = 34;
const RTMAX: i32 = 64;

/// A signal by name (`SIGTERM`, `term`, `RTMIN+3`) or number (`15`); `None` if unknown.
pub fn parse_signal(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (1..=RTMAX).contains(&n).then_some(n);
    }
    let upper = s.to_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(&(_, n)) = SIGNALS.iter().find(|(k, _)| *k == name) {
        return Some(n);
    }
    let offset = |rest: &str| rest.parse::<i32>().ok().filter(|o| (1..=15).contains(o));
    match name {
        "RTMIN" => Some(RTMIN),
        "RTMAX" => Some(RTMAX),
        _ => {
            if let Some(o) = name.strip_prefix("RTMIN+").and_then(offset) {
                Some(RTMIN + o)
            } else {
                name.strip_prefix("RTMAX-")
                    .and_then(offset)
                    .map(|o| RTMAX - o)
            }
        }
    }
}

/// Parse a restart policy name as sent (`no`, `always`, `on-failure`, `unless-stopped`,
/// empty), with Docker's message for anything else.
pub fn parse_restart_policy_name(name: &str) -> Result<RestartPolicyNameEnum> {
    name.parse().map_err(|_| {
        InvalidParameter::new(format!(
            "invalid restart policy: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
        ))
    })
}

/// go-connections `nat.ParsePortRange`: `80` or `8000-8010`, each a u16.
fn valid_port_range(s: &str) -> bool {
    let parse = |p: &str| p.parse::<u16>().ok();
    match s.split_once('-') {
        None => parse(s).is_some(),
        Some((a, b)) => matches!((parse(a), parse(b)), (Some(a), Some(b)) if a <= b),
    }
}

/// go-connections `nat.SplitProtoPort`'s port half.
fn port_part(s: &str) -> &str {
    s.split_once('/').map_or(s, |(p, _)| p)
}

/// `ParseUintList` from moby's `pkg/parsers` (`0-3,5`), with its error text.
pub fn parse_cpuset(list: &str) -> std::result::Result<Vec<u32>, String> {
    let bad = || format!("invalid format: {list}");
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            None => out.push(part.parse::<u32>().map_err(|_| bad())?),
            Some((a, b)) => {
                let a: u32 = a.parse().map_err(|_| bad())?;
                let b: u32 = b.parse().map_err(|_| bad())?;
                if b < a {
                    return Err(bad());
                }
                if b - a > 8192 {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
        }
    }
    Ok(out)
}

/// The CPUs this process may run on (Go's `runtime.NumCPU`).
fn num_cpus() -> i64 {
    match nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => (0..nix::sched::CpuSet::count())
            .filter(|&i| set.is_set(i).unwrap_or(false))
            .count()
            .max(1) as i64,
        Err(_) => std::thread::available_parallelism().map_or(1, |n| n.get() as i64),
    }
}

fn first_readable(paths: &[&str]) -> Option<String> {
    paths
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
}

fn check_cpuset(value: Option<&str>, what: &str, available: &[&str], plural: &str) -> Result<()> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let wanted = parse_cpuset(value).map_err(|e| {
        InvalidParameter::new(format!("Invalid value {value} for cpuset {what}: {e}"))
    })?;
    if let Some(avail_text) = first_readable(available) {
        if let Ok(avail) = parse_cpuset(&avail_text) {
            if wanted.iter().any(|c| !avail.contains(c)) {
                return fail(format!(
                    "Requested {plural} are not available - requested {value}, available: {avail_text}"
                ));
            }
        }
    }
    Ok(())
}

fn check_config(config: &ContainerConfig) -> Result<()> {
    if let Some(wd) = config.working_dir.as_deref().filter(|w| !w.is_empty()) {
        if !wd.starts_with('/') {
            return fail(format!(
                "the working directory '{wd}' is invalid, it needs to be an absolute path"
            ));
        }
    }
    if let Some(sig) = config.stop_signal.as_deref().filter(|s| !s.is_empty()) {
        if parse_signal(sig).is_none() {
            return fail(format!("Invalid signal: {sig}"));
        }
    }
    for env in config.env.as_deref().unwrap_or_default() {
        if env
            .split_once('=')
            .map_or(env.as_str(), |(k, _)| k)
            .is_empty()
        {
            return fail(format!("invalid environment variable: {env}"));
        }
    }
    if let Some(hc) = &config.healthcheck {
        for (name, v) in [
            ("Interval", hc.interval),
            ("Timeout", hc.timeout),
            ("StartPeriod", hc.start_period),
            ("StartInterval", hc.start_interval),
        ] {
            let v = v.unwrap_or(0);
            if v != 0 && v < MIN_HEALTH_DURATION {
                return fail(format!("{name} in Healthcheck cannot be less than 1ms"));
            }
        }
        if hc.retries.unwrap_or(0) < 0 {
            return fail("Retries in Healthcheck cannot be negative");
        }
    }
    Ok(())
}

fn check_restart(host: &HostConfig) -> Result<()> {
    use RestartPolicyNameEnum as P;
    let policy = host.restart_policy.clone().unwrap_or_default();
    let name = policy.name.unwrap_or(P::EMPTY);
    let count = policy.maximum_retry_count.unwrap_or(0);
    match name {
        P::ALWAYS | P::UNLESS_STOPPED | P::NO if count != 0 => {
            let mut msg =
                "invalid restart policy: maximum retry count can only be used with 'on-failure'"
                    .to_string();
            if count < 0 {
                msg.push_str(" and cannot be negative");
            }
            return fail(msg);
        }
        P::ON_FAILURE if count < 0 => {
            return fail("invalid restart policy: maximum retry count cannot be negative");
        }
        _ => {}
    }
    if host.auto_remove.unwrap_or(false) && !matches!(name, P::NO | P::EMPTY) {
        return fail("can't create 'AutoRemove' container with restart policy");
    }
    Ok(())
}

fn check_ports_and_hosts(host: &HostConfig) -> Result<()> {
    let mut keys: Vec<&String> = host
        .port_bindings
        .iter()
        .flatten()
        .map(|(k, _)| k)
        .collect();
    keys.sort();
    for key in keys {
        let port = port_part(key);
        if !port.is_empty() && port.parse::<u16>().is_err() {
            return fail(format!("invalid port specification: {port:?}"));
        }
        let bindings = host
            .port_bindings
            .as_ref()
            .and_then(|m| m.get(key))
            .and_then(Option::as_ref);
        for b in bindings.into_iter().flatten() {
            let hp = b.host_port.as_deref().unwrap_or("");
            if !hp.is_empty() && !valid_port_range(port_part(hp)) {
                return fail(format!("invalid port specification: {hp:?}"));
            }
        }
    }
    for entry in host.extra_hosts.as_deref().unwrap_or_default() {
        let split = entry.split_once('=').or_else(|| entry.split_once(':'));
        let Some((_, ip)) = split.filter(|(k, _)| !k.is_empty() && !k.contains(':')) else {
            return fail(format!("bad format for add-host: {entry:?}"));
        };
        if ip != "host-gateway" {
            let ip = ip
                .strip_prefix('[')
                .and_then(|i| i.strip_suffix(']'))
                .unwrap_or(ip);
            if ip.parse::<std::net::IpAddr>().is_err() {
                return fail(format!("invalid IP address in add-host: {ip:?}"));
            }
        }
    }
    Ok(())
}

fn check_modes(host: &HostConfig) -> Result<()> {
    let container_ref = |m: &str| m.strip_prefix("container:").is_some_and(|c| !c.is_empty());
    if let Some(m) = host.ipc_mode.as_deref() {
        if !matches!(m, "" | "none" | "private" | "shareable" | "host") && !container_ref(m) {
            return fail(format!("invalid IPC mode: {m}"));
        }
    }
    if let Some(m) = host.pid_mode.as_deref() {
        if !matches!(m, "" | "host") && !container_ref(m) {
            return fail(format!("invalid PID mode: {m}"));
        }
    }
    if let Some(m) = host.uts_mode.as_deref() {
        if !matches!(m, "" | "host") {
            return fail(format!("invalid UTS mode: {m}"));
        }
    }
    if host.shm_size.unwrap_or(0) < 0 {
        return fail("SHM size can not be less than 0");
    }
    let oom = host.oom_score_adj.unwrap_or(0);
    if !(-1000..=1000).contains(&oom) {
        return fail(format!(
            "Invalid value {oom}, range for oom score adj is [-1000, 1000]"
        ));
    }
    for u in host.ulimits.as_deref().unwrap_or_default() {
        let name = u.name.as_deref().unwrap_or("");
        if crate::spec::ulimit_type(name).is_none() {
            return fail(format!("invalid ulimit name {name}"));
        }
        let (soft, hard) = (u.soft.unwrap_or(0), u.hard.unwrap_or(0));
        if hard >= 0 && soft > hard {
            return fail(format!(
                "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            ));
        }
    }
    Ok(())
}

fn check_memory(host: &HostConfig, warnings: &mut Vec<String>) -> Result<()> {
    let memory = host.memory.unwrap_or(0);
    let swap = host.memory_swap.unwrap_or(0);
    let reservation = host.memory_reservation.unwrap_or(0);
    if memory != 0 && memory < MIN_MEMORY {
        return fail("Minimum memory limit allowed is 6MB");
    }
    if memory > 0 && swap > 0 && swap < memory {
        return fail("Minimum memoryswap limit should be larger than memory limit, see usage");
    }
    if memory == 0 && swap > 0 {
        return fail(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        );
    }
    if let Some(s) = host.memory_swappiness.filter(|s| *s != -1) {
        if !(0..=100).contains(&s) {
            return fail(format!(
                "Invalid value: {s}, valid memory swappiness range is 0-100"
            ));
        }
    }
    if reservation > 0 && reservation < MIN_MEMORY {
        return fail("Minimum memory reservation allowed is 6MB");
    }
    if memory > 0 && reservation > 0 && memory < reservation {
        return fail(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        );
    }
    if host.oom_kill_disable.unwrap_or(false) && memory == 0 {
        warnings.push("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.".to_string());
    }
    Ok(())
}

fn check_cpu(host: &HostConfig, warnings: &mut Vec<String>, ncpu: i64) -> Result<()> {
    let nano = host.nano_cpus.unwrap_or(0);
    let period = host.cpu_period.unwrap_or(0);
    let quota = host.cpu_quota.unwrap_or(0);
    if nano > 0 && period > 0 {
        return fail("Conflicting options: Nano CPUs and CPU Period cannot both be set");
    }
    if nano > 0 && quota > 0 {
        return fail("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    }
    if nano < 0 || nano > ncpu * 1_000_000_000 {
        return fail(format!(
            "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
        ));
    }
    if period != 0 && !(1000..=1_000_000).contains(&period) {
        return fail(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        );
    }
    if quota > 0 && quota < 1000 {
        return fail("CPU cfs quota can not be less than 1ms (i.e. 1000)");
    }
    if host.cpu_percent.unwrap_or(0) > 0 {
        warnings.push("linux does not support CPU percent. Percent discarded.".to_string());
    }
    check_cpuset(
        host.cpuset_cpus.as_deref(),
        "cpus",
        &[
            "/sys/fs/cgroup/cpuset.cpus.effective",
            "/sys/devices/system/cpu/online",
        ],
        "CPUs",
    )?;
    check_cpuset(
        host.cpuset_mems.as_deref(),
        "mems",
        &[
            "/sys/fs/cgroup/cpuset.mems.effective",
            "/sys/devices/system/node/online",
        ],
        "memory nodes",
    )?;
    let weight = host.blkio_weight.unwrap_or(0);
    if weight > 0 && !(10..=1000).contains(&weight) {
        return fail("Range of blkio weight is from 10 to 1000");
    }
    if host.io_maximum_bandwidth.unwrap_or(0) != 0 || host.io_maximum_iops.unwrap_or(0) != 0 {
        return fail(
            "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps",
        );
    }
    Ok(())
}

/// Check a create request; returns Docker's warnings, or the first error with its text.
pub fn validate_create(config: &ContainerConfig, host: &HostConfig) -> Result<Vec<String>> {
    validate_with_cpus(config, host, num_cpus())
}

fn validate_with_cpus(
    config: &ContainerConfig,
    host: &HostConfig,
    ncpu: i64,
) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    check_config(config)?;
    check_restart(host)?;
    check_ports_and_hosts(host)?;
    check_modes(host)?;
    check_memory(host, &mut warnings)?;
    check_cpu(host, &mut warnings, ncpu)?;
    Ok(warnings)
}

#[cfg(test)]
mod tests;
