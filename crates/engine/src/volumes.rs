//! Local volumes: `<data-root>/volumes/<name>/_data`, labels and options in
//! `<name>/meta.json`. What `docker volume` needs; named volumes used with `-v` are
//! created on the fly by container create.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{EngineError, Result};
use crate::Engine;

/// What `meta.json` holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Meta {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    options: BTreeMap<String, String>,
    #[serde(default)]
    created: i64,
    #[serde(default)]
    anonymous: bool,
}

fn valid_volume_name(name: &str) -> bool {
    crate::ids::valid_name(name)
}

impl Engine {
    fn volume_dir(&self, name: &str) -> PathBuf {
        self.config.volumes_dir().join(name)
    }

    fn volume_meta(&self, name: &str) -> Meta {
        std::fs::read(self.volume_dir(name).join("meta.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Ids of containers whose mounts use volume `name`.
    fn volume_users(&self, name: &str) -> Vec<String> {
        self.all_containers()
            .iter()
            .map(|c| c.record())
            .filter(|r| r.mounts.iter().any(|m| m.name.as_deref() == Some(name)))
            .map(|r| r.id)
            .collect()
    }

    fn volume_json(&self, name: &str) -> Value {
        let meta = self.volume_meta(name);
        let created = if meta.created > 0 {
            meta.created
        } else {
            std::fs::metadata(self.volume_dir(name))
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos() as i64)
                .unwrap_or(0)
        };
        json!({
            "Name": name,
            "Driver": "local",
            "Mountpoint": self.volume_dir(name).join("_data"),
            "CreatedAt": crate::time::rfc3339(created),
            "Labels": meta.labels,
            "Options": meta.options,
            "Scope": "local",
        })
    }

    /// `POST /volumes/create`.
    pub fn create_volume(
        &self,
        name: Option<&str>,
        driver: Option<&str>,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
    ) -> Result<Value> {
        if let Some(d) = driver.filter(|d| !d.is_empty() && *d != "local") {
            return Err(EngineError::not_found(format!("plugin \"{d}\" not found")));
        }
        if !options.is_empty() {
            return Err(EngineError::invalid(
                "volume options are not supported by berth's local driver",
            ));
        }
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => crate::ids::random_id(),
        };
        if !valid_volume_name(&name) {
            return Err(EngineError::invalid(format!(
                "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
            )));
        }
        let dir = self.volume_dir(&name);
        if !dir.join("_data").exists() {
            std::fs::create_dir_all(dir.join("_data"))
                .map_err(|e| EngineError::io(dir.display(), e))?;
            let meta = Meta {
                labels,
                options,
                created: crate::time::now_nanos(),
                anonymous: false,
            };
            std::fs::write(
                dir.join("meta.json"),
                serde_json::to_vec(&meta).unwrap_or_default(),
            )
            .map_err(|e| EngineError::io("volume meta", e))?;
            self.events.publish(
                "volume",
                "create",
                name.clone(),
                [("driver".to_string(), "local".to_string())].into(),
            );
        }
        Ok(self.volume_json(&name))
    }

    /// `GET /volumes/{name}`.
    pub fn inspect_volume(&self, name: &str) -> Result<Value> {
        if !valid_volume_name(name) || !self.volume_dir(name).join("_data").is_dir() {
            return Err(EngineError::not_found(format!(
                "get {name}: no such volume"
            )));
        }
        Ok(self.volume_json(name))
    }

    /// `GET /volumes` (filters: name, label, dangling).
    pub fn list_volumes(
        &self,
        filters: &std::collections::HashMap<String, Vec<String>>,
    ) -> Result<Vec<Value>> {
        for k in filters.keys() {
            if !["name", "label", "dangling", "driver"].contains(&k.as_str()) {
                return Err(EngineError::invalid(format!("invalid filter '{k}'")));
            }
        }
        let mut names: Vec<String> = std::fs::read_dir(self.config.volumes_dir())
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().join("_data").is_dir())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let mut out = Vec::new();
        for n in names {
            let meta = self.volume_meta(&n);
            let keep = filters
                .get("name")
                .is_none_or(|v| v.iter().any(|x| n.contains(x.as_str())))
                && filters.get("label").is_none_or(|v| {
                    v.iter().all(|l| match l.split_once('=') {
                        Some((k, val)) => meta.labels.get(k).is_some_and(|x| x == val),
                        None => meta.labels.contains_key(l.as_str()),
                    })
                })
                && filters.get("dangling").is_none_or(|v| {
                    v.iter().any(|d| {
                        let dangling = !matches!(d.to_ascii_lowercase().as_str(), "0" | "false");
                        self.volume_users(&n).is_empty() == dangling
                    })
                })
                && filters
                    .get("driver")
                    .is_none_or(|v| v.iter().any(|d| d == "local"));
            if keep {
                out.push(self.volume_json(&n));
            }
        }
        Ok(out)
    }

    /// `DELETE /volumes/{name}`: 409 while a container uses it.
    pub fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        if !valid_volume_name(name) || !self.volume_dir(name).is_dir() {
            if force {
                return Ok(());
            }
            return Err(EngineError::not_found(format!(
                "get {name}: no such volume"
            )));
        }
        let users = self.volume_users(name);
        if !users.is_empty() {
            return Err(EngineError::conflict(format!(
                "remove {name}: volume is in use - [{}]",
                users.join(", ")
            )));
        }
        std::fs::remove_dir_all(self.volume_dir(name))
            .map_err(|e| EngineError::io(format!("remove {name}"), e))?;
        self.events
            .publish("volume", "destroy", name.to_string(), Default::default());
        Ok(())
    }

    /// `POST /volumes/prune`: unused anonymous volumes (all unused with `all=true`).
    pub fn prune_volumes(&self, all: bool) -> Result<(Vec<String>, u64)> {
        let mut deleted = Vec::new();
        let mut space = 0;
        for v in self.list_volumes(&Default::default())? {
            let name = v["Name"].as_str().unwrap_or_default().to_string();
            let meta = self.volume_meta(&name);
            let anonymous = meta.anonymous || (name.len() == 64 && meta.created == 0);
            if !(all || anonymous) || !self.volume_users(&name).is_empty() {
                continue;
            }
            let size = crate::container::dir_size_of(&self.volume_dir(&name));
            if self.remove_volume(&name, false).is_ok() {
                deleted.push(name);
                space += size;
            }
        }
        Ok((deleted, space))
    }
}
