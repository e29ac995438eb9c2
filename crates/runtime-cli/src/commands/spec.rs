//! `spec` (write a default config.json) and `features` (print the features document).
//!
//! Runs in the CLI process. `spec` creates `<bundle>/config.json` and nothing else,
//! refusing to overwrite one, and writes it tab-indented like runc; `features` prints
//! 4-space-indented JSON like runc. Both documents come from the library.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::args::SpecArgs;

/// `spec [--bundle DIR] [--rootless]`.
pub fn spec(args: &SpecArgs) -> Result<()> {
    let dir = args.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
    if !dir.is_dir() {
        bail!("bundle directory {} does not exist", dir.display());
    }
    let path = dir.join("config.json");
    let text = to_json_indented(
        &berth_runtime::default_spec::default_spec(args.rootless),
        b"\t",
    )?;
    let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            bail!("File config.json exists. Remove it first")
        }
        Err(e) => return Err(e).with_context(|| format!("create {}", path.display())),
    };
    file.write_all(text.as_bytes())
        .with_context(|| format!("write {}", path.display()))
}

/// `features`.
pub fn features() -> Result<()> {
    println!(
        "{}",
        to_json_indented(&berth_runtime::features::features(), b"    ")?
    );
    Ok(())
}

/// Pretty JSON with the given indent (runc uses a tab for config.json, 4 spaces elsewhere).
fn to_json_indented(value: &impl Serialize, indent: &[u8]) -> Result<String> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut ser)?;
    Ok(String::from_utf8(out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_once_then_refuses() {
        let dir = std::env::temp_dir().join(format!("berth-spec-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let args = SpecArgs {
            bundle: Some(dir.clone()),
            rootless: false,
        };
        spec(&args).unwrap();
        let err = spec(&args).unwrap_err();
        let text = std::fs::read_to_string(dir.join("config.json")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(err.to_string(), "File config.json exists. Remove it first");
        assert!(
            text.starts_with("{\n\t\"ociVersion\": \"1.0.2-dev\""),
            "{text}"
        );
        let back: oci_spec::runtime::Spec = serde_json::from_str(&text).unwrap();
        assert_eq!(back.hostname().as_deref(), Some("berth"));
    }

    #[test]
    fn missing_bundle_dir() {
        let args = SpecArgs {
            bundle: Some("/nonexistent/berth/bundle".into()),
            rootless: true,
        };
        assert!(spec(&args).is_err());
    }
}
