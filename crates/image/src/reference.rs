//! Image references (`busybox`, `host:5000/team/app:1.2@sha256:…`) with Docker's normalisation.
//!
//! Pure parsing used by berthd's API and pull paths; owns no resources. Follows the
//! grammar of distribution/reference (`ParseNormalizedNamed` plus `TagNameOnly`): a bare
//! name gets `docker.io`, `library/` and `:latest`; error texts are Docker's. Left out: the
//! grammar's domain-less fallback for first components that look like a domain but are not
//! valid hostnames (`my_host.com/x`), which we reject, and `sha384` digests.

use std::fmt;
use std::str::FromStr;

use crate::digest::{Algorithm, Digest};

/// The registry domain used when a reference names none.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The host that serves the registry API for [`DEFAULT_DOMAIN`].
pub const DEFAULT_REGISTRY_HOST: &str = "registry-1.docker.io";
/// Docker's old name for the default registry, normalised to [`DEFAULT_DOMAIN`].
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// Repository prefix for official images on the default registry.
const OFFICIAL_PREFIX: &str = "library/";
/// The tag given to references that carry neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";
/// Longest allowed name (domain plus path), in bytes.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;
/// Longest allowed tag, in bytes.
pub const TAG_LENGTH_MAX: usize = 128;

/// Why a reference was rejected; messages are Docker's texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The string does not match the reference grammar.
    #[error("invalid reference format")]
    InvalidFormat {
        /// The rejected reference.
        reference: String,
    },
    /// The repository path contains uppercase letters.
    #[error("invalid reference format: repository name ({repository}) must be lowercase")]
    Uppercase {
        /// The repository path as Docker reports it (`library/Busybox`).
        repository: String,
    },
    /// The string is a bare 64-character hex id, which would be confused with an image id.
    #[error("invalid repository name ({reference}), cannot specify 64-byte hexadecimal strings")]
    HexIdentifier {
        /// The rejected reference.
        reference: String,
    },
    /// Domain plus path is longer than [`NAME_TOTAL_LENGTH_MAX`].
    #[error("repository name must not be more than 255 characters")]
    NameTooLong {
        /// The normalised name that is too long.
        name: String,
    },
    /// A tag passed to [`Reference::with_tag`] does not match the tag grammar.
    #[error("invalid tag format")]
    InvalidTag {
        /// The rejected tag.
        tag: String,
    },
    /// The digest's algorithm is not one we support.
    #[error("unsupported digest algorithm")]
    UnsupportedDigestAlgorithm {
        /// The rejected digest.
        digest: String,
    },
    /// The digest's hex has the wrong length for its algorithm.
    #[error("invalid checksum digest length")]
    DigestLength {
        /// The rejected digest.
        digest: String,
    },
    /// The digest's hex is not lowercase hex.
    #[error("invalid checksum digest format")]
    DigestFormat {
        /// The rejected digest.
        digest: String,
    },
}

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises `s` the way `docker pull s` does.
    ///
    /// A reference with neither tag nor digest gets the tag `latest`.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ReferenceError::HexIdentifier {
                reference: s.to_owned(),
            });
        }
        let (domain, remainder) = split_domain(s);
        let remote = remainder
            .split_once(':')
            .map_or(remainder.as_str(), |(r, _)| r);
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::Uppercase {
                repository: remote.to_owned(),
            });
        }
        let invalid = || ReferenceError::InvalidFormat {
            reference: s.to_owned(),
        };
        let (name_tag, digest) = match remainder.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (remainder.as_str(), None),
        };
        let (path, tag) = match name_tag.split_once(':') {
            Some((p, t)) => (p, Some(t)),
            None => (name_tag, None),
        };
        if !is_domain(&domain) || !is_path(path) || !tag.is_none_or(is_tag) {
            return Err(invalid());
        }
        let digest = match digest {
            Some(d) if !is_digest_grammar(d) => return Err(invalid()),
            Some(d) => Some(validate_digest(d)?),
            None => None,
        };
        if domain.len() + 1 + path.len() > NAME_TOTAL_LENGTH_MAX {
            return Err(ReferenceError::NameTooLong {
                name: format!("{domain}/{path}"),
            });
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_owned()),
            (None, None) => Some(DEFAULT_TAG.to_owned()),
            (None, Some(_)) => None,
        };
        Ok(Reference {
            domain,
            path: path.to_owned(),
            tag,
            digest,
        })
    }

    /// The registry domain, possibly with a port (`docker.io`, `localhost:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, if any; `latest` when the input had neither tag nor digest.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference pins one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The full repository name (`docker.io/library/busybox`).
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The repository name as `docker images` shows it (`busybox`, `user/repo`,
    /// `localhost:5000/x`).
    pub fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_owned(),
            _ => self.path.clone(),
        }
    }

    /// The whole reference in familiar form (`busybox:latest`).
    pub fn familiar(&self) -> String {
        let mut out = self.familiar_name();
        self.push_suffix(&mut out);
        out
    }

    /// The host to contact for the registry API (`registry-1.docker.io` for `docker.io`).
    pub fn registry_host(&self) -> &str {
        if self.domain == DEFAULT_DOMAIN {
            DEFAULT_REGISTRY_HOST
        } else {
            &self.domain
        }
    }

    /// The same repository with `tag`; a digest, if any, is kept (as Docker's `WithTag`).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        if !is_tag(tag) {
            return Err(ReferenceError::InvalidTag {
                tag: tag.to_owned(),
            });
        }
        Ok(Reference {
            tag: Some(tag.to_owned()),
            ..self.clone()
        })
    }

    /// The same repository and tag pinned to `digest`.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    fn push_suffix(&self, out: &mut String) {
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(&digest.to_string());
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        self.push_suffix(&mut out);
        f.write_str(&out)
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Reference, ReferenceError> {
        Reference::parse(s)
    }
}

