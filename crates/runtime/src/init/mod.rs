//! The container init: the cloned child between clone3 and execve.
//!
//! Runs in the new namespaces, single-threaded, with a copy of the runtime's memory.
//! Before pivot_root host paths are visible; after it only the container's. Errors are
//! sent to the parent over the handshake channel and end the process; the parent then
//! removes the cgroup and state it created. The steps below are the whole sequence.

mod cgroup_mount;
mod devices;
pub(crate) mod mount_opts;
pub(crate) mod process;
mod rootfs;
mod secure_join;
pub(crate) mod sync;

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

pub(crate) use cgroup_mount::Plan as CgroupMountPlan;
use sync::{Channel, Msg};

use crate::hooks::{self, Kind};
use crate::seccomp::CompiledFilter;

/// How the init learns that it may start the user process.
#[derive(Debug)]
pub(crate) enum StartGate {
    /// `create`: block opening the exec fifo (held as an O_PATH fd) until `start` reads it.
    Fifo(OwnedFd),
    /// `run`: the parent sends [`Msg::Start`].
    Channel,
}

/// Everything the init needs, prepared by the parent before clone.
#[derive(Debug)]
pub(crate) struct InitArgs {
    pub spec: Spec,
    pub rootfs: PathBuf,
    pub channel: Channel,
    pub gate: StartGate,
    pub console: Option<OwnedFd>,
    /// Namespaces to join by path, user namespace first.
    pub join: Vec<(CloneFlags, OwnedFd)>,
    pub new_userns: bool,
    /// New namespaces (mount, net, ipc, uts) the init unshares itself after clone.
    pub unshare: CloneFlags,
    /// The parent creates the cgroup after clone (v1): wait for it before joining.
    pub cgroup_created_after_clone: bool,
    pub new_cgroupns: bool,
    pub cgroup_mount: CgroupMountPlan,
    pub seccomp: Option<CompiledFilter>,
    pub preserve_fds: u32,
    pub no_pivot: bool,
    /// Join this cgroup from inside the child (cheap on v1; see `Cgroup::join_self`).
    pub self_join: Option<crate::cgroups::Cgroup>,
}

/// Entry point in the child; never returns. `cloned_into_cgroup`: clone3 already placed
/// us in the cgroup2 hierarchy.
pub(crate) fn run(args: InitArgs, cloned_into_cgroup: bool) -> ! {
    let ready = std::cell::Cell::new(false);
    let err = match setup_and_exec(&args, cloned_into_cgroup, &ready) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    // Before Ready the parent is listening; afterwards (create has exited) stderr, which
    // is the container's, is all we have.
    if ready.get() || args.channel.send(&Msg::Error(err.clone())).is_err() {
        eprintln!("berth-runtime: {err}");
    }
    std::process::exit(127)
}

/// Whether the parent has work between clone and the init's next step (id maps, the
/// cgroup, a join by pid) and so sends a first Go. Parent and init both decide with this.
pub(crate) fn first_go_needed(
    new_userns: bool,
    cgroup_after_clone: bool,
    cloned_into_cgroup: bool,
    init_joins: bool,
) -> bool {
    new_userns || cgroup_after_clone || !(cloned_into_cgroup || init_joins)
}

