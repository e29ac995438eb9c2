//! Platforms (`linux/arm64/v8`): parsing, Docker/containerd normalisation, and choosing
//! the matching entry of a multi-platform index.
//!
//! Pure code used by berthd's pull path; owns no resources. Normalisation and the
//! fallback order (arm64 runs arm/v8…v5, amd64/vN runs lower variants and 386) follow
//! containerd's `platforms` package, which Docker uses. Windows `os.version` matching
//! is left out.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{media_type, Descriptor, Index};

/// Operating systems recognised when a platform string has a single component.
const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "illumos",
    "ios",
    "js",
    "linux",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
];

/// Why a platform string was rejected or no index entry matched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The string is not `os[/arch[/variant]]` with non-empty parts.
    #[error("invalid platform {value:?}: expected os/arch[/variant]")]
    Invalid {
        /// The rejected string.
        value: String,
    },
    /// No manifest in the index runs on the wanted platform (Docker's wording).
    #[error("no matching manifest for {platform} in the manifest list entries")]
    NoMatch {
        /// The wanted platform, normalised.
        platform: Platform,
    },
}

/// An OS/architecture/variant triple as used in image indexes and configs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    /// Operating system (`linux`).
    pub os: String,
    /// CPU architecture in Go's naming (`amd64`, `arm64`).
    pub architecture: String,
    /// CPU variant (`v8`, `v7`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// Builds a normalised platform from its parts.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        let (architecture, variant) = normalize_arch(architecture, variant);
        Platform {
            os: normalize_os(os),
            architecture,
            variant,
        }
    }

    /// Parses `os`, `arch`, `os/arch` or `os/arch/variant` and normalises it
    /// (`linux/aarch64` → `linux/arm64/v8`, `linux/x86_64` → `linux/amd64`).
    pub fn parse(s: &str) -> Result<Platform, PlatformError> {
        let invalid = || PlatformError::Invalid {
            value: s.to_owned(),
        };
        let parts: Vec<&str> = s.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(invalid());
        }
        match parts[..] {
            [one] if KNOWN_OS.contains(&one.to_ascii_lowercase().as_str()) => {
                let host = Platform::host();
                Ok(Platform::new(
                    one,
                    &host.architecture,
                    host.variant.as_deref(),
                ))
            }
            [arch] => Ok(Platform::new("linux", arch, None)),
            [os, arch] => Ok(Platform::new(os, arch, None)),
            [os, arch, variant] => Ok(Platform::new(os, arch, Some(variant))),
            _ => Err(invalid()),
        }
    }

    /// Linux on the architecture this binary was built for.
    pub fn host() -> Platform {
        let (arch, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "x86" => ("386", None),
            "aarch64" => ("arm64", Some("v8")),
            "arm" => ("arm", Some("v7")),
            "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
            "loongarch64" => ("loong64", None),
            "mips64" if cfg!(target_endian = "little") => ("mips64le", None),
            other => (other, None),
        };
        Platform::new("linux", arch, variant)
    }

    /// This platform and the ones it can also run, best first.
    pub fn compatible(&self) -> Vec<Platform> {
        let p = Platform::new(&self.os, &self.architecture, self.variant.as_deref());
        let mut out = vec![p.clone()];
        let variant_number = p
            .variant
            .as_deref()
            .and_then(|v| v.strip_prefix('v'))
            .and_then(|v| v.parse::<u32>().ok());
        let with = |arch: &str, variant: Option<String>| Platform {
            os: p.os.clone(),
            architecture: arch.to_owned(),
            variant,
        };
        match p.architecture.as_str() {
            "amd64" => {
                let top = variant_number.unwrap_or(1);
                for n in (2..top).rev() {
                    out.push(with("amd64", Some(format!("v{n}"))));
                }
                if top > 1 {
                    out.push(with("amd64", None));
                }
                out.push(with("386", None));
            }
            "arm" => {
                for n in (5..variant_number.unwrap_or(7)).rev() {
                    out.push(with("arm", Some(format!("v{n}"))));
                }
            }
            "arm64" => {
                for n in (5..=8).rev() {
                    out.push(with("arm", Some(format!("v{n}"))));
                }
            }
            _ => {}
        }
        out
    }

    /// Whether `self` and `other` are the same platform after normalisation.
    pub fn matches(&self, other: &Platform) -> bool {
        let a = Platform::new(&self.os, &self.architecture, self.variant.as_deref());
        let b = Platform::new(&other.os, &other.architecture, other.variant.as_deref());
        a == b
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

fn normalize_os(os: &str) -> String {
    match os.to_ascii_lowercase().as_str() {
        "macos" => "darwin".to_owned(),
        other => other.to_owned(),
    }
}

fn normalize_arch(arch: &str, variant: Option<&str>) -> (String, Option<String>) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant.map(str::to_ascii_lowercase);
    let (arch, variant) = match (arch.as_str(), variant.as_deref()) {
        ("i386", _) => ("386", None),
        ("x86_64" | "x86-64" | "amd64", Some("v1") | None) => ("amd64", None),
        ("x86_64" | "x86-64" | "amd64", Some(v)) => ("amd64", Some(v.to_owned())),
        ("aarch64" | "arm64", None | Some("8" | "v8" | "v8.0")) => ("arm64", Some("v8".into())),
        ("aarch64" | "arm64", Some("9" | "9.0" | "v9.0")) => ("arm64", Some("v9".into())),
        ("aarch64" | "arm64", Some(v)) => ("arm64", Some(v.to_owned())),
        ("armhf", _) => ("arm", Some("v7".into())),
        ("armel", _) => ("arm", Some("v6".into())),
        ("arm", None) => ("arm", Some("v7".into())),
        ("arm", Some(v @ ("5" | "6" | "7" | "8"))) => ("arm", Some(format!("v{v}"))),
        ("arm", Some(v)) => ("arm", Some(v.to_owned())),
        (a, v) => (a, v.map(str::to_owned)),
    };
    (arch.to_owned(), variant)
}

