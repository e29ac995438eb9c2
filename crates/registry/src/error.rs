//! Error types of the registry client and the mapping of registry error bodies to them.
//!
//! Runs in whatever process drives a pull or push (berthd, or the CLI for `login`).
//! Owns nothing. Follows the error section of the OCI distribution spec
//! (`{"errors":[{"code":…,"message":…}]}`); codes that the spec does not list keep
//! their HTTP status in [`RegistryError::Status`].

use std::path::PathBuf;

use serde::Deserialize;

/// Everything that can fail while talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry host name cannot be turned into a URL.
    #[error("invalid registry host {host:?}")]
    InvalidHost {
        /// Host as given by the caller.
        host: String,
    },
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the HTTP client")]
    BuildHttpClient {
        /// Underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The request could not be sent or its response head not read.
    #[error("{method} {url} failed")]
    Send {
        /// HTTP method.
        method: String,
        /// Request URL.
        url: String,
        /// Underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The response body could not be read.
    #[error("reading the response body of {url} failed")]
    ReadBody {
        /// Request URL.
        url: String,
        /// Underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The repository, manifest or blob does not exist (404, `*_UNKNOWN`).
    #[error("{url}: not found ({code}): {message}")]
    NotFound {
        /// Request URL (names the repository and reference).
        url: String,
        /// Registry error code, empty when the body had none.
        code: String,
        /// Registry message.
        message: String,
    },
    /// Authentication is required or the credentials were rejected (401).
    #[error("{url}: unauthorized: {message}")]
    Unauthorized {
        /// Request URL.
        url: String,
        /// Registry message.
        message: String,
    },
    /// Authenticated, but access to the resource is denied (403, `DENIED`).
    #[error("{url}: denied: {message}")]
    Denied {
        /// Request URL.
        url: String,
        /// Registry message.
        message: String,
    },
    /// The registry rate-limits this client (429, `TOOMANYREQUESTS`).
    #[error("{url}: too many requests: {message}")]
    TooManyRequests {
        /// Request URL.
        url: String,
        /// Registry message.
        message: String,
    },
    /// The registry rejected the manifest or blob (`MANIFEST_INVALID`, `DIGEST_INVALID`, …).
    #[error("{url}: invalid ({code}): {message}")]
    Invalid {
        /// Request URL.
        url: String,
        /// Registry error code.
        code: String,
        /// Registry message.
        message: String,
    },
    /// Any other unexpected status.
    #[error("{url}: unexpected status {status} ({code}): {message}")]
    Status {
        /// Request URL.
        url: String,
        /// HTTP status code.
        status: u16,
        /// Registry error code, empty when the body had none.
        code: String,
        /// Registry message or the start of the body.
        message: String,
    },
    /// A `WWW-Authenticate` header could not be understood.
    #[error("{url}: unsupported authentication challenge {header:?}")]
    Challenge {
        /// Request URL.
        url: String,
        /// Header value.
        header: String,
    },
    /// The token endpoint answered with something that is not a token.
    #[error("token response from {realm} is not valid")]
    TokenResponse {
        /// Token realm URL.
        realm: String,
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// The manifest exceeds the size cap.
    #[error("{url}: manifest larger than {limit} bytes")]
    ManifestTooLarge {
        /// Request URL.
        url: String,
        /// Cap in bytes.
        limit: u64,
    },
    /// A string is not a digest this client can verify (`sha256:<64 hex>`).
    #[error("invalid or unsupported digest {digest:?}")]
    InvalidDigest {
        /// The string.
        digest: String,
    },
    /// Content does not hash to the digest it was fetched by.
    #[error("{what}: digest mismatch, expected {expected}, got {actual}")]
    DigestMismatch {
        /// URL or repository/reference of the content.
        what: String,
        /// Digest asked for.
        expected: String,
        /// Digest of the bytes received.
        actual: String,
    },
    /// A response lacked a header the protocol requires.
    #[error("{url}: response lacks a valid {header} header")]
    MissingHeader {
        /// Request URL.
        url: String,
        /// Header name.
        header: &'static str,
    },
    /// A blob source file could not be opened or read.
    #[error("reading blob file {path}")]
    ReadBlobFile {
        /// File path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing downloaded blob bytes to the caller's writer failed.
    #[error("writing blob {digest}")]
    WriteBlob {
        /// Blob digest.
        digest: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A download kept failing after the bounded number of resumes.
    #[error("blob {digest}: giving up after {attempts} attempts")]
    RetriesExhausted {
        /// Blob digest.
        digest: String,
        /// Attempts made.
        attempts: u32,
        /// Last error.
        #[source]
        source: Box<RegistryError>,
    },
    /// Reading or writing credentials failed.
    #[error(transparent)]
    Credentials(#[from] crate::credentials::CredentialError),
}

/// Body of a registry error response.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Debug, Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Turns a failed response (status and body) into the matching error variant.
pub(crate) fn error_from_response(url: &str, status: u16, body: &[u8]) -> RegistryError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let (code, message) = match parsed.errors.first() {
        Some(e) => (e.code.clone(), e.message.clone()),
        None => (
            String::new(),
            String::from_utf8_lossy(&body[..body.len().min(200)])
                .trim()
                .to_string(),
        ),
    };
    let url = url.to_string();
    match (status, code.as_str()) {
        (_, "UNAUTHORIZED") | (401, _) => RegistryError::Unauthorized { url, message },
        (_, "DENIED") | (403, _) => RegistryError::Denied { url, message },
        (_, "TOOMANYREQUESTS") | (429, _) => RegistryError::TooManyRequests { url, message },
        (_, c) if c.ends_with("_UNKNOWN") => RegistryError::NotFound { url, code, message },
        (404, _) => RegistryError::NotFound { url, code, message },
        (_, c) if c.ends_with("_INVALID") || c == "SIZE_INVALID" => {
            RegistryError::Invalid { url, code, message }
        }
        _ => RegistryError::Status {
            url,
            status,
            code,
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_codes_to_variants() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
        match error_from_response("http://x/v2/a/manifests/b", 404, body) {
            RegistryError::NotFound { code, message, url } => {
                assert_eq!(code, "MANIFEST_UNKNOWN");
                assert_eq!(message, "manifest unknown");
                assert!(url.contains("/a/manifests/b"));
            }
            e => panic!("unexpected {e:?}"),
        }
        let denied = br#"{"errors":[{"code":"DENIED","message":"no"}]}"#;
        assert!(matches!(
            error_from_response("u", 403, denied),
            RegistryError::Denied { .. }
        ));
        assert!(matches!(
            error_from_response("u", 401, b""),
            RegistryError::Unauthorized { .. }
        ));
        assert!(matches!(
            error_from_response("u", 500, b"boom"),
            RegistryError::Status { status: 500, .. }
        ));
    }
}
