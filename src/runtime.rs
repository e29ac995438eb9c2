//! `Runtime`: drives the OCI runtime binary under test with a private `--root`.
//!
//! Runs in the test process; the runtime binary it spawns runs on the host. Each
//! `Runtime` owns a temp dir (state root, bundles, logs) and a unique cgroup prefix
//! `berth-test-<pid>-<suffix>`. On drop it `delete --force`s every container it created,
//! then runs the leak check and panics (unless already panicking) if anything is left;
//! leftovers are cleaned up either way so one failure does not poison later tests.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::bundle::Bundle;
use crate::command::{run_captured, try_run_captured, wait_for};
use crate::leaks::{self, LeakScope};
pub use crate::output::CmdOutput;
use crate::select::{require_root, runtime_binary, RuntimeKind};

/// A per-test runtime root; see the module docs.
pub struct Runtime {
    bin: PathBuf,
    kind: RuntimeKind,
    dir: TempDir,
    token: String,
    seq: Cell<u32>,
    ids: RefCell<Vec<String>>,
    /// Deadline for each runtime invocation (default 60 s).
    pub timeout: Duration,
}

impl Runtime {
    /// Sets up a fresh root; panics unless running as root with the runtime present.
    pub fn new() -> Runtime {
        require_root();
        let (bin, kind) = runtime_binary();
        let dir = tempfile::Builder::new()
            .prefix("berth-test-")
            .tempdir_in("/tmp")
            .expect("create test temp dir");
        let suffix = dir.path().file_name().unwrap().to_string_lossy();
        let token = format!("{}-{}", std::process::id(), &suffix["berth-test-".len()..]);
        std::fs::create_dir_all(dir.path().join("logs")).expect("create logs dir");
        Runtime {
            bin,
            kind,
            dir,
            token,
            seq: Cell::new(0),
            ids: RefCell::new(Vec::new()),
            timeout: Duration::from_secs(60),
        }
    }

    /// Which runtime is being driven.
    pub fn kind(&self) -> RuntimeKind {
        self.kind
    }

    /// True when driving berth (not the reference runtime).
    pub fn is_berth(&self) -> bool {
        self.kind == RuntimeKind::Berth
    }

    /// For tests of deliberate berth behaviour: true when driving berth; otherwise prints
    /// why the test does not apply to the reference runtime and returns false.
    pub fn berth_only(&self, why: &str) -> bool {
        if !self.is_berth() {
            eprintln!("berth-only test, not applicable to {:?}: {why}", self.kind);
        }
        self.is_berth()
    }

    /// The runtime binary.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The test's private temp dir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `--root` state directory.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Unique token of this test (`<pid>-<suffix>`), for names of host objects.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// First component of every cgroupsPath used by this runtime root.
    pub fn cgroup_prefix(&self) -> String {
        format!("berth-test-{}", self.token)
    }

    /// `linux.cgroupsPath` for container `id`.
    pub fn cgroups_path(&self, id: &str) -> String {
        format!("/{}/{id}", self.cgroup_prefix())
    }

    /// Host cgroup v1 directory of container `id` for `controller` (e.g. "memory").
    pub fn host_cgroup_dir(&self, controller: &str, id: &str) -> PathBuf {
        Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(self.cgroup_prefix())
            .join(id)
    }

    /// The runtime's state dir for `id` (runc layout: `<root>/<id>`).
    pub fn state_dir(&self, id: &str) -> PathBuf {
        self.root().join(id)
    }

    /// A new bundle for container `id` under this test's temp dir.
    pub fn bundle(&self, id: &str) -> Bundle {
        Bundle::new(
            &self.dir.path().join("bundles").join(id),
            &self.cgroups_path(id),
        )
    }

    /// Remembers `id` so drop force-deletes it.
    pub fn track(&self, id: &str) {
        let mut ids = self.ids.borrow_mut();
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }

