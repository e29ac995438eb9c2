//! `login` and `logout`: verify credentials against a registry and keep them in the
//! Docker config file (or its credential helper), or erase them.
//!
//! Runs in the CLI process (or berthd for the `/auth` endpoint). Rewrites the config file
//! through [`DockerConfig`]; Docker's behaviour is the reference, including the
//! `https://index.docker.io/v1/` key for Docker Hub.

use crate::client::{Client, ClientConfig};
use crate::credentials::{Credentials, DockerConfig};
use crate::RegistryError;

/// Checks `username`/`password` against `host`'s `/v2/` (through its token service when
/// it uses one) and stores them in `docker_config`, like `docker login`.
pub async fn login(
    host: &str,
    username: &str,
    password: &str,
    config: &ClientConfig,
    docker_config: &DockerConfig,
) -> Result<(), RegistryError> {
    let creds = Credentials::Basic {
        username: username.to_string(),
        password: password.to_string(),
    };
    let client = Client::new(
        host,
        &ClientConfig {
            credentials: Some(creds.clone()),
            ..config.clone()
        },
    )?;
    client.ping().await?;
    docker_config.store(host, &creds).await?;
    Ok(())
}

/// Removes the stored credentials for `host`; returns whether there were any.
pub async fn logout(host: &str, docker_config: &DockerConfig) -> Result<bool, RegistryError> {
    Ok(docker_config.erase(host).await?)
}
