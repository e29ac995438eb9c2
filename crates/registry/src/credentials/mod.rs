//! Registry credentials kept in a Docker config file (`config.json`).
//!
//! Runs in the process that pulls, pushes or logs in; it reads and rewrites the config
//! file (atomically, mode 0600, keeping every field it does not know) and runs
//! `docker-credential-<name>` helpers as short-lived children (module `helper`).
//! Follows Docker's format: `auths.<key>.auth` (base64 `user:pass`),
//! `auths.<key>.identitytoken`, `credsStore`, `credHelpers.<key>`. Keys are compared by
//! host, so `https://ghcr.io` and `ghcr.io` find the same entry.

pub mod helper;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::endpoint::config_key;

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// User name and password (or personal access token).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// OAuth2 refresh token, exchanged at the token realm for access tokens.
    IdentityToken(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Self::IdentityToken(_) => write!(f, "IdentityToken(<redacted>)"),
        }
    }
}

/// Failures reading or writing credentials.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// Neither `$DOCKER_CONFIG` nor `$HOME` is set.
    #[error("cannot locate the docker config: neither DOCKER_CONFIG nor HOME is set")]
    NoConfigDir,
    /// The config file exists but cannot be read.
    #[error("reading docker config {path}")]
    ReadConfig {
        /// File path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid JSON.
    #[error("parsing docker config {path}")]
    ParseConfig {
        /// File path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// The config file cannot be written.
    #[error("writing docker config {path}")]
    WriteConfig {
        /// File path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `auths.<key>.auth` is not base64 of `user:pass`.
    #[error("auth entry for {key} in {path} is not base64 of user:password")]
    MalformedAuth {
        /// Config key.
        key: String,
        /// File path.
        path: PathBuf,
    },
    /// A credential helper could not be started or fed.
    #[error("running docker-credential-{helper} {action}")]
    RunHelper {
        /// Helper name.
        helper: String,
        /// `get`, `store` or `erase`.
        action: &'static str,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A credential helper exited with failure.
    #[error("docker-credential-{helper} {action} failed: {output}")]
    HelperFailed {
        /// Helper name.
        helper: String,
        /// `get`, `store` or `erase`.
        action: &'static str,
        /// What it printed.
        output: String,
    },
    /// A credential helper printed something that is not its JSON answer.
    #[error("parsing the output of docker-credential-{helper} get")]
    ParseHelperOutput {
        /// Helper name.
        helper: String,
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// A Docker config file and where to find credential helpers.
#[derive(Debug, Clone)]
pub struct DockerConfig {
    path: PathBuf,
    helper_dir: Option<PathBuf>,
}

impl DockerConfig {
    /// The config at `path` (need not exist yet).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            helper_dir: None,
        }
    }

    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
    pub fn default_location() -> Result<Self, CredentialError> {
        if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
            return Ok(Self::at(PathBuf::from(dir).join("config.json")));
        }
        let home = std::env::var_os("HOME").ok_or(CredentialError::NoConfigDir)?;
        Ok(Self::at(PathBuf::from(home).join(".docker/config.json")))
    }

    /// Looks for `docker-credential-*` in `dir` instead of `$PATH`.
    pub fn with_helper_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.helper_dir = Some(dir.into());
        self
    }

    /// Path of the config file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> Result<Map<String, Value>, CredentialError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
            Err(source) => {
                return Err(CredentialError::ReadConfig {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        serde_json::from_slice(&bytes).map_err(|source| CredentialError::ParseConfig {
            path: self.path.clone(),
            source,
        })
    }

    fn save(&self, doc: &Map<String, Value>) -> Result<(), CredentialError> {
        let err = |source| CredentialError::WriteConfig {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(doc).map_err(|e| err(e.into()))?;
        {
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(err)?;
            f.write_all(&text).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(err)
    }

    /// The helper configured for `host`: `credHelpers.<key>`, else `credsStore`.
    fn helper_for(&self, doc: &Map<String, Value>, host: &str) -> Option<String> {
        let key = config_key(host);
        let per_host = doc
            .get("credHelpers")
            .and_then(Value::as_object)
            .and_then(|m| find_key(m, &key))
            .and_then(|(_, v)| v.as_str());
        per_host
            .or_else(|| doc.get("credsStore").and_then(Value::as_str))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// Credentials stored for `host`, if any.
    pub async fn get(&self, host: &str) -> Result<Option<Credentials>, CredentialError> {
        let doc = self.load()?;
        if let Some(name) = self.helper_for(&doc, host) {
            return helper::get(self.helper_dir.as_deref(), &name, &config_key(host)).await;
        }
        let Some((key, entry)) = doc
            .get("auths")
            .and_then(Value::as_object)
            .and_then(|m| find_key(m, &config_key(host)))
        else {
            return Ok(None);
        };
        if let Some(tok) = entry.get("identitytoken").and_then(Value::as_str) {
            if !tok.is_empty() {
                return Ok(Some(Credentials::IdentityToken(tok.to_string())));
            }
        }
        match entry.get("auth").and_then(Value::as_str) {
            Some(auth) if !auth.is_empty() => {
                decode_auth(auth)
                    .map(Some)
                    .ok_or_else(|| CredentialError::MalformedAuth {
                        key: key.clone(),
                        path: self.path.clone(),
                    })
            }
            _ => Ok(None),
        }
    }

    /// Stores credentials for `host` the way `docker login` does.
    pub async fn store(&self, host: &str, creds: &Credentials) -> Result<(), CredentialError> {
        let mut doc = self.load()?;
        let key = config_key(host);
        if let Some(name) = self.helper_for(&doc, host) {
            helper::store(self.helper_dir.as_deref(), &name, &key, creds).await?;
            // Docker keeps an empty entry so `auths` still lists the registry.
            auths_mut(&mut doc).insert(key, json!({}));
            return self.save(&doc);
        }
        let entry = match creds {
            Credentials::Basic { username, password } => json!({
                "auth": base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"))
            }),
            Credentials::IdentityToken(t) => json!({ "identitytoken": t }),
        };
        let auths = auths_mut(&mut doc);
        if let Some(old) = find_key(auths, &key).map(|(k, _)| k.clone()) {
            auths.remove(&old);
        }
        auths.insert(key, entry);
        self.save(&doc)
    }

    /// Removes the credentials for `host`; returns whether there were any.
    pub async fn erase(&self, host: &str) -> Result<bool, CredentialError> {
        let mut doc = self.load()?;
        let key = config_key(host);
        let mut found = false;
        if let Some(name) = self.helper_for(&doc, host) {
            found = helper::erase(self.helper_dir.as_deref(), &name, &key).await?;
        }
        let auths = auths_mut(&mut doc);
        if let Some(old) = find_key(auths, &key).map(|(k, _)| k.clone()) {
            auths.remove(&old);
            found = true;
            self.save(&doc)?;
        }
        Ok(found)
    }
}

fn auths_mut(doc: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let v = doc.entry("auths").or_insert_with(|| json!({}));
    if !v.is_object() {
        *v = json!({});
    }
    v.as_object_mut().expect("auths was just made an object")
}

/// Host part of a config key (`https://host/v1/` → `host`).
fn key_host(key: &str) -> &str {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    k.split('/').next().unwrap_or(k)
}

fn find_key<'m>(map: &'m Map<String, Value>, key: &str) -> Option<(&'m String, &'m Value)> {
    map.get_key_value(key)
        .or_else(|| map.iter().find(|(k, _)| key_host(k) == key_host(key)))
}

fn decode_auth(auth: &str) -> Option<Credentials> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some(Credentials::Basic {
        username: user.to_string(),
        password: pass.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_keeps_other_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{"https://ghcr.io":{"auth":"dTpw"}},"x":1}"#,
        )
        .unwrap();
        let cfg = DockerConfig::at(&path);
        let basic = |u: &str, p: &str| Credentials::Basic {
            username: u.into(),
            password: p.into(),
        };
        assert_eq!(cfg.get("ghcr.io").await.unwrap(), Some(basic("u", "p")));
        cfg.store("docker.io", &basic("a", "b:c")).await.unwrap();
        assert_eq!(cfg.get("docker.io").await.unwrap(), Some(basic("a", "b:c")));
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["x"], 1);
        assert!(doc["auths"][crate::endpoint::DOCKER_HUB_CONFIG_KEY]["auth"].is_string());
        assert!(cfg.erase("ghcr.io").await.unwrap());
        assert_eq!(cfg.get("ghcr.io").await.unwrap(), None);
        assert!(!cfg.erase("ghcr.io").await.unwrap());
    }
}
