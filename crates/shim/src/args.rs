//! Command-line flags of the `berth-shim` binary (hand-rolled: clap would add size to
//! every resident shim). Pure; runs in the shim before anything else.

use std::ffi::OsString;
use std::path::PathBuf;

/// Everything the shim is told at start-up (see docs/design/shim-protocol.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Container id.
    pub id: String,
    /// OCI bundle directory.
    pub bundle: PathBuf,
    /// berth-runtime state root.
    pub runtime_root: PathBuf,
    /// The shim's own directory (`shim.sock`, `shim.pid`, `exit`).
    pub dir: PathBuf,
    /// json-file log path.
    pub log: PathBuf,
    /// Rotate when the log would exceed this many bytes (0: never).
    pub log_max_size: u64,
    /// Files kept in total, current one included.
    pub log_max_file: u32,
    /// The container has a pty.
    pub tty: bool,
    /// Keep a stdin pipe open for attach clients.
    pub stdin: bool,
    /// Close stdin when the first stdin client half-closes.
    pub stdin_once: bool,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Config, String> {
    let mut it = args.into_iter();
    let (mut id, mut bundle, mut root, mut dir, mut log) = (None, None, None, None, None);
    let mut cfg_size = 0u64;
    let mut cfg_files = 1u32;
    let (mut tty, mut stdin, mut stdin_once) = (false, false, false);
    while let Some(arg) = it.next() {
        let arg = arg
            .into_string()
            .map_err(|a| format!("bad argument {a:?}"))?;
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(OsString::from(v))),
            _ => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--id" => id = Some(value()?.to_string_lossy().into_owned()),
            "--bundle" => bundle = Some(PathBuf::from(value()?)),
            "--runtime-root" => root = Some(PathBuf::from(value()?)),
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--log" => log = Some(PathBuf::from(value()?)),
            "--log-max-size" => {
                let v = value()?;
                cfg_size = v
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("--log-max-size: bad number {v:?}"))?;
            }
            "--log-max-file" => {
                let v = value()?;
                cfg_files = v
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| format!("--log-max-file: bad count {v:?}"))?;
            }
            "--tty" => tty = true,
            "--stdin" => stdin = true,
            "--stdin-once" => stdin_once = true,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    fn need<T>(v: Option<T>, name: &str) -> Result<T, String> {
        v.ok_or_else(|| format!("missing {name}"))
    }
    Ok(Config {
        id: need(id, "--id")?,
        bundle: need(bundle, "--bundle")?,
        runtime_root: need(root, "--runtime-root")?,
        dir: need(dir, "--dir")?,
        log: need(log, "--log")?,
        log_max_size: cfg_size,
        log_max_file: cfg_files,
        tty,
        stdin,
        stdin_once,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Config, String> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_all_flags() {
        let c = p(&[
            "--id",
            "c1",
            "--bundle",
            "/b",
            "--runtime-root=/r",
            "--dir",
            "/d",
            "--log",
            "/l",
            "--log-max-size",
            "100",
            "--log-max-file=3",
            "--tty",
            "--stdin",
            "--stdin-once",
        ])
        .unwrap();
        assert_eq!(c.id, "c1");
        assert_eq!(c.runtime_root, PathBuf::from("/r"));
        assert_eq!((c.log_max_size, c.log_max_file), (100, 3));
        assert!(c.tty && c.stdin && c.stdin_once);
    }

    #[test]
    fn defaults_and_errors() {
        let c = p(&[
            "--id",
            "c",
            "--bundle",
            "b",
            "--runtime-root",
            "r",
            "--dir",
            "d",
            "--log",
            "l",
        ])
        .unwrap();
        assert_eq!((c.log_max_size, c.log_max_file, c.tty), (0, 1, false));
        assert!(p(&["--id", "c"]).unwrap_err().contains("--bundle"));
        assert!(p(&["--bogus"]).is_err());
        assert!(p(&["--id"]).is_err());
        assert!(p(&["--log-max-file", "0"]).is_err());
    }
}
