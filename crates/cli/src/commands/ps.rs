//! `ps` / `container ls`: list containers with Docker's columns, `-q`, `--format`.
//!
//! Runs in the CLI process. Each container becomes a row object with Docker's
//! formatter field names (`ID`, `Image`, `Command`, `CreatedAt`, `RunningFor`, `Ports`,
//! `State`, `Status`, `Size`, `Names`, `Labels`, `Mounts`, `Networks`) so user templates
//! written for Docker work unchanged.

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use crate::client::{query, Client};
use crate::format::ports::displayable_ports;
use crate::format::units::{ago, go_time_string, human_size_prec};
use crate::format::{ellipsis, render_list, short_id};
use crate::opts::values::filters_json;

/// `ps` flags.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long)]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long)]
    pub format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long, default_value_t = -1, allow_hyphen_values = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
}

const HEADERS: [(&str, &str); 14] = [
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("CreatedAt", "CREATED AT"),
    ("RunningFor", "CREATED"),
    ("Ports", "PORTS"),
    ("State", "STATE"),
    ("Status", "STATUS"),
    ("Size", "SIZE"),
    ("Names", "NAMES"),
    ("Labels", "LABELS"),
    ("Mounts", "MOUNTS"),
    ("Networks", "NETWORKS"),
    ("LocalVolumes", "LOCAL VOLUMES"),
];

