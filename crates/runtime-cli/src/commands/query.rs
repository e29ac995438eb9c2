//! The read-only verbs `state` and `list`, printed in runc's formats.
//!
//! Runs in the CLI process; reads state records through the library (which refreshes
//! each status from the live system) and owns nothing. Output shapes follow runc 1.1:
//! `state` is 2-space-indented JSON, `list` a tabwriter table, ids, or a JSON array.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;
use berth_runtime::{ContainerState, Status};
use serde::Serialize;

use super::table::format_table;
use super::Ctx;
use crate::args::{Format, ListArgs};

/// runc's `containerState`: what `state` and `list --format json` print.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StateView<'a> {
    oci_version: &'a str,
    id: &'a str,
    /// 0 once the container has stopped, as runc reports it.
    pid: i32,
    status: Status,
    bundle: &'a Path,
    rootfs: &'a Path,
    created: &'a str,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    annotations: &'a HashMap<String, String>,
    owner: &'a str,
}

impl<'a> From<&'a ContainerState> for StateView<'a> {
    fn from(st: &'a ContainerState) -> Self {
        StateView {
            oci_version: &st.oci_version,
            id: &st.id,
            pid: if st.status == Status::Stopped {
                0
            } else {
                st.pid
            },
            status: st.status,
            bundle: &st.bundle,
            rootfs: &st.rootfs,
            created: &st.created,
            annotations: &st.annotations,
            owner: &st.owner,
        }
    }
}

/// `state ID`.
pub fn state(ctx: &Ctx<'_>, id: &str) -> Result<()> {
    let st = ctx.rt.load(id)?;
    println!("{}", state_json(&st)?);
    Ok(())
}

fn state_json(st: &ContainerState) -> Result<String> {
    Ok(serde_json::to_string_pretty(&StateView::from(st))?)
}

/// `list`.
pub fn list(ctx: &Ctx<'_>, args: &ListArgs) -> Result<()> {
    let all = ctx.rt.list()?;
    if args.quiet {
        for st in &all {
            println!("{}", st.id);
        }
        return Ok(());
    }
    match args.format {
        Format::Table => print!("{}", list_table(&all)),
        Format::Json => {
            let views: Vec<StateView<'_>> = all.iter().map(StateView::from).collect();
            println!("{}", serde_json::to_string(&views)?);
        }
    }
    Ok(())
}

fn list_table(all: &[ContainerState]) -> String {
    let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"];
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    rows.extend(all.iter().map(|st| {
        let view = StateView::from(st);
        vec![
            view.id.to_string(),
            view.pid.to_string(),
            view.status.to_string(),
            view.bundle.display().to_string(),
            view.created.to_string(),
            view.owner.to_string(),
        ]
    }));
    format_table(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str, status: Status) -> ContainerState {
        ContainerState {
            oci_version: "1.0.2-dev".into(),
            id: id.into(),
            status,
            pid: 4242,
            bundle: format!("/run/b/{id}").into(),
            rootfs: format!("/run/b/{id}/rootfs").into(),
            annotations: HashMap::from([("a".to_string(), "b".to_string())]),
            created: "2026-11-28T01:54:52.04364519Z".into(),
            owner: "root".into(),
            init_start_time: 1,
            cgroup_path: "/berth/x".into(),
        }
    }

    #[test]
    fn state_is_runc_shaped() {
        let text = state_json(&sample("web", Status::Running)).unwrap();
        assert!(text.starts_with("{\n  \"ociVersion\": \"1.0.2-dev\",\n  \"id\": \"web\",\n"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = vec![
            "ociVersion",
            "id",
            "pid",
            "status",
            "bundle",
            "rootfs",
            "created",
            "annotations",
            "owner",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(v["pid"], 4242);
        assert_eq!(v["status"], "running");
        assert_eq!(v["annotations"]["a"], "b");
    }

    #[test]
    fn stopped_reports_pid_zero_and_skips_empty_annotations() {
        let mut st = sample("old", Status::Stopped);
        st.annotations.clear();
        let v: serde_json::Value = serde_json::from_str(&state_json(&st).unwrap()).unwrap();
        assert_eq!(v["pid"], 0);
        assert!(v.get("annotations").is_none());
    }

    #[test]
    fn table_like_runc() {
        let text = list_table(&[sample("web", Status::Running), sample("db", Status::Paused)]);
        assert_eq!(
            text,
            "ID          PID         STATUS      BUNDLE       CREATED                         OWNER\n\
             web         4242        running     /run/b/web   2026-11-28T01:54:52.04364519Z   root\n\
             db          4242        paused      /run/b/db    2026-11-28T01:54:52.04364519Z   root\n"
        );
        assert_eq!(
            list_table(&[]),
            "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
        );
    }
}
