//! Parsers for single-value flags: environment (`-e`, `--env-file`), key=value maps,
//! `--restart`, `--ulimit`, `--cpus`, `--add-host` and `--filter`, with Docker's messages.
//!
//! Runs in the CLI process; pure apart from reading env files and the environment.

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

/// `-e K=V` as is; `-e K` takes the value from the environment (kept bare if unset).
pub fn env_value(v: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    if v.contains('=') {
        return v.to_string();
    }
    match lookup(v) {
        Some(val) => format!("{v}={val}"),
        None => v.to_string(),
    }
}

/// Parses an env file's text: comments and blank lines skipped, `K` alone looked up.
pub fn parse_env_file(
    text: &str,
    name: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, val) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line.trim_end(), None),
        };
        if key.is_empty() {
            bail!("invalid variable in {name}: no variable name in '{line}'");
        }
        if key.contains(char::is_whitespace) {
            bail!("variable '{key}' contains whitespaces");
        }
        match val {
            Some(v) => out.push(format!("{key}={v}")),
            None => {
                if let Some(v) = lookup(key) {
                    out.push(format!("{key}={v}"));
                }
            }
        }
    }
    Ok(out)
}

/// Reads and parses `--env-file` files.
pub fn read_env_files(files: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).with_context(|| format!("open {f}"))?;
        out.extend(parse_env_file(&text, f, |k| std::env::var(k).ok())?);
    }
    Ok(out)
}

/// `k=v` (or `k` → empty) items into a JSON string map.
pub fn kv_map(items: &[String]) -> Value {
    let mut m = Map::new();
    for it in items {
        let (k, v) = it.split_once('=').unwrap_or((it, ""));
        m.insert(k.to_string(), json!(v));
    }
    Value::Object(m)
}

/// `--restart no|always|unless-stopped|on-failure[:N]` → `RestartPolicy`.
pub fn parse_restart(s: &str) -> Result<Value> {
    let (name, count) = match s.split_once(':') {
        Some((n, c)) => (n, Some(c)),
        None => (s, None),
    };
    let count: i64 = match count {
        None => 0,
        Some(c) => c.parse().map_err(|_| {
            anyhow::anyhow!("invalid restart policy format: maximum retry count must be an integer")
        })?,
    };
    match name {
        "" | "no" | "always" | "unless-stopped" => {
            if count != 0 {
                bail!("invalid restart policy format: maximum retry count can only be used with 'on-failure'");
            }
        }
        "on-failure" => {
            if count < 0 {
                bail!("invalid restart policy format: maximum retry count cannot be negative");
            }
        }
        _ => bail!("invalid restart policy format: unknown policy '{name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"),
    }
    Ok(json!({"Name": if name.is_empty() { "no" } else { name }, "MaximumRetryCount": count}))
}

const ULIMITS: [&str; 15] = [
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// `--ulimit name=soft[:hard]` → `{"Name","Soft","Hard"}`.
pub fn parse_ulimit(s: &str) -> Result<Value> {
    let Some((name, limits)) = s.split_once('=') else {
        bail!("invalid ulimit argument: {s}");
    };
    if !ULIMITS.contains(&name) {
        bail!("invalid ulimit type: {name}");
    }
    let num = |v: &str| -> Result<i64> {
        v.parse()
            .map_err(|_| anyhow::anyhow!("invalid ulimit argument: {s}"))
    };
    let (soft, hard) = match limits.split_once(':') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(limits)?, num(limits)?),
    };
    if soft > hard && hard != -1 {
        bail!("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}");
    }
    Ok(json!({"Name": name, "Soft": soft, "Hard": hard}))
}

/// `--cpus 1.5` → NanoCpus (1_500_000_000), exact for up to nine decimals.
pub fn parse_cpus(s: &str) -> Result<i64> {
    let err = || {
        anyhow::anyhow!("invalid argument \"{s}\" for \"--cpus\" flag: failed to parse {s} as a rational number")
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(err());
    }
    if frac.len() > 9 {
        bail!("value is too precise");
    }
    let i: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| err())?
    };
    let f: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().map_err(|_| err())?
    };
    i.checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(f))
        .ok_or_else(err)
}

