//! Unit tests of the image route helpers.
use super::*;

#[test]
fn human_sizes_like_go_units() {
    assert_eq!(human_size(0), "0B");
    assert_eq!(human_size(999), "999B");
    assert_eq!(human_size(2289), "2.289kB");
    assert_eq!(human_size(1_200_000), "1.2MB");
    assert_eq!(human_size(2_152_262), "2.152MB");
}

#[test]
fn progress_bars() {
    let bar = progress_bar(50, Some(100));
    assert!(bar.starts_with(&format!("[{}>{}] ", "=".repeat(25), " ".repeat(25))));
    assert!(bar.ends_with("     50B/100B"));
    assert_eq!(progress_bar(10, None), "     10B");
}

#[test]
fn auth_header_forms() {
    let v: Value = serde_json::from_str(r#"{"username":"u","password":"p"}"#).unwrap();
    assert!(matches!(
        credentials_from(&v),
        Some(Credentials::Basic { .. })
    ));
    let v: Value = serde_json::from_str("{}").unwrap();
    assert!(credentials_from(&v).is_none());
}
