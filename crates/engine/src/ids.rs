//! Container and exec ids (64 hex digits) and Docker's container-name rules.

use std::io::Read;

/// A fresh random 64-hex id (from the kernel's CSPRNG), never all digits (Docker avoids
/// ids that look like numbers, which some tools would parse).
pub fn random_id() -> String {
    loop {
        let mut buf = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut buf))
            .expect("read /dev/urandom");
        let id: String = buf.iter().map(|b| format!("{b:02x}")).collect();
        if !id.bytes().all(|c| c.is_ascii_digit()) {
            return id;
        }
    }
}

/// Whether `name` (without the leading `/`) matches Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

// Docker's name generator uses adjectives and scientists; these word lists are our own.
const LEFT: &[&str] = &[
    "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lively", "merry",
    "nimble", "proud", "quiet", "rapid", "sharp", "steady", "swift", "tidy", "vivid", "witty",
];
const RIGHT: &[&str] = &[
    "anchor", "barge", "buoy", "cabin", "canal", "cargo", "dock", "ferry", "harbor", "hull",
    "jetty", "keel", "lock", "mast", "pier", "quay", "rudder", "sail", "tug", "wharf",
];

/// A random `adjective_noun` name. Like Docker, a retry appends a number; the number
/// grows with the attempt (1 digit, then 2, …), so the space never runs out and the
/// caller's loop always ends quickly.
pub fn random_name(attempt: u32) -> String {
    let id = random_id();
    let n = u64::from_str_radix(&id[..16], 16).unwrap_or(0);
    let left = LEFT[(n % LEFT.len() as u64) as usize];
    let right = RIGHT[((n >> 8) % RIGHT.len() as u64) as usize];
    if attempt == 0 {
        return format!("{left}_{right}");
    }
    let digits = attempt.min(12);
    let modulus = 10u64.pow(digits);
    format!("{left}_{right}{}", (n >> 16) % modulus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex() {
        let id = random_id();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(id, random_id());
    }

    #[test]
    fn names_follow_dockers_rule() {
        assert!(valid_name("web"));
        assert!(valid_name("a.b-c_d"));
        assert!(!valid_name("x"));
        assert!(!valid_name("-x"));
        assert!(!valid_name("x y"));
        assert!(!valid_name("ä1"));
        assert!(valid_name(&random_name(0)));
        assert!(valid_name(&random_name(3)));
        // Many names: with retries the generator never gets stuck (it used to cycle
        // through 800 names and spin forever after that).
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3000 {
            let mut attempt = 0;
            while !seen.insert(random_name(attempt)) {
                attempt += 1;
                assert!(attempt < 20, "name generator stuck");
            }
        }
    }
}
