//! Registry authentication: `WWW-Authenticate` challenges, bearer tokens and their cache.
//!
//! Runs inside the client; owns an in-memory token cache keyed by the requested scope
//! (dropped with the client). Implements Docker's token authentication
//! (`docs/spec/auth/token.md`: GET realm with `service`/`scope`, basic credentials when
//! known, `token` or `access_token` in the answer) and its OAuth2 refresh-token form
//! (POST realm with `grant_type=refresh_token`) for identity tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::credentials::Credentials;
use crate::error::error_from_response;
use crate::RegistryError;

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm="…"`.
    Basic,
    /// `Bearer realm="…",service="…",scope="…"`.
    Bearer {
        /// Token endpoint URL.
        realm: String,
        /// Service name to ask the token for.
        service: Option<String>,
        /// Scope the registry asked for.
        scope: Option<String>,
    },
}

/// Parses a `WWW-Authenticate` header value; `None` for schemes other than Basic/Bearer.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(rest);
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    Some(Challenge::Bearer {
        realm: get("realm")?,
        service: get("service"),
        scope: get("scope"),
    })
}

/// Parses `k="v", k2=v2` pairs; quoted values may contain commas and `\"`.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ',' || c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if key.is_empty() || chars.next().is_none() {
            return out;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value.extend(std::iter::from_fn(|| chars.next_if(|c| *c != ',')));
        }
        out.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// How the client authenticates, learned from the first challenge.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    basic: bool,
    tokens: HashMap<String, (String, Instant)>,
}

/// Thread-safe holder of [`AuthState`].
#[derive(Debug, Default)]
pub(crate) struct AuthCache(Mutex<AuthState>);

impl AuthCache {
    /// The `Authorization` value to send up front for `scope`, if one is known.
    pub(crate) fn header_for(&self, scope: &str, creds: Option<&Credentials>) -> Option<String> {
        let state = self.0.lock().expect("auth cache lock poisoned");
        if let Some((tok, until)) = state.tokens.get(scope) {
            if Instant::now() < *until {
                return Some(format!("Bearer {tok}"));
            }
        }
        if state.basic {
            return creds.and_then(basic_header);
        }
        None
    }

    pub(crate) fn set_basic(&self) {
        self.0.lock().expect("auth cache lock poisoned").basic = true;
    }

    fn put_token(&self, scope: &str, token: String, ttl: Duration) {
        // Renew a little early so a token does not expire in flight.
        let until = Instant::now() + ttl.saturating_sub(Duration::from_secs(10));
        let mut state = self.0.lock().expect("auth cache lock poisoned");
        state.tokens.insert(scope.to_string(), (token, until));
    }
}

/// `Basic …` header value for basic credentials.
pub(crate) fn basic_header(creds: &Credentials) -> Option<String> {
    use base64::Engine as _;
    match creds {
        Credentials::Basic { username, password } => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        )),
        Credentials::IdentityToken(_) => None,
    }
}

/// Fetches a bearer token for `scopes` (space-separated) and caches it under `cache_key`;
/// returns the `Authorization` header value.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn fetch_token(
    http: &reqwest::Client,
    cache: &AuthCache,
    cache_key: &str,
    challenge_realm: &str,
    service: Option<&str>,
    scopes: &str,
    creds: Option<&Credentials>,
) -> Result<String, RegistryError> {
    let scope_list: Vec<&str> = scopes.split(' ').filter(|s| !s.is_empty()).collect();
    let req = match creds {
        Some(Credentials::IdentityToken(refresh)) => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", refresh)
                .append_pair("client_id", "berth");
            if let Some(s) = service {
                form.append_pair("service", s);
            }
            if !scope_list.is_empty() {
                form.append_pair("scope", &scope_list.join(" "));
            }
            http.post(challenge_realm)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.finish())
        }
        _ => {
            let mut url =
                url::Url::parse(challenge_realm).map_err(|_| RegistryError::Challenge {
                    url: challenge_realm.to_string(),
                    header: format!("realm={challenge_realm}"),
                })?;
            {
                let mut q = url.query_pairs_mut();
                if let Some(s) = service {
                    q.append_pair("service", s);
                }
                for s in &scope_list {
                    q.append_pair("scope", s);
                }
            }
            let mut req = http.get(url);
            if let Some(h) = creds.and_then(basic_header) {
                req = req.header("authorization", h);
            }
            req
        }
    };
    let send_err = |source| RegistryError::Send {
        method: "GET".to_string(),
        url: challenge_realm.to_string(),
        source,
    };
    let resp = req.send().await.map_err(send_err)?;
    let status = resp.status().as_u16();
    let body = resp
        .bytes()
        .await
        .map_err(|source| RegistryError::ReadBody {
            url: challenge_realm.to_string(),
            source,
        })?;
    if status != 200 {
        return Err(error_from_response(challenge_realm, status, &body));
    }
    let answer: TokenAnswer =
        serde_json::from_slice(&body).map_err(|source| RegistryError::TokenResponse {
            realm: challenge_realm.to_string(),
            source,
        })?;
    let token = answer
        .token
        .filter(|t| !t.is_empty())
        .or(answer.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| RegistryError::TokenResponse {
            realm: challenge_realm.to_string(),
            source: serde::de::Error::custom("neither token nor access_token present"),
        })?;
    let ttl = Duration::from_secs(answer.expires_in.unwrap_or(60).max(60));
    cache.put_token(cache_key, token.clone(), ttl);
    Ok(format!("Bearer {token}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/alpine:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="x""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
    }

    #[test]
    fn cache_prefers_fresh_tokens() {
        let cache = AuthCache::default();
        assert_eq!(cache.header_for("s", None), None);
        cache.put_token("s", "t".into(), Duration::from_secs(300));
        assert_eq!(cache.header_for("s", None).as_deref(), Some("Bearer t"));
        cache.put_token("old", "t".into(), Duration::from_secs(1));
        assert_eq!(cache.header_for("old", None), None);
    }
}
