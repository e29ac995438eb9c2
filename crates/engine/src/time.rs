//! Timestamps: Docker's RFC 3339 forms and Unix nanoseconds.

use std::time::{SystemTime, UNIX_EPOCH};

/// Go's zero time as Docker prints unset times.
pub const ZERO: &str = "0001-01-01T00:00:00Z";

/// Now as Unix nanoseconds.
pub fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Unix nanoseconds as RFC 3339 (trailing zeros trimmed, like Go's RFC3339Nano).
pub fn rfc3339(nanos: i64) -> String {
    let t = UNIX_EPOCH + std::time::Duration::from_nanos(nanos.max(0) as u64);
    berth_image::images::timestamp::format(t)
}

/// RFC 3339 → Unix seconds.
pub fn unix_seconds(s: &str) -> Option<i64> {
    berth_image::images::timestamp::unix_seconds(s)
}

/// Docker's `HumanDuration` (go-units) for `Up 3 seconds` / `Exited (0) 2 minutes ago`.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{s} seconds"),
        _ => {
            let m = s / 60;
            if m == 1 {
                return "About a minute".into();
            }
            if m < 60 {
                return format!("{m} minutes");
            }
            let h = (s as f64 / 3600.0).round() as i64;
            if h == 1 {
                return "About an hour".into();
            }
            if h < 48 {
                return format!("{h} hours");
            }
            let hours = s / 3600;
            if hours < 24 * 7 * 2 {
                return format!("{} days", hours / 24);
            }
            if hours < 24 * 30 * 2 {
                return format!("{} weeks", hours / 24 / 7);
            }
            if hours < 24 * 365 * 2 {
                return format!("{} months", hours / 24 / 30);
            }
            format!("{} years", hours / 24 / 365)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_go_units() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(45), "45 seconds");
        assert_eq!(human_duration(61), "About a minute");
        assert_eq!(human_duration(60 * 5), "5 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(3600 * 5), "5 hours");
        assert_eq!(human_duration(3600 * 24 * 3), "3 days");
        assert_eq!(human_duration(3600 * 24 * 20), "2 weeks");
    }

    #[test]
    fn rfc3339_round_trips_seconds() {
        let n = 1_764_300_000_123_000_000;
        let s = rfc3339(n);
        assert!(s.ends_with(".123Z"), "{s}");
        assert_eq!(unix_seconds(&s), Some(n / 1_000_000_000));
    }
}
