//! Parsing the SIGNAL argument of `kill` the way runc does.
//!
//! Pure function, runs in the CLI process. Accepts a number (0..=64), a name with or
//! without the `SIG` prefix, in any case ("KILL", "sigkill", "SIGKILL"). Real-time signal
//! names (`SIGRTMIN+3`) are not accepted by name, only by number, as in runc.

use std::str::FromStr;

use nix::sys::signal::Signal;

/// Highest signal number on Linux (SIGRTMAX).
const SIGRTMAX: i32 = 64;

/// Parse a signal given as a number or a name.
pub fn parse_signal(raw: &str) -> Result<i32, String> {
    if let Ok(n) = raw.parse::<i32>() {
        return if (0..=SIGRTMAX).contains(&n) {
            Ok(n)
        } else {
            Err(format!("unknown signal {raw:?}"))
        };
    }
    let upper = raw.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name)
        .map(|s| s as i32)
        .map_err(|_| format!("unknown signal {raw:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names() {
        assert_eq!(parse_signal("9"), Ok(9));
        assert_eq!(parse_signal("15"), Ok(15));
        assert_eq!(parse_signal("0"), Ok(0));
        assert_eq!(parse_signal("KILL"), Ok(9));
        assert_eq!(parse_signal("SIGKILL"), Ok(9));
        assert_eq!(parse_signal("sigterm"), Ok(15));
        assert_eq!(parse_signal("hup"), Ok(1));
        assert_eq!(parse_signal("SIGUSR1"), Ok(libc::SIGUSR1));
        assert_eq!(parse_signal("WINCH"), Ok(libc::SIGWINCH));
    }

    #[test]
    fn unknown_names_the_value() {
        assert_eq!(
            parse_signal("FOO"),
            Err("unknown signal \"FOO\"".to_string())
        );
        assert_eq!(
            parse_signal("SIGFOO").unwrap_err(),
            "unknown signal \"SIGFOO\""
        );
        assert!(parse_signal("65").unwrap_err().contains("\"65\""));
        assert!(parse_signal("-1").is_err());
        assert!(parse_signal("").is_err());
    }
}
