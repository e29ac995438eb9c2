//! `cp` in both directions through `GET`/`PUT /containers/{id}/archive` with tar
//! archives, and `export`.
//!
//! Runs in the CLI process. Copy-out extracts the daemon's tar under the destination with
//! Docker's naming rules (into an existing directory, or renamed to a new path; a source
//! ending in `/.` copies the contents); entries that would escape the destination are
//! refused. Copy-in stats the destination first (`HEAD …/archive`), builds the tar on a
//! thread and streams it through a pipe with chunked encoding.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::thread;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Args;
use serde_json::Value;

use super::transfer::tar_output;
use crate::client::{enc, Client};
use crate::error::is_not_found;
use crate::format::units::human_size;

/// `cp` flags.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Suppress progress output during copy
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// SRC (CONTAINER:SRC_PATH, local path or -)
    pub src: String,
    /// DEST (CONTAINER:DEST_PATH, local path or -)
    pub dest: String,
}

/// `export` flags.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    /// CONTAINER
    pub container: String,
}

/// Docker's `splitCpArg`: `container:path`, or a local path.
pub fn split_cp_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.starts_with('.') && !c.is_empty() => (Some(c), p),
        _ => (None, arg),
    }
}

/// Go's `os.ModeDir` bit as the daemon reports it in the path stat.
const MODE_DIR: u64 = 1 << 31;

fn path_stat(head: &crate::client::http::Head) -> Option<Value> {
    let raw = head.header("x-docker-container-path-stat")?;
    serde_json::from_slice(&STANDARD.decode(raw).ok()?).ok()
}

/// `berth cp`.
pub fn cp(c: &Client, a: CpArgs) -> Result<()> {
    match (split_cp_arg(&a.src), split_cp_arg(&a.dest)) {
        ((Some(ct), src), (None, dest)) => copy_out(c, &a, ct, src, dest),
        ((None, src), (Some(ct), dest)) => copy_in(c, &a, src, ct, dest),
        ((Some(_), _), (Some(_), _)) => bail!("copying between containers is not supported"),
        _ => bail!("must specify at least one container source"),
    }
}

/// How extracted entry paths map onto the destination.
#[derive(Debug, PartialEq, Eq)]
enum Rename {
    /// Keep entry paths, extract under the destination directory.
    Keep,
    /// Drop the root component (copy the contents of a directory).
    StripRoot,
    /// Replace the root component with this name.
    Root(String),
}

/// Where to extract and how to rename, per Docker's rules.
fn out_plan(src: &str, dest: &Path) -> (PathBuf, Rename) {
    let contents = src.ends_with("/.");
    if dest.is_dir() {
        let r = if contents {
            Rename::StripRoot
        } else {
            Rename::Keep
        };
        return (dest.to_path_buf(), r);
    }
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (parent, Rename::Root(name))
}

/// The relative path an entry lands at, or None to skip; errors on escapes.
fn entry_target(path: &Path, rename: &Rename) -> Result<Option<PathBuf>> {
    let mut comps = Vec::new();
    // A source ending in `/.` comes back rooted at `.`: entries are already the contents.
    let dotted = path.components().next() == Some(Component::CurDir);
    for comp in path.components() {
        match comp {
            Component::Normal(p) => comps.push(p.to_os_string()),
            Component::CurDir => {}
            _ => bail!(
                "refusing to extract {}: path escapes the destination",
                path.display()
            ),
        }
    }
    if dotted {
        return Ok(match rename {
            Rename::Root(n) => Some(std::iter::once(n.into()).chain(comps).collect::<PathBuf>()),
            _ if comps.is_empty() => None,
            _ => Some(comps.iter().collect()),
        });
    }
    if comps.is_empty() {
        return Ok(None);
    }
    match rename {
        Rename::Keep => {}
        Rename::StripRoot => {
            comps.remove(0);
            if comps.is_empty() {
                return Ok(None);
            }
        }
        Rename::Root(n) => comps[0] = n.into(),
    }
    Ok(Some(comps.iter().collect()))
}

fn copy_out(c: &Client, a: &CpArgs, ct: &str, src: &str, dest: &str) -> Result<()> {
    let path = format!("/containers/{}/archive?path={}", enc(ct), enc(src));
    let resp = c.request("GET", &path, &[], None)?;
    if dest == "-" {
        let mut out = io::stdout().lock();
        io::copy(&mut { resp.body }, &mut out)?;
        return out.flush().map_err(Into::into);
    }
    let dest_path = Path::new(dest);
    if dest.ends_with('/') && !dest_path.is_dir() {
        bail!("destination directory \"{dest}\" must exist");
    }
    let (dir, rename) = out_plan(src, dest_path);
    let mut archive = tar::Archive::new(resp.body);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_overwrite(true);
    let mut total = 0u64;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let p = entry.path()?.into_owned();
        let Some(rel) = entry_target(&p, &rename)? else {
            continue;
        };
        total += entry.header().size().unwrap_or(0);
        let target = dir.join(&rel);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
        }
        if a.archive {
            entry.set_preserve_mtime(true);
        }
        entry
            .unpack(&target)
            .with_context(|| format!("extract {}", target.display()))?;
    }
    if !a.quiet {
        #[allow(clippy::cast_precision_loss, reason = "display only")]
        let t = total as f64;
        eprintln!("Successfully copied {} to {dest}", human_size(t));
    }
    Ok(())
}

/// Counts bytes read through it.
struct Counting<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

