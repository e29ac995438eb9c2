//! Image configs (the JSON blob a manifest's `config` points at) and layer chain ids.
//!
//! Pure code used by berthd's pull, run and inspect paths; owns no resources. Follows the
//! OCI image config and Docker's superset of it: Docker-only fields such as
//! `config.Healthcheck` are typed, and every unknown field is kept in `extra` maps so a
//! re-serialised config loses nothing. Re-serialising does not reproduce the original
//! bytes, so stored configs keep their original bytes; these types are for reading.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::digest::Digest;

/// Largest config accepted by [`ImageConfig::parse`], in bytes.
pub const MAX_CONFIG_BYTES: u64 = super::MAX_CONFIG_SIZE;

/// Why config bytes were rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config is bigger than [`MAX_CONFIG_BYTES`].
    #[error("image config is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Size of the document.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The bytes are not a JSON image config.
    #[error("decode image config json")]
    Decode {
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// `rootfs.type` is not `layers`.
    #[error("unsupported rootfs type {rootfs_type:?} in image config")]
    RootfsType {
        /// The declared type.
        rootfs_type: String,
    },
    /// Conversion to oci-spec's type failed.
    #[error("convert image config to the oci-spec type")]
    ToOci {
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

/// An image config as Docker writes it (a superset of the OCI image config).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// Creation time, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// CPU architecture (`amd64`).
    #[serde(default)]
    pub architecture: String,
    /// Operating system (`linux`).
    #[serde(default)]
    pub os: String,
    /// CPU variant (`v8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Defaults for containers run from the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    /// The layer diff ids.
    pub rootfs: RootFs,
    /// Build history, one entry per instruction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    /// Every other field (`os.version`, `container_config`, `docker_version`…), kept as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `config` of an image config: run defaults (Docker's field names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// `user[:group]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `"80/tcp": {}` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    /// `KEY=value` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// Entrypoint argv.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// Default arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// `"/data": {}` entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Value>>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Stop signal (`SIGTERM`, `15`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Docker's `HEALTHCHECK` (not in OCI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// Docker's `SHELL` (not in OCI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    /// Docker's `ONBUILD` triggers (not in OCI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    /// Every other field (`Hostname`, `ArgsEscaped`, `StopTimeout`…), kept as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Docker's healthcheck; durations are nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    /// `["NONE"]`, `["CMD", …]` or `["CMD-SHELL", "…"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    /// Time between checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    /// Time before a check is considered hung.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// Grace period after start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
    /// Time between checks during the start period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<i64>,
    /// Consecutive failures before unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    /// Every other field, kept as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `rootfs` of an image config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub rootfs_type: String,
    /// Digests of the uncompressed layer tars, base first.
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

/// One `history` entry of an image config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// When the step ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The instruction (`/bin/sh -c #(nop) CMD ["sh"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The step produced no layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_layer: Option<bool>,
    /// Every other field, kept as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ImageConfig {
    /// Parses untrusted config bytes, checking the size limit and `rootfs.type`.
    pub fn parse(bytes: &[u8]) -> Result<ImageConfig, ConfigError> {
        let size = bytes.len() as u64;
        if size > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                size,
                limit: MAX_CONFIG_BYTES,
            });
        }
        let config: ImageConfig =
            serde_json::from_slice(bytes).map_err(|source| ConfigError::Decode { source })?;
        if config.rootfs.rootfs_type != "layers" {
            return Err(ConfigError::RootfsType {
                rootfs_type: config.rootfs.rootfs_type,
            });
        }
        Ok(config)
    }

    /// The same config as oci-spec's type (Docker-only fields such as the
    /// healthcheck are dropped).
    pub fn to_oci(&self) -> Result<oci_spec::image::ImageConfiguration, ConfigError> {
        let value = serde_json::to_value(self).map_err(|source| ConfigError::ToOci { source })?;
        serde_json::from_value(value).map_err(|source| ConfigError::ToOci { source })
    }

    /// The chain id of the image's full layer stack; `None` for an image with no layers.
    pub fn chain_id(&self) -> Option<Digest> {
        chain_id(&self.rootfs.diff_ids)
    }
}