/// Picks the index entry for `platform`: the best-ranked compatible platform wins, and
/// among equals the first entry in index order. Entries without a platform or with a
/// non-manifest media type (attestations, nested indexes) are skipped.
pub fn select<'a>(index: &'a Index, platform: &Platform) -> Result<&'a Descriptor, PlatformError> {
    let wanted = platform.compatible();
    index
        .manifests
        .iter()
        .filter(|d| media_type::is_manifest(&d.media_type))
        .filter_map(|d| {
            let entry = d.platform.as_ref()?;
            let rank = wanted.iter().position(|w| w.matches(entry))?;
            Some((rank, d))
        })
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, d)| d)
        .ok_or_else(|| PlatformError::NoMatch {
            platform: wanted[0].clone(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;

    #[test]
    fn parse_normalises() {
        let cases = [
            ("linux/amd64", "linux/amd64"),
            ("linux/x86_64", "linux/amd64"),
            ("linux/amd64/v1", "linux/amd64"),
            ("linux/amd64/v3", "linux/amd64/v3"),
            ("linux/arm64", "linux/arm64/v8"),
            ("linux/aarch64", "linux/arm64/v8"),
            ("linux/arm64/v8", "linux/arm64/v8"),
            ("linux/arm64/8", "linux/arm64/v8"),
            ("linux/arm", "linux/arm/v7"),
            ("linux/arm/6", "linux/arm/v6"),
            ("linux/armhf", "linux/arm/v7"),
            ("linux/armel", "linux/arm/v6"),
            ("linux/i386", "linux/386"),
            ("Linux/AMD64", "linux/amd64"),
            ("macos/arm64", "darwin/arm64/v8"),
            ("linux/riscv64", "linux/riscv64"),
            ("s390x", "linux/s390x"),
        ];
        for (input, want) in cases {
            assert_eq!(Platform::parse(input).unwrap().to_string(), want, "{input}");
        }
        assert_eq!(Platform::parse("linux").unwrap(), Platform::host());
        for bad in ["", "/", "linux/", "/amd64", "linux/arm64/v8/x", "linux//v8"] {
            assert!(
                matches!(Platform::parse(bad), Err(PlatformError::Invalid { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn host_is_linux() {
        let host = Platform::host();
        assert_eq!(host.os, "linux");
        #[cfg(target_arch = "x86_64")]
        assert_eq!(host.to_string(), "linux/amd64");
        #[cfg(target_arch = "aarch64")]
        assert_eq!(host.to_string(), "linux/arm64/v8");
    }

    #[test]
    fn compatibility_order() {
        let names = |s: &str| -> Vec<String> {
            let p = Platform::parse(s).unwrap();
            p.compatible().iter().map(ToString::to_string).collect()
        };
        assert_eq!(names("linux/amd64"), ["linux/amd64", "linux/386"]);
        assert_eq!(
            names("linux/amd64/v3"),
            [
                "linux/amd64/v3",
                "linux/amd64/v2",
                "linux/amd64",
                "linux/386"
            ]
        );
        assert_eq!(
            names("linux/arm64"),
            [
                "linux/arm64/v8",
                "linux/arm/v8",
                "linux/arm/v7",
                "linux/arm/v6",
                "linux/arm/v5"
            ]
        );
        assert_eq!(names("linux/arm/v6"), ["linux/arm/v6", "linux/arm/v5"]);
        assert_eq!(names("linux/s390x"), ["linux/s390x"]);
    }

    fn entry(n: u8, platform: Option<&str>, mt: &str) -> Descriptor {
        Descriptor {
            media_type: mt.to_owned(),
            digest: Digest::sha256_of(&[n]),
            size: 100,
            urls: Vec::new(),
            annotations: Default::default(),
            platform: platform.map(|p| {
                let parts: Vec<&str> = p.split('/').collect();
                Platform {
                    os: parts[0].to_owned(),
                    architecture: parts[1].to_owned(),
                    variant: parts.get(2).map(|v| (*v).to_owned()),
                }
            }),
        }
    }

    #[test]
    fn selects_best_entry() {
        let mt = media_type::OCI_MANIFEST;
        let index = Index {
            media_type: media_type::OCI_INDEX.to_owned(),
            manifests: vec![
                entry(0, Some("unknown/unknown"), mt),
                entry(1, Some("linux/arm/v7"), mt),
                entry(2, Some("linux/amd64"), media_type::OCI_INDEX),
                entry(3, Some("linux/amd64"), mt),
                entry(4, Some("linux/arm64"), mt),
                entry(5, Some("linux/arm64/v8"), mt),
                entry(6, None, mt),
                entry(7, Some("linux/386"), mt),
            ],
            annotations: Default::default(),
        };
        let pick = |p: &str| select(&index, &Platform::parse(p).unwrap()).map(|d| d.digest.clone());
        assert_eq!(pick("linux/amd64").unwrap(), index.manifests[3].digest);
        assert_eq!(pick("linux/arm64/v8").unwrap(), index.manifests[4].digest);
        assert_eq!(pick("linux/arm/v7").unwrap(), index.manifests[1].digest);
        assert_eq!(pick("linux/amd64/v2").unwrap(), index.manifests[3].digest);
        let err = pick("linux/arm/v6").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no matching manifest for linux/arm/v6 in the manifest list entries"
        );
        let err = pick("linux/s390x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no matching manifest for linux/s390x in the manifest list entries"
        );

        let arm_only = Index {
            manifests: vec![entry(1, Some("linux/amd64"), mt)],
            ..index.clone()
        };
        let err = select(&arm_only, &Platform::parse("linux/arm64").unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no matching manifest for linux/arm64/v8 in the manifest list entries"
        );
    }
}
