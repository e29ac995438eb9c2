//! OCI bundle builder: a private copy of the busybox rootfs plus an editable config.
//!
//! Runs in the test process. The bundle directory lives inside the owning `Runtime`'s
//! temp dir, so the leak check sees any mount or process left under it and the temp dir
//! removal cleans it up. `config.json` is (re)written by the runtime helpers before each
//! create/run, so edits made any time before that take effect.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::fixture::busybox_rootfs;
use crate::spec::default_spec;

/// An OCI bundle on disk (`<dir>/rootfs`, `<dir>/config.json`).
#[derive(Debug)]
pub struct Bundle {
    dir: PathBuf,
    /// The config that will be written as `config.json`; edit freely.
    pub config: Value,
}

impl Bundle {
    /// Creates `dir` with a copy of the busybox rootfs and the default spec running `sh`.
    pub fn new(dir: &Path, cgroups_path: &str) -> Bundle {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let src = busybox_rootfs();
        let out = Command::new("cp")
            .arg("-a")
            .arg(&src)
            .arg(dir.join("rootfs"))
            .output()
            .expect("spawn cp");
        assert!(
            out.status.success(),
            "cp -a rootfs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Bundle {
            dir: dir.to_path_buf(),
            config: default_spec(&["sh"], cgroups_path),
        }
    }

    /// The bundle directory (what `--bundle` gets).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The bundle's rootfs on the host.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// `linux.cgroupsPath` as configured.
    pub fn cgroups_path(&self) -> String {
        self.config["linux"]["cgroupsPath"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Sets `process.args`.
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.config["process"]["args"] = json!(args);
        self
    }

    /// Sets `process.args` to `sh -c script`.
    pub fn sh(&mut self, script: &str) -> &mut Self {
        self.args(&["sh", "-c", script])
    }

    /// Applies an arbitrary edit to the config.
    pub fn edit(&mut self, f: impl FnOnce(&mut Value)) -> &mut Self {
        f(&mut self.config);
        self
    }

    /// Sets a JSON pointer path (e.g. `/process/user/uid`), creating objects on the way.
    pub fn set(&mut self, pointer: &str, value: Value) -> &mut Self {
        let mut cur = &mut self.config;
        for key in pointer.split('/').skip(1) {
            if cur.is_null() {
                *cur = json!({});
            }
            cur = match cur {
                Value::Array(a) => &mut a[key.parse::<usize>().expect("array index")],
                Value::Object(o) => o.entry(key.to_string()).or_insert(Value::Null),
                other => panic!("cannot descend into {other} at {key} of {pointer}"),
            };
        }
        *cur = value;
        self
    }

    /// Appends to `process.env`.
    pub fn env(&mut self, kv: &str) -> &mut Self {
        self.config["process"]["env"]
            .as_array_mut()
            .expect("env array")
            .push(json!(kv));
        self
    }

    /// Appends a mount entry.
    pub fn mount(&mut self, mount: Value) -> &mut Self {
        self.config["mounts"]
            .as_array_mut()
            .expect("mounts array")
            .push(mount);
        self
    }

    /// Adds (or replaces) a namespace entry, optionally joining `path`.
    pub fn namespace(&mut self, kind: &str, path: Option<&str>) -> &mut Self {
        let nss = self.config["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces");
        nss.retain(|n| n["type"] != kind);
        let mut ns = json!({"type": kind});
        if let Some(p) = path {
            ns["path"] = json!(p);
        }
        nss.push(ns);
        self
    }

    /// Removes a namespace entry (the container then shares the host's).
    pub fn without_namespace(&mut self, kind: &str) -> &mut Self {
        let nss = self.config["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces");
        nss.retain(|n| n["type"] != kind);
        self
    }

    /// Sets all of bounding/effective/permitted (and clears inheritable/ambient).
    pub fn caps(&mut self, caps: &[&str]) -> &mut Self {
        self.config["process"]["capabilities"] =
            json!({"bounding": caps, "effective": caps, "permitted": caps});
        self
    }

    /// Merges `value` into `linux.resources.<key>`.
    pub fn resources(&mut self, key: &str, value: Value) -> &mut Self {
        self.config["linux"]["resources"][key] = value;
        self
    }

    /// Writes `config.json`.
    pub fn write_config(&self) {
        let text = serde_json::to_string_pretty(&self.config).expect("serialize config");
        fs::write(self.dir.join("config.json"), text).expect("write config.json");
    }
}
