//! Docker's rules for turning `docker rmi/inspect/run <name-or-id>` input into an image:
//! which lookups to try and in what order, plus the reference-counting predicates `rmi`
//! needs (`isSingleReference`, `isImageIDPrefix` in moby's `daemon/images`).
//!
//! Pure code; the store applies the [`Plan`] to its index.

use std::collections::BTreeSet;

use super::ImageError;
use crate::digest::Digest;
use crate::reference::Reference;

/// What to try, in order: an exact id, then a name in the tag index, then an id prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// A full id (`<64 hex>` or `sha256:<64 hex>`): only this is tried.
    pub exact: Option<Digest>,
    /// A reference (tag defaulting to `latest`, or a digest).
    pub named: Option<Reference>,
    /// Hex digits an id may start with (`sha256:` stripped).
    pub prefix: Option<String>,
    /// How Docker prints the input in `No such image: …`.
    pub display: String,
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The lookup plan for `input` (moby's `GetImage` after `ParseAnyReference`).
pub(crate) fn plan(input: &str) -> Result<Plan, ImageError> {
    let full_hex = input.len() == 64 && is_hex(input);
    let exact = if full_hex {
        Digest::new(crate::digest::Algorithm::Sha256, input).ok()
    } else {
        input.parse::<Digest>().ok()
    };
    if let Some(id) = exact {
        return Ok(Plan {
            display: id.to_string(),
            exact: Some(id),
            named: None,
            prefix: None,
        });
    }
    let named = Reference::parse(input).map_err(|source| ImageError::InvalidReference {
        reference: input.to_owned(),
        source,
    })?;
    let hex = input.strip_prefix("sha256:").unwrap_or(input);
    let prefix = (!hex.is_empty() && hex.len() <= 64 && is_hex(hex)).then(|| hex.to_owned());
    Ok(Plan {
        exact: None,
        display: named.familiar(),
        named: Some(named),
        prefix,
    })
}

/// The tag-index key of a reference: `name@digest` when it pins a digest, else
/// `name:tag`.
pub(crate) fn ref_key(reference: &Reference) -> String {
    match (reference.digest(), reference.tag()) {
        (Some(d), _) => format!("{}@{d}", reference.name()),
        (None, Some(t)) => format!("{}:{t}", reference.name()),
        (None, None) => format!("{}:latest", reference.name()),
    }
}

/// Whether `input` names the image by id: a prefix of `sha256:<hex>` or of `<hex>`.
pub(crate) fn is_id_prefix(id: &Digest, input: &str) -> bool {
    id.to_string().starts_with(input) || id.hex().starts_with(input)
}

/// moby's `isSingleReference`: at most one tag, and every reference in one repository.
pub(crate) fn is_single_reference(refs: &[Reference]) -> bool {
    if refs.len() <= 1 {
        return refs.len() == 1;
    }
    let mut single: Option<&Reference> = None;
    let mut names = BTreeSet::new();
    for r in refs {
        if r.digest().is_some() {
            names.insert(r.name());
        } else if single.is_none() {
            names.insert(r.name());
            single = Some(r);
        } else {
            return false;
        }
    }
    let single = single.unwrap_or(&refs[0]);
    names.len() == 1 && names.contains(&single.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "4f0e1b5c7a9d2e3f4f0e1b5c7a9d2e3f4f0e1b5c7a9d2e3f4f0e1b5c7a9d2e3f";

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn full_ids_are_exact_only() {
        for input in [HEX.to_owned(), format!("sha256:{HEX}")] {
            let p = plan(&input).unwrap();
            assert_eq!(p.exact.unwrap().hex(), HEX);
            assert!(p.named.is_none() && p.prefix.is_none());
        }
    }

    #[test]
    fn names_and_short_ids() {
        let p = plan("busybox").unwrap();
        assert_eq!(
            ref_key(p.named.as_ref().unwrap()),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(p.prefix, None);
        assert_eq!(p.display, "busybox:latest");
        let p = plan("4f0e1b").unwrap();
        assert_eq!(p.prefix.as_deref(), Some("4f0e1b"));
        assert_eq!(p.display, "4f0e1b:latest");
        let p = plan("sha256:4f0e").unwrap();
        assert_eq!(p.prefix.as_deref(), Some("4f0e"));
        let p = plan(&format!("busybox@sha256:{HEX}")).unwrap();
        assert_eq!(
            ref_key(p.named.as_ref().unwrap()),
            format!("docker.io/library/busybox@sha256:{HEX}")
        );
        assert!(matches!(
            plan("Busybox"),
            Err(ImageError::InvalidReference { .. })
        ));
    }

    #[test]
    fn id_prefix_detection() {
        let id: Digest = format!("sha256:{HEX}").parse().unwrap();
        assert!(is_id_prefix(&id, "4f0e"));
        assert!(is_id_prefix(&id, "sha256:4f0e"));
        assert!(!is_id_prefix(&id, "busybox"));
    }

    #[test]
    fn single_reference_rules() {
        let d = format!("@sha256:{HEX}");
        assert!(!is_single_reference(&[]));
        assert!(is_single_reference(&[r("a:1")]));
        assert!(!is_single_reference(&[r("a:1"), r("a:2")]));
        assert!(is_single_reference(&[r("a:1"), r(&format!("a{d}"))]));
        assert!(!is_single_reference(&[r("a:1"), r(&format!("b{d}"))]));
        assert!(is_single_reference(&[r(&format!("a{d}"))]));
    }
}