/// `--add-host host:ip` (also `host=ip`) → `host:ip` for `ExtraHosts`.
pub fn parse_add_host(s: &str) -> Result<String> {
    let (host, ip) = s
        .split_once('=')
        .or_else(|| s.split_once(':'))
        .ok_or_else(|| anyhow::anyhow!("bad format for add-host: {s:?}"))?;
    if host.is_empty() || ip.is_empty() {
        bail!("bad format for add-host: {s:?}");
    }
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    if ip != "host-gateway" && ip.parse::<std::net::IpAddr>().is_err() {
        bail!("invalid IP address in add-host: {ip:?}");
    }
    Ok(format!("{host}:{ip}"))
}

/// `--filter k=v` items → the API's `{"k":{"v":true}}` JSON, or None when empty.
pub fn filters_json(items: &[String]) -> Result<Option<String>> {
    if items.is_empty() {
        return Ok(None);
    }
    let mut m = Map::new();
    for it in items {
        let Some((k, v)) = it.split_once('=') else {
            bail!("bad format of filter (expected name=value)");
        };
        let entry = m
            .entry(k.trim().to_lowercase())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[v.trim()] = json!(true);
    }
    Ok(Some(Value::Object(m).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(k: &str) -> Option<String> {
        (k == "HOME").then(|| "/root".into())
    }

    #[test]
    fn env() {
        assert_eq!(env_value("A=1", look), "A=1");
        assert_eq!(env_value("HOME", look), "HOME=/root");
        assert_eq!(env_value("NOPE", look), "NOPE");
        let f = parse_env_file("# c\n\nA=1\n  B=x=y\nHOME\nNOPE\n", "f", look).unwrap();
        assert_eq!(f, vec!["A=1", "B=x=y", "HOME=/root"]);
        assert!(parse_env_file("A B=1", "f", look).is_err());
        assert!(parse_env_file("=1", "f", look).is_err());
    }

    #[test]
    fn restart() {
        assert_eq!(
            parse_restart("on-failure:3").unwrap(),
            json!({"Name":"on-failure","MaximumRetryCount":3})
        );
        assert_eq!(parse_restart("always").unwrap()["Name"], "always");
        assert!(parse_restart("always:3").is_err());
        assert!(parse_restart("on-failure:x").is_err());
        assert!(parse_restart("sometimes").is_err());
    }

    #[test]
    fn ulimit() {
        assert_eq!(
            parse_ulimit("nofile=1024:2048").unwrap(),
            json!({"Name":"nofile","Soft":1024,"Hard":2048})
        );
        assert_eq!(parse_ulimit("nproc=10").unwrap()["Hard"], 10);
        assert_eq!(
            parse_ulimit("bogus=1").unwrap_err().to_string(),
            "invalid ulimit type: bogus"
        );
        assert!(parse_ulimit("nofile").is_err());
        assert!(parse_ulimit("nofile=2:1").is_err());
        assert!(parse_ulimit("nofile=a").is_err());
    }

    #[test]
    fn cpus() {
        assert_eq!(parse_cpus("1.5").unwrap(), 1_500_000_000);
        assert_eq!(parse_cpus("0.1").unwrap(), 100_000_000);
        assert_eq!(parse_cpus("2").unwrap(), 2_000_000_000);
        assert_eq!(parse_cpus(".5").unwrap(), 500_000_000);
        assert!(parse_cpus("abc").is_err());
        assert!(parse_cpus("-1").is_err());
    }

    #[test]
    fn hosts_and_filters() {
        assert_eq!(parse_add_host("db:10.0.0.2").unwrap(), "db:10.0.0.2");
        assert_eq!(parse_add_host("v6=::1").unwrap(), "v6:::1");
        assert!(parse_add_host("db").is_err());
        assert!(parse_add_host("db:notanip").is_err());
        let f = filters_json(&[
            "status=exited".into(),
            "label=a=b".into(),
            "status=created".into(),
        ])
        .unwrap()
        .unwrap();
        let v: Value = serde_json::from_str(&f).unwrap();
        assert_eq!(
            v,
            json!({"status":{"exited":true,"created":true},"label":{"a=b":true}})
        );
        assert!(filters_json(&["x".into()]).is_err());
        assert_eq!(kv_map(&["a=1".into(), "b".into()]), json!({"a":"1","b":""}));
    }
}
