//! `docker image inspect` and `docker history` views of a stored image, in Docker's JSON
//! shapes (API field names, familiar references, overlay2 `GraphDriver` data).
//!
//! Runs in berthd; reads the store and the layer store, changes nothing. The overlay2
//! paths describe berth's layer store (`layers/<chain>/diff`); `WorkDir`/`MergedDir` are
//! where Docker would put them and need not exist. Only the newest history row gets an
//! id, since parent images are not tracked.

use serde_json::{json, Map, Value};

use super::{timestamp, HistoryEntry, ImageError, ImageRecord, ImageStore};
use crate::digest::Digest;
use crate::reference::Reference;

/// Docker's zero time, shown for `LastTagTime` of an image never tagged here.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn familiar(full: &[String]) -> Vec<String> {
    full.iter()
        .map(|s| Reference::parse(s).map_or_else(|_| s.clone(), |r| r.familiar()))
        .collect()
}

impl ImageStore {
    /// The `docker image inspect` object for image `id`.
    pub fn inspect(&self, id: &Digest) -> Result<Value, ImageError> {
        let rec = self.get(id)?;
        let cfg = &rec.config;
        let extra = |key: &str| cfg.extra.get(key).cloned();
        let mut out = Map::new();
        out.insert("Id".into(), json!(rec.id.to_string()));
        out.insert("RepoTags".into(), json!(familiar(&rec.repo_tags)));
        out.insert("RepoDigests".into(), json!(familiar(&rec.repo_digests)));
        out.insert("Parent".into(), json!(""));
        out.insert("Comment".into(), extra("comment").unwrap_or(json!("")));
        out.insert(
            "Created".into(),
            json!(rec.created.as_deref().unwrap_or(ZERO_TIME)),
        );
        if let Some(c) = extra("container") {
            out.insert("Container".into(), c);
        }
        if let Some(c) = extra("container_config") {
            out.insert("ContainerConfig".into(), c);
        }
        out.insert(
            "DockerVersion".into(),
            extra("docker_version").unwrap_or(json!("")),
        );
        out.insert("Author".into(), json!(cfg.author.as_deref().unwrap_or("")));
        let config = serde_json::to_value(&cfg.config).map_err(|source| ImageError::Encode {
            what: format!("config of {id}"),
            source,
        })?;
        out.insert("Config".into(), config);
        out.insert("Architecture".into(), json!(cfg.architecture));
        if let Some(v) = &cfg.variant {
            out.insert("Variant".into(), json!(v));
        }
        out.insert("Os".into(), json!(cfg.os));
        if let Some(v) = extra("os.version") {
            out.insert("OsVersion".into(), v);
        }
        out.insert("Size".into(), json!(rec.size));
        out.insert("GraphDriver".into(), self.graph_driver(&rec)?);
        let layers: Vec<String> = rec.diff_ids.iter().map(ToString::to_string).collect();
        out.insert("RootFS".into(), json!({"Type": "layers", "Layers": layers}));
        let tag_time = rec.last_tag_time.as_deref().unwrap_or(ZERO_TIME);
        out.insert("Metadata".into(), json!({ "LastTagTime": tag_time }));
        Ok(Value::Object(out))
    }

    fn graph_driver(&self, rec: &ImageRecord) -> Result<Value, ImageError> {
        let mut dirs = Vec::new();
        for chain_id in rec.chain_ids.iter().rev() {
            let layer =
                self.layers
                    .get(&chain_id.to_string())
                    .map_err(|source| ImageError::Layer {
                        step: "read",
                        chain_id: chain_id.to_string(),
                        source,
                    })?;
            dirs.push(layer.diff_dir);
        }
        let mut data = Map::new();
        if let Some((top, lowers)) = dirs.split_first() {
            let layer_dir = top.parent().unwrap_or(top);
            if !lowers.is_empty() {
                let joined: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
                data.insert("LowerDir".into(), json!(joined.join(":")));
            }
            data.insert("MergedDir".into(), json!(layer_dir.join("merged")));
            data.insert("UpperDir".into(), json!(top));
            data.insert("WorkDir".into(), json!(layer_dir.join("work")));
        }
        Ok(json!({"Data": data, "Name": "overlay2"}))
    }

    /// `docker history` rows for image `id`, newest first.
    pub fn history(&self, id: &Digest) -> Result<Vec<HistoryEntry>, ImageError> {
        let rec = self.get(id)?;
        let mut rows = Vec::new();
        let mut layer = 0;
        for h in &rec.config.history {
            let mut size = 0;
            if !h.empty_layer.unwrap_or(false) {
                if let Some(chain_id) = rec.chain_ids.get(layer) {
                    let stored = self.layers.get(&chain_id.to_string());
                    size = stored.map_or(0, |l| i64::try_from(l.uncompressed_bytes).unwrap_or(0));
                }
                layer += 1;
            }
            rows.push(HistoryEntry {
                id: "<missing>".into(),
                created: h
                    .created
                    .as_deref()
                    .and_then(timestamp::unix_seconds)
                    .unwrap_or(0),
                created_by: h.created_by.clone().unwrap_or_default(),
                tags: None,
                size,
                comment: h.comment.clone().unwrap_or_default(),
            });
        }
        rows.reverse();
        if let Some(first) = rows.first_mut() {
            first.id = rec.id.to_string();
            let tags = familiar(&rec.repo_tags);
            first.tags = (!tags.is_empty()).then_some(tags);
        }
        Ok(rows)
    }
}
