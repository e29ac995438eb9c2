//! `Reference::parse` on arbitrary UTF-8: must not panic, and any reference it
//! accepts must re-parse from its Display form (and its familiar form) to an
//! equal value.
#![no_main]

use berth_image::reference::Reference;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = Reference::parse(s) else {
        return;
    };
    let shown = parsed.to_string();
    match Reference::parse(&shown) {
        Ok(again) => assert_eq!(
            again, parsed,
            "input {s:?} displays as {shown:?}, which re-parses to a different reference"
        ),
        Err(e) => panic!("input {s:?} displays as {shown:?}, which does not re-parse: {e}"),
    }
    // The accessors must not panic either.
    let _ = (
        parsed.name(),
        parsed.registry_host(),
        parsed.tag(),
        parsed.digest(),
    );
    // The familiar form (`docker.io/library/` dropped) must re-parse too, except in the
    // one case where it cannot: a Docker Hub repository whose first path component
    // itself looks like a domain (`docker.io/a.b/c` -> `a.b/c`, which names registry
    // `a.b`). Docker's own reference library has the same ambiguity; Docker Hub does
    // not allow such namespaces. See docs/fuzzing.md.
    let familiar = parsed.familiar();
    if !first_component_looks_like_domain(&familiar) {
        match Reference::parse(&familiar) {
            Ok(again) => assert_eq!(
                again, parsed,
                "input {s:?} has familiar form {familiar:?}, which re-parses to a different reference"
            ),
            Err(e) => {
                panic!("input {s:?} has familiar form {familiar:?}, which does not re-parse: {e}")
            }
        }
    }
});

/// Docker's `splitDockerDomain` rule for "the first component is a registry".
fn first_component_looks_like_domain(s: &str) -> bool {
    match s.split_once('/') {
        None => false,
        Some((first, _)) => {
            first == "localhost" || first.contains(['.', ':']) || first.to_lowercase() != first
        }
    }
}
