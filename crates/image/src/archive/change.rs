//! `docker import --change` / `docker commit --change`: Dockerfile instructions applied to
//! an image's run config, with Docker's allowed set and error texts.
//!
//! Pure code. Each change is split into lines and each line is one instruction; allowed:
//! CMD, ENTRYPOINT (exec form as a JSON array, shell form becomes `/bin/sh -c …`), ENV,
//! LABEL, EXPOSE, USER, WORKDIR, VOLUME, STOPSIGNAL, ONBUILD, HEALTHCHECK. Not done:
//! `$VAR` substitution and line continuations (Docker's Dockerfile parser has both).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::ArchiveError;
use crate::manifest::config::{ContainerConfig, Healthcheck};

/// Applies `changes` to `config` in order; the first bad one is returned as an error.
pub fn apply_changes(config: &mut ContainerConfig, changes: &[String]) -> Result<(), ArchiveError> {
    let mut cmd_set = false;
    for line in changes.iter().flat_map(|c| c.lines()) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let instruction = word.to_ascii_lowercase();
        let bad = |problem: &str| ArchiveError::ChangeSyntax {
            instruction: word.to_ascii_uppercase(),
            problem: problem.to_owned(),
        };
        match instruction.as_str() {
            "cmd" => {
                config.cmd = Some(exec_or_shell(rest));
                cmd_set = true;
            }
            "entrypoint" => {
                config.entrypoint = Some(exec_or_shell(rest));
                if !cmd_set {
                    config.cmd = None;
                }
            }
            "env" => {
                let env = config.env.get_or_insert_with(Vec::new);
                for (k, v) in name_values(rest).map_err(|p| bad(&p))? {
                    env.retain(|e| e.split_once('=').map_or(e.as_str(), |(ek, _)| ek) != k);
                    env.push(format!("{k}={v}"));
                }
            }
            "label" => {
                let labels = config.labels.get_or_insert_with(BTreeMap::new);
                labels.extend(name_values(rest).map_err(|p| bad(&p))?);
            }
            "expose" => {
                let ports = config.exposed_ports.get_or_insert_with(BTreeMap::new);
                for spec in words(rest) {
                    for port in expand_ports(&spec).map_err(|p| bad(&p))? {
                        ports.insert(port, json!({}));
                    }
                }
            }
            "user" => config.user = Some(rest.to_owned()),
            "workdir" => {
                if rest.is_empty() {
                    return Err(bad("WORKDIR requires exactly one argument"));
                }
                let base = config.working_dir.as_deref().unwrap_or("/");
                config.working_dir = Some(clean_abs(base, rest));
            }
            "volume" => {
                let list = json_array(rest).unwrap_or_else(|| words(rest));
                if list.is_empty() || list.iter().any(|v| v.trim().is_empty()) {
                    return Err(bad("VOLUME specified can not be an empty string"));
                }
                let volumes = config.volumes.get_or_insert_with(BTreeMap::new);
                for v in list {
                    volumes.insert(v, json!({}));
                }
            }
            "stopsignal" => {
                if rest.is_empty() || rest.contains(char::is_whitespace) {
                    return Err(bad("STOPSIGNAL requires exactly one argument"));
                }
                config.stop_signal = Some(rest.to_owned());
            }
            "onbuild" => config
                .on_build
                .get_or_insert_with(Vec::new)
                .push(rest.to_owned()),
            "healthcheck" => config.healthcheck = Some(healthcheck(rest).map_err(|p| bad(&p))?),
            _ => return Err(ArchiveError::InvalidChange { instruction }),
        }
    }
    Ok(())
}

fn json_array(s: &str) -> Option<Vec<String>> {
    s.starts_with('[')
        .then(|| serde_json::from_str(s).ok())
        .flatten()
}

/// Exec form (a JSON string array) as is; anything else runs under `/bin/sh -c`.
fn exec_or_shell(s: &str) -> Vec<String> {
    json_array(s).unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into(), s.to_owned()])
}

/// Shell-like words: whitespace separates, quotes group, backslash escapes.
fn words(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote, mut has) = (Vec::new(), String::new(), None, false);
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                has = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None | Some('"'), '\\') => {
                has = true;
                cur.extend(chars.next());
            }
            (_, c) => {
                has = true;
                cur.push(c);
            }
        }
    }
    if has {
        out.push(cur);
    }
    out
}

/// `k=v k2="v 2"` pairs, or the legacy `key value with spaces` form.
fn name_values(s: &str) -> Result<Vec<(String, String)>, String> {
    let ws = words(s);
    let Some(first) = ws.first() else {
        return Err("requires at least one argument".into());
    };
    if !first.contains('=') {
        let value = s.split_once(char::is_whitespace).map(|(_, v)| v.trim());
        return match value {
            Some(v) if !v.is_empty() => Ok(vec![(first.clone(), words(v).join(" "))]),
            _ => Err("must have two arguments".into()),
        };
    }
    ws.into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            )),
        })
        .collect()
}

