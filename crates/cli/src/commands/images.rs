//! Image listing and bookkeeping: `images`, `tag`, `rmi`, `history`, `image prune`.
//!
//! Runs in the CLI process. `images` prints one row per repository tag (`<none>` for
//! untagged images), Docker's columns and `--format` fields (`ID`, `Repository`, `Tag`,
//! `Digest`, `CreatedSince`, `CreatedAt`, `Size`, `Containers`).

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use super::for_each;
use super::lifecycle::{confirm, prune_request};
use super::transfer::enc_name;
use crate::client::{query, Client};
use crate::format::units::{ago, go_time_string, human_size, human_size_prec};
use crate::format::{ellipsis, render_list, short_id};
use crate::opts::reference::Reference;
use crate::opts::values::filters_json;

/// `images` flags.
#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long)]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// REPOSITORY[:TAG]
    pub reference: Option<String>,
}

/// `tag` arguments.
#[derive(Debug, Args)]
pub struct TagArgs {
    /// SOURCE_IMAGE[:TAG]
    pub source: String,
    /// TARGET_IMAGE[:TAG]
    pub target: String,
}

/// `rmi` flags.
#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    pub no_prune: bool,
    /// IMAGE...
    #[arg(required = true)]
    pub images: Vec<String>,
}

/// `history` flags.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set)]
    pub human: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// IMAGE
    pub image: String,
}

/// `image prune` flags.
#[derive(Debug, Args)]
pub struct ImagePruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long)]
    pub filter: Vec<String>,
}

const HEADERS: [(&str, &str); 8] = [
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("Containers", "CONTAINERS"),
];

#[allow(clippy::cast_precision_loss, reason = "display only")]
fn image_rows(img: &Value, trunc: bool) -> Vec<Value> {
    let id = img["Id"].as_str().unwrap_or_default();
    let created = img["Created"].as_i64().unwrap_or(0);
    let digests: Vec<&str> = img["RepoDigests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let tags: Vec<&str> = img["RepoTags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|t| *t != "<none>:<none>")
        .collect();
    let base = |repo: &str, tag: &str, digest: &str| {
        json!({
            "ID": if trunc { short_id(id) } else { id.to_string() },
            "Repository": repo,
            "Tag": tag,
            "Digest": digest,
            "CreatedSince": ago(created),
            "CreatedAt": go_time_string(created),
            "Size": human_size_prec(img["Size"].as_i64().unwrap_or(0) as f64, 3),
            "Containers": img["Containers"].as_i64().map_or("N/A".to_string(), |n| if n < 0 { "N/A".into() } else { n.to_string() }),
        })
    };
    let digest_for = |repo: &str| {
        digests
            .iter()
            .find_map(|d| {
                d.split_once('@')
                    .filter(|(r, _)| *r == repo)
                    .map(|(_, d)| d)
            })
            .unwrap_or("<none>")
            .to_string()
    };
    if tags.is_empty() {
        let (repo, digest) = match digests.first().and_then(|d| d.split_once('@')) {
            Some((r, d)) => (r, d),
            None => ("<none>", "<none>"),
        };
        return vec![base(repo, "<none>", digest)];
    }
    tags.iter()
        .map(|t| {
            let (repo, tag) = match t.rfind(':') {
                Some(i) if !t[i + 1..].contains('/') => (&t[..i], &t[i + 1..]),
                _ => (*t, "<none>"),
            };
            base(repo, tag, &digest_for(repo))
        })
        .collect()
}

/// `berth images`.
pub fn images(c: &Client, a: ImagesArgs) -> Result<()> {
    let mut filters = a.filter.clone();
    if let Some(r) = &a.reference {
        filters.push(format!("reference={r}"));
    }
    let mut q = Vec::new();
    if a.all {
        q.push(("all", "1".to_string()));
    }
    if let Some(f) = filters_json(&filters)? {
        q.push(("filters", f));
    }
    let mut list: Vec<Value> = c.get_json(&format!("/images/json{}", query(&q)))?;
    list.sort_by_key(|i| std::cmp::Reverse(i["Created"].as_i64().unwrap_or(0)));
    if a.quiet {
        let mut seen = std::collections::HashSet::new();
        for img in &list {
            let id = img["Id"].as_str().unwrap_or_default();
            let id = if a.no_trunc {
                id.to_string()
            } else {
                short_id(id)
            };
            if seen.insert(id.clone()) {
                println!("{id}");
            }
        }
        return Ok(());
    }
    let rows: Vec<Value> = list
        .iter()
        .flat_map(|i| image_rows(i, !a.no_trunc))
        .collect();
    let default = if a.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    };
    print!(
        "{}",
        render_list(a.format.as_deref(), default, &HEADERS, &rows)?
    );
    Ok(())
}

