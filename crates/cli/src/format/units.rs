//! Human-readable sizes, durations and times as Docker prints them (go-units `HumanSize`,
//! `BytesSize`, `HumanDuration`; Go's `%g`), and parsers for sizes, Go durations and
//! RFC 3339 timestamps used by flags.
//!
//! Runs in the CLI process; pure code. Times are printed in UTC (no tz database).

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};

const DECIMAL: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// Go's `%.{prec}g`.
pub fn fmt_g(v: f64, prec: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let prec = prec.max(1);
    let sci = format!("{:.*e}", prec - 1, v);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= i32::try_from(prec).unwrap_or(i32::MAX) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant), exp.abs())
    } else {
        let decimals = usize::try_from(i32::try_from(prec).unwrap_or(0) - 1 - exp).unwrap_or(0);
        trim(&format!("{v:.decimals$}"))
    }
}

fn custom_size(size: f64, base: f64, units: &[&str; 9], prec: usize) -> String {
    let mut size = size;
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    format!("{}{}", fmt_g(size, prec), units[i])
}

/// go-units `HumanSizeWithPrecision`: decimal units (`1.2MB`).
pub fn human_size_prec(size: f64, prec: usize) -> String {
    custom_size(size, 1000.0, &DECIMAL, prec)
}

/// go-units `HumanSize` (precision 4).
pub fn human_size(size: f64) -> String {
    human_size_prec(size, 4)
}

/// go-units `BytesSize`: binary units (`1.5MiB`).
pub fn bytes_size(size: f64) -> String {
    custom_size(size, 1024.0, &BINARY, 4)
}

/// go-units `RAMInBytes`: `512m`, `1.5g`, `1024`, `2GiB` → bytes (binary multipliers).
pub fn ram_in_bytes(s: &str) -> Result<i64> {
    let err = || anyhow::anyhow!("invalid size: '{s}'");
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(err());
    }
    let n: f64 = num.parse().map_err(|_| err())?;
    let unit = unit.trim_start_matches(' ').to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').unwrap_or(unit);
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(err()),
    };
    #[allow(
        clippy::cast_possible_truncation,
        reason = "sizes fit an i64 as in go-units"
    )]
    Ok((n * mult) as i64)
}

/// go-units `HumanDuration`.
pub fn human_duration(secs: f64) -> String {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "go-units truncates the same way"
    )]
    let seconds = secs as i64;
    let minutes = seconds / 60;
    #[allow(
        clippy::cast_possible_truncation,
        reason = "go-units rounds the same way"
    )]
    let hours = (secs / 3600.0 + 0.5) as i64;
    if seconds < 1 {
        "Less than a second".into()
    } else if seconds == 1 {
        "1 second".into()
    } else if seconds < 60 {
        format!("{seconds} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", seconds / 3600 / 24 / 365)
    }
}

/// Seconds since the epoch, as a float.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `2 minutes ago` for a unix timestamp.
pub fn ago(unix: i64) -> String {
    #[allow(clippy::cast_precision_loss, reason = "timestamps are far below 2^52")]
    let d = now() - unix as f64;
    format!("{} ago", human_duration(d.max(0.0)))
}

/// Parses a Go duration (`1h30m`, `10s`, `1.5h`, `300ms`) into seconds.
pub fn parse_go_duration(s: &str) -> Result<f64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        bail!("time: invalid duration \"{s}\"");
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..n_end]
            .parse()
            .map_err(|_| anyhow::anyhow!("time: invalid duration \"{s}\""))?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => bail!("time: missing unit in duration \"{s}\""),
            u => bail!("time: unknown unit \"{u}\" in duration \"{s}\""),
        };
        rest = &rest[u_end..];
        total += num * mult;
    }
    Ok(if neg { -total } else { total })
}

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date for days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses RFC 3339 (`2024-01-02T03:04:05.123Z`, offsets allowed) or a date
/// (`2024-01-02`) into unix seconds with fraction.
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let days = days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?);
    if b.len() == 10 {
        #[allow(clippy::cast_precision_loss, reason = "day counts are small")]
        return Some((days * 86_400) as f64);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 {
        return None;
    }
    let secs = days * 86_400 + num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?;
    let mut rest = &s[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        frac = format!("0.{}", &r[..end]).parse().ok()?;
        rest = &r[end..];
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let v = o[1..3].parse::<i64>().ok()? * 3600 + o[4..6].parse::<i64>().ok()? * 60;
            if o.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    #[allow(clippy::cast_precision_loss, reason = "timestamps are far below 2^52")]
    Some((secs - offset) as f64 + frac)
}

/// `2006-01-02 15:04:05 +0000 UTC` (Go's `time.Time.String`, in UTC).
pub fn go_time_string(unix: i64) -> String {
    let (date, time) = civil(unix);
    format!("{date} {time} +0000 UTC")
}

/// RFC 3339 with nine fraction digits in UTC (`2006-01-02T15:04:05.000000000Z`).
pub fn rfc3339_nano(unix_nanos: i128) -> String {
    let secs = i64::try_from(unix_nanos.div_euclid(1_000_000_000)).unwrap_or(0);
    let nanos = unix_nanos.rem_euclid(1_000_000_000);
    let (date, time) = civil(secs);
    format!("{date}T{time}.{nanos:09}Z")
}

fn civil(unix: i64) -> (String, String) {
    let days = unix.div_euclid(86_400);
    let rem = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60),
    )
}

