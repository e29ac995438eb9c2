//! `docker images` / `docker image prune` filters: parsing and matching (moby
//! `daemon/images` rules), and the small reference/label helpers they share.

use super::*;

/// Which images `docker images` / `docker image prune` keep (moby `daemon/images`).
#[derive(Debug, Clone, Default)]
pub struct ImageFilters {
    /// `dangling=true|false`.
    pub dangling: Option<bool>,
    /// `label=key` or `label=key=value`; all must match.
    pub labels: Vec<String>,
    /// `label!=…`: none may match (prune only).
    pub not_labels: Vec<String>,
    /// `reference=<glob>`: any may match.
    pub references: Vec<String>,
    /// Created before this image.
    pub before: Option<String>,
    /// Created after this image.
    pub since: Option<String>,
    /// Created before this Unix time.
    pub until: Option<i64>,
}

/// Filter keys `GET /images/json` accepts.
pub const LIST_FILTERS: &[&str] = &["before", "dangling", "label", "reference", "since", "until"];
/// Filter keys `POST /images/prune` accepts.
pub const PRUNE_FILTERS: &[&str] = &["dangling", "label", "label!", "until"];

pub(super) fn invalid_filter(key: &str, value: Option<&str>) -> EngineError {
    match value {
        Some(v) => EngineError::invalid(format!("invalid filter '{key}={v}'")),
        None => EngineError::invalid(format!("invalid filter '{key}'")),
    }
}

impl ImageFilters {
    /// Parses the `filters` map, refusing keys outside `allowed` and bad values with
    /// moby's texts (`invalid filter 'dangling=maybe'`).
    pub fn parse(map: &HashMap<String, Vec<String>>, allowed: &[&str]) -> Result<ImageFilters> {
        let mut f = ImageFilters::default();
        for (key, values) in map {
            if !allowed.contains(&key.as_str()) {
                return Err(invalid_filter(key, None));
            }
            let single = || -> Result<&str> {
                match values.as_slice() {
                    [v] => Ok(v.as_str()),
                    _ => Err(invalid_filter(key, Some(&values.join(",")))),
                }
            };
            match key.as_str() {
                "dangling" => {
                    let v = single()?;
                    f.dangling = Some(match v.to_ascii_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => return Err(invalid_filter(key, Some(v))),
                    });
                }
                "label" => f.labels.clone_from(values),
                "label!" => f.not_labels.clone_from(values),
                "reference" => f.references.clone_from(values),
                "before" => f.before = Some(single()?.to_owned()),
                "since" => f.since = Some(single()?.to_owned()),
                "until" => {
                    let v = single()?;
                    f.until = Some(parse_until(v).ok_or_else(|| invalid_filter(key, Some(v)))?);
                }
                _ => return Err(invalid_filter(key, None)),
            }
        }
        Ok(f)
    }
}

/// moby's `GetTimestamp`: Unix seconds (fraction allowed), RFC 3339, or a Go duration
/// (`90m`, `1h30m`, `24h`) before now.
pub fn parse_until(v: &str) -> Option<i64> {
    let now = crate::time::now_nanos() / 1_000_000_000;
    if let Some(secs) = v.split('.').next().and_then(|s| s.parse::<i64>().ok()) {
        if v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Some(secs);
        }
    }
    if let Some(t) = timestamp::unix_seconds(v) {
        return Some(t);
    }
    let mut total = 0f64;
    let mut num = String::new();
    let mut rest = v;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        num.clear();
        num.push_str(&rest[..digits]);
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += num.parse::<f64>().ok()? * scale;
    }
    #[allow(clippy::cast_possible_truncation)]
    let secs = total as i64;
    Some(now - secs)
}

/// `path.Match` for reference filters: `*` and `?` never match `/`.
pub(super) fn glob(pattern: &[u8], s: &[u8]) -> bool {
    match (pattern.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], s) || (!s.is_empty() && s[0] != b'/' && glob(pattern, &s[1..]))
        }
        (Some(b'?'), Some(c)) if *c != b'/' => glob(&pattern[1..], &s[1..]),
        (Some(p), Some(c)) if p == c => glob(&pattern[1..], &s[1..]),
        _ => false,
    }
}

/// moby's `FamiliarMatch`: the familiar string (`busybox:latest`), else the name.
pub(super) fn familiar_match(pattern: &str, r: &Reference) -> bool {
    glob(pattern.as_bytes(), r.familiar().as_bytes())
        || glob(pattern.as_bytes(), r.familiar_name().as_bytes())
}

pub(super) fn labels_match(rec: &ImageRecord, wanted: &[String]) -> bool {
    let labels = rec.config.config.as_ref().and_then(|c| c.labels.as_ref());
    wanted.iter().all(|w| {
        let (k, v) = w
            .split_once('=')
            .map_or((w.as_str(), None), |(k, v)| (k, Some(v)));
        labels
            .and_then(|l| l.get(k))
            .is_some_and(|have| v.is_none_or(|v| v == have))
    })
}

pub(super) fn created_secs(rec: &ImageRecord) -> i64 {
    rec.created
        .as_deref()
        .and_then(timestamp::unix_seconds)
        .unwrap_or(0)
}

pub(super) fn familiar_all(full: &[String]) -> Vec<(Reference, String)> {
    full.iter()
        .filter_map(|s| Reference::parse(s).ok())
        .map(|r| {
            let f = r.familiar();
            (r, f)
        })
        .collect()
}
