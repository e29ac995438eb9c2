//! Maps a registry host name to its API base URL and its Docker config key.
//!
//! Pure code, used by the client in whatever process pulls or pushes. `docker.io` (and
//! its aliases) is served by `registry-1.docker.io`; plain HTTP is used only for
//! loopback hosts and for hosts the caller lists as insecure, HTTPS for everything else.

use url::Url;

use crate::RegistryError;

/// Host that serves the Docker Hub API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
/// Key under which Docker stores Docker Hub credentials.
pub const DOCKER_HUB_CONFIG_KEY: &str = "https://index.docker.io/v1/";

/// Whether `host` (with optional port) names Docker Hub.
pub fn is_docker_hub(host: &str) -> bool {
    matches!(
        host,
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com"
    )
}

/// Splits `host[:port]` or `[v6]:port` into the bare host name.
fn bare_host(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Whether `host` is a loopback name or address (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback(host: &str) -> bool {
    let bare = bare_host(host);
    if bare == "localhost" {
        return true;
    }
    bare.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// Whether plain HTTP is allowed for `host`, given the caller's insecure list (entries
/// match with or without the port).
pub fn allows_plain_http(host: &str, insecure: &[String]) -> bool {
    is_loopback(host)
        || insecure
            .iter()
            .any(|i| i == host || i.as_str() == bare_host(host))
}

/// The base URL (`scheme://host[:port]/`) of the registry API for `host`.
pub fn base_url(host: &str, insecure: &[String]) -> Result<Url, RegistryError> {
    let invalid = || RegistryError::InvalidHost {
        host: host.to_string(),
    };
    if host.is_empty() || host.contains('/') {
        return Err(invalid());
    }
    let (scheme, api_host) = if is_docker_hub(host) {
        ("https", DOCKER_HUB_API_HOST)
    } else if allows_plain_http(host, insecure) {
        ("http", host)
    } else {
        ("https", host)
    };
    Url::parse(&format!("{scheme}://{api_host}/")).map_err(|_| invalid())
}

/// Key of `host` in a Docker config file (`auths` and `credHelpers`).
pub fn config_key(host: &str) -> String {
    if is_docker_hub(host) {
        DOCKER_HUB_CONFIG_KEY.to_string()
    } else {
        host.to_string()
    }
}

/// Repository path as the registry expects it: official Docker Hub images get `library/`.
pub fn repository_path(host: &str, repo: &str) -> String {
    if is_docker_hub(host) && !repo.contains('/') {
        format!("library/{repo}")
    } else {
        repo.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_scheme_and_host() {
        let none: Vec<String> = Vec::new();
        let b = |h: &str| base_url(h, &none).unwrap().to_string();
        assert_eq!(b("docker.io"), "https://registry-1.docker.io/");
        assert_eq!(b("localhost:5000"), "http://localhost:5000/");
        assert_eq!(b("127.0.0.5:8080"), "http://127.0.0.5:8080/");
        assert_eq!(b("[::1]:5000"), "http://[::1]:5000/");
        assert_eq!(b("quay.io"), "https://quay.io/");
        assert_eq!(b("10.0.0.1:5000"), "https://10.0.0.1:5000/");
        let insecure = vec!["reg.lan".to_string()];
        assert_eq!(
            base_url("reg.lan:5000", &insecure).unwrap().as_str(),
            "http://reg.lan:5000/"
        );
        assert!(base_url("a/b", &none).is_err());
    }

    #[test]
    fn config_keys_and_paths() {
        assert_eq!(config_key("docker.io"), DOCKER_HUB_CONFIG_KEY);
        assert_eq!(config_key("ghcr.io"), "ghcr.io");
        assert_eq!(repository_path("docker.io", "alpine"), "library/alpine");
        assert_eq!(repository_path("ghcr.io", "alpine"), "alpine");
    }
}
