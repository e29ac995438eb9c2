//! Natural string order (`abc2` before `abc12`), as fvbommel/sortorder's `NaturalLess`
//! which docker/cli uses to sort `network ls` by name and `port` lines.
//!
//! Runs in the CLI process; pure code. Digit runs compare numerically (fewer leading
//! zeros first on a tie), everything else bytewise, and digits sort before non-digits.

use std::cmp::Ordering;

/// Compares `a` and `b` in natural order.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < y.len() {
        let (dx, dy) = (x[i].is_ascii_digit(), y[j].is_ascii_digit());
        if dx != dy {
            return if dx {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        if !dx {
            if x[i] != y[j] {
                return x[i].cmp(&y[j]);
            }
            i += 1;
            j += 1;
            continue;
        }
        let (zi, zj) = (skip(x, i, |c| c == b'0'), skip(y, j, |c| c == b'0'));
        let (ei, ej) = (
            skip(x, zi, |c| c.is_ascii_digit()),
            skip(y, zj, |c| c.is_ascii_digit()),
        );
        let by_len = (ei - zi).cmp(&(ej - zj));
        let by_digits = x[zi..ei].cmp(&y[zj..ej]);
        // Fewer leading zeros sort first: compare where the significant digits start.
        let by_zeros = zi.cmp(&zj);
        match by_len.then(by_digits).then(by_zeros) {
            Ordering::Equal => (i, j) = (ei, ej),
            o => return o,
        }
    }
    (x.len() - i).cmp(&(y.len() - j))
}

/// First index at or after `from` whose byte does not satisfy `f`.
fn skip(s: &[u8], from: usize, f: impl Fn(u8) -> bool) -> usize {
    s[from..]
        .iter()
        .position(|&c| !f(c))
        .map_or(s.len(), |p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_numerically() {
        let mut v = vec!["net10", "net2", "net1", "bridge", "host", "net02", "a"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["a", "bridge", "host", "net1", "net2", "net02", "net10"]);
        let mut p = vec![
            "100/tcp -> :100",
            "80/tcp -> [::]:8080",
            "9/tcp -> 0.0.0.0:9",
            "80/tcp -> 0.0.0.0:8080",
            "53/udp -> 127.0.0.1:53",
        ];
        p.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            p,
            [
                "9/tcp -> 0.0.0.0:9",
                "53/udp -> 127.0.0.1:53",
                "80/tcp -> 0.0.0.0:8080",
                "80/tcp -> [::]:8080",
                "100/tcp -> :100"
            ]
        );
    }

    #[test]
    fn prefixes_and_digits_first() {
        assert_eq!(natural_cmp("abc", "abcd"), Ordering::Less);
        assert_eq!(natural_cmp("1a", "a"), Ordering::Less);
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
        assert_eq!(natural_cmp("2", "02"), Ordering::Less);
    }
}
