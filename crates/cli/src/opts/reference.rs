//! Image reference normalization as Docker's `reference.ParseNormalizedNamed`:
//! `busybox` → `docker.io/library/busybox:latest`.
//!
//! Runs in the CLI process; pure code. Only splits and normalizes; the daemon validates.

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Registry host (`docker.io`).
    pub domain: String,
    /// Repository path (`library/busybox`).
    pub path: String,
    /// Tag, if any.
    pub tag: Option<String>,
    /// Digest, if any.
    pub digest: Option<String>,
}

impl Reference {
    /// Splits `name` into domain, path, tag and digest.
    pub fn parse(name: &str) -> Self {
        let (rest, digest) = match name.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (name, None),
        };
        let (repo, tag) = match rest.rfind(':') {
            Some(i) if !rest[i + 1..].contains('/') => {
                (&rest[..i], Some(rest[i + 1..].to_string()))
            }
            _ => (rest, None),
        };
        let (domain, path) = match repo.split_once('/') {
            Some((d, p)) if d.contains('.') || d.contains(':') || d == "localhost" => {
                (d.to_string(), p.to_string())
            }
            _ => ("docker.io".to_string(), repo.to_string()),
        };
        let domain = if domain == "index.docker.io" {
            "docker.io".to_string()
        } else {
            domain
        };
        let path = if domain == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        Reference {
            domain,
            path,
            tag,
            digest,
        }
    }

    /// The tag, or `latest` when there is neither tag nor digest.
    pub fn tag_or_latest(&self) -> Option<String> {
        match (&self.tag, &self.digest) {
            (Some(t), _) => Some(t.clone()),
            (None, None) => Some("latest".into()),
            (None, Some(_)) => None,
        }
    }

    /// `docker.io/library/busybox`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// `busybox` (Docker's familiar form of the repository).
    pub fn familiar_name(&self) -> String {
        if self.domain == "docker.io" {
            self.path
                .strip_prefix("library/")
                .unwrap_or(&self.path)
                .to_string()
        } else {
            self.full_name()
        }
    }

    fn suffix(&self) -> String {
        let mut s = String::new();
        if let Some(t) = self.tag_or_latest() {
            s.push(':');
            s.push_str(&t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }

    /// `busybox:latest`.
    pub fn familiar(&self) -> String {
        format!("{}{}", self.familiar_name(), self.suffix())
    }

    /// `docker.io/library/busybox:latest`.
    pub fn full(&self) -> String {
        format!("{}{}", self.full_name(), self.suffix())
    }

    /// The registry key in config.json (`https://index.docker.io/v1/` for Docker Hub).
    pub fn auth_key(&self) -> String {
        if self.domain == "docker.io" {
            crate::commands::auth::DEFAULT_SERVER.to_string()
        } else {
            self.domain.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        let r = Reference::parse("busybox");
        assert_eq!(r.full(), "docker.io/library/busybox:latest");
        assert_eq!(r.familiar(), "busybox:latest");
        let r = Reference::parse("localhost:5000/x/y:v1");
        assert_eq!(
            (r.domain.as_str(), r.path.as_str(), r.tag.as_deref()),
            ("localhost:5000", "x/y", Some("v1"))
        );
        assert_eq!(r.familiar(), "localhost:5000/x/y:v1");
        let r = Reference::parse("user/app@sha256:abc");
        assert_eq!(r.full(), "docker.io/user/app@sha256:abc");
        assert_eq!(r.tag_or_latest(), None);
        assert_eq!(
            Reference::parse("quay.io/a/b").familiar(),
            "quay.io/a/b:latest"
        );
    }
}
