//! Parsers for /proc text read on the host or printed from inside a container.
//!
//! Pure functions over strings; no I/O except the `host_*` helpers that read the test
//! process's own /proc.

/// One line of `/proc/<pid>/mountinfo` (see proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// Root of the mount within its filesystem (field 4).
    pub root: String,
    /// Mount point (field 5), octal escapes decoded.
    pub mount_point: String,
    /// Per-mount options (field 6), e.g. `ro,nosuid`.
    pub mount_opts: Vec<String>,
    /// Optional fields such as `shared:12`.
    pub optional: Vec<String>,
    /// Filesystem type.
    pub fstype: String,
    /// Mount source.
    pub source: String,
    /// Superblock options.
    pub super_opts: Vec<String>,
}

impl MountInfo {
    /// True when `opt` is among the per-mount or superblock options.
    pub fn has_opt(&self, opt: &str) -> bool {
        self.mount_opts
            .iter()
            .chain(&self.super_opts)
            .any(|o| o == opt)
    }
}

/// Undo mountinfo's octal escapes (`\040` for a space).
pub(crate) fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo text; malformed lines are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            if l.len() < 6 || r.len() < 3 {
                return None;
            }
            let split = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
            Some(MountInfo {
                root: unescape(l[3]),
                mount_point: unescape(l[4]),
                mount_opts: split(l[5]),
                optional: l[6..].iter().map(|s| s.to_string()).collect(),
                fstype: r[0].to_string(),
                source: unescape(r[1]),
                super_opts: split(r[2]),
            })
        })
        .collect()
}

/// The test process's own mount table.
pub fn host_mounts() -> Vec<MountInfo> {
    parse_mountinfo(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
}

/// Value of a `Key:\tvalue` line in a /proc/<pid>/status text.
pub fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.trim())
    })
}

/// Parses a hex capability mask from a status line value.
pub fn parse_cap_hex(v: &str) -> u64 {
    u64::from_str_radix(v.trim(), 16).unwrap_or_else(|e| panic!("bad cap mask {v:?}: {e}"))
}
