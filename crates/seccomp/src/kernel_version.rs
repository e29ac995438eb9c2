//! Kernel `major.minor` versions, as Docker's profile `minKernel` conditions use them.
//!
//! Runs in berthd. Reads `/proc/sys/kernel/osrelease` (the same string as uname(2)'s
//! `release`) and owns nothing. Only major and minor count, as in Docker: "4.8" matches
//! "4.8.0-foo" and "4.8-1-amd64" alike.

use std::fmt;
use std::io;
use std::str::FromStr;

/// A kernel version reduced to `major.minor`; ordered numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelVersion {
    /// Major version (the 6 in 6.1.0).
    pub major: u32,
    /// Minor version (the 1 in 6.1.0).
    pub minor: u32,
}

/// A kernel release string without a leading `<major>.<minor>`.
#[derive(Debug, thiserror::Error)]
#[error("kernel version {0:?} does not start with <major>.<minor>")]
pub struct ParseKernelVersionError(pub String);

/// Reading the running kernel's release failed.
#[derive(Debug, thiserror::Error)]
pub enum KernelVersionError {
    /// `/proc/sys/kernel/osrelease` could not be read.
    #[error("reading /proc/sys/kernel/osrelease")]
    ReadRelease(#[source] io::Error),
    /// Its content did not parse.
    #[error("parsing the running kernel's release")]
    ParseRelease(#[source] ParseKernelVersionError),
}

impl KernelVersion {
    /// The running kernel's version.
    pub fn running() -> Result<Self, KernelVersionError> {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map_err(KernelVersionError::ReadRelease)?;
        release
            .trim()
            .parse()
            .map_err(KernelVersionError::ParseRelease)
    }
}

impl FromStr for KernelVersion {
    type Err = ParseKernelVersionError;

    /// Parse the leading `<major>.<minor>` of a release string; anything after the
    /// minor number's digits is ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseKernelVersionError(s.to_owned());
        let (major, rest) = s.split_once('.').ok_or_else(err)?;
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest, |end| &rest[..end]);
        Ok(Self {
            major: major.parse().map_err(|_| err())?,
            minor: digits.parse().map_err(|_| err())?,
        })
    }
}

impl fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_strings() {
        let v = |major, minor| KernelVersion { major, minor };
        assert_eq!("4.8".parse::<KernelVersion>().unwrap(), v(4, 8));
        assert_eq!("6.18.0-rc1+".parse::<KernelVersion>().unwrap(), v(6, 18));
        assert_eq!("3.12-1-amd64".parse::<KernelVersion>().unwrap(), v(3, 12));
        assert!("6".parse::<KernelVersion>().is_err());
        assert!("a.b".parse::<KernelVersion>().is_err());
        assert!(v(4, 10) > v(4, 8));
        assert!(v(5, 0) > v(4, 19));
    }

    #[test]
    fn reads_running_kernel() {
        let running = KernelVersion::running().unwrap();
        assert!(
            running
                >= KernelVersion {
                    major: 3,
                    minor: 17
                }
        );
    }
}
