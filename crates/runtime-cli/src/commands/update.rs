//! `update` (new resource limits) and `events` (stats samples) for a running container.
//!
//! Runs in the CLI process; the library reads and writes the container's cgroup. `update`
//! takes a LinuxResources JSON (`--resources FILE|-`) or builds one from flags; unlike
//! runc, unset flags stay `None` ("unchanged") instead of zeros. `events` prints stats
//! only (no OOM notifications).

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use berth_runtime::{Error, Status};
use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources,
};
use serde::Serialize;

use super::Ctx;
use crate::args::{EventsArgs, UpdateArgs};

/// `update`.
pub fn update(ctx: &Ctx<'_>, args: &UpdateArgs) -> Result<()> {
    let resources = match &args.resources {
        Some(src) => read_resources(src)?,
        None => resources_from_flags(args)?,
    };
    ctx.log.debug(&format!("update {}: {resources:?}", args.id));
    Ok(ctx.rt.update(&args.id, &resources)?)
}

/// LinuxResources JSON from a file, or from stdin for `-` (what containerd sends).
fn read_resources(src: &Path) -> Result<LinuxResources> {
    let mut data = Vec::new();
    if src == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut data)
            .context("read resources from stdin")?;
    } else {
        data = std::fs::read(src).with_context(|| format!("read {}", src.display()))?;
    }
    serde_json::from_slice(&data).context("parse resources JSON")
}

/// The LinuxResources described by the individual flags; unset flags stay `None`.
pub fn resources_from_flags(args: &UpdateArgs) -> Result<LinuxResources> {
    let mut r = LinuxResources::default();
    if args.memory.is_some() || args.memory_reservation.is_some() || args.memory_swap.is_some() {
        let mut m = LinuxMemoryBuilder::default();
        if let Some(v) = args.memory {
            m = m.limit(v);
        }
        if let Some(v) = args.memory_reservation {
            m = m.reservation(v);
        }
        if let Some(v) = args.memory_swap {
            m = m.swap(v);
        }
        r.set_memory(Some(m.build()?));
    }
    let cpu_set = args.cpu_period.is_some()
        || args.cpu_quota.is_some()
        || args.cpu_share.is_some()
        || args.cpu_rt_period.is_some()
        || args.cpu_rt_runtime.is_some()
        || args.cpuset_cpus.is_some()
        || args.cpuset_mems.is_some();
    if cpu_set {
        let mut c = LinuxCpuBuilder::default();
        if let Some(v) = args.cpu_share {
            c = c.shares(v);
        }
        if let Some(v) = args.cpu_quota {
            c = c.quota(v);
        }
        if let Some(v) = args.cpu_period {
            c = c.period(v);
        }
        if let Some(v) = args.cpu_rt_runtime {
            c = c.realtime_runtime(v);
        }
        if let Some(v) = args.cpu_rt_period {
            c = c.realtime_period(v);
        }
        if let Some(v) = &args.cpuset_cpus {
            c = c.cpus(v.clone());
        }
        if let Some(v) = &args.cpuset_mems {
            c = c.mems(v.clone());
        }
        r.set_cpu(Some(c.build()?));
    }
    if let Some(w) = args.blkio_weight {
        r.set_block_io(Some(LinuxBlockIoBuilder::default().weight(w).build()?));
    }
    if let Some(limit) = args.pids_limit {
        r.set_pids(Some(LinuxPidsBuilder::default().limit(limit).build()?));
    }
    Ok(r)
}

/// One line of `events` output.
#[derive(Debug, Serialize)]
struct Event<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    data: T,
}

/// `events`: one stats event with `--stats`, else one per interval until the container
/// stops or is deleted.
pub fn events(ctx: &Ctx<'_>, args: &EventsArgs) -> Result<()> {
    let print_stats = || -> Result<()> {
        let data = ctx.rt.stats(&args.id)?;
        let event = Event {
            kind: "stats",
            id: &args.id,
            data,
        };
        println!("{}", serde_json::to_string(&event)?);
        Ok(())
    };
    if args.stats {
        return print_stats();
    }
    loop {
        match ctx.rt.load(&args.id) {
            Ok(st) if st.status == Status::Stopped => return Ok(()),
            Ok(_) => {}
            Err(Error::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        print_stats()?;
        std::thread::sleep(args.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::Parser;

    fn update_args(line: &str) -> UpdateArgs {
        let argv = ["berth-runtime", "update"]
            .into_iter()
            .chain(line.split_whitespace());
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Update(u) => u,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_given_flags_are_set() {
        let r = resources_from_flags(&update_args("--memory 1g --pids-limit 50 id")).unwrap();
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"memory": {"limit": 1 << 30}, "pids": {"limit": 50}})
        );
    }

    #[test]
    fn cpu_and_blkio() {
        let line = "--cpu-share 512 --cpu-quota 50000 --cpu-period 100000 --cpuset-cpus 0-1 \
                    --blkio-weight 300 --memory-swap -1 --memory-reservation 256m id";
        let v = serde_json::to_value(resources_from_flags(&update_args(line)).unwrap()).unwrap();
        assert_eq!(v["cpu"]["shares"], 512);
        assert_eq!(v["cpu"]["quota"], 50000);
        assert_eq!(v["cpu"]["period"], 100000);
        assert_eq!(v["cpu"]["cpus"], "0-1");
        assert_eq!(v["blockIO"]["weight"], 300);
        assert_eq!(v["memory"]["swap"], -1);
        assert_eq!(v["memory"]["reservation"], 256 << 20);
        assert!(v["memory"].get("limit").is_none());
    }

    #[test]
    fn nothing_set() {
        let v = serde_json::to_value(resources_from_flags(&update_args("id")).unwrap()).unwrap();
        assert_eq!(v, serde_json::json!({}));
    }

    #[test]
    fn containerd_resources_json() {
        let dir = std::env::temp_dir().join(format!("berth-update-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("r.json");
        std::fs::write(
            &file,
            r#"{"memory":{"limit":104857600},"cpu":{"shares":1024}}"#,
        )
        .unwrap();
        let r = read_resources(&file).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(104_857_600));
        assert_eq!(r.cpu().as_ref().unwrap().shares(), Some(1024));
    }

    #[test]
    fn stats_event_shape() {
        let e = Event {
            kind: "stats",
            id: "abc",
            data: serde_json::json!({}),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"stats","id":"abc","data":{}}"#
        );
    }
}
