//! The runtime's log: error and debug lines to `--log` (or stderr) in text or JSON.
//!
//! Runs in the CLI process; main owns the one [`Logger`] and lends it to the commands.
//! containerd's shim reads the last `"level":"error"` line of the `--log` file to report
//! why a call failed, so errors go there as one line each. With `--log`, nothing is
//! written to stderr (as runc): for `exec` the runtime's stderr is the process's stderr,
//! and berthd must not see runtime errors as program output. The log file is opened append-only and closed on exit; nothing else is global.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use crate::args::{GlobalOpts, LogFormat};
use crate::rfc3339;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The command failed.
    Error,
    /// Something was ignored or degraded.
    Warning,
    /// Only with `--debug`.
    Debug,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Debug => "debug",
        }
    }
}

/// Where and how log lines are written.
#[derive(Debug)]
pub struct Logger {
    file: Option<File>,
    format: LogFormat,
    debug: bool,
}

impl Logger {
    /// A logger for the global options. If the `--log` file cannot be opened, lines go
    /// to stderr instead (with a warning) so the real error is still seen.
    pub fn new(opts: &GlobalOpts) -> Self {
        let mut logger = Logger {
            file: None,
            format: opts.log_format,
            debug: opts.debug,
        };
        if let Some(path) = &opts.log {
            match OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o644)
                .open(path)
            {
                Ok(f) => logger.file = Some(f),
                Err(e) => logger.warn(&format!("open log file {}: {e}", path.display())),
            }
        }
        logger
    }

    /// Log a failure: to the log file and to stderr.
    pub fn error(&self, msg: &str) {
        self.write(Level::Error, msg);
    }

    /// Log something the user should know about.
    pub fn warn(&self, msg: &str) {
        self.write(Level::Warning, msg);
    }

    /// Log a debug line (only with `--debug`).
    pub fn debug(&self, msg: &str) {
        if self.debug {
            self.write(Level::Debug, msg);
        }
    }

    fn write(&self, level: Level, msg: &str) {
        let time = rfc3339::now();
        let line = format_line(self.format, level, msg, &time);
        // A failing log write has nowhere better to be reported; the exit code still is.
        match &self.file {
            Some(file) => {
                let _ = (&*file).write_all(line.as_bytes());
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }
}

/// One log line, newline-terminated, in logrus's text or JSON shape.
pub fn format_line(format: LogFormat, level: Level, msg: &str, time: &str) -> String {
    match format {
        LogFormat::Text => format!("time={time:?} level={} msg={msg:?}\n", level.as_str()),
        LogFormat::Json => {
            let obj = serde_json::json!({"level": level.as_str(), "msg": msg, "time": time});
            format!("{obj}\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "2026-11-28T01:02:03Z";

    #[test]
    fn json_line() {
        let line = format_line(
            LogFormat::Json,
            Level::Error,
            "container \"x\" does not exist",
            T,
        );
        assert_eq!(
            line,
            "{\"level\":\"error\",\"msg\":\"container \\\"x\\\" does not exist\",\
             \"time\":\"2026-11-28T01:02:03Z\"}\n"
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "error");
    }

    #[test]
    fn text_line() {
        assert_eq!(
            format_line(LogFormat::Text, Level::Debug, "a \"b\"\nc", T),
            "time=\"2026-11-28T01:02:03Z\" level=debug msg=\"a \\\"b\\\"\\nc\"\n"
        );
    }

    #[test]
    fn writes_to_log_file() {
        let dir = std::env::temp_dir().join(format!("berth-log-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.json");
        let opts = GlobalOpts {
            root: dir.clone(),
            log: Some(path.clone()),
            log_format: LogFormat::Json,
            debug: false,
            systemd_cgroup: false,
            rootless: "auto".into(),
            criu: None,
        };
        let log = Logger::new(&opts);
        log.debug("hidden");
        log.error("boom");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(
            (v["level"].as_str(), v["msg"].as_str()),
            (Some("error"), Some("boom"))
        );
    }
}
