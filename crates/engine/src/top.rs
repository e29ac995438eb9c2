//! `docker top`: the host's `ps` output restricted to the container's processes, as moby
//! `daemon/top_unix.go` does it (`ps <args> -q <pids>`, retried without `-q` for options
//! that refuse it, then rows filtered by the `PID` column).
//!
//! Runs in berthd; `ps` is spawned through tokio (no fork in a runtime thread of ours
//! beyond what tokio::process does). Pids come from the container's cgroup.

use serde_json::{json, Value};

use crate::container::Status;
use crate::error::{EngineError, Result};
use crate::Engine;

/// `{"Titles","Processes"}` from `ps` output, keeping rows whose PID is in `pids`.
pub fn parse_ps(output: &str, pids: &[i32]) -> Result<Value> {
    let mut lines = output.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap_or("");
    let titles: Vec<&str> = header.split_whitespace().collect();
    let pid_col = titles
        .iter()
        .position(|t| *t == "PID")
        .ok_or_else(|| EngineError::internal("Couldn't find PID field in ps output"))?;
    let mut procs = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() <= pid_col {
            continue;
        }
        let pid: i32 = fields[pid_col]
            .parse()
            .map_err(|_| EngineError::internal(format!("Unexpected pid '{}'", fields[pid_col])))?;
        if !pids.contains(&pid) {
            continue;
        }
        let mut row: Vec<String> = Vec::with_capacity(titles.len());
        if fields.len() > titles.len() && !titles.is_empty() {
            // The last column (the command) keeps its spaces.
            row.extend(fields[..titles.len() - 1].iter().map(|s| s.to_string()));
            row.push(fields[titles.len() - 1..].join(" "));
        } else {
            row.extend(fields.iter().map(|s| s.to_string()));
        }
        procs.push(row);
    }
    Ok(json!({ "Titles": titles, "Processes": procs }))
}

impl Engine {
    /// `GET /containers/{id}/top?ps_args=`.
    pub async fn top_container(&self, name: &str, ps_args: &str) -> Result<Value> {
        let c = self.container(name)?;
        let status = c.record().state.status;
        if !status.is_alive() {
            return Err(EngineError::conflict(format!(
                "container {} is not running",
                c.id
            )));
        }
        if status == Status::Restarting {
            return Err(EngineError::conflict(format!(
                "Container {} is restarting, wait until the container is running",
                c.id
            )));
        }
        let args: Vec<String> = if ps_args.trim().is_empty() {
            vec!["-ef".into()]
        } else {
            ps_args.split_whitespace().map(str::to_string).collect()
        };
        let pids = self
            .runtime()
            .pids(&c.id)
            .map_err(|e| EngineError::internal(format!("pids of {}: {e}", c.id)))?;
        let q = pids
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let run = |with_q: bool| {
            let mut cmd = tokio::process::Command::new("ps");
            cmd.args(&args).env("LC_ALL", "C");
            if with_q && !q.is_empty() {
                cmd.arg("-q").arg(&q);
            }
            cmd.kill_on_drop(true).output()
        };
        let mut out = run(true)
            .await
            .map_err(|e| EngineError::internal(format!("run ps: {e}")))?;
        if !out.status.success() {
            out = run(false)
                .await
                .map_err(|e| EngineError::internal(format!("run ps: {e}")))?;
        }
        if !out.status.success() {
            return Err(EngineError::internal(format!(
                "ps: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        parse_ps(&String::from_utf8_lossy(&out.stdout), &pids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_container_rows_and_joins_commands() {
        let out = "UID  PID  PPID  C STIME TTY TIME CMD\n\
                   root 10 1 0 10:00 ? 00:00:00 sh -c sleep 100\n\
                   root 11 10 0 10:00 ? 00:00:00 sleep 100\n\
                   root 99 1 0 10:00 ? 00:00:00 /sbin/init\n";
        let v = parse_ps(out, &[10, 11]).expect("parse");
        assert_eq!(v["Titles"][1], "PID");
        assert_eq!(v["Processes"].as_array().map(Vec::len), Some(2));
        assert_eq!(v["Processes"][0][7], "sh -c sleep 100");
        assert!(parse_ps("A B\n1 2\n", &[1]).is_err());
    }
}