/// Docker's `splitDockerDomain`: the first component is a domain if it contains `.` or
/// `:`, is `localhost`, or has uppercase letters.
fn split_domain(s: &str) -> (String, String) {
    let (domain, remote) = match s.split_once('/') {
        None => (DEFAULT_DOMAIN, s),
        Some((first, rest)) => {
            if first == LEGACY_DEFAULT_DOMAIN {
                (DEFAULT_DOMAIN, rest)
            } else if first == "localhost"
                || first.contains(['.', ':'])
                || first.to_lowercase() != first
            {
                (first, rest)
            } else {
                (DEFAULT_DOMAIN, s)
            }
        }
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        return (domain.to_owned(), format!("{OFFICIAL_PREFIX}{remote}"));
    }
    (domain.to_owned(), remote.to_owned())
}

/// `host[:port]` where host is a dotted hostname or a bracketed IPv6 address.
fn is_domain(domain: &str) -> bool {
    let (host_ok, port) = match domain.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((addr, after)) => (is_ipv6(addr), after),
            None => return false,
        },
        None => {
            let host_len = domain.find(':').unwrap_or(domain.len());
            (is_hostname(&domain[..host_len]), &domain[host_len..])
        }
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

/// The grammar's loose IPv6 form: hex digits and colons.
fn is_ipv6(addr: &str) -> bool {
    !addr.is_empty() && addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
}

fn is_hostname(host: &str) -> bool {
    !host.is_empty()
        && host.split('.').all(|c| {
            let bytes = c.as_bytes();
            !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-'
        })
}

/// One or more `/`-separated path components.
fn is_path(path: &str) -> bool {
    path.split('/').all(is_path_component)
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = c.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        let sep_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[sep_start..i];
        let sep_ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-');
        if !sep_ok {
            return false;
        }
    }
}

/// `[\w][\w.-]{0,127}`
fn is_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= TAG_LENGTH_MAX
        && word(bytes[0])
        && bytes[1..]
            .iter()
            .all(|&b| word(b) || b == b'.' || b == b'-')
}

