//! Content digests (`sha256:<hex>`) and incremental verification.
//!
//! Pure code. Only sha256 is supported, which is what Docker and the OCI image spec
//! use for every manifest and blob; other algorithms are rejected as invalid.

use sha2::{Digest as _, Sha256};

use crate::RegistryError;

/// The `sha256:<hex>` digest of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// Whether `reference` is a digest rather than a tag.
pub fn is_digest(reference: &str) -> bool {
    reference.contains(':')
}

/// Checks that `digest` is a well-formed sha256 digest.
pub fn validate(digest: &str) -> Result<(), RegistryError> {
    match digest.strip_prefix("sha256:") {
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(()),
        _ => Err(RegistryError::InvalidDigest {
            digest: digest.to_string(),
        }),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Incremental sha256 over a download.
#[derive(Debug, Default, Clone)]
pub struct Hasher(Sha256);

impl Hasher {
    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest of everything fed so far.
    pub fn digest(&self) -> String {
        format!("sha256:{}", hex(&self.0.clone().finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests() {
        let d = sha256_digest(b"");
        assert_eq!(
            d,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(validate(&d).is_ok());
        assert!(validate("sha512:00").is_err());
        assert!(is_digest(&d) && !is_digest("latest"));
        let mut h = Hasher::default();
        h.update(b"ab");
        assert_eq!(h.digest(), sha256_digest(b"ab"));
    }
}
