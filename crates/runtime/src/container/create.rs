//! `create`: validate the bundle, make the cgroup, clone the init into its namespaces,
//! drive the handshake (id maps, cgroup join, hooks) and leave the init waiting.
//!
//! Runs in the runtime process. Everything created here is owned by [`Rollback`] until
//! the init reports Ready: on any error the init is killed and reaped, the cgroup and
//! the state directory are removed, so a failed create leaves nothing behind.

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType};

use super::{CreateOptions, Runtime};
use crate::cgroups::Cgroup;
use crate::config;
use crate::error::{Error, Result};
use crate::hooks::{self, Kind};
use crate::init::sync::{self, Channel, Msg};
use crate::init::{self, CgroupMountPlan, InitArgs, StartGate};
use crate::state::{self, ContainerState, Status};
use crate::sys::clone::{fork_into, Forked};

/// A created container whose init waits at its start gate.
#[derive(Debug)]
pub(super) struct Created {
    pub state: ContainerState,
    /// The bundle's spec (for hooks later in `run`, without re-reading config.json).
    pub spec: oci_spec::runtime::Spec,
    /// Our end of a private console pair (foreground `run` with a terminal).
    pub console_peer: Option<super::tty_relay::ConsolePeer>,
    /// The container's cgroup, as resolved at create time.
    pub cgroup: Cgroup,
    /// Parent end of the handshake (used by `run` to send Start).
    pub channel: Channel,
}

/// Undo list for a create in progress; disarmed once the init is Ready.
struct Rollback {
    dir: Option<PathBuf>,
    cgroup: Option<Cgroup>,
    child: Option<Pid>,
}

impl Drop for Rollback {
    fn drop(&mut self) {
        if let Some(pid) = self.child.take() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
        if let Some(cg) = self.cgroup.take() {
            let _ = cg.destroy();
        }
        if let Some(dir) = self.dir.take() {
            let _ = fs::remove_dir_all(dir);
        }
    }
}

impl Runtime {
    /// Create the container: the init is set up and waits for `start`. Returns its state.
    pub fn create(&self, opts: &CreateOptions) -> Result<ContainerState> {
        self.create_with_gate(opts, None, true, false)
            .map(|c| c.state)
    }

    /// [`Runtime::create`] with the bundle the caller already loaded from `opts.bundle`
    /// (with [`config::load`]): a shim that had to read config.json itself saves the
    /// second parse (~0.1-0.2 ms for Docker's defaults, most of it the seccomp list).
    pub fn create_loaded(
        &self,
        opts: &CreateOptions,
        bundle: config::Bundle,
    ) -> Result<ContainerState> {
        self.create_with_gate(opts, Some(bundle), true, false)
            .map(|c| c.state)
    }