    /// `<bin> --root <root> <args...>` without running it.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--root").arg(self.root()).args(args);
        cmd
    }

    fn stem(&self, what: &str) -> PathBuf {
        let n = self.seq.get();
        self.seq.set(n + 1);
        let what: String = what
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        self.dir.path().join("logs").join(format!("{n:03}-{what}"))
    }

    /// Runs a prepared command with output captured to files.
    pub fn run_command(&self, mut cmd: Command, what: &str) -> CmdOutput {
        let stem = self.stem(what);
        let (code, stdout, stderr) = run_captured(&mut cmd, &stem, self.timeout);
        CmdOutput {
            cmd: format!("{cmd:?}"),
            code,
            stdout,
            stderr,
        }
    }

    /// Runs the runtime with `args`.
    pub fn cmd(&self, args: &[&str]) -> CmdOutput {
        self.run_command(self.command(args), args.first().copied().unwrap_or("cmd"))
    }

    /// `run --bundle B id` in the foreground; returns the container's exit code and
    /// its stdout/stderr (mixed with the runtime's own messages on stderr).
    pub fn run_to_completion(&self, bundle: &Bundle, id: &str) -> (i32, String, String) {
        let out = self.run(bundle, id);
        (out.code, out.stdout, out.stderr)
    }

    /// Like [`Runtime::run_to_completion`] but returns the full [`CmdOutput`].
    pub fn run(&self, bundle: &Bundle, id: &str) -> CmdOutput {
        bundle.write_config();
        self.track(id);
        let b = bundle.path().to_str().unwrap();
        self.cmd(&["run", "--bundle", b, id])
    }

    /// `create --bundle B [extra...] id`; container stdout/stderr go to files readable
    /// through [`Runtime::container_output`].
    pub fn create_with(&self, bundle: &Bundle, id: &str, extra: &[&str]) -> CmdOutput {
        bundle.write_config();
        self.track(id);
        let mut args = vec!["create", "--bundle", bundle.path().to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(id);
        let stem = self.dir.path().join("logs").join(format!("container-{id}"));
        let mut cmd = self.command(&args);
        let (code, stdout, stderr) = run_captured(&mut cmd, &stem, self.timeout);
        CmdOutput {
            cmd: format!("{cmd:?}"),
            code,
            stdout,
            stderr,
        }
    }

    /// `create --bundle B id`.
    pub fn create(&self, bundle: &Bundle, id: &str) -> CmdOutput {
        self.create_with(bundle, id, &[])
    }

    /// What the container created by [`Runtime::create_with`] has written so far.
    pub fn container_output(&self, id: &str) -> (String, String) {
        let stem = self.dir.path().join("logs").join(format!("container-{id}"));
        (
            std::fs::read_to_string(stem.with_extension("out")).unwrap_or_default(),
            std::fs::read_to_string(stem.with_extension("err")).unwrap_or_default(),
        )
    }

    /// create + start, panicking on failure; for containers running in the background.
    #[track_caller]
    pub fn create_and_start(&self, bundle: &Bundle, id: &str) {
        self.create(bundle, id).assert_ok();
        self.start(id).assert_ok();
    }

    /// `start id`.
    pub fn start(&self, id: &str) -> CmdOutput {
        self.cmd(&["start", id])
    }

    /// `state id` parsed, or None when the command fails.
    pub fn try_state(&self, id: &str) -> Option<Value> {
        let out = self.cmd(&["state", id]);
        if !out.ok() {
            return None;
        }
        Some(serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
            panic!("state output is not JSON ({e}):\n{out}");
        }))
    }

    /// `state id` parsed; panics when it fails.
    #[track_caller]
    pub fn state(&self, id: &str) -> Value {
        match self.try_state(id) {
            Some(v) => v,
            None => panic!("state {id} failed:\n{}", self.cmd(&["state", id])),
        }
    }

    /// `state.status` of `id`.
    #[track_caller]
    pub fn status(&self, id: &str) -> String {
        self.state(id)["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// `state.pid` of `id`.
    #[track_caller]
    pub fn pid(&self, id: &str) -> i32 {
        let st = self.state(id);
        st["pid"]
            .as_i64()
            .unwrap_or_else(|| panic!("no pid in state {st}")) as i32
    }

    /// Waits (up to 20 s) for `status`; panics with the last state otherwise.
    #[track_caller]
    pub fn wait_status(&self, id: &str, status: &str) {
        let ok = wait_for(Duration::from_secs(20), || {
            (self.try_state(id)?["status"] == status).then_some(())
        });
        if ok.is_none() {
            panic!(
                "{id} never reached status {status}; last state: {:?}",
                self.try_state(id)
            );
        }
    }

    /// `kill id sig`.
    pub fn kill(&self, id: &str, sig: &str) -> CmdOutput {
        self.cmd(&["kill", id, sig])
    }

    /// `delete id`.
    pub fn delete(&self, id: &str) -> CmdOutput {
        self.cmd(&["delete", id])
    }

    /// `delete --force id`.
    pub fn delete_force(&self, id: &str) -> CmdOutput {
        self.cmd(&["delete", "--force", id])
    }

    /// `exec id args...`.
    pub fn exec(&self, id: &str, args: &[&str]) -> CmdOutput {
        self.exec_with(id, &[], args)
    }

    /// `exec <flags...> id <args...>`.
    pub fn exec_with(&self, id: &str, flags: &[&str], args: &[&str]) -> CmdOutput {
        let mut all = vec!["exec"];
        all.extend_from_slice(flags);
        all.push(id);
        all.extend_from_slice(args);
        self.cmd(&all)
    }

    /// Prints what each created container (and the runtime, for create) wrote; called
    /// from drop when the test failed.
    fn dump_container_logs(&self) {
        for id in self.ids.borrow().iter() {
            let (out, err) = self.container_output(id);
            if !out.is_empty() || !err.is_empty() {
                eprintln!(
                    "--- container {id} stdout ---\n{out}--- container {id} stderr ---\n{err}"
                );
            }
        }
    }

    fn scope(&self) -> LeakScope {
        LeakScope {
            dir: self.dir.path().to_path_buf(),
            cgroup_prefix: self.cgroup_prefix(),
            state_root: self.root(),
            ids: self.ids.borrow().clone(),
        }
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let ids = self.ids.borrow().clone();
        let mut notes = Vec::new();
        for id in ids.iter().rev() {
            let mut cmd = self.command(&["delete", "--force", id]);
            let stem = self
                .dir
                .path()
                .join("logs")
                .join(format!("drop-delete-{id}"));
            if let Err(e) = try_run_captured(&mut cmd, &stem, Duration::from_secs(30)) {
                notes.push(e);
            }
        }
        if std::thread::panicking() {
            self.dump_container_logs();
        }
        let scope = self.scope();
        let mut found = leaks::find(&scope);
        found.extend(notes);
        leaks::cleanup(&scope);
        if found.is_empty() {
            return;
        }
        let msg = format!(
            "leftovers after test (runtime {:?}):\n  {}",
            self.kind,
            found.join("\n  ")
        );
        if std::thread::panicking() {
            eprintln!("{msg}");
        } else {
            panic!("{msg}");
        }
    }
}