/// The reference grammar's digest: `alg(sep alg)*:hex{32,}` with any-case hex.
fn is_digest_grammar(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|part| {
        let b = part.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// go-digest's validation, with Docker's messages.
fn validate_digest(d: &str) -> Result<Digest, ReferenceError> {
    let (alg, hex) = d.split_once(':').unwrap_or((d, ""));
    let Some(algorithm) = Algorithm::from_name(alg) else {
        return Err(ReferenceError::UnsupportedDigestAlgorithm {
            digest: d.to_owned(),
        });
    };
    if hex.len() != algorithm.hex_len() {
        return Err(ReferenceError::DigestLength {
            digest: d.to_owned(),
        });
    }
    Digest::new(algorithm, hex).map_err(|_| ReferenceError::DigestFormat {
        digest: d.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// (input, full form, familiar form, domain, path)
    const GOOD: &[(&str, &str, &str, &str, &str)] = &[
        (
            "busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
            "docker.io",
            "library/busybox",
        ),
        (
            "busybox:1.36",
            "docker.io/library/busybox:1.36",
            "busybox:1.36",
            "docker.io",
            "library/busybox",
        ),
        (
            "library/busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
            "docker.io",
            "library/busybox",
        ),
        (
            "docker.io/busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
            "docker.io",
            "library/busybox",
        ),
        (
            "index.docker.io/busybox",
            "docker.io/library/busybox:latest",
            "busybox:latest",
            "docker.io",
            "library/busybox",
        ),
        (
            "docker.io/library/busybox:musl",
            "docker.io/library/busybox:musl",
            "busybox:musl",
            "docker.io",
            "library/busybox",
        ),
        (
            "user/repo",
            "docker.io/user/repo:latest",
            "user/repo:latest",
            "docker.io",
            "user/repo",
        ),
        (
            "user/repo:v1",
            "docker.io/user/repo:v1",
            "user/repo:v1",
            "docker.io",
            "user/repo",
        ),
        (
            "library/a/b",
            "docker.io/library/a/b:latest",
            "library/a/b:latest",
            "docker.io",
            "library/a/b",
        ),
        (
            "a/b/c/d",
            "docker.io/a/b/c/d:latest",
            "a/b/c/d:latest",
            "docker.io",
            "a/b/c/d",
        ),
        (
            "localhost/x",
            "localhost/x:latest",
            "localhost/x:latest",
            "localhost",
            "x",
        ),
        (
            "localhost:5000/x:t",
            "localhost:5000/x:t",
            "localhost:5000/x:t",
            "localhost:5000",
            "x",
        ),
        (
            "host:5000/repo:tag",
            "host:5000/repo:tag",
            "host:5000/repo:tag",
            "host:5000",
            "repo",
        ),
        (
            "quay.io/coreos/etcd",
            "quay.io/coreos/etcd:latest",
            "quay.io/coreos/etcd:latest",
            "quay.io",
            "coreos/etcd",
        ),
        (
            "ghcr.io/a-b/c_d.e__f--g:T_1.x-y",
            "ghcr.io/a-b/c_d.e__f--g:T_1.x-y",
            "ghcr.io/a-b/c_d.e__f--g:T_1.x-y",
            "ghcr.io",
            "a-b/c_d.e__f--g",
        ),
        (
            "Registry.Example/x",
            "Registry.Example/x:latest",
            "Registry.Example/x:latest",
            "Registry.Example",
            "x",
        ),
        ("UPPER/x", "UPPER/x:latest", "UPPER/x:latest", "UPPER", "x"),
        (
            "[::1]:5000/x",
            "[::1]:5000/x:latest",
            "[::1]:5000/x:latest",
            "[::1]:5000",
            "x",
        ),
        (
            "[fe80::1]/x",
            "[fe80::1]/x:latest",
            "[fe80::1]/x:latest",
            "[fe80::1]",
            "x",
        ),
        (
            "localhost",
            "docker.io/library/localhost:latest",
            "localhost:latest",
            "docker.io",
            "library/localhost",
        ),
        (
            "foo:5000",
            "docker.io/library/foo:5000",
            "foo:5000",
            "docker.io",
            "library/foo",
        ),
        (
            "a",
            "docker.io/library/a:latest",
            "a:latest",
            "docker.io",
            "library/a",
        ),
        (
            "1/2",
            "docker.io/1/2:latest",
            "1/2:latest",
            "docker.io",
            "1/2",
        ),
    ];

    #[test]
    fn parses_and_normalises() {
        for &(input, full, familiar, domain, path) in GOOD {
            let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.to_string(), full, "{input}");
            assert_eq!(r.familiar(), familiar, "{input}");
            assert_eq!(r.domain(), domain, "{input}");
            assert_eq!(r.path(), path, "{input}");
            assert_eq!(r.name(), format!("{domain}/{path}"), "{input}");
            assert_eq!(Reference::parse(full).unwrap(), r, "{input} re-parses");
        }
    }

    #[test]
    fn digests_and_tags() {
        let r = Reference::parse(&format!("busybox@{D}")).unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest().unwrap().to_string(), D);
        assert_eq!(r.to_string(), format!("docker.io/library/busybox@{D}"));
        assert_eq!(r.familiar(), format!("busybox@{D}"));

        let r = Reference::parse(&format!("host:5000/repo:tag@{D}")).unwrap();
        assert_eq!(r.tag(), Some("tag"));
        assert_eq!(r.digest().unwrap().to_string(), D);
        assert_eq!(r.to_string(), format!("host:5000/repo:tag@{D}"));

        let sha512 = format!("sha512:{}", "ab".repeat(64));
        let r = Reference::parse(&format!("repo@{sha512}")).unwrap();
        assert_eq!(r.digest().unwrap().to_string(), sha512);

        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.tag(), Some("latest"));
        let t = r.with_tag("1.0").unwrap();
        assert_eq!(t.familiar(), "busybox:1.0");
        let pinned = t.with_digest(D.parse().unwrap());
        assert_eq!(
            pinned.to_string(),
            format!("docker.io/library/busybox:1.0@{D}")
        );
        assert_eq!(pinned.with_tag("2").unwrap().digest(), pinned.digest());
    }

    #[test]
    fn registry_host_for_docker_hub() {
        let host = |s: &str| Reference::parse(s).unwrap().registry_host().to_owned();
        assert_eq!(host("busybox"), "registry-1.docker.io");
        assert_eq!(host("docker.io/user/x"), "registry-1.docker.io");
        assert_eq!(host("localhost:5000/x"), "localhost:5000");
        assert_eq!(host("quay.io/x"), "quay.io");
    }

    #[test]
    fn rejects_with_docker_messages() {
        let long_tag = format!("busybox:{}", "t".repeat(129));
        let max_tag = format!("busybox:{}", "t".repeat(128));
        assert!(Reference::parse(&max_tag).is_ok());
        let long_name = format!("host.io/{}", "a".repeat(250));
        let ok_name = format!("host.io/{}", "a".repeat(247));
        assert!(Reference::parse(&ok_name).is_ok());
        let hex_id = D.trim_start_matches("sha256:").to_owned();
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "invalid reference format"),
            ("Busybox".into(), "invalid reference format: repository name (library/Busybox) must be lowercase"),
            ("user/Repo:tag".into(), "invalid reference format: repository name (user/Repo) must be lowercase"),
            ("localhost:5000/Foo".into(), "invalid reference format: repository name (Foo) must be lowercase"),
            ("a:b:c".into(), "invalid reference format"),
            ("busybox:".into(), "invalid reference format"),
            ("busybox:-tag".into(), "invalid reference format"),
            ("busybox:.tag".into(), "invalid reference format"),
            (long_tag, "invalid reference format"),
            ("-busybox".into(), "invalid reference format"),
            ("busybox-".into(), "invalid reference format"),
            ("bu..sybox".into(), "invalid reference format"),
            ("bu___sybox".into(), "invalid reference format"),
            ("a//b".into(), "invalid reference format"),
            ("user/".into(), "invalid reference format"),
            ("/busybox".into(), "invalid reference format"),
            ("host:port/x".into(), "invalid reference format"),
            ("-host.io/x".into(), "invalid reference format"),
            ("host.io:/x".into(), "invalid reference format"),
            ("[zz::1]/x".into(), "invalid reference format"),
            ("a b".into(), "invalid reference format"),
            ("busybox@".into(), "invalid reference format"),
            ("busybox@sha256:abc".into(), "invalid reference format"),
            ("busybox@sha256".into(), "invalid reference format"),
            (format!("busybox@md5:{}", "a".repeat(32)), "unsupported digest algorithm"),
            (format!("busybox@sha256:{}", "a".repeat(40)), "invalid checksum digest length"),
            (format!("busybox@sha256:{}", "A".repeat(64)), "invalid checksum digest format"),
            (hex_id.clone(), "invalid repository name (e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855), cannot specify 64-byte hexadecimal strings"),
            (long_name, "repository name must not be more than 255 characters"),
        ];
        for (input, message) in cases {
            let err = Reference::parse(&input).expect_err(&input);
            assert_eq!(err.to_string(), message, "{input}");
        }
    }

    #[test]
    fn with_tag_validates() {
        let r = Reference::parse("busybox").unwrap();
        for bad in ["", "-x", "a b", "a:b", &"t".repeat(129)] {
            let err = r.with_tag(bad).unwrap_err();
            assert_eq!(err, ReferenceError::InvalidTag { tag: bad.into() });
            assert_eq!(err.to_string(), "invalid tag format");
        }
    }

    #[test]
    fn path_component_grammar() {
        for ok in ["a", "a1", "a.b", "a_b", "a__b", "a-b", "a---b", "a.b_c-d"] {
            assert!(is_path_component(ok), "{ok}");
        }
        for bad in [
            "", "A", "_a", "a_", "a.", "a..b", "a___b", "a._b", "a-.b", "a/b",
        ] {
            assert!(!is_path_component(bad), "{bad}");
        }
    }
}