    pub(super) fn create_with_gate(
        &self,
        opts: &CreateOptions,
        loaded: Option<config::Bundle>,
        fifo_gate: bool,
        foreground_tty: bool,
    ) -> Result<Created> {
        state::validate_id(&opts.id)?;
        let bundle = match loaded {
            Some(b) => b,
            None => config::load(&opts.bundle)?,
        };
        let spec = &bundle.spec;
        if crate::sealed_exe::required_for(spec) {
            crate::sealed_exe::ensure_sealed()?;
        }
        let process = spec
            .process()
            .as_ref()
            .ok_or(Error::Unsupported("a config without process"))?;
        let linux = spec.linux().as_ref();
        let seccomp = self.compile_seccomp(spec)?;
        let (console, console_peer) =
            super::console_for(process, opts.console_socket.as_deref(), foreground_tty)?;

        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(&self.root)
            .map_err(|e| Error::sys(format!("create runtime root {}", self.root.display()), e))?;
        let dir = state::dir(&self.root, &opts.id);
        match fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::Exists(opts.id.clone()))
            }
            Err(e) => return Err(Error::sys(format!("create state dir {}", dir.display()), e)),
        }
        let mut rollback = Rollback {
            dir: Some(dir.clone()),
            cgroup: None,
            child: None,
        };

        let cgroup_path = linux
            .and_then(|l| l.cgroups_path().clone())
            .unwrap_or_else(|| PathBuf::from(format!("/{}", opts.id)));
        let cgroup = Cgroup::new(&cgroup_path)?;
        let devices = linux.and_then(|l| l.devices().clone()).unwrap_or_default();
        let resources = crate::device_rules::with_defaults(
            linux.and_then(|l| l.resources().as_ref()),
            &devices,
        );
        // On v1 the mkdirs (~0.6 ms for ten hierarchies) run after clone, while the init
        // creates its namespaces; only the CLONE_INTO_CGROUP target must exist first.
        let create_after_clone = cgroup.can_create_after_clone();
        rollback.cgroup = Some(cgroup.clone());
        if create_after_clone {
            cgroup.create_clone_target()?;
        } else {
            cgroup.create(resources.as_ref())?;
        }

        let mut st = ContainerState {
            oci_version: spec.version().clone(),
            id: opts.id.clone(),
            status: Status::Creating,
            pid: 0,
            bundle: bundle.dir.clone(),
            rootfs: bundle.rootfs.clone(),
            annotations: spec.annotations().clone().unwrap_or_default(),
            created: super::now_rfc3339(),
            owner: super::owner(),
            init_start_time: 0,
            cgroup_path: cgroup_path.clone(),
        };
        // The record is first written once the init is ready (as runc does); until then
        // the directory alone reserves the id and the rollback guard owns it.

        let gate = if fifo_gate {
            let fifo = dir.join("exec.fifo");
            nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o622))
                .map_err(|e| Error::sys(format!("mkfifo {}", fifo.display()), e))?;
            // The init may run as another (mapped) uid: make the fifo writable for it
            // regardless of our umask (mkfifo applied it).
            fs::set_permissions(&fifo, std::os::unix::fs::PermissionsExt::from_mode(0o622))
                .map_err(|e| Error::sys(format!("chmod {}", fifo.display()), e))?;
            let fd: OwnedFd = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
                .open(&fifo)
                .map_err(|e| Error::sys("open exec fifo", e))?
                .into();
            StartGate::Fifo(fd)
        } else {
            StartGate::Channel
        };

        let namespaces = config::namespaces(spec);
        let (new_flags, join, pid_ns) = namespace_plan(&namespaces)?;
        let new_userns = new_flags.contains(CloneFlags::CLONE_NEWUSER);
        // Only the pid and user namespaces must come from clone3; the init unshares the
        // others itself, in parallel with the parent's work below.
        let clone_flags = new_flags & (CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWUSER);
        let new_cgroupns = namespaces
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::Cgroup && n.path().is_none());
        let (parent_end, child_end) = sync::pair().map_err(|e| Error::sys("socketpair", e))?;
        let args = InitArgs {
            spec: spec.clone(),
            rootfs: bundle.rootfs.clone(),
            channel: child_end,
            gate,
            console,
            join,
            new_userns,
            unshare: new_flags & !clone_flags,
            cgroup_created_after_clone: create_after_clone,
            new_cgroupns,
            cgroup_mount: CgroupMountPlan::new(&cgroup.hierarchy(), &cgroup_path, new_cgroupns),
            seccomp,
            preserve_fds: opts.preserve_fds,
            no_pivot: opts.no_pivot,
            // In a new user namespace the child cannot write host cgroup files.
            self_join: (!new_userns && cgroup.can_join_self()).then(|| cgroup.clone()),
        };
        let child_joins = args.self_join.is_some();

        let cgroup_fd = cgroup.clone_into_fd();
        let (forked, in_cgroup) = fork_into(
            clone_flags.bits() as u64,
            cgroup_fd.as_ref().map(|f| f.as_fd()),
        )
        .map_err(|e| Error::sys(format!("clone3 {clone_flags:?}"), e))?;
        let pid = match forked {
            Forked::Child => init::run(args, in_cgroup),
            Forked::Parent(pid) => Pid::from_raw(pid),
        };
        drop(args);
        drop(cgroup_fd);
        if let Some(ns) = pid_ns {
            ns.leave()?;
        }
        rollback.child = Some(pid);

        if new_userns {
            let linux =
                linux.ok_or(Error::Unsupported("a user namespace without linux section"))?;
            write_id_map(
                pid,
                "uid_map",
                linux.uid_mappings().as_deref().unwrap_or_default(),
            )?;
            write_id_map(
                pid,
                "gid_map",
                linux.gid_mappings().as_deref().unwrap_or_default(),
            )?;
        }
        if create_after_clone {
            cgroup.create(resources.as_ref())?;
        }
        if !in_cgroup && !child_joins {
            cgroup.add_pid(pid.as_raw())?;
        }
        // Mirrors the init's side of the handshake (init/mod.rs): steps with nothing to
        // do are skipped, each saves a round trip between the two processes.
        if init::first_go_needed(new_userns, create_after_clone, in_cgroup, child_joins) {
            go(&parent_end, Vec::new())?;
        }
        st.pid = pid.as_raw();
        st.init_start_time = state::proc_start_time(st.pid).unwrap_or(0);
        if hooks::any(spec, hooks::SETUP_HOOKS) {
            parent_end.expect(Msg::Hooks).map_err(Error::Init)?;
            let state_json = serde_json::to_vec(&st.oci()).unwrap_or_default();
            hooks::run(spec, Kind::Prestart, &state_json)?;
            hooks::run(spec, Kind::CreateRuntime, &state_json)?;
            go(&parent_end, state_json)?;
        }
        parent_end.expect(Msg::Ready).map_err(Error::Init)?;

        st.status = Status::Created;
        // `run` records the container as running a moment later; skip this write there.
        if fifo_gate {
            state::save(&self.root, &st)?;
        }
        if let Some(pid_file) = &opts.pid_file {
            write_pid_file(pid_file, st.pid)?;
        }
        rollback.child = None;
        rollback.cgroup = None;
        rollback.dir = None;
        Ok(Created {
            state: st,
            channel: parent_end,
            spec: bundle.spec,
            cgroup,
            console_peer,
        })
    }
}

