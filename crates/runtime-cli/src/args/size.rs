//! Parsing memory sizes of `update --memory*` like runc (docker/go-units `RAMInBytes`).
//!
//! Pure function, runs in the CLI process. `"-1"` means unlimited; otherwise a decimal
//! number with an optional binary unit `k m g t p` (any case, optional `i` and `b`, an
//! optional space before the unit): `512m`, `1.5G`, `64 KiB`, `1048576`.

/// Parse a memory size in bytes; `-1` is unlimited.
pub fn parse_memory(raw: &str) -> Result<i64, String> {
    if raw == "-1" {
        return Ok(-1);
    }
    let invalid = || format!("invalid size: {raw:?}");
    let num_end = raw
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(raw.len());
    let (num, unit) = raw.split_at(num_end);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(invalid());
    }
    let value: f64 = num.parse().map_err(|_| invalid())?;
    let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
    let mut chars = unit.chars();
    let shift = match chars.next() {
        None => 0,
        Some('b') if unit == "b" => 0,
        Some('k') => 10,
        Some('m') => 20,
        Some('g') => 30,
        Some('t') => 40,
        Some('p') => 50,
        Some(_) => return Err(invalid()),
    };
    if !matches!(chars.as_str(), "" | "b" | "i" | "ib") {
        return Err(invalid());
    }
    let bytes = value * (1u64 << shift) as f64;
    if !bytes.is_finite() || bytes >= i64::MAX as f64 {
        return Err(invalid());
    }
    // go-units truncates fractional bytes the same way.
    #[allow(clippy::cast_possible_truncation)]
    Ok(bytes as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_suffixed() {
        assert_eq!(parse_memory("-1"), Ok(-1));
        assert_eq!(parse_memory("0"), Ok(0));
        assert_eq!(parse_memory("1048576"), Ok(1_048_576));
        assert_eq!(parse_memory("10k"), Ok(10 * 1024));
        assert_eq!(parse_memory("10K"), Ok(10 * 1024));
        assert_eq!(parse_memory("512m"), Ok(512 << 20));
        assert_eq!(parse_memory("512MB"), Ok(512 << 20));
        assert_eq!(parse_memory("2g"), Ok(2 << 30));
        assert_eq!(parse_memory("2GiB"), Ok(2 << 30));
        assert_eq!(parse_memory("1.5g"), Ok(3 << 29));
        assert_eq!(parse_memory("64 KiB"), Ok(64 << 10));
        assert_eq!(parse_memory("1t"), Ok(1 << 40));
        assert_eq!(parse_memory("3b"), Ok(3));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "m",
            "-2",
            "abc",
            "10x",
            "10mbb",
            "1..2m",
            ".5m",
            "10  m",
            "99999999p",
        ] {
            let err = parse_memory(bad).unwrap_err();
            assert!(err.contains("invalid size"), "{bad}: {err}");
        }
    }
}