fn setup_and_exec(
    a: &InitArgs,
    cloned_into_cgroup: bool,
    ready: &std::cell::Cell<bool>,
) -> Result<std::convert::Infallible, String> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(|e| format!("set pdeathsig: {e}"))?;
    nix::sys::prctl::set_dumpable(false).map_err(|e| format!("clear dumpable: {e}"))?;
    // Namespaces must be created after joining or becoming root in a user namespace (so
    // it owns them); otherwise create them now, while the parent makes the cgroup.
    let unshare_early =
        !a.new_userns && !a.join.iter().any(|(f, _)| *f == CloneFlags::CLONE_NEWUSER);
    if unshare_early {
        unshare(a.unshare)?;
    }
    if first_go_needed(
        a.new_userns,
        a.cgroup_created_after_clone,
        cloned_into_cgroup,
        a.self_join.is_some(),
    ) {
        a.channel.expect_go()?;
    }
    if let Some(cg) = &a.self_join {
        cg.join_self(cloned_into_cgroup)
            .map_err(|e| format!("join cgroup: {e}"))?;
    }
    join_namespaces(&a.join)?;
    if a.new_userns {
        become_root_in_userns()?;
    }
    if !unshare_early {
        unshare(a.unshare)?;
    }
    if a.new_cgroupns {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)
            .map_err(|e| format!("unshare cgroup namespace: {e}"))?;
    }
    set_names(&a.spec)?;
    let process = a.spec.process().as_ref().ok_or("process: missing")?;
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(|e| format!("process.oomScoreAdj {adj}: {e}"))?;
    }
    rootfs::prepare(&a.spec, &a.rootfs, a.new_userns, &a.cgroup_mount)?;
    let state_json = if hooks::any(&a.spec, hooks::SETUP_HOOKS) {
        a.channel
            .send(&Msg::Hooks)
            .map_err(|e| format!("handshake: {e}"))?;
        a.channel.expect_go()?
    } else {
        Vec::new()
    };
    hooks::run(&a.spec, Kind::CreateContainer, &state_json).map_err(|e| e.to_string())?;
    rootfs::pivot(&a.rootfs, a.no_pivot)?;
    write_sysctls(&a.spec)?;
    if process.terminal().unwrap_or(false) {
        let sock = a
            .console
            .as_ref()
            .ok_or("process.terminal is true but no console socket was given")?;
        let size = process
            .console_size()
            .map(|b| (clamp16(b.height()), clamp16(b.width())));
        crate::console::setup_in_container(sock.try_clone().map_err(|e| e.to_string())?, size)?;
    } else {
        nix::unistd::setsid().ok();
    }
    // runc creates a missing working directory (as root, before / may turn read-only).
    if !process.cwd().exists() {
        std::fs::create_dir_all(process.cwd())
            .map_err(|e| format!("process.cwd {}: {e}", process.cwd().display()))?;
    }
    rootfs::finalize(&a.spec)?;
    prepare_process(
        process,
        a.spec.linux().as_ref(),
        a.seccomp.as_ref(),
        a.new_userns,
    )?;
    let (program, env) = resolve_program(process)?;
    nix::sys::prctl::set_pdeathsig(None).map_err(|e| format!("clear pdeathsig: {e}"))?;
    a.channel
        .send(&Msg::Ready)
        .map_err(|e| format!("handshake: {e}"))?;
    ready.set(matches!(a.gate, StartGate::Fifo(_)));
    match &a.gate {
        StartGate::Channel => a.channel.expect(Msg::Start)?,
        StartGate::Fifo(fd) => wait_fifo(fd)?,
    }
    hooks::run(&a.spec, Kind::StartContainer, &state_json).map_err(|e| e.to_string())?;
    finish_and_exec(process, a.seccomp.as_ref(), a.preserve_fds, &program, &env)
}

/// Shared by the init and exec: rlimits, NNP, (seccomp without NNP), caps and identity, cwd.
pub(crate) fn prepare_process(
    process: &oci_spec::runtime::Process,
    linux: Option<&oci_spec::runtime::Linux>,
    seccomp: Option<&CompiledFilter>,
    in_userns: bool,
) -> Result<(), String> {
    crate::rlimits::apply(process)?;
    let nnp = process.no_new_privileges().unwrap_or(false);
    if nnp {
        nix::sys::prctl::set_no_new_privs().map_err(|e| format!("process.noNewPrivileges: {e}"))?;
    }
    // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: do it before the
    // capabilities go (runc's order). With it, as late as possible (in finish_and_exec).
    if let (Some(f), false) = (seccomp, nnp) {
        crate::seccomp::load(f).map_err(|e| format!("linux.seccomp: {e}"))?;
    }
    let caps = process.capabilities().as_ref();
    let supported = process::supported();
    process::drop_bounding(caps, &supported)?;
    let setgroups = !in_userns || setgroups_allowed();
    process::set_identity(process, setgroups)?;
    process::apply_caps(caps, &supported)?;
    let _ = linux;
    process::enter_cwd(process.cwd())
}

/// The program path and environment, checked before we report Ready.
pub(crate) fn resolve_program(
    process: &oci_spec::runtime::Process,
) -> Result<(PathBuf, Vec<String>), String> {
    let env = process.env().clone().unwrap_or_default();
    let args = process.args().as_deref().unwrap_or_default();
    let program = process::lookup(args.first().map(String::as_str).unwrap_or(""), &env)?;
    Ok((program, env))
}

/// NNP seccomp, fd hygiene, execve. Returns only an error.
pub(crate) fn finish_and_exec(
    process: &oci_spec::runtime::Process,
    seccomp: Option<&CompiledFilter>,
    preserve_fds: u32,
    program: &std::path::Path,
    env: &[String],
) -> Result<std::convert::Infallible, String> {
    for fd in 3..3 + preserve_fds {
        crate::sys::fd::clear_cloexec(i32::try_from(fd).map_err(|_| "preserve-fds too large")?)
            .map_err(|e| format!("preserve fd {fd}: {e}"))?;
    }
    crate::sys::fd::cloexec_from(3 + preserve_fds).map_err(|e| format!("close_range: {e}"))?;
    if let (Some(f), true) = (seccomp, process.no_new_privileges().unwrap_or(false)) {
        crate::seccomp::load(f).map_err(|e| format!("linux.seccomp: {e}"))?;
    }
    let args = process.args().as_deref().unwrap_or_default();
    Err(process::exec(program, args, env))
}

