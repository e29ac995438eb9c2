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

/// A random `adjective_noun` name; `attempt` > 0 appends a digit like Docker does on retry.
pub fn random_name(attempt: u32) -> String {
    let id = random_id();
    let n = u32::from_str_radix(&id[..8], 16).unwrap_or(0) as usize;
    let base = format!("{}_{}", LEFT[n % LEFT.len()], RIGHT[(n / 64) % RIGHT.len()]);
    if attempt == 0 {
        base
    } else {
        format!("{base}{}", n % 10)
    }
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
    }
}