/// Chain ids of every prefix of `diff_ids`, per the OCI image spec:
/// `ChainID(L0) = DiffID(L0)`, `ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln))`.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match out.last() {
            None => diff_id.clone(),
            Some(parent) => Digest::sha256_of(format!("{parent} {diff_id}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// The chain id of the whole stack `diff_ids`; `None` if it is empty.
pub fn chain_id(diff_ids: &[Digest]) -> Option<Digest> {
    chain_ids(diff_ids).pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER_CONFIG: &str = r#"{
      "architecture": "amd64",
      "config": {
        "Hostname": "",
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["nginx", "-g", "daemon off;"],
        "Entrypoint": ["/docker-entrypoint.sh"],
        "ExposedPorts": {"80/tcp": {}},
        "Volumes": {"/data": {}},
        "WorkingDir": "/srv",
        "User": "nginx:nginx",
        "Labels": {"maintainer": "someone"},
        "StopSignal": "SIGQUIT",
        "ArgsEscaped": true,
        "Healthcheck": {"Test": ["CMD-SHELL", "curl -f http://localhost/"],
                        "Interval": 30000000000, "Timeout": 5000000000, "Retries": 3}
      },
      "container_config": {"Hostname": "abc"},
      "created": "2024-01-01T00:00:00Z",
      "docker_version": "24.0.7",
      "history": [
        {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:x in / "},
        {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) CMD [\"sh\"]", "empty_layer": true}
      ],
      "os": "linux",
      "rootfs": {"type": "layers", "diff_ids": [
        "sha256:1111111111111111111111111111111111111111111111111111111111111111",
        "sha256:2222222222222222222222222222222222222222222222222222222222222222"
      ]}
    }"#;

    #[test]
    fn parses_docker_config_with_healthcheck() {
        let c = ImageConfig::parse(DOCKER_CONFIG.as_bytes()).unwrap();
        let run = c.config.as_ref().unwrap();
        let hc = run.healthcheck.as_ref().unwrap();
        assert_eq!(hc.test.as_deref().unwrap()[0], "CMD-SHELL");
        assert_eq!(hc.interval, Some(30_000_000_000));
        assert_eq!(hc.retries, Some(3));
        assert_eq!(run.cmd.as_deref().unwrap()[0], "nginx");
        assert_eq!(run.stop_signal.as_deref(), Some("SIGQUIT"));
        assert!(run.exposed_ports.as_ref().unwrap().contains_key("80/tcp"));
        assert_eq!(run.extra["ArgsEscaped"], Value::Bool(true));
        assert_eq!(c.extra["docker_version"], "24.0.7");
        assert_eq!(c.rootfs.diff_ids.len(), 2);
        assert_eq!(c.history[1].empty_layer, Some(true));
    }

    #[test]
    fn round_trip_keeps_unknown_fields() {
        let original: Value = serde_json::from_str(DOCKER_CONFIG).unwrap();
        let c = ImageConfig::parse(DOCKER_CONFIG.as_bytes()).unwrap();
        let again: Value = serde_json::to_value(&c).unwrap();
        assert_eq!(again, original);
    }

    #[test]
    fn converts_to_oci() {
        let c = ImageConfig::parse(DOCKER_CONFIG.as_bytes()).unwrap();
        let oci = c.to_oci().unwrap();
        let run = oci.config().as_ref().unwrap();
        assert_eq!(run.working_dir().as_deref(), Some("/srv"));
        assert_eq!(
            run.exposed_ports().as_deref(),
            Some(&["80/tcp".to_owned()][..])
        );
        assert_eq!(oci.rootfs().diff_ids().len(), 2);
    }

    #[test]
    fn rejects_bad_configs() {
        let bad_type =
            r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"x","diff_ids":[]}}"#;
        assert!(matches!(
            ImageConfig::parse(bad_type.as_bytes()),
            Err(ConfigError::RootfsType { .. })
        ));
        let bad_digest = r#"{"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:xyz"]}}"#;
        let err = ImageConfig::parse(bad_digest.as_bytes()).unwrap_err();
        assert!(matches!(err, ConfigError::Decode { .. }));
        let huge = vec![b' '; (MAX_CONFIG_BYTES + 1) as usize];
        assert!(matches!(
            ImageConfig::parse(&huge),
            Err(ConfigError::TooLarge { .. })
        ));
    }

    #[test]
    fn chain_ids_follow_the_spec() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let c = Digest::sha256_of(b"c");
        assert_eq!(chain_id(&[]), None);
        assert_eq!(chain_id(std::slice::from_ref(&a)), Some(a.clone()));
        let ab = Digest::sha256_of(format!("{a} {b}").as_bytes());
        let abc = Digest::sha256_of(format!("{ab} {c}").as_bytes());
        assert_eq!(
            chain_ids(&[a.clone(), b.clone(), c.clone()]),
            vec![a.clone(), ab, abc.clone()]
        );
        assert_eq!(chain_id(&[a, b, c]), Some(abc));
    }
}
