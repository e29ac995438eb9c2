//! `start`: release a created container's init through its exec fifo, then run the
//! poststart hooks. Runs in the runtime process.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

use super::Runtime;
use crate::error::{Error, Result};
use crate::hooks::{self, Kind};
use crate::state::{self, ContainerState, Status};

impl Runtime {
    /// Release a created container's init to execve the user process.
    pub fn start(&self, id: &str) -> Result<()> {
        let mut st = self.load(id)?;
        if st.status != Status::Created {
            return Err(Error::BadStatus {
                op: "cannot start container",
                id: id.into(),
                status: st.status,
            });
        }
        let fifo = state::dir(&self.root, id).join("exec.fifo");
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&fifo)
            .map_err(|e| Error::sys(format!("open {}", fifo.display()), e))?;
        let mut buf = [0u8; 1];
        loop {
            match f.read(&mut buf) {
                Ok(1) => break,
                Ok(_) | Err(_) if !st.init_alive() => {
                    return Err(Error::Init("container init exited before start".into()));
                }
                _ => {}
            }
            let pfd =
                nix::poll::PollFd::new(std::os::fd::AsFd::as_fd(&f), nix::poll::PollFlags::POLLIN);
            let _ = nix::poll::poll(&mut [pfd], nix::poll::PollTimeout::from(50u8));
        }
        let _ = std::fs::remove_file(&fifo);
        st.status = Status::Running;
        state::save(&self.root, &st)?;
        self.poststart(&st, None);
        Ok(())
    }

    /// poststart hooks: failures are reported but do not stop the container (OCI spec).
    pub(super) fn poststart(&self, st: &ContainerState, spec: Option<&oci_spec::runtime::Spec>) {
        let loaded;
        let spec = match spec {
            Some(s) => s,
            None => match crate::config::load(&st.bundle) {
                Ok(b) => {
                    loaded = b.spec;
                    &loaded
                }
                Err(_) => return,
            },
        };
        let json = serde_json::to_vec(&st.oci()).unwrap_or_default();
        if let Err(e) = hooks::run(spec, Kind::Poststart, &json) {
            eprintln!("berth-runtime: {e}");
        }
    }
}