fn clamp16(v: u64) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn join_namespaces(join: &[(CloneFlags, OwnedFd)]) -> Result<(), String> {
    for (flag, fd) in join {
        nix::sched::setns(fd, *flag)
            .map_err(|e| format!("setns {flag:?} (fd {}): {e}", fd.as_raw_fd()))?;
    }
    Ok(())
}

fn unshare(flags: CloneFlags) -> Result<(), String> {
    if flags.is_empty() {
        return Ok(());
    }
    nix::sched::unshare(flags).map_err(|e| format!("unshare {flags:?}: {e}"))
}

fn become_root_in_userns() -> Result<(), String> {
    let root_g = nix::unistd::Gid::from_raw(0);
    let root_u = nix::unistd::Uid::from_raw(0);
    nix::unistd::setresgid(root_g, root_g, root_g)
        .map_err(|e| format!("setresgid 0 in user namespace: {e}"))?;
    nix::unistd::setresuid(root_u, root_u, root_u)
        .map_err(|e| format!("setresuid 0 in user namespace: {e}"))
}

fn setgroups_allowed() -> bool {
    std::fs::read_to_string("/proc/self/setgroups")
        .map(|s| s.trim() == "allow")
        .unwrap_or(true)
}

fn set_names(spec: &Spec) -> Result<(), String> {
    let uts = crate::config::namespaces(spec)
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::Uts);
    if !uts {
        return Ok(());
    }
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).map_err(|e| format!("hostname {h:?}: {e}"))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        crate::sys::uts::set_domainname(d).map_err(|e| format!("domainname {d:?}: {e}"))?;
    }
    Ok(())
}

fn write_sysctls(spec: &Spec) -> Result<(), String> {
    let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) else {
        return Ok(());
    };
    for (key, value) in sysctl {
        if key.contains("..") || key.contains('/') && key.contains('.') && key.starts_with('/') {
            return Err(format!("linux.sysctl: invalid key {key:?}"));
        }
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        std::fs::write(&path, value).map_err(|e| format!("linux.sysctl {key}={value}: {e}"))?;
    }
    Ok(())
}

/// Block until `start` opens the exec fifo for reading, then tell it we are going.
fn wait_fifo(fd: &OwnedFd) -> Result<(), String> {
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| format!("open exec fifo: {e}"))?;
    std::io::Write::write_all(&mut f, b"0").map_err(|e| format!("write exec fifo: {e}"))
}

use std::os::unix::fs::OpenOptionsExt;

/// What an exec'd process needs, prepared by the parent before clone.
#[derive(Debug)]
pub(crate) struct ExecArgs {
    pub process: oci_spec::runtime::Process,
    pub channel: Channel,
    pub console: Option<OwnedFd>,
    /// The container init's namespaces, user namespace first (pid is joined by the parent).
    pub join: Vec<(CloneFlags, OwnedFd)>,
    pub in_userns: bool,
    pub seccomp: Option<CompiledFilter>,
    pub preserve_fds: u32,
    /// Join this cgroup from inside the child (cheap on v1; see `Cgroup::join_self`).
    pub self_join: Option<crate::cgroups::Cgroup>,
}

/// Entry point of a process forked by `exec`; never returns.
pub(crate) fn exec_run(a: ExecArgs, cloned_into_cgroup: bool) -> ! {
    let joined = match &a.self_join {
        Some(cg) => cg
            .join_self(cloned_into_cgroup)
            .map_err(|e| format!("join cgroup: {e}")),
        None => Ok(()),
    };
    let err = match joined.and_then(|()| exec_setup(&a)) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    if a.channel.send(&Msg::Error(err.clone())).is_err() {
        eprintln!("berth-runtime: {err}");
    }
    std::process::exit(127)
}

fn exec_setup(a: &ExecArgs) -> Result<std::convert::Infallible, String> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(|e| format!("set pdeathsig: {e}"))?;
    nix::sys::prctl::set_dumpable(false).map_err(|e| format!("clear dumpable: {e}"))?;
    a.channel.expect_go()?;
    join_namespaces(&a.join)?;
    if a.process.terminal().unwrap_or(false) {
        let sock = a
            .console
            .as_ref()
            .ok_or("process.terminal is true but no console socket was given")?;
        let size = a
            .process
            .console_size()
            .map(|b| (clamp16(b.height()), clamp16(b.width())));
        crate::console::setup_in_container(sock.try_clone().map_err(|e| e.to_string())?, size)?;
    }
    prepare_process(&a.process, None, a.seccomp.as_ref(), a.in_userns)?;
    let (program, env) = resolve_program(&a.process)?;
    nix::sys::prctl::set_pdeathsig(None).map_err(|e| format!("clear pdeathsig: {e}"))?;
    finish_and_exec(
        &a.process,
        a.seccomp.as_ref(),
        a.preserve_fds,
        &program,
        &env,
    )
}