/// Send Go; if the init already died, report the error it sent instead of EPIPE.
pub(super) fn go(channel: &Channel, payload: Vec<u8>) -> Result<()> {
    match channel.send(&Msg::Go(payload)) {
        Ok(()) => Ok(()),
        Err(e) => match channel.recv() {
            Ok(Msg::Error(msg)) => Err(Error::Init(msg)),
            _ => Err(Error::sys("handshake", e)),
        },
    }
}

/// Split the spec's namespaces into clone flags (new ones) and fds to join (by path),
/// the user namespace first so the others can be joined with its privileges.
fn namespace_plan(namespaces: &[oci_spec::runtime::LinuxNamespace]) -> Result<NamespacePlan> {
    let mut flags = CloneFlags::empty();
    let mut join = Vec::new();
    let mut pid_ns = None;
    for ns in namespaces {
        let flag = ns_flag(ns.typ())?;
        match ns.path() {
            None if flag == CloneFlags::CLONE_NEWCGROUP => {} // unshared by the init after the cgroup join
            None => flags |= flag,
            Some(path) => {
                let fd: OwnedFd = fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_CLOEXEC)
                    .open(path)
                    .map_err(|e| {
                        Error::sys(format!("open namespace {} {}", ns.typ(), path.display()), e)
                    })?
                    .into();
                if flag == CloneFlags::CLONE_NEWPID {
                    // Joining a pid namespace only affects children: do it here so the
                    // init is born inside it.
                    pid_ns = Some(super::PidNsForChildren::enter(
                        &fd,
                        &path.display().to_string(),
                    )?);
                } else if flag == CloneFlags::CLONE_NEWUSER {
                    join.insert(0, (flag, fd));
                } else {
                    join.push((flag, fd));
                }
            }
        }
    }
    Ok((flags, join, pid_ns))
}

/// New namespace flags, namespaces to join (user first), and a joined pid namespace.
type NamespacePlan = (
    CloneFlags,
    Vec<(CloneFlags, OwnedFd)>,
    Option<super::PidNsForChildren>,
);

pub(super) fn ns_flag(t: LinuxNamespaceType) -> Result<CloneFlags> {
    Ok(match t {
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Time => return Err(Error::Unsupported("the time namespace")),
    })
}

fn write_id_map(pid: Pid, file: &str, maps: &[LinuxIdMapping]) -> Result<()> {
    let data: String = maps
        .iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect();
    let path = format!("/proc/{pid}/{file}");
    fs::write(&path, data.as_bytes()).map_err(|e| {
        Error::sys(
            format!("write {path} ({})", data.trim().replace('\n', ", ")),
            e,
        )
    })
}

/// Write the pid file atomically (containerd reads it as soon as create returns).
pub(super) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("berth-tmp");
    fs::write(&tmp, pid.to_string())
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| Error::sys(format!("write pid file {}", path.display()), e))
}
