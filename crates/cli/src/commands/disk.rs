//! Disk usage and cleanup: `system df` and `system prune`.
//!
//! Runs in the CLI process. `df` summarizes `GET /system/df` in Docker's four rows;
//! `prune` asks for confirmation (unless `-f`) and then prunes containers, networks,
//! optionally volumes, images and build cache, printing what went and the space freed.

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use super::lifecycle::{confirm, prune_request};
use crate::client::Client;
use crate::format::render_list;
use crate::format::units::human_size;

/// `system df` flags.
#[derive(Debug, Args)]
pub struct DfArgs {
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// Show detailed information on space usage
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// `system prune` flags.
#[derive(Debug, Args)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    pub volumes: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long)]
    pub filter: Vec<String>,
}

#[allow(clippy::cast_precision_loss, reason = "display only")]
fn size_cell(n: i64) -> String {
    human_size_prec3(n as f64)
}

fn human_size_prec3(n: f64) -> String {
    crate::format::units::human_size_prec(n, 3)
}

/// `berth system df`.
pub fn df(c: &Client, a: DfArgs) -> Result<()> {
    let v: Value = c.get_json("/system/df")?;
    let arr = |k: &str| v[k].as_array().cloned().unwrap_or_default();
    let images = arr("Images");
    let containers = arr("Containers");
    let volumes = arr("Volumes");
    let cache = arr("BuildCache");
    let sum =
        |items: &[Value], f: &dyn Fn(&Value) -> Option<i64>, pred: &dyn Fn(&Value) -> bool| {
            items.iter().filter(|i| pred(i)).filter_map(f).sum::<i64>()
        };
    let pct = |r: i64, t: i64| {
        if t > 0 {
            format!(" ({}%)", r * 100 / t)
        } else {
            String::new()
        }
    };
    let img_size = v["LayersSize"]
        .as_i64()
        .unwrap_or_else(|| sum(&images, &|i| i["Size"].as_i64(), &|_| true));
    let img_unused = sum(&images, &|i| i["Size"].as_i64(), &|i| {
        i["Containers"].as_i64().unwrap_or(0) <= 0
    })
    .min(img_size);
    let ct_size = sum(&containers, &|i| i["SizeRw"].as_i64(), &|_| true);
    let ct_idle = sum(&containers, &|i| i["SizeRw"].as_i64(), &|i| {
        i["State"] != "running"
    });
    let vol_size = sum(
        &volumes,
        &|i| i["UsageData"]["Size"].as_i64().filter(|n| *n > 0),
        &|_| true,
    );
    let vol_idle = sum(
        &volumes,
        &|i| i["UsageData"]["Size"].as_i64().filter(|n| *n > 0),
        &|i| i["UsageData"]["RefCount"].as_i64().unwrap_or(0) == 0,
    );
    let bc_size = sum(&cache, &|i| i["Size"].as_i64(), &|_| true);
    let bc_idle = sum(&cache, &|i| i["Size"].as_i64(), &|i| {
        !i["InUse"].as_bool().unwrap_or(false)
    });
    let row = |t: &str, total: usize, active: usize, size: i64, rec: i64, with_pct: bool| {
        json!({"Type": t, "TotalCount": total.to_string(), "Active": active.to_string(),
               "Size": size_cell(size), "Reclaimable": format!("{}{}", size_cell(rec), if with_pct { pct(rec, size) } else { String::new() })})
    };
    let rows = vec![
        row(
            "Images",
            images.len(),
            images
                .iter()
                .filter(|i| i["Containers"].as_i64().unwrap_or(0) > 0)
                .count(),
            img_size,
            img_unused,
            true,
        ),
        row(
            "Containers",
            containers.len(),
            containers
                .iter()
                .filter(|i| i["State"] == "running")
                .count(),
            ct_size,
            ct_idle,
            true,
        ),
        row(
            "Local Volumes",
            volumes.len(),
            volumes
                .iter()
                .filter(|i| i["UsageData"]["RefCount"].as_i64().unwrap_or(0) > 0)
                .count(),
            vol_size,
            vol_idle,
            true,
        ),
        row(
            "Build Cache",
            cache.len(),
            cache
                .iter()
                .filter(|i| i["InUse"].as_bool().unwrap_or(false))
                .count(),
            bc_size,
            bc_idle,
            false,
        ),
    ];
    let headers = [
        ("Type", "TYPE"),
        ("TotalCount", "TOTAL"),
        ("Active", "ACTIVE"),
        ("Size", "SIZE"),
        ("Reclaimable", "RECLAIMABLE"),
    ];
    let default = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
    let _ = a.verbose;
    print!(
        "{}",
        render_list(a.format.as_deref(), default, &headers, &rows)?
    );
    Ok(())
}

/// `berth system prune`.
pub fn prune(c: &Client, a: SystemPruneArgs) -> Result<()> {
    let mut warning = String::from("WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n");
    if a.volumes {
        warning.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    warning.push_str(if a.all {
        "  - all images without at least one container associated to them\n  - all build cache\n"
    } else {
        "  - all dangling images\n  - unused build cache\n"
    });
    if !a.force && !confirm(&warning)? {
        return Ok(());
    }
    let mut space = prune_request(
        c,
        "/containers/prune",
        &a.filter,
        "ContainersDeleted",
        "Deleted Containers",
    )?;
    prune_request(
        c,
        "/networks/prune",
        &a.filter,
        "NetworksDeleted",
        "Deleted Networks",
    )?;
    if a.volumes {
        space += prune_request(
            c,
            "/volumes/prune",
            &a.filter,
            "VolumesDeleted",
            "Deleted Volumes",
        )?;
    }
    let mut img_filters = a.filter.clone();
    img_filters.push(format!("dangling={}", !a.all));
    space += prune_request(
        c,
        "/images/prune",
        &img_filters,
        "ImagesDeleted",
        "Deleted Images",
    )?;
    let q = if a.all { "?all=1" } else { "" };
    if let Ok(r) = c.request("POST", &format!("/build/prune{q}"), &[], None) {
        if let Ok(v) = r.json::<Value>() {
            space += v["SpaceReclaimed"].as_u64().unwrap_or(0);
        }
    }
    #[allow(clippy::cast_precision_loss, reason = "display only")]
    let space = space as f64;
    println!("Total reclaimed space: {}", human_size(space));
    Ok(())
}