/// A `--since`/`--until` value for the API: durations are relative to now, RFC 3339
/// and dates are converted, unix timestamps pass through.
pub fn api_timestamp(v: &str) -> Result<String> {
    if v.parse::<f64>().is_ok() {
        return Ok(v.to_string());
    }
    if let Ok(d) = parse_go_duration(v) {
        return Ok(format!("{:.9}", now() - d));
    }
    match parse_rfc3339(v) {
        Some(t) => Ok(format!("{t:.9}")),
        None => bail!("invalid value for timestamp: {v:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_format() {
        assert_eq!(fmt_g(1.2345678, 4), "1.235");
        assert_eq!(fmt_g(4.0, 4), "4");
        assert_eq!(fmt_g(999.96, 3), "1e+03");
        assert_eq!(fmt_g(0.00001234, 3), "1.23e-05");
        assert_eq!(fmt_g(12.5, 3), "12.5");
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(1_234_567.0), "1.235MB");
        assert_eq!(human_size_prec(1_200_000.0, 3), "1.2MB");
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size(999.0), "999B");
        assert_eq!(human_size(1000.0), "1kB");
        assert_eq!(bytes_size(1_572_864.0), "1.5MiB");
        assert_eq!(bytes_size(512.0), "512B");
    }

    #[test]
    fn ram() {
        assert_eq!(ram_in_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(ram_in_bytes("1.5g").unwrap(), 3 << 29);
        assert_eq!(ram_in_bytes("1024").unwrap(), 1024);
        assert_eq!(ram_in_bytes("2GiB").unwrap(), 2 << 30);
        assert_eq!(ram_in_bytes("64 MB").unwrap(), 64 << 20);
        for bad in ["", "m", "12x", "1..2m", "-1m"] {
            assert!(ram_in_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(0.5), "Less than a second");
        assert_eq!(human_duration(1.0), "1 second");
        assert_eq!(human_duration(45.0), "45 seconds");
        assert_eq!(human_duration(90.0), "About a minute");
        assert_eq!(human_duration(300.0), "5 minutes");
        assert_eq!(human_duration(3600.0), "About an hour");
        assert_eq!(human_duration(5.0 * 3600.0), "5 hours");
        assert_eq!(human_duration(3.0 * 86400.0), "3 days");
        assert_eq!(human_duration(20.0 * 86400.0), "2 weeks");
        assert_eq!(human_duration(90.0 * 86400.0), "3 months");
        assert_eq!(human_duration(800.0 * 86400.0), "2 years");
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h30m").unwrap(), 5400.0);
        assert_eq!(parse_go_duration("10s").unwrap(), 10.0);
        assert!((parse_go_duration("300ms").unwrap() - 0.3).abs() < 1e-9);
        assert!(parse_go_duration("10").is_err());
        assert!(parse_go_duration("1x").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_rfc3339("1970-01-02T00:00:01Z"), Some(86_401.0));
        assert_eq!(
            parse_rfc3339("2024-03-01T01:00:00+01:00"),
            parse_rfc3339("2024-03-01T00:00:00Z")
        );
        assert_eq!(
            parse_rfc3339("2024-03-01"),
            parse_rfc3339("2024-03-01T00:00:00Z")
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.5Z"), Some(0.5));
        assert_eq!(
            go_time_string(1_700_000_000),
            "2023-11-14 22:13:20 +0000 UTC"
        );
        assert_eq!(
            rfc3339_nano(1_700_000_000_000_000_001),
            "2023-11-14T22:13:20.000000001Z"
        );
        assert_eq!(api_timestamp("1700000000").unwrap(), "1700000000");
        assert!(api_timestamp("yesterday").is_err());
    }
}
