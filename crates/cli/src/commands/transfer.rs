//! Moving images in and out: `pull`, `push` (registry, with progress), `save` (tar out),
//! `load` and `import` (tar in, uploaded with chunked encoding).
//!
//! Runs in the CLI process. Archives are streamed, never held in memory; `save` and
//! `export` refuse to write a tar to a terminal, like Docker.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};

use anyhow::{bail, Context, Result};
use clap::Args;

use super::auth::registry_auth;
use super::progress;
use crate::client::{enc, query, Client};
use crate::opts::reference::Reference;

/// `pull` flags.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Download all tagged images in the repository
    #[arg(short = 'a', long)]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// NAME[:TAG|@DIGEST]
    pub name: String,
}

/// `push` flags.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Push all tags of an image to the repository
    #[arg(short = 'a', long)]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// NAME[:TAG]
    pub name: String,
}

/// `save` flags.
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    /// IMAGE...
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// `load` flags.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long)]
    pub input: Option<String>,
    /// Suppress the load output
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// `import` flags.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long)]
    pub change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short = 'm', long)]
    pub message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long)]
    pub platform: Option<String>,
    /// file|URL|- to import
    pub source: String,
    /// REPOSITORY[:TAG]
    pub repository: Option<String>,
}

/// Pulls `r`, rendering progress to `out`; `quiet` hides the progress.
pub fn pull_image(
    c: &Client,
    r: &Reference,
    platform: Option<&str>,
    out: &mut dyn Write,
    quiet: bool,
) -> Result<()> {
    let mut q = vec![("fromImage", r.full_name())];
    match (&r.digest, r.tag_or_latest()) {
        (Some(d), _) => q.push(("tag", d.clone())),
        (None, Some(t)) => q.push(("tag", t)),
        (None, None) => {}
    }
    if let Some(p) = platform {
        q.push(("platform", p.to_string()));
    }
    let auth = registry_auth(&r.auth_key());
    let resp = c.request(
        "POST",
        &format!("/images/create{}", query(&q)),
        &[("X-Registry-Auth", &auth)],
        None,
    )?;
    if quiet {
        return progress::render(resp.body, &mut io::sink(), false);
    }
    let tty = io::stderr().is_terminal() && io::stdout().is_terminal();
    progress::render(resp.body, out, tty)
}

/// `berth pull`.
pub fn pull(c: &Client, a: PullArgs) -> Result<()> {
    let mut r = Reference::parse(&a.name);
    if a.all_tags {
        if r.tag.is_some() || r.digest.is_some() {
            bail!("tag can't be used with --all-tags/-a");
        }
        r.tag = None;
    } else if r.tag.is_none() && r.digest.is_none() {
        println!("Using default tag: latest");
    }
    let mut stdout = io::stdout();
    pull_image(c, &r, a.platform.as_deref(), &mut stdout, a.quiet)?;
    println!("{}", if a.all_tags { r.full_name() } else { r.full() });
    Ok(())
}

/// `berth push`.
pub fn push(c: &Client, a: PushArgs) -> Result<()> {
    let r = Reference::parse(&a.name);
    let mut q = Vec::new();
    if !a.all_tags {
        if let Some(t) = r.tag_or_latest() {
            q.push(("tag", t));
        }
    }
    let name = if r.domain == "docker.io" {
        r.familiar_name()
    } else {
        r.full_name()
    };
    let auth = registry_auth(&r.auth_key());
    let resp = c.request(
        "POST",
        &format!("/images/{name}/push{}", query(&q)),
        &[("X-Registry-Auth", &auth)],
        None,
    )?;
    if a.quiet {
        progress::render(resp.body, &mut io::sink(), false)?;
        println!("{}", r.full());
        return Ok(());
    }
    let tty = io::stdout().is_terminal();
    progress::render(resp.body, &mut io::stdout(), tty)
}

/// Where a tar goes: `-o FILE` or stdout (never a terminal).
pub fn tar_output(output: Option<&str>, what: &str) -> Result<Box<dyn Write>> {
    match output {
        Some(p) if p != "-" => Ok(Box::new(
            File::create(p).with_context(|| format!("failed to {what}: open {p}"))?,
        )),
        _ => {
            if io::stdout().is_terminal() {
                bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
            }
            Ok(Box::new(io::stdout().lock()))
        }
    }
}

/// `berth save`.
pub fn save(c: &Client, a: SaveArgs) -> Result<()> {
    let mut out = tar_output(a.output.as_deref(), "save image")?;
    let q: Vec<(&str, String)> = a.images.iter().map(|i| ("names", i.clone())).collect();
    let mut resp = c.request("GET", &format!("/images/get{}", query(&q)), &[], None)?;
    io::copy(&mut resp.body, &mut out)?;
    out.flush()?;
    Ok(())
}

/// A tar input: a file, or stdin (never a terminal).
fn tar_input(input: Option<&str>) -> Result<Box<dyn Read>> {
    match input {
        Some(p) if p != "-" => Ok(Box::new(
            File::open(p).with_context(|| format!("open {p}"))?,
        )),
        _ => {
            if io::stdin().is_terminal() {
                bail!("requested load from stdin, but stdin is empty");
            }
            Ok(Box::new(io::stdin().lock()))
        }
    }
}

/// `berth load`.
pub fn load(c: &Client, a: LoadArgs) -> Result<()> {
    let mut input = tar_input(a.input.as_deref())?;
    let path = format!("/images/load?quiet={}", u8::from(a.quiet));
    let resp = c.upload(
        "POST",
        &path,
        &[("Content-Type", "application/x-tar")],
        &mut input,
    )?;
    let json = resp
        .head
        .header("content-type")
        .is_some_and(|t| t.contains("json"));
    if json {
        progress::render(
            resp.body,
            &mut io::stdout(),
            !a.quiet && io::stdout().is_terminal(),
        )
    } else {
        io::copy(&mut { resp.body }, &mut io::stdout())?;
        Ok(())
    }
}

/// `berth import`.
pub fn import(c: &Client, a: ImportArgs) -> Result<()> {
    let mut q = Vec::new();
    let url_source = a.source.contains("://");
    q.push((
        "fromSrc",
        if url_source {
            a.source.clone()
        } else {
            "-".into()
        },
    ));
    if let Some(repo) = &a.repository {
        let r = Reference::parse(repo);
        q.push(("repo", r.familiar_name()));
        if let Some(t) = &r.tag {
            q.push(("tag", t.clone()));
        }
    }
    if let Some(m) = &a.message {
        q.push(("message", m.clone()));
    }
    if let Some(p) = &a.platform {
        q.push(("platform", p.clone()));
    }
    for ch in &a.change {
        q.push(("changes", ch.clone()));
    }
    let path = format!("/images/create{}", query(&q));
    let resp = if url_source {
        c.request("POST", &path, &[], None)?
    } else {
        let mut input = tar_input(Some(&a.source))?;
        c.upload(
            "POST",
            &path,
            &[("Content-Type", "application/x-tar")],
            &mut input,
        )?
    };
    let mut last = String::new();
    crate::client::json_lines(resp.body, |m| {
        if let Some(e) = m.get("error").and_then(|e| e.as_str()) {
            bail!("{e}");
        }
        if let Some(s) = m.get("status").and_then(|s| s.as_str()) {
            last = s.to_string();
        }
        Ok(true)
    })?;
    println!("{last}");
    Ok(())
}

/// Percent-encodes an image name for a path segment (slashes kept).
pub fn enc_name(name: &str) -> String {
    name.split('/').map(enc).collect::<Vec<_>>().join("/")
}
