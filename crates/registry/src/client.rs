//! The registry client: configuration, endpoint, credentials and the authenticated
//! request loop that every operation goes through.
//!
//! Runs in the process that pulls or pushes (tokio). A [`Client`] talks to one registry
//! host; it owns a connection pool and the token cache, both dropped with it. A request
//! that gets a 401 is answered once according to the challenge (bearer token or basic
//! credentials) and sent again; redirects are followed by reqwest, which drops the
//! `Authorization` header when the redirect leaves the host.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response};
use tokio::sync::OnceCell;
use url::Url;

use crate::auth::{basic_header, fetch_token, parse_challenge, AuthCache, Challenge};
use crate::credentials::{Credentials, DockerConfig};
use crate::endpoint::{base_url, repository_path};
use crate::error::error_from_response;
use crate::RegistryError;

/// Largest error body read to build an error.
const ERROR_BODY_CAP: usize = 64 * 1024;

/// How to reach and authenticate to registries.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Hosts (with or without port) that may be reached over plain HTTP, besides loopback.
    pub insecure_registries: Vec<String>,
    /// Docker config file to read credentials from; `None` for anonymous access.
    pub docker_config: Option<DockerConfig>,
    /// Explicit credentials; take precedence over `docker_config`.
    pub credentials: Option<Credentials>,
    /// How many times [`Client::download_blob`] resumes a broken download.
    pub max_resume_attempts: u32,
    /// `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            docker_config: None,
            credentials: None,
            max_resume_attempts: 5,
            user_agent: concat!("berth/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// A client for one registry host.
#[derive(Debug)]
pub struct Client {
    pub(crate) http: reqwest::Client,
    host: String,
    base: Url,
    explicit: Option<Credentials>,
    docker_config: Option<DockerConfig>,
    creds: OnceCell<Option<Credentials>>,
    auth: AuthCache,
    pub(crate) max_resume_attempts: u32,
}

impl Client {
    /// A client for `host` (`docker.io`, `ghcr.io`, `127.0.0.1:5000`, …).
    pub fn new(host: &str, config: &ClientConfig) -> Result<Self, RegistryError> {
        let base = base_url(host, &config.insecure_registries)?;
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|source| RegistryError::BuildHttpClient { source })?;
        Ok(Self {
            http,
            host: host.to_string(),
            base,
            explicit: config.credentials.clone(),
            docker_config: config.docker_config.clone(),
            creds: OnceCell::new(),
            auth: AuthCache::default(),
            max_resume_attempts: config.max_resume_attempts,
        })
    }

    /// The registry host this client talks to, as given.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Base URL of the registry API (`scheme://host/`).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `GET /v2/`: checks that the registry answers and that the credentials (if any)
    /// are accepted.
    pub async fn ping(&self) -> Result<(), RegistryError> {
        let url = self.url("v2/")?;
        let resp = self.send(Method::GET, &url, "", |r| r).await?;
        expect(resp, &[200]).await.map(drop)
    }

    /// `base/<path>` as a URL.
    pub(crate) fn url(&self, path: &str) -> Result<Url, RegistryError> {
        self.base
            .join(path)
            .map_err(|_| RegistryError::InvalidHost {
                host: format!("{}/{path}", self.host),
            })
    }

    /// `base/v2/<repo>/<rest>`, with Docker Hub's `library/` applied.
    pub(crate) fn repo_url(&self, repo: &str, rest: &str) -> Result<Url, RegistryError> {
        self.url(&format!("v2/{}/{rest}", repository_path(&self.host, repo)))
    }

    /// Token scope for `actions` (`pull` or `pull,push`) on `repo`.
    pub(crate) fn scope(&self, repo: &str, actions: &str) -> String {
        format!("repository:{}:{actions}", repository_path(&self.host, repo))
    }

    async fn credentials(&self) -> Result<Option<&Credentials>, RegistryError> {
        let creds = self
            .creds
            .get_or_try_init(|| async {
                if let Some(c) = &self.explicit {
                    return Ok(Some(c.clone()));
                }
                match &self.docker_config {
                    Some(cfg) => cfg.get(&self.host).await,
                    None => Ok(None),
                }
            })
            .await?;
        Ok(creds.as_ref())
    }

    /// Sends the request `build` makes from `method url`, answering one 401 challenge.
    /// `scope` is the token scope the request needs (space-separated, may be empty).
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &Url,
        scope: &str,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let creds = self.credentials().await?;
        let mut auth = self.auth.header_for(scope, creds);
        for attempt in 0..2 {
            let mut req = build(self.http.request(method.clone(), url.clone()));
            if let Some(a) = &auth {
                req = req.header(AUTHORIZATION, a);
            }
            let resp = req.send().await.map_err(|source| RegistryError::Send {
                method: method.to_string(),
                url: url.to_string(),
                source,
            })?;
            if resp.status() != 401 || attempt == 1 {
                return Ok(resp);
            }
            let Some(header) = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|h| h.to_str().ok())
            else {
                return Ok(resp);
            };
            auth = match parse_challenge(header) {
                None => {
                    return Err(RegistryError::Challenge {
                        url: url.to_string(),
                        header: header.to_string(),
                    })
                }
                Some(Challenge::Basic) => match creds.and_then(basic_header) {
                    Some(h) => {
                        self.auth.set_basic();
                        Some(h)
                    }
                    None => return Ok(resp),
                },
                Some(Challenge::Bearer {
                    realm,
                    service,
                    scope: asked,
                }) => {
                    let scopes = merge_scopes(scope, asked.as_deref());
                    let http = &self.http;
                    let svc = service.as_deref();
                    Some(fetch_token(http, &self.auth, scope, &realm, svc, &scopes, creds).await?)
                }
            };
        }
        unreachable!("the loop returns on its second pass")
    }
}

impl Client {
    /// A request carrying the cached authorization for `scope`, for bodies that cannot
    /// be sent twice (the 401 dance happened on an earlier request of the same scope).
    pub(crate) async fn send_once(
        &self,
        method: Method,
        url: &Url,
        scope: &str,
    ) -> Result<RequestBuilder, RegistryError> {
        let creds = self.credentials().await?;
        let req = self.http.request(method, url.clone());
        Ok(match self.auth.header_for(scope, creds) {
            Some(a) => req.header(AUTHORIZATION, a),
            None => req,
        })
    }
}

/// Our scopes plus any the registry asked for that we did not list.
fn merge_scopes(ours: &str, asked: Option<&str>) -> String {
    let mut all: Vec<&str> = ours.split(' ').filter(|s| !s.is_empty()).collect();
    for s in asked.unwrap_or("").split(' ').filter(|s| !s.is_empty()) {
        if !all.contains(&s) {
            all.push(s);
        }
    }
    all.join(" ")
}

/// Returns `resp` if its status is one of `ok`, else the registry error it carries.
pub(crate) async fn expect(resp: Response, ok: &[u16]) -> Result<Response, RegistryError> {
    let status = resp.status().as_u16();
    if ok.contains(&status) {
        return Ok(resp);
    }
    let url = resp.url().to_string();
    let body = read_capped(resp, ERROR_BODY_CAP).await;
    Err(error_from_response(&url, status, &body))
}

/// Reads the body up to about `cap` bytes; stops quietly at the cap or a broken body,
/// since it only feeds an error message.
async fn read_capped(mut resp: Response, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        if out.len() + chunk.len() > cap {
            break;
        }
        out.extend_from_slice(&chunk);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_scopes() {
        assert_eq!(merge_scopes("a b", Some("b c")), "a b c");
        assert_eq!(merge_scopes("", None), "");
    }
}
