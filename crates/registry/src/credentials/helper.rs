//! Runs Docker credential helpers (`docker-credential-<name> get|store|erase`).
//!
//! Each call spawns one short-lived child, writes its request on stdin and waits for it;
//! nothing outlives the call. Implements the docker-credential-helpers protocol:
//! `get` reads the server URL and prints `{"ServerURL","Username","Secret"}`, a
//! `Username` of `<token>` marks an identity token, and "credentials not found" means none.

use std::path::Path;
use std::process::Stdio;

use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;

use super::{CredentialError, Credentials};

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

async fn run(
    dir: Option<&Path>,
    name: &str,
    action: &'static str,
    input: &[u8],
) -> Result<(bool, String), CredentialError> {
    let program = format!("docker-credential-{name}");
    let program = dir.map_or_else(|| program.clone().into(), |d| d.join(&program));
    let run_err = |source| CredentialError::RunHelper {
        helper: name.to_string(),
        action,
        source,
    };
    let mut child = tokio::process::Command::new(program)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(run_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).await.map_err(run_err)?;
    }
    let out = child.wait_with_output().await.map_err(run_err)?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), text))
}

fn not_found(output: &str) -> bool {
    output
        .to_ascii_lowercase()
        .contains("credentials not found")
}

/// `get`: the credentials the helper holds for `server`, if any.
pub async fn get(
    dir: Option<&Path>,
    name: &str,
    server: &str,
) -> Result<Option<Credentials>, CredentialError> {
    let (ok, out) = run(dir, name, "get", server.as_bytes()).await?;
    if !ok {
        if not_found(&out) {
            return Ok(None);
        }
        return Err(CredentialError::HelperFailed {
            helper: name.to_string(),
            action: "get",
            output: out.trim().to_string(),
        });
    }
    let answer: HelperAnswer =
        serde_json::from_str(out.trim()).map_err(|source| CredentialError::ParseHelperOutput {
            helper: name.to_string(),
            source,
        })?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(if answer.username == "<token>" {
        Credentials::IdentityToken(answer.secret)
    } else {
        Credentials::Basic {
            username: answer.username,
            password: answer.secret,
        }
    }))
}

/// `store`: hands `creds` for `server` to the helper.
pub async fn store(
    dir: Option<&Path>,
    name: &str,
    server: &str,
    creds: &Credentials,
) -> Result<(), CredentialError> {
    let (user, secret) = match creds {
        Credentials::Basic { username, password } => (username.as_str(), password.as_str()),
        Credentials::IdentityToken(t) => ("<token>", t.as_str()),
    };
    let input = serde_json::json!({ "ServerURL": server, "Username": user, "Secret": secret });
    let (ok, out) = run(dir, name, "store", input.to_string().as_bytes()).await?;
    if ok {
        Ok(())
    } else {
        Err(CredentialError::HelperFailed {
            helper: name.to_string(),
            action: "store",
            output: out.trim().to_string(),
        })
    }
}

/// `erase`: removes the helper's credentials for `server`; false when it had none.
pub async fn erase(dir: Option<&Path>, name: &str, server: &str) -> Result<bool, CredentialError> {
    let (ok, out) = run(dir, name, "erase", server.as_bytes()).await?;
    match (ok, not_found(&out)) {
        (true, _) => Ok(true),
        (false, true) => Ok(false),
        (false, false) => Err(CredentialError::HelperFailed {
            helper: name.to_string(),
            action: "erase",
            output: out.trim().to_string(),
        }),
    }
}