/// `berth tag`.
pub fn tag(c: &Client, a: TagArgs) -> Result<()> {
    let r = Reference::parse(&a.target);
    let mut q = vec![("repo", r.familiar_name())];
    if let Some(t) = r.tag_or_latest() {
        q.push(("tag", t));
    }
    c.request(
        "POST",
        &format!("/images/{}/tag{}", enc_name(&a.source), query(&q)),
        &[],
        None,
    )?
    .discard()
}

/// `berth rmi`.
pub fn rmi(c: &Client, a: RmiArgs) -> Result<()> {
    let q = format!(
        "?force={}&noprune={}",
        u8::from(a.force),
        u8::from(a.no_prune)
    );
    for_each(&a.images, |img| {
        let v: Value = c
            .request(
                "DELETE",
                &format!("/images/{}{q}", enc_name(img)),
                &[],
                None,
            )?
            .json()?;
        for item in v.as_array().into_iter().flatten() {
            if let Some(t) = item["Untagged"].as_str() {
                println!("Untagged: {t}");
            }
            if let Some(d) = item["Deleted"].as_str() {
                println!("Deleted: {d}");
            }
        }
        Ok(())
    })
}

/// `berth history`.
pub fn history(c: &Client, a: HistoryArgs) -> Result<()> {
    let list: Vec<Value> = c.get_json(&format!("/images/{}/history", enc_name(&a.image)))?;
    if a.quiet {
        for h in &list {
            let id = h["Id"].as_str().unwrap_or_default();
            println!(
                "{}",
                if a.no_trunc {
                    id.to_string()
                } else {
                    short_id(id)
                }
            );
        }
        return Ok(());
    }
    let rows: Vec<Value> = list
        .iter()
        .map(|h| {
            let id = h["Id"].as_str().unwrap_or_default();
            let id = if id.starts_with("sha256:") && !a.no_trunc {
                short_id(id)
            } else {
                id.to_string()
            };
            let created = h["Created"].as_i64().unwrap_or(0);
            let by = h["CreatedBy"].as_str().unwrap_or_default();
            let by = if a.no_trunc {
                by.to_string()
            } else {
                ellipsis(by, 45)
            };
            let size = h["Size"].as_i64().unwrap_or(0);
            #[allow(clippy::cast_precision_loss, reason = "display only")]
            let size = if a.human {
                human_size_prec(size as f64, 3)
            } else {
                size.to_string()
            };
            json!({
                "ID": id,
                "CreatedSince": if a.human { ago(created) } else { go_time_string(created) },
                "CreatedAt": go_time_string(created),
                "CreatedBy": by,
                "Size": size,
                "Comment": h["Comment"].as_str().unwrap_or_default(),
            })
        })
        .collect();
    let headers = [
        ("ID", "IMAGE"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"),
        ("Comment", "COMMENT"),
    ];
    let default = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
    print!(
        "{}",
        render_list(a.format.as_deref(), default, &headers, &rows)?
    );
    Ok(())
}

/// `berth image prune`.
pub fn prune(c: &Client, a: ImagePruneArgs) -> Result<()> {
    let warning = if a.all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !a.force && !confirm(warning)? {
        return Ok(());
    }
    let mut filters = a.filter.clone();
    filters.push(format!("dangling={}", !a.all));
    let space = prune_request(
        c,
        "/images/prune",
        &filters,
        "ImagesDeleted",
        "Deleted Images",
    )?;
    #[allow(clippy::cast_precision_loss, reason = "display only")]
    let space = space as f64;
    println!("Total reclaimed space: {}", human_size(space));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_per_tag() {
        let img = json!({"Id": "sha256:0123456789abcdef", "RepoTags": ["busybox:latest", "localhost:5000/bb:v1"],
                         "RepoDigests": ["busybox@sha256:d"], "Created": 0, "Size": 4_261_550});
        let rows = image_rows(&img, true);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0]["Repository"].as_str(), rows[0]["Tag"].as_str()),
            (Some("busybox"), Some("latest"))
        );
        assert_eq!(rows[0]["Digest"], "sha256:d");
        assert_eq!(rows[1]["Repository"], "localhost:5000/bb");
        assert_eq!(rows[0]["Size"], "4.26MB");
        assert_eq!(rows[0]["ID"], "0123456789ab");
        let dangling = json!({"Id": "sha256:ff", "RepoTags": null, "Created": 0, "Size": 0});
        assert_eq!(image_rows(&dangling, true)[0]["Repository"], "<none>");
    }
}
