//! Read v2 usage counters into [`Stats`].
//!
//! Runs in the runtime process; reads only. Files per cgroup-v2.rst: cpu.stat (µs),
//! memory.current/max/peak/stat/events, memory.swap.current/max, pids.current/max, io.stat.
//! Files of controllers not enabled for the cgroup are skipped (their section stays zero).

use std::io;
use std::path::Path;

use crate::stats::{parse_dev, parse_flat_keyed, BlkioEntry, Stats};
use crate::{cgfs, CgroupError};

/// Read a file, `None` if it does not exist (controller not enabled).
fn read_opt(path: &Path) -> Result<Option<String>, CgroupError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(CgroupError::Read {
            path: path.to_path_buf(),
            err,
        }),
    }
}

fn read_u64_opt(path: &Path) -> Result<Option<u64>, CgroupError> {
    Ok(read_opt(path)?.and_then(|t| cgfs::parse_u64(t.trim())))
}

/// `oom_kill` of `memory.events` alone (see the v1 counterpart).
pub fn read_oom_kills(dir: &Path) -> Result<u64, CgroupError> {
    Ok(read_opt(&dir.join("memory.events"))?
        .map(|ev| parse_flat_keyed(&ev).get("oom_kill").copied().unwrap_or(0))
        .unwrap_or(0))
}

/// Read everything available from `dir`.
pub fn read_stats(dir: &Path) -> Result<Stats, CgroupError> {
    let mut s = Stats::default();
    if let Some(t) = read_opt(&dir.join("cpu.stat"))? {
        let st = parse_flat_keyed(&t);
        let ns = |k: &str| st.get(k).copied().unwrap_or(0) * 1000;
        s.cpu.usage.total = ns("usage_usec");
        s.cpu.usage.user = ns("user_usec");
        s.cpu.usage.kernel = ns("system_usec");
        s.cpu.throttling.periods = st.get("nr_periods").copied().unwrap_or(0);
        s.cpu.throttling.throttled_periods = st.get("nr_throttled").copied().unwrap_or(0);
        s.cpu.throttling.throttled_time = ns("throttled_usec");
    }
    if let Some(usage) = read_u64_opt(&dir.join("memory.current"))? {
        let m = &mut s.memory;
        m.usage.usage = usage;
        m.usage.limit = read_u64_opt(&dir.join("memory.max"))?.unwrap_or(u64::MAX);
        m.usage.max = read_u64_opt(&dir.join("memory.peak"))?.unwrap_or(0);
        m.raw = parse_flat_keyed(&cgfs::read(&dir.join("memory.stat"))?);
        m.cache = m.raw.get("file").copied().unwrap_or(0);
        if let Some(ev) = read_opt(&dir.join("memory.events"))? {
            let ev = parse_flat_keyed(&ev);
            m.oom_kill = ev.get("oom_kill").copied().unwrap_or(0);
            m.usage.failcnt = ev.get("max").copied().unwrap_or(0);
        }
        if let Some(swap) = read_u64_opt(&dir.join("memory.swap.current"))? {
            // runc reports memory+swap, as v1's memsw did.
            m.swap.usage = swap.saturating_add(usage);
            let swap_max = read_u64_opt(&dir.join("memory.swap.max"))?.unwrap_or(u64::MAX);
            m.swap.limit = swap_max.saturating_add(m.usage.limit);
        }
    }
    if let Some(cur) = read_u64_opt(&dir.join("pids.current"))? {
        s.pids.current = cur;
        let max = read_u64_opt(&dir.join("pids.max"))?.unwrap_or(u64::MAX);
        s.pids.limit = if max == u64::MAX { 0 } else { max };
    }
    if let Some(t) = read_opt(&dir.join("io.stat"))? {
        let (bytes, ios) = parse_io_stat(&t);
        s.blkio.io_service_bytes_recursive = bytes;
        s.blkio.io_serviced_recursive = ios;
    }
    Ok(s)
}

/// `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` → (bytes, ios) entries.
pub fn parse_io_stat(text: &str) -> (Vec<BlkioEntry>, Vec<BlkioEntry>) {
    let (mut bytes, mut ios) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some((major, minor)) = it.next().and_then(parse_dev) else {
            continue;
        };
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value,
            });
        }
    }
    (bytes, ios)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_stat_lines() {
        let (b, i) = parse_io_stat("8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(b.len(), 2);
        assert_eq!(
            b[1],
            BlkioEntry {
                major: 8,
                minor: 0,
                op: "Write".into(),
                value: 200
            }
        );
        assert_eq!(i[0].value, 1);
    }
}
