//! `login`/`logout` and the credentials store: Docker's `config.json` format (`auths`
//! with base64 `user:password`) in `$BERTH_CONFIG` or `~/.berth`, and the
//! `X-Registry-Auth` header built from it for pull and push.
//!
//! Runs in the CLI process. The config file is rewritten whole (0600) on login/logout;
//! unknown keys in it are kept.

use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use clap::Args;
use serde_json::{json, Map, Value};

use crate::client::Client;

/// Docker Hub's key in `auths`.
pub const DEFAULT_SERVER: &str = "https://index.docker.io/v1/";

/// `login` flags.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// Password
    #[arg(short = 'p', long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// Registry server
    pub server: Option<String>,
}

/// `logout` flags.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Registry server
    pub server: Option<String>,
}

fn config_path() -> PathBuf {
    let dir = match std::env::var_os("BERTH_CONFIG") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".berth")
        }
    };
    dir.join("config.json")
}

fn load_config() -> Result<Value> {
    let p = config_path();
    match fs::read(&p) {
        Ok(b) if !b.is_empty() => {
            serde_json::from_slice(&b).with_context(|| format!("parse {}", p.display()))
        }
        Ok(_) => Ok(json!({})),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(json!({})),
        Err(e) => Err(e).with_context(|| format!("read {}", p.display())),
    }
}

fn save_config(v: &Value) -> Result<()> {
    let p = config_path();
    if let Some(d) = p.parent() {
        fs::create_dir_all(d).with_context(|| format!("create {}", d.display()))?;
    }
    let tmp = p.with_extension("json.tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("write {}", tmp.display()))?;
    f.write_all(serde_json::to_string_pretty(v)?.as_bytes())?;
    f.write_all(b"\n")?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
    fs::rename(&tmp, &p).with_context(|| format!("write {}", p.display()))?;
    Ok(())
}

/// Normalizes a server argument to its `auths` key.
fn server_key(server: Option<&str>) -> String {
    match server {
        None | Some("docker.io") | Some("index.docker.io") | Some("registry-1.docker.io") => {
            DEFAULT_SERVER.to_string()
        }
        Some(s) => s
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string(),
    }
}

/// Stored `(username, password)` for `key`.
fn stored(key: &str) -> Option<(String, String)> {
    let cfg = load_config().ok()?;
    let auth = cfg.get("auths")?.get(key)?.get("auth")?.as_str()?;
    let raw = String::from_utf8(STANDARD.decode(auth).ok()?).ok()?;
    let (u, p) = raw.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// The `X-Registry-Auth` value for a registry key: base64url JSON, `e30=` (`{}`) if none.
pub fn registry_auth(key: &str) -> String {
    match stored(key) {
        Some((u, p)) => {
            URL_SAFE.encode(json!({"username": u, "password": p, "serveraddress": key}).to_string())
        }
        None => URL_SAFE.encode("{}"),
    }
}

fn prompt(msg: &str) -> Result<String> {
    eprint!("{msg}");
    io::stderr().flush()?;
    let mut s = String::new();
    io::stdin().lock().read_line(&mut s)?;
    Ok(s.trim_end_matches(['\r', '\n']).to_string())
}

/// `berth login`.
pub fn login(c: &Client, a: LoginArgs) -> Result<()> {
    let key = server_key(a.server.as_deref());
    let username = match a.username {
        Some(u) => u,
        None => prompt("Username: ")?,
    };
    let password = if a.password_stdin {
        if a.password.is_some() {
            bail!("--password and --password-stdin are mutually exclusive");
        }
        let mut s = String::new();
        io::Read::read_to_string(&mut io::stdin(), &mut s)?;
        s.trim_end_matches(['\r', '\n']).to_string()
    } else if let Some(p) = a.password {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        p
    } else {
        if !io::stdin().is_terminal() {
            bail!("Cannot perform an interactive login from a non TTY device");
        }
        let _raw = crate::term::RawMode::enable()?;
        let p = prompt("Password: ")?;
        eprintln!("\r");
        p
    };
    if username.is_empty() || password.is_empty() {
        bail!("Username and password are required");
    }
    let body = json!({"username": username, "password": password, "serveraddress": key});
    let resp: Value = c.post("/auth", Some(&body))?.json()?;
    let mut cfg = load_config()?;
    if !cfg.is_object() {
        cfg = json!({});
    }
    let auths = cfg
        .as_object_mut()
        .map(|m| {
            m.entry("auths")
                .or_insert_with(|| Value::Object(Map::new()))
        })
        .context("config.json is not an object")?;
    let mut entry = json!({"auth": STANDARD.encode(format!("{username}:{password}"))});
    if let Some(t) = resp
        .get("IdentityToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        entry["identitytoken"] = json!(t);
    }
    auths[key.as_str()] = entry;
    save_config(&cfg)?;
    println!(
        "{}",
        resp.get("Status")
            .and_then(Value::as_str)
            .unwrap_or("Login Succeeded")
    );
    Ok(())
}

/// `berth logout`.
pub fn logout(a: LogoutArgs) -> Result<()> {
    let key = server_key(a.server.as_deref());
    let mut cfg = load_config()?;
    let removed = cfg
        .get_mut("auths")
        .and_then(Value::as_object_mut)
        .and_then(|m| m.remove(&key))
        .is_some();
    if removed {
        save_config(&cfg)?;
        println!("Removing login credentials for {key}");
    } else {
        println!("Not logged in to {key}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_keys() {
        assert_eq!(server_key(None), DEFAULT_SERVER);
        assert_eq!(server_key(Some("docker.io")), DEFAULT_SERVER);
        assert_eq!(
            server_key(Some("https://reg.example.com/")),
            "reg.example.com"
        );
    }
}