/// `80`, `80/udp`, `8000-8002/tcp` → `["80/tcp"]`, … (protocol lowercased).
fn expand_ports(spec: &str) -> Result<Vec<String>, String> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    let invalid = || format!("invalid containerPort: {ports}");
    let num = |p: &str| p.parse::<u16>().map_err(|_| invalid());
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(ports)?, num(ports)?),
    };
    if hi < lo {
        return Err(invalid());
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

/// `requested` made absolute against `base` and cleaned (Docker's `normalizeWorkdir`).
fn clean_abs(base: &str, requested: &str) -> String {
    let joined = if requested.starts_with('/') {
        requested.to_owned()
    } else {
        format!("{base}/{requested}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// A Go duration (`1m30s`, `500ms`) in nanoseconds.
fn go_duration(s: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest.find(|c: char| !c.is_ascii_digit())?;
        let value: i64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let (mult, len) = [
            ("ns", 1, 2),
            ("us", 1_000, 2),
            ("ms", 1_000_000, 2),
            ("h", 3_600_000_000_000, 1),
            ("m", 60_000_000_000, 1),
            ("s", 1_000_000_000, 1),
        ]
        .iter()
        .find(|(u, _, _)| rest.starts_with(u))
        .map(|&(_, m, l)| (m, l))?;
        total = total.checked_add(value.checked_mul(mult)?)?;
        rest = &rest[len..];
    }
    (!s.is_empty()).then_some(total)
}

/// `NONE`, or `[--interval=… --timeout=… --start-period=… --start-interval=… --retries=…]
/// CMD …`.
fn healthcheck(s: &str) -> Result<Healthcheck, String> {
    let mut hc = Healthcheck::default();
    let mut rest = s.trim();
    if rest.eq_ignore_ascii_case("none") {
        hc.test = Some(vec!["NONE".into()]);
        return Ok(hc);
    }
    while let Some(flag) = rest.strip_prefix("--") {
        let (kv, tail) = flag.split_once(char::is_whitespace).unwrap_or((flag, ""));
        let (k, v) = kv
            .split_once('=')
            .ok_or(format!("missing value for --{kv}"))?;
        let dur = || go_duration(v).ok_or(format!("invalid duration {v:?} for --{k}"));
        match k {
            "interval" => hc.interval = Some(dur()?),
            "timeout" => hc.timeout = Some(dur()?),
            "start-period" => hc.start_period = Some(dur()?),
            "start-interval" => hc.start_interval = Some(dur()?),
            "retries" => {
                hc.retries = Some(v.parse().map_err(|_| format!("invalid retries {v:?}"))?)
            }
            _ => return Err(format!("unknown flag: --{k}")),
        }
        rest = tail.trim_start();
    }
    let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if !word.eq_ignore_ascii_case("cmd") {
        return Err("Unknown type in HEALTHCHECK (try CMD)".into());
    }
    let args = args.trim();
    hc.test = Some(match json_array(args) {
        Some(exec) => std::iter::once("CMD".to_owned()).chain(exec).collect(),
        None => vec!["CMD-SHELL".into(), args.to_owned()],
    });
    Ok(hc)
}

/// The config as the JSON object the image config stores.
pub(crate) fn to_value(config: &ContainerConfig) -> Value {
    serde_json::to_value(config).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(changes: &[&str]) -> Result<ContainerConfig, ArchiveError> {
        let mut c = ContainerConfig::default();
        let changes: Vec<String> = changes.iter().map(|s| (*s).to_owned()).collect();
        apply_changes(&mut c, &changes).map(|()| c)
    }

    #[test]
    fn cmd_and_entrypoint_forms() {
        let c = apply(&[r#"CMD ["echo", "hi"]"#, "ENTRYPOINT /bin/app --x"]).unwrap();
        assert_eq!(c.cmd.unwrap(), ["echo", "hi"]);
        assert_eq!(c.entrypoint.unwrap(), ["/bin/sh", "-c", "/bin/app --x"]);
        let c = apply(&["cmd echo hi"]).unwrap();
        assert_eq!(c.cmd.unwrap(), ["/bin/sh", "-c", "echo hi"]);
    }

    #[test]
    fn env_label_expose_volume_and_more() {
        let c = apply(&[
            r#"ENV A=1 B="two words""#,
            "ENV A 3 4",
            "LABEL x=y",
            "EXPOSE 80 53/UDP 8000-8001",
            r#"VOLUME ["/data"]"#,
            "VOLUME /a /b",
            "WORKDIR /srv",
            "WORKDIR app/../web",
            "USER 1000:1000",
            "STOPSIGNAL SIGINT",
            "ONBUILD RUN true",
            "HEALTHCHECK --interval=1m30s --retries=2 CMD curl -f x",
        ])
        .unwrap();
        assert_eq!(c.env.unwrap(), ["B=two words", "A=3 4"]);
        assert_eq!(c.labels.unwrap()["x"], "y");
        let ports: Vec<&String> = c.exposed_ports.as_ref().unwrap().keys().collect();
        assert_eq!(ports, ["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]);
        let vols: Vec<&String> = c.volumes.as_ref().unwrap().keys().collect();
        assert_eq!(vols, ["/a", "/b", "/data"]);
        assert_eq!(c.working_dir.unwrap(), "/srv/web");
        assert_eq!(c.user.unwrap(), "1000:1000");
        assert_eq!(c.stop_signal.unwrap(), "SIGINT");
        assert_eq!(c.on_build.unwrap(), ["RUN true"]);
        let hc = c.healthcheck.unwrap();
        assert_eq!(hc.test.unwrap(), ["CMD-SHELL", "curl -f x"]);
        assert_eq!((hc.interval, hc.retries), (Some(90_000_000_000), Some(2)));
    }

    #[test]
    fn invalid_changes_use_docker_text() {
        let err = apply(&["RUN echo hi"]).unwrap_err();
        assert_eq!(err.to_string(), "run is not a valid change command");
        assert!(matches!(
            apply(&["FROM x"]),
            Err(ArchiveError::InvalidChange { .. })
        ));
        assert!(matches!(
            apply(&["ENV novalue"]),
            Err(ArchiveError::ChangeSyntax { .. })
        ));
        assert!(matches!(
            apply(&["EXPOSE abc"]),
            Err(ArchiveError::ChangeSyntax { .. })
        ));
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("500ms"), Some(500_000_000));
        assert_eq!(go_duration("1h2m"), Some(3_720_000_000_000));
        assert_eq!(go_duration("5"), None);
        assert_eq!(go_duration(""), None);
    }
}
