//! Unit tests of the image operations (filters, errors, push jobs).
use super::*;

#[test]
fn globs_like_path_match() {
    assert!(glob(b"busy*", b"busybox"));
    assert!(glob(b"*:latest", b"busybox:latest"));
    assert!(!glob(b"*", b"a/b"));
    assert!(glob(b"a/?", b"a/b"));
    assert!(!glob(b"busybox", b"busybox:latest"));
}

#[test]
fn filters_parse_with_moby_texts() {
    let mut m = HashMap::new();
    m.insert("dangling".to_owned(), vec!["maybe".to_owned()]);
    let e = ImageFilters::parse(&m, LIST_FILTERS).unwrap_err();
    assert_eq!(e.message, "invalid filter 'dangling=maybe'");
    let mut m = HashMap::new();
    m.insert("colour".to_owned(), vec!["x".to_owned()]);
    let e = ImageFilters::parse(&m, LIST_FILTERS).unwrap_err();
    assert_eq!(e.message, "invalid filter 'colour'");
}

#[test]
fn until_forms() {
    assert_eq!(parse_until("1700000000"), Some(1_700_000_000));
    assert_eq!(parse_until("2023-11-14T22:13:20Z"), Some(1_700_000_000));
    let now = crate::time::now_nanos() / 1_000_000_000;
    let h = parse_until("1h30m").unwrap();
    assert!((now - 5400 - h).abs() <= 2);
    assert_eq!(parse_until("soon"), None);
}

#[test]
fn server_addresses() {
    assert_eq!(registry_host_of("https://index.docker.io/v1/"), "docker.io");
    assert_eq!(registry_host_of("127.0.0.1:5000"), "127.0.0.1:5000");
    assert_eq!(registry_host_of("http://localhost:5000/"), "localhost:5000");
    assert_eq!(registry_host_of(""), "docker.io");
}