/// One `GET /containers/json` entry as a Docker formatter row.
pub fn row(c: &Value, trunc: bool) -> Value {
    let id = c["Id"].as_str().unwrap_or_default();
    let mut names: Vec<String> = c["Names"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|n| n.trim_start_matches('/').to_string())
                .collect()
        })
        .unwrap_or_default();
    if trunc {
        names.retain(|n| !n.contains('/'));
    }
    let mut image = c["Image"].as_str().unwrap_or_default().to_string();
    if trunc {
        if let Some((name, _)) = image.split_once('@') {
            image = name.to_string();
        }
        if image.starts_with("sha256:") {
            image = short_id(&image);
        }
    }
    let command = c["Command"].as_str().unwrap_or_default();
    let command = if trunc {
        ellipsis(command, 20)
    } else {
        command.to_string()
    };
    let created = c["Created"].as_i64().unwrap_or(0);
    let mut labels: Vec<String> = c["Labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    let mounts: Vec<String> = c["Mounts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| {
                    let name = m["Name"]
                        .as_str()
                        .filter(|n| !n.is_empty())
                        .or(m["Source"].as_str())
                        .unwrap_or("");
                    if trunc {
                        ellipsis(name, 15)
                    } else {
                        name.to_string()
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let mut networks: Vec<String> = c["NetworkSettings"]["Networks"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    networks.sort();
    let size = match (c["SizeRw"].as_i64(), c["SizeRootFs"].as_i64()) {
        (None, None) => String::new(),
        (rw, root) => {
            #[allow(clippy::cast_precision_loss, reason = "display only")]
            let f = |n: Option<i64>| human_size_prec(n.unwrap_or(0) as f64, 3);
            format!("{} (virtual {})", f(rw), f(root))
        }
    };
    let local_volumes = c["Mounts"].as_array().map_or(0, |a| {
        a.iter()
            .filter(|m| m["Driver"].as_str() == Some("local"))
            .count()
    });
    json!({
        "ID": if trunc { short_id(id) } else { id.to_string() },
        "Image": image,
        "Command": serde_json::to_string(&command).unwrap_or_default(),
        "CreatedAt": go_time_string(created),
        "RunningFor": ago(created),
        "Ports": displayable_ports(c["Ports"].as_array().map_or(&[][..], Vec::as_slice)),
        "State": c["State"].as_str().unwrap_or_default(),
        "Status": c["Status"].as_str().unwrap_or_default(),
        "Size": size,
        "Names": names.join(","),
        "Labels": labels.join(","),
        "Mounts": mounts.join(","),
        "Networks": networks.join(","),
        "LocalVolumes": local_volumes.to_string(),
    })
}

/// The default `ps` table written directly: the same columns the default template
/// gives, without building a template row per container (`ps` with 1000 containers
/// spent most of its time there).
fn default_table(list: &[Value], trunc: bool) -> String {
    let mut text = String::from("CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES");
    for c in list {
        let r = row(c, trunc);
        let col = |k: &str| r[k].as_str().unwrap_or_default().to_string();
        text.push('\n');
        text.push_str(
            &[
                col("ID"),
                col("Image"),
                col("Command"),
                col("RunningFor"),
                col("Status"),
                col("Ports"),
                col("Names"),
            ]
            .join("\t"),
        );
    }
    let mut out = crate::format::table::docker_table(&text);
    out.push('\n');
    out
}

/// The fields of a `GET /containers/json` entry the default table shows.
#[derive(serde::Deserialize)]
struct SlimEntry {
    #[serde(rename = "Id", default)]
    id: String,
    #[serde(rename = "Names", default)]
    names: Value,
    #[serde(rename = "Image", default)]
    image: String,
    #[serde(rename = "Command", default)]
    command: String,
    #[serde(rename = "Created", default)]
    created: i64,
    #[serde(rename = "State", default)]
    state: String,
    #[serde(rename = "Status", default)]
    status: String,
    #[serde(rename = "Ports", default)]
    ports: Value,
}

impl SlimEntry {
    fn into_value(self) -> Value {
        json!({
            "Id": self.id,
            "Names": self.names,
            "Image": self.image,
            "Command": self.command,
            "Created": self.created,
            "State": self.state,
            "Status": self.status,
            "Ports": self.ports,
        })
    }
}

/// `berth ps`.
pub fn ps(c: &Client, a: PsArgs) -> Result<()> {
    let limit = if a.latest { 1 } else { a.last };
    let mut q = vec![];
    if a.all {
        q.push(("all", "1".to_string()));
    }
    if limit > 0 {
        q.push(("limit", limit.to_string()));
    }
    let wants_size = a.size || a.format.as_deref().is_some_and(|f| f.contains(".Size"));
    if wants_size {
        q.push(("size", "1".to_string()));
    }
    if let Some(f) = filters_json(&a.filter)? {
        q.push(("filters", f));
    }
    let path = format!("/containers/json{}", query(&q));
    if a.format.is_none() && !a.size && !a.quiet {
        // Only the default columns: parse just their fields (serde skips the rest,
        // notably NetworkSettings, without building maps).
        let slim: Vec<SlimEntry> = c.get_json(&path)?;
        let list: Vec<Value> = slim.into_iter().map(SlimEntry::into_value).collect();
        print!("{}", default_table(&list, !a.no_trunc));
        return Ok(());
    }
    let list: Vec<Value> = c.get_json(&path)?;
    if a.quiet {
        for ct in &list {
            let id = ct["Id"].as_str().unwrap_or_default();
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
    let rows: Vec<Value> = list.iter().map(|ct| row(ct, !a.no_trunc)).collect();
    let mut default = String::from(
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
    );
    if a.size {
        default.push_str("\t{{.Size}}");
    }
    print!(
        "{}",
        render_list(a.format.as_deref(), &default, &HEADERS, &rows)?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_like_docker() {
        let c = json!({
            "Id": "0123456789abcdef0123", "Names": ["/web", "/other/link"], "Image": "busybox",
            "Command": "sh -c 'sleep 1000; echo done'", "Created": 0, "State": "running",
            "Status": "Up 2 minutes",
            "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                      {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                      {"PrivatePort": 443, "Type": "tcp"}],
            "Labels": {"b": "2", "a": "1"},
            "NetworkSettings": {"Networks": {"zeta": {}, "alpha": {}}}
        });
        let r = row(&c, true);
        assert_eq!(r["ID"], "0123456789ab");
        assert_eq!(r["Names"], "web");
        assert_eq!(r["Command"], "\"sh -c 'sleep 1000; …\"");
        assert_eq!(
            r["Ports"],
            "443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"
        );
        assert_eq!(r["Labels"], "a=1,b=2");
        assert_eq!(r["Networks"], "alpha,zeta");
        assert_eq!(r["Size"], "");
        let r = row(&c, false);
        assert_eq!(r["Names"], "web,other/link");
    }
}
