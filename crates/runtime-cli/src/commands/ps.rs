//! `ps`: the container's processes, as a JSON pid list or filtered ps(1) output.
//!
//! Runs in the CLI process; spawns `ps` (default args `-ef`) on the host and waits for it.
//! The table keeps ps's header and the lines whose PID column is one of the container's
//! pids (from its cgroup, via the library), as runc does.

use std::process::Command;

use anyhow::{bail, Context, Result};

use super::Ctx;
use crate::args::{Format, PsArgs};

/// `ps [--format table|json] ID [PS_ARGS...]`.
pub fn ps(ctx: &Ctx<'_>, args: &PsArgs) -> Result<()> {
    let pids = ctx.rt.pids(&args.id)?;
    if args.format == Format::Json {
        if !args.ps_args.is_empty() {
            bail!("ps arguments cannot be used with --format json");
        }
        println!("{}", serde_json::to_string(&pids)?);
        return Ok(());
    }
    let ps_args: Vec<&str> = if args.ps_args.is_empty() {
        vec!["-ef"]
    } else {
        args.ps_args.iter().map(String::as_str).collect()
    };
    let out = Command::new("ps")
        .args(&ps_args)
        .output()
        .context("run ps")?;
    if !out.status.success() {
        bail!(
            "ps {}: {}: {}",
            ps_args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    print!(
        "{}",
        filter_ps_output(&String::from_utf8_lossy(&out.stdout), &pids)?
    );
    Ok(())
}

/// Keep the header and the lines whose PID column holds one of `pids`.
pub fn filter_ps_output(output: &str, pids: &[i32]) -> Result<String> {
    let mut lines = output.lines();
    let header = lines.next().unwrap_or_default();
    let Some(pid_col) = header.split_whitespace().position(|f| f == "PID") else {
        bail!("couldn't find PID field in ps output");
    };
    let mut kept = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(pid_col)
            .and_then(|f| f.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS_EF: &str = "\
UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 01:00 ?        00:00:01 /sbin/init
root        6596       1  0 01:54 ?        00:00:00 sleep 1000
root        6600    6596  0 01:54 ?        00:00:00 sh -c echo 6596
";

    #[test]
    fn keeps_header_and_container_pids() {
        assert_eq!(
            filter_ps_output(PS_EF, &[6596]).unwrap(),
            "UID          PID    PPID  C STIME TTY          TIME CMD\n\
             root        6596       1  0 01:54 ?        00:00:00 sleep 1000\n"
        );
        let both = filter_ps_output(PS_EF, &[6596, 6600]).unwrap();
        assert_eq!(both.lines().count(), 3);
    }

    #[test]
    fn pid_column_can_move() {
        let out = "  PID COMMAND\n 6596 sleep\n    1 init\n";
        assert_eq!(
            filter_ps_output(out, &[6596]).unwrap(),
            "  PID COMMAND\n 6596 sleep\n"
        );
    }

    #[test]
    fn no_pid_column() {
        let err = filter_ps_output("USER COMMAND\nroot x\n", &[1]).unwrap_err();
        assert_eq!(err.to_string(), "couldn't find PID field in ps output");
    }
}
