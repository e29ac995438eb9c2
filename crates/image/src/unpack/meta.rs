//! Metadata of one tar entry (mode, owner, mtime, xattrs) from its header and PAX
//! records, decided in pure code.
//!
//! Used by the extractor in berthd. PAX `uid`, `gid`, `mtime` and `SCHILY.xattr.*`
//! override the header (POSIX.1-2001 pax format). `trusted.overlay.*` xattrs from a
//! layer are dropped: only whiteout translation may create overlay metadata, so a layer
//! cannot forge redirects or opaque markers. `LIBARCHIVE.xattr.*` is not read.

use std::io::{self, Read};

use crate::sys::fs::FileTime;

use super::path::parse_pax_time;

/// What is applied to a created node after its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMeta {
    /// Permission bits incl. setuid/setgid/sticky (`0o7777` mask).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification (and access) time.
    pub mtime: FileTime,
    /// Extended attributes to set, in archive order.
    pub xattrs: Vec<(String, Vec<u8>)>,
}

const XATTR_PREFIX: &str = "SCHILY.xattr.";
const OVERLAY_XATTR_PREFIX: &str = "trusted.overlay.";

impl EntryMeta {
    /// Starts from the header's fields; an empty or unparsable numeric field reads as 0
    /// (as Go's archive/tar does for empty ones).
    pub fn from_header(h: &tar::Header) -> Self {
        EntryMeta {
            mode: h.mode().unwrap_or(0) & 0o7777,
            uid: clamp_id(h.uid().unwrap_or(0)),
            gid: clamp_id(h.gid().unwrap_or(0)),
            mtime: FileTime {
                secs: i64::try_from(h.mtime().unwrap_or(0)).unwrap_or(i64::MAX),
                nanos: 0,
            },
            xattrs: Vec::new(),
        }
    }

    /// Applies one PAX record; unknown keys are ignored.
    pub fn apply_pax(&mut self, key: &str, value: &[u8]) {
        match key {
            "uid" => {
                if let Some(id) = parse_id(value) {
                    self.uid = id;
                }
            }
            "gid" => {
                if let Some(id) = parse_id(value) {
                    self.gid = id;
                }
            }
            "mtime" => {
                if let Some((secs, nanos)) = parse_pax_time(value) {
                    self.mtime = FileTime { secs, nanos };
                }
            }
            _ => {
                if let Some(name) = key.strip_prefix(XATTR_PREFIX) {
                    if !name.is_empty() && !name.starts_with(OVERLAY_XATTR_PREFIX) {
                        self.xattrs.push((name.to_owned(), value.to_vec()));
                    }
                }
            }
        }
    }

    /// Reads header and PAX records of `entry`.
    pub fn read<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Self> {
        let mut meta = EntryMeta::from_header(entry.header());
        if let Some(exts) = entry.pax_extensions()? {
            for ext in exts {
                let ext = ext?;
                if let Ok(key) = ext.key() {
                    meta.apply_pax(key, ext.value_bytes());
                }
            }
        }
        Ok(meta)
    }
}

fn clamp_id(id: u64) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}

fn parse_id(value: &[u8]) -> Option<u32> {
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o104755);
        h.set_uid(7);
        h.set_gid(8);
        h.set_mtime(1000);
        h
    }

    #[test]
    fn header_fields() {
        let m = EntryMeta::from_header(&header());
        assert_eq!((m.mode, m.uid, m.gid), (0o4755, 7, 8));
        assert_eq!(
            m.mtime,
            FileTime {
                secs: 1000,
                nanos: 0
            }
        );
    }

    #[test]
    fn pax_overrides_and_filters_overlay_xattrs() {
        let mut m = EntryMeta::from_header(&header());
        m.apply_pax("uid", b"100000");
        m.apply_pax("gid", b"junk");
        m.apply_pax("mtime", b"1000.25");
        m.apply_pax("SCHILY.xattr.user.a", b"1");
        m.apply_pax("SCHILY.xattr.trusted.overlay.redirect", b"/etc");
        m.apply_pax("SCHILY.xattr.security.capability", &[1, 0, 0, 2]);
        assert_eq!((m.uid, m.gid), (100_000, 8));
        assert_eq!(m.mtime.nanos, 250_000_000);
        let names: Vec<&str> = m.xattrs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["user.a", "security.capability"]);
    }
}
