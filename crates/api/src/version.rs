//! API versions: the `/v1.NN` prefix, Docker's min/max texts.

use crate::error::ApiError;

/// Newest API version served.
pub const MAX: ApiVersion = ApiVersion(47);
/// Oldest API version served.
pub const MIN: ApiVersion = ApiVersion(24);

/// A `1.NN` API version (only the minor number varies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32);

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "1.{}", self.0)
    }
}

impl ApiVersion {
    /// At least `1.minor`.
    pub fn at_least(self, minor: u32) -> bool {
        self.0 >= minor
    }
}

/// Splits `/v1.41/containers/json` into (Some(1.41), `/containers/json`); errors for
/// versions outside [MIN, MAX] with Docker's texts.
pub fn split_prefix(path: &str) -> Result<(ApiVersion, &str), ApiError> {
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok((MAX, path));
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let ver = &rest[..end];
    if ver.is_empty() || !ver.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Ok((MAX, path));
    }
    let tail = &rest[end..];
    let minor = match ver.split_once('.') {
        Some(("1", m)) => m.parse::<u32>().ok(),
        _ => None,
    };
    let Some(minor) = minor else {
        return Err(ApiError::bad_request(format!(
            "client version {ver} is too new. Maximum supported API version is {MAX}"
        )));
    };
    let v = ApiVersion(minor);
    if v < MIN {
        return Err(ApiError::bad_request(format!(
            "client version {ver} is too old. Minimum supported API version is {MIN}, please upgrade your client to a newer version"
        )));
    }
    if v > MAX {
        return Err(ApiError::bad_request(format!(
            "client version {ver} is too new. Maximum supported API version is {MAX}"
        )));
    }
    Ok((v, if tail.is_empty() { "/" } else { tail }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(split_prefix("/_ping").unwrap(), (MAX, "/_ping"));
        assert_eq!(
            split_prefix("/v1.41/containers/json").unwrap(),
            (ApiVersion(41), "/containers/json")
        );
        let old = split_prefix("/v1.23/info").unwrap_err();
        assert_eq!(
            old.message,
            "client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
        );
        let new = split_prefix("/v1.99/info").unwrap_err();
        assert_eq!(
            new.message,
            "client version 1.99 is too new. Maximum supported API version is 1.47"
        );
        assert_eq!(split_prefix("/version").unwrap(), (MAX, "/version"));
    }
}