fn copy_in(c: &Client, a: &CpArgs, src: &str, ct: &str, dest: &str) -> Result<()> {
    let q = if a.archive { "&copyUIDGID=true" } else { "" };
    let base = format!("/containers/{}/archive", enc(ct));
    if src == "-" {
        let mut stdin = io::stdin().lock();
        let path = format!("{base}?path={}&noOverwriteDirNonDir=true{q}", enc(dest));
        return c
            .upload(
                "PUT",
                &path,
                &[("Content-Type", "application/x-tar")],
                &mut stdin,
            )?
            .discard();
    }
    let src_path = PathBuf::from(src);
    let meta = if a.follow_link {
        fs::metadata(&src_path)
    } else {
        fs::symlink_metadata(&src_path)
    }
    .with_context(|| format!("could not find the file {src} in the host"))?;
    let dest_stat = match c.request("HEAD", &format!("{base}?path={}", enc(dest)), &[], None) {
        Ok(r) => path_stat(&r.head),
        Err(e) if is_not_found(&e) => None,
        Err(e) => return Err(e),
    };
    let dest_is_dir = dest_stat
        .as_ref()
        .and_then(|s| s["mode"].as_u64())
        .is_some_and(|m| m & MODE_DIR != 0);
    let contents = src.ends_with("/.") && meta.is_dir();
    let (target_dir, root_name) = if dest_is_dir {
        let name = src_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| ".".into());
        (dest.to_string(), name)
    } else {
        if dest_stat.is_none() && dest.ends_with('/') {
            bail!("Error response from daemon: Could not find the file {dest} in container {ct}");
        }
        let p = Path::new(dest);
        let parent = p
            .parent()
            .map(|x| x.to_string_lossy().into_owned())
            .filter(|x| !x.is_empty())
            .unwrap_or_else(|| "/".into());
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (parent, name)
    };
    let (mut reader, writer) = io::pipe()?;
    let follow = a.follow_link;
    let builder = thread::spawn(move || -> io::Result<()> {
        let mut b = tar::Builder::new(writer);
        b.follow_symlinks(follow);
        if meta.is_dir() {
            let name = if contents { "." } else { root_name.as_str() };
            b.append_dir_all(name, &src_path)?;
        } else {
            b.append_path_with_name(&src_path, &root_name)?;
        }
        b.into_inner()?.flush()
    });
    let path = format!(
        "{base}?path={}&noOverwriteDirNonDir=true{q}",
        enc(&target_dir)
    );
    let mut counting = Counting {
        inner: &mut reader,
        n: 0,
    };
    let res = c.upload(
        "PUT",
        &path,
        &[("Content-Type", "application/x-tar")],
        &mut counting,
    );
    let total = counting.n;
    drop(reader);
    let built = builder
        .join()
        .map_err(|_| anyhow::anyhow!("tar builder panicked"))?;
    res?.discard()?;
    built.with_context(|| format!("archive {src}"))?;
    if !a.quiet {
        #[allow(clippy::cast_precision_loss, reason = "display only")]
        let t = total as f64;
        eprintln!("Successfully copied {} to {ct}:{dest}", human_size(t));
    }
    Ok(())
}

/// `berth export`.
pub fn export(c: &Client, a: ExportArgs) -> Result<()> {
    let mut out = tar_output(a.output.as_deref(), "export container")?;
    let mut resp = c.request(
        "GET",
        &format!("/containers/{}/export", enc(&a.container)),
        &[],
        None,
    )?;
    io::copy(&mut resp.body, &mut out)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_args() {
        assert_eq!(split_cp_arg("web:/etc/hosts"), (Some("web"), "/etc/hosts"));
        assert_eq!(split_cp_arg("/tmp/a:b"), (None, "/tmp/a:b"));
        assert_eq!(split_cp_arg("./a:b"), (None, "./a:b"));
        assert_eq!(split_cp_arg("file"), (None, "file"));
        assert_eq!(split_cp_arg("-"), (None, "-"));
    }

    #[test]
    fn entry_targets() {
        let t = |p: &str, r: &Rename| entry_target(Path::new(p), r).unwrap();
        assert_eq!(
            t("etc/hosts", &Rename::Keep),
            Some(PathBuf::from("etc/hosts"))
        );
        assert_eq!(
            t("etc/hosts", &Rename::Root("x".into())),
            Some(PathBuf::from("x/hosts"))
        );
        assert_eq!(t("etc", &Rename::StripRoot), None);
        assert_eq!(t("etc/a/b", &Rename::StripRoot), Some(PathBuf::from("a/b")));
        assert_eq!(t("./a/b", &Rename::StripRoot), Some(PathBuf::from("a/b")));
        assert_eq!(
            t("./a", &Rename::Root("n".into())),
            Some(PathBuf::from("n/a"))
        );
        assert_eq!(t("./", &Rename::Root("n".into())), Some(PathBuf::from("n")));
        assert!(entry_target(Path::new("../evil"), &Rename::Keep).is_err());
        assert!(entry_target(Path::new("/abs"), &Rename::Keep).is_err());
    }

    #[test]
    fn plans() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            out_plan("/etc", d.path()),
            (d.path().to_path_buf(), Rename::Keep)
        );
        assert_eq!(
            out_plan("/etc/.", d.path()),
            (d.path().to_path_buf(), Rename::StripRoot)
        );
        let new = d.path().join("new");
        assert_eq!(
            out_plan("/etc/hosts", &new),
            (d.path().to_path_buf(), Rename::Root("new".into()))
        );
    }
}
