//! Pure decisions about tar entry names: normalising a path to components inside the
//! layer, classifying whiteouts, and reading PAX times.
//!
//! No I/O; used by the extractor in berthd. Implements the OCI image spec's layer
//! whiteout naming (`.wh.<name>`, `.wh..wh..opq`); any `..` component is refused rather
//! than resolved lexically, since a layer never needs one.

use std::borrow::Cow;

/// Why an entry name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem {
    /// A `..` component.
    ParentComponent,
    /// Longer than the configured limit.
    TooLong,
    /// A component longer than 255 bytes.
    ComponentTooLong,
    /// A NUL byte.
    Nul,
}

impl PathProblem {
    /// Lower-case description for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            PathProblem::ParentComponent => "contains a `..` component",
            PathProblem::TooLong => "is longer than the path length limit",
            PathProblem::ComponentTooLong => "has a component longer than 255 bytes",
            PathProblem::Nul => "contains a NUL byte",
        }
    }
}

/// Normalises a tar entry name into `a/b/c` form relative to the layer root: leading
/// `/` and `.`/empty components are dropped; `..` is refused. The empty result is the
/// layer root itself.
pub fn normalise(raw: &[u8], max_len: usize) -> Result<Vec<u8>, PathProblem> {
    if raw.len() > max_len {
        return Err(PathProblem::TooLong);
    }
    if raw.contains(&0) {
        return Err(PathProblem::Nul);
    }
    let mut out = Vec::with_capacity(raw.len());
    for comp in raw.split(|b| *b == b'/') {
        match comp {
            b"" | b"." => continue,
            b".." => return Err(PathProblem::ParentComponent),
            c if c.len() > 255 => return Err(PathProblem::ComponentTooLong),
            c => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    Ok(out)
}

/// Splits a normalised, non-empty path into (parent, leaf); the parent may be empty.
pub fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|b| *b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// Joins a normalised parent and one component.
pub fn join(parent: &[u8], leaf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parent.len() + leaf.len() + 1);
    out.extend_from_slice(parent);
    if !parent.is_empty() {
        out.push(b'/');
    }
    out.extend_from_slice(leaf);
    out
}

/// What an entry's last component says about whiteouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whiteout<'a> {
    /// An ordinary entry.
    None,
    /// `.wh.<name>`: delete `<name>` from lower layers.
    Remove(&'a [u8]),
    /// `.wh..wh..opq`: hide the parent directory's lower contents.
    Opaque,
    /// Another `.wh..wh.` name (AUFS metadata): ignored.
    Ignored,
}

const WH: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";

/// Classifies an entry by its last component.
pub fn whiteout_kind(leaf: &[u8]) -> Whiteout<'_> {
    if leaf == OPAQUE {
        Whiteout::Opaque
    } else if leaf.starts_with(b".wh..wh.") {
        Whiteout::Ignored
    } else if let Some(name) = leaf.strip_prefix(WH) {
        Whiteout::Remove(name)
    } else {
        Whiteout::None
    }
}

/// Whiteout file name for `name` (`.wh.<name>`).
pub fn whiteout_name(name: &[u8]) -> Vec<u8> {
    let mut out = WH.to_vec();
    out.extend_from_slice(name);
    out
}

/// Name of the opaque-directory marker entry.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// Parses a PAX time (`"1700000000"`, `"1700000000.5"`, `"-1.25"`) to (secs, nanos).
pub fn parse_pax_time(value: &[u8]) -> Option<(i64, u32)> {
    let s = std::str::from_utf8(value).ok()?;
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if frac.len() > 18 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut secs: i64 = int.parse().ok()?;
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let mut nanos: u32 = digits.parse().ok()?;
    if int.starts_with('-') && nanos > 0 {
        secs -= 1;
        nanos = 1_000_000_000 - nanos;
    }
    Some((secs, nanos))
}

/// Lossy text form of a path for error messages.
pub fn display(path: &[u8]) -> String {
    match String::from_utf8_lossy(path) {
        Cow::Borrowed(s) => s.to_owned(),
        Cow::Owned(s) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_strips_root_and_dots() {
        assert_eq!(normalise(b"/etc//passwd", 4096).unwrap(), b"etc/passwd");
        assert_eq!(normalise(b"./a/./b/", 4096).unwrap(), b"a/b");
        assert_eq!(normalise(b"./", 4096).unwrap(), b"");
    }

    #[test]
    fn normalise_refuses_dotdot_and_limits() {
        assert_eq!(normalise(b"../x", 4096), Err(PathProblem::ParentComponent));
        assert_eq!(
            normalise(b"a/../../x", 4096),
            Err(PathProblem::ParentComponent)
        );
        assert_eq!(normalise(b"aaaa", 3), Err(PathProblem::TooLong));
        assert_eq!(
            normalise(&[b'a'; 256], 4096),
            Err(PathProblem::ComponentTooLong)
        );
        assert_eq!(normalise(b"a\0b", 4096), Err(PathProblem::Nul));
    }

    #[test]
    fn split_and_join() {
        assert_eq!(split_parent(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split_parent(b"c"), (&b""[..], &b"c"[..]));
        assert_eq!(join(b"", b"c"), b"c");
        assert_eq!(join(b"a", b"c"), b"a/c");
    }

    #[test]
    fn whiteouts() {
        assert_eq!(whiteout_kind(b".wh.foo"), Whiteout::Remove(b"foo"));
        assert_eq!(whiteout_kind(b".wh..wh..opq"), Whiteout::Opaque);
        assert_eq!(whiteout_kind(b".wh..wh.plnk"), Whiteout::Ignored);
        assert_eq!(whiteout_kind(b"foo.wh.x"), Whiteout::None);
        assert_eq!(whiteout_name(b"x"), b".wh.x");
    }

    #[test]
    fn pax_times() {
        assert_eq!(parse_pax_time(b"1700000000"), Some((1_700_000_000, 0)));
        assert_eq!(parse_pax_time(b"12.5"), Some((12, 500_000_000)));
        assert_eq!(parse_pax_time(b"12.123456789123"), Some((12, 123_456_789)));
        assert_eq!(parse_pax_time(b"-1.25"), Some((-2, 750_000_000)));
        assert_eq!(parse_pax_time(b"x"), None);
    }
}
