//! `exec`: start another process inside a running container, in all of its namespaces
//! and its cgroup, with the container's seccomp profile and the process's own user,
//! capabilities, rlimits and terminal. Runs in the runtime process; the process itself
//! is set up by `init::exec_run` in the forked child.

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use nix::sched::CloneFlags;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Process};

use super::create::{ns_flag, write_pid_file};
use super::{ExecOptions, Runtime};
use crate::cgroups::Cgroup;
use crate::error::{Error, Result};
use crate::init::sync::{self, Msg};
use crate::init::{self, ExecArgs};
use crate::state::Status;
use crate::sys::clone::{fork_into, Forked};

impl Runtime {
    /// Run an additional process inside the container. Returns the exit code unless
    /// `opts.detach`, in which case returns 0 once the process has started.
    pub fn exec(&self, id: &str, process: &Process, opts: &ExecOptions) -> Result<i32> {
        crate::sealed_exe::ensure_sealed()?;
        let st = self.load(id)?;
        if !matches!(st.status, Status::Running | Status::Created) {
            return Err(Error::BadStatus {
                op: "cannot exec in container",
                id: id.into(),
                status: st.status,
            });
        }
        if process.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(crate::config::ConfigError::Invalid {
                field: "process.args".into(),
                value: "[]".into(),
                message: "must name the program to run",
            }
            .into());
        }
        let bundle = crate::config::load(&st.bundle)?;
        let seccomp = self.compile_seccomp(&bundle.spec)?;
        let (console, console_peer) =
            super::console_for(process, opts.console_socket.as_deref(), !opts.detach)?;
        let mut join: Vec<(CloneFlags, OwnedFd)> = Vec::new();
        let mut in_userns = false;
        let mut pid_ns = None;
        for ns in crate::config::namespaces(&bundle.spec) {
            let flag = ns_flag(ns.typ())?;
            let name = match ns.typ() {
                LinuxNamespaceType::Network => "net".to_string(),
                LinuxNamespaceType::Mount => "mnt".to_string(),
                other => other.to_string(),
            };
            let path = format!("/proc/{}/ns/{name}", st.pid);
            let fd: OwnedFd = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_CLOEXEC)
                .open(&path)
                .map_err(|e| Error::sys(format!("open {path}"), e))?
                .into();
            match ns.typ() {
                LinuxNamespaceType::Pid => {
                    pid_ns = Some(super::PidNsForChildren::enter(&fd, &path)?)
                }
                LinuxNamespaceType::User => {
                    in_userns = true;
                    join.insert(0, (flag, fd));
                }
                _ => join.push((flag, fd)),
            }
        }
        let cgroup = Cgroup::new(&st.cgroup_path)?;
        let cgroup_fd = cgroup.clone_into_fd();
        let (parent_end, child_end) = sync::pair().map_err(|e| Error::sys("socketpair", e))?;
        let self_join = (!in_userns && cgroup.can_join_self()).then(|| cgroup.clone());
        let child_joins = self_join.is_some();
        let args = ExecArgs {
            self_join,
            process: process.clone(),
            channel: child_end,
            console,
            join,
            in_userns,
            seccomp,
            preserve_fds: opts.preserve_fds,
        };
        let (forked, in_cgroup) = fork_into(0, cgroup_fd.as_ref().map(|f| f.as_fd()))
            .map_err(|e| Error::sys("clone3", e))?;
        let pid = match forked {
            Forked::Child => init::exec_run(args, in_cgroup),
            Forked::Parent(pid) => Pid::from_raw(pid),
        };
        drop(args);
        if let Some(ns) = pid_ns {
            ns.leave()?;
        }
        let started = (|| {
            if !in_cgroup && !child_joins {
                cgroup.add_pid(pid.as_raw())?;
            }
            super::create::go(&parent_end, Vec::new())?;
            match parent_end.recv().map_err(|e| Error::sys("handshake", e))? {
                Msg::Eof => Ok(()),
                Msg::Error(e) => Err(Error::Init(e)),
                m => Err(Error::Init(format!("unexpected handshake message {m:?}"))),
            }
        })();
        if let Err(e) = started {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(pid, None);
            return Err(e);
        }
        if let Some(p) = &opts.pid_file {
            write_pid_file(p, pid.as_raw())?;
        }
        if opts.detach {
            return Ok(0);
        }
        super::wait::wait_foreground(pid, console_peer.as_ref())
    }
}
