//! overlayfs check as root: two unpacked layers mounted as lowerdirs hide whited-out
//! files and an opaque directory's lower contents. Unmounts on drop.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::tests::{lower_layer, unpack_to, upper_layer};

struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let status = Command::new("umount").arg(&self.0).status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "umount {}",
            self.0.display()
        );
    }
}

fn mount_overlay(lowers: &[&Path], target: &Path) -> Mounted {
    let joined: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
    let status = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o"])
        .arg(format!("lowerdir={}", joined.join(":")))
        .arg(target)
        .status()
        .expect("running mount");
    assert!(
        status.success(),
        "mount -t overlay failed (needs root and overlayfs)"
    );
    Mounted(target.to_path_buf())
}

#[test]
fn overlay_hides_whiteouts_and_opaque_lower_contents() {
    let top = tempfile::tempdir().unwrap();
    let (lower, upper, merged) = (
        top.path().join("l0"),
        top.path().join("l1"),
        top.path().join("m"),
    );
    for d in [&lower, &upper, &merged] {
        fs::create_dir(d).unwrap();
    }
    unpack_to(&lower_layer(), &lower).unwrap();
    unpack_to(&upper_layer(), &upper).unwrap();
    let _mount = mount_overlay(&[&upper, &lower], &merged);
    assert!(!merged.join("a/x").exists(), "whiteout hides a/x");
    assert_eq!(fs::read(merged.join("a/y")).unwrap(), b"y");
    assert_eq!(fs::read(merged.join("d/new")).unwrap(), b"new");
    assert!(
        !merged.join("d/old").exists(),
        "opaque dir hides lower d/old"
    );
    assert!(
        !merged.join("d/sub").exists(),
        "opaque dir hides lower d/sub"
    );
}
