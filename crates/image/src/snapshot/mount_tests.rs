//! Real-mount tests (root required: they fail, never skip, without it). Every mount is
//! covered by a drop guard that detaches it even when an assertion fails, and each test
//! ends by checking that nothing under its temp dir is left in /proc/self/mountinfo.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::mount::{umount2, MntFlags};
use nix::sys::stat::{mknod, Mode, SFlag};

use super::plan::{self, KernelCaps, Layout};
use super::*;

/// Detaches everything mounted at `target` on drop (also when the test panicked).
struct MountGuard(PathBuf);

impl Drop for MountGuard {
    fn drop(&mut self) {
        for _ in 0..8 {
            if umount2(&self.0, MntFlags::MNT_DETACH).is_err() {
                break;
            }
        }
    }
}

fn assert_no_mounts_under(root: &Path) {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let root = root.to_str().unwrap();
    let leaked: Vec<&str> = info.lines().filter(|l| l.contains(root)).collect();
    assert!(leaked.is_empty(), "mounts left behind: {leaked:#?}");
}

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

/// `n` layers under `root/layers`, layer `i` holding `f<i>` and `common` = `i`; returned
/// top first (layer n-1 first). With `link_len`, the returned paths are short symlinks
/// `root/l/<name>` of that length, as the layer store hands out.
fn layers(root: &Path, n: usize, link_len: Option<usize>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for i in 0..n {
        // Long like a layer store's digest dirs (`layers/<64 chars>/diff`).
        let diff = root.join(format!("layers/{i:064}/diff"));
        write(&diff.join(format!("f{i}")), &i.to_string());
        write(&diff.join("common"), &i.to_string());
        out.push(match link_len {
            None => diff,
            Some(len) => {
                let link = root.join("l").join(format!("{i:0len$}"));
                fs::create_dir_all(root.join("l")).unwrap();
                std::os::unix::fs::symlink(&diff, &link).unwrap();
                link
            }
        });
    }
    out.reverse();
    out
}

fn assert_union_of(merged: &Path, n: usize) {
    for i in 0..n {
        assert_eq!(
            read(&merged.join(format!("f{i}"))),
            i.to_string(),
            "layer {i}"
        );
    }
    assert_eq!(
        read(&merged.join("common")),
        (n - 1).to_string(),
        "top layer wins"
    );
}

#[test]
fn three_layers_union_writes_whiteouts_and_opaque_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let [bottom, middle, top] = ["bottom", "middle", "top"].map(|n| tmp.path().join(n));
    write(&bottom.join("layer1.txt"), "1");
    write(&bottom.join("common.txt"), "1");
    write(&bottom.join("gone.txt"), "1");
    write(&bottom.join("d/old.txt"), "1");
    write(&middle.join("layer2.txt"), "2");
    write(&middle.join("common.txt"), "2");
    mknod(&middle.join("gone.txt"), SFlag::S_IFCHR, Mode::empty(), 0).unwrap();
    write(&middle.join("d/new.txt"), "2");
    xattr::set(middle.join("d"), "trusted.overlay.opaque", b"y").unwrap();
    write(&top.join("layer3.txt"), "3");
    write(&top.join("common.txt"), "3");

    let snap = Snapshot::prepare(
        &tmp.path().join("c1"),
        &[top.clone(), middle, bottom.clone()],
    )
    .unwrap();
    assert_eq!(snap.mount().unwrap(), MountStrategy::Classic);
    let _guard = MountGuard(snap.target().to_path_buf());
    let merged = snap.target();
    for (name, content) in [
        ("layer1.txt", "1"),
        ("layer2.txt", "2"),
        ("layer3.txt", "3"),
    ] {
        assert_eq!(read(&merged.join(name)), content);
    }
    assert_eq!(read(&merged.join("common.txt")), "3");
    assert!(
        !merged.join("gone.txt").exists(),
        "whiteout hides the bottom file"
    );
    assert!(merged.join("d/new.txt").exists());
    assert!(
        !merged.join("d/old.txt").exists(),
        "opaque dir hides bottom entries"
    );

    let upper = snap.upper().unwrap();
    write(&merged.join("written.txt"), "w");
    fs::write(merged.join("common.txt"), "changed").unwrap();
    fs::remove_file(merged.join("layer1.txt")).unwrap();
    assert_eq!(read(&upper.join("written.txt")), "w");
    assert!(!top.join("written.txt").exists() && !bottom.join("written.txt").exists());
    assert_eq!(
        read(&top.join("common.txt")),
        "3",
        "lowers are never written"
    );
    assert!(is_whiteout(
        &fs::symlink_metadata(upper.join("layer1.txt")).unwrap()
    ));
    assert!(bottom.join("layer1.txt").exists());
    let diff: Vec<String> = snap
        .changes()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(diff, ["C /common.txt", "D /layer1.txt", "A /written.txt"]);

    snap.remove().unwrap();
    assert!(!snap.dir().exists());
    assert!(top.join("layer3.txt").exists());
    assert_no_mounts_under(tmp.path());
}

#[test]
fn hundred_fifty_layers_use_the_new_api_and_the_top_layer_wins() {
    let tmp = tempfile::tempdir().unwrap();
    let lowers = layers(tmp.path(), 150, None);
    let snap = Snapshot::prepare(&tmp.path().join("c"), &lowers).unwrap();
    assert_eq!(snap.mount().unwrap(), MountStrategy::NewApi);
    let _guard = MountGuard(snap.target().to_path_buf());
    assert_union_of(snap.target(), 150);
    write(&snap.target().join("new"), "x");
    assert!(snap.upper().unwrap().join("new").exists());
    snap.remove().unwrap();
    assert!(!snap.dir().exists());
    assert_no_mounts_under(tmp.path());
}

#[test]
fn hundred_fifty_docker_style_links_mount_through_the_new_api() {
    let tmp = tempfile::tempdir().unwrap();
    let lowers = layers(tmp.path(), 150, Some(26));
    let snap = Snapshot::prepare(&tmp.path().join("c"), &lowers).unwrap();
    assert_eq!(snap.mount().unwrap(), MountStrategy::NewApi);
    let _guard = MountGuard(snap.target().to_path_buf());
    assert_union_of(snap.target(), 150);
    snap.remove().unwrap();
    assert_no_mounts_under(tmp.path());
}

#[test]
fn hundred_fifty_short_links_fit_one_classic_mount_with_relative_names() {
    let tmp = tempfile::tempdir().unwrap();
    let lowers = layers(tmp.path(), 150, Some(8));
    let snap = Snapshot::prepare(&tmp.path().join("c"), &lowers).unwrap();
    let old_kernel = KernelCaps {
        lowerdir_append: false,
    };
    let plan = snap.plan(old_kernel).unwrap();
    assert_eq!(plan.strategy(), MountStrategy::ClassicRelative);
    let cwd_before = std::env::current_dir().unwrap();
    apply::apply(&plan, snap.target()).unwrap();
    let _guard = MountGuard(snap.target().to_path_buf());
    assert_eq!(
        std::env::current_dir().unwrap(),
        cwd_before,
        "process cwd untouched"
    );
    assert_union_of(snap.target(), 150);
    snap.remove().unwrap();
    assert_no_mounts_under(tmp.path());
}

#[test]
fn colons_commas_and_backslashes_in_paths_work_with_both_apis() {
    let tmp = tempfile::tempdir().unwrap();
    let lowers: Vec<PathBuf> = ["top:a", "mid,b", "bot\\c"]
        .iter()
        .map(|n| tmp.path().join(n))
        .collect();
    for (i, lower) in lowers.iter().rev().enumerate() {
        write(&lower.join(format!("f{i}")), &i.to_string());
        write(&lower.join("common"), &i.to_string());
    }
    let snap = Snapshot::prepare(&tmp.path().join("snap:1,\\x"), &lowers).unwrap();
    assert_eq!(snap.mount().unwrap(), MountStrategy::Classic);
    let guard = MountGuard(snap.target().to_path_buf());
    assert_union_of(snap.target(), 3);
    write(&snap.target().join("w"), "w");
    snap.unmount().unwrap();
    drop(guard);

    let (upper, work) = (snap.dir().join("upper"), snap.dir().join("work"));
    let layout = Layout {
        lowers: snap.lowers(),
        upper_work: Some((&upper, &work)),
        volatile: false,
    };
    apply::apply(&plan::new_api_plan(&layout), snap.target()).unwrap();
    let _guard = MountGuard(snap.target().to_path_buf());
    assert_union_of(snap.target(), 3);
    assert_eq!(read(&snap.target().join("w")), "w", "same upper reused");
    snap.remove().unwrap();
    assert_no_mounts_under(tmp.path());
}

/// The mount options of the mount at `target` (mountinfo's per-superblock field).
fn super_options(target: &Path) -> String {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let target = target.to_str().unwrap();
    let line = info
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(target))
        .unwrap_or_else(|| panic!("{target} is not mounted"));
    line.rsplit(' ').next().unwrap().to_string()
}

#[test]
fn volatile_upper_layers_mount_through_both_apis() {
    let tmp = tempfile::tempdir().unwrap();
    for (n, strategy) in [(2, MountStrategy::Classic), (150, MountStrategy::NewApi)] {
        let lowers = layers(&tmp.path().join(format!("l{n}")), n, None);
        let mut snap = Snapshot::prepare(&tmp.path().join(format!("c{n}")), &lowers).unwrap();
        snap.set_volatile(true);
        assert_eq!(snap.mount().unwrap(), strategy);
        let _guard = MountGuard(snap.target().to_path_buf());
        let opts = super_options(snap.target());
        // Shown as `volatile` before Linux 6.6 and as `fsync=volatile` since.
        let volatile = |o: &str| o == "volatile" || o == "fsync=volatile";
        assert!(opts.split(',').any(volatile), "{strategy:?}: {opts}");
        write(&snap.target().join("new"), "x");
        assert!(snap.upper().unwrap().join("new").exists());
        snap.remove().unwrap();
        assert!(!snap.dir().exists());
    }
    assert_no_mounts_under(tmp.path());
}

#[test]
fn readonly_views_refuse_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let lowers = layers(tmp.path(), 2, None);
    for (count, strategy) in [
        (2, MountStrategy::Classic),
        (1, MountStrategy::ReadOnlyBind),
    ] {
        let view =
            Snapshot::for_readonly_view(&tmp.path().join(format!("view{count}")), &lowers[..count])
                .unwrap();
        assert_eq!(view.mount().unwrap(), strategy);
        let _guard = MountGuard(view.target().to_path_buf());
        assert_eq!(read(&view.target().join("common")), "1");
        let err = fs::write(view.target().join("x"), "x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS));
        assert!(view.upper().is_none() && view.changes().unwrap().is_empty());
        view.remove().unwrap();
        assert!(!view.dir().exists());
    }
    assert!(
        lowers[1].join("f0").exists(),
        "layers survive removing a view"
    );
    assert_no_mounts_under(tmp.path());
}

#[test]
fn busy_mount_is_detached_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let lowers = layers(tmp.path(), 2, None);
    let snap = Snapshot::prepare(&tmp.path().join("c"), &lowers).unwrap();
    snap.mount().unwrap();
    let _guard = MountGuard(snap.target().to_path_buf());
    let open = fs::File::open(snap.target().join("f0")).unwrap();
    snap.remove().unwrap();
    assert_no_mounts_under(tmp.path());
    drop(open);
}

#[test]
fn empty_image_mounts_and_teardown_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let snap = Snapshot::prepare(&tmp.path().join("c"), &[]).unwrap();
    assert_eq!(snap.mount().unwrap(), MountStrategy::Classic);
    let _guard = MountGuard(snap.target().to_path_buf());
    assert_eq!(fs::read_dir(snap.target()).unwrap().count(), 0);
    write(&snap.target().join("hello"), "hi");
    snap.unmount().unwrap();
    snap.unmount().unwrap();
    snap.remove().unwrap();
    snap.remove().unwrap();
    assert!(!tmp.path().join("c").exists());
    assert_no_mounts_under(tmp.path());
}

#[test]
fn caller_owned_target_is_kept_and_bad_lowers_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let lowers = layers(tmp.path(), 2, None);
    let target = tmp.path().join("bundle/rootfs");
    let snap = Snapshot::prepare_at(&tmp.path().join("c"), &lowers, &target).unwrap();
    snap.mount().unwrap();
    let _guard = MountGuard(target.clone());
    assert_union_of(&target, 2);
    snap.remove().unwrap();
    assert!(target.is_dir() && fs::read_dir(&target).unwrap().count() == 0);
    assert_no_mounts_under(tmp.path());

    let missing = tmp.path().join("missing");
    let err = Snapshot::prepare(&tmp.path().join("d"), std::slice::from_ref(&missing)).unwrap_err();
    assert!(matches!(err, SnapshotError::StatLower { ref path, .. } if path == &missing));
    let file = lowers[0].join("f1");
    let err = Snapshot::prepare(&tmp.path().join("d"), std::slice::from_ref(&file)).unwrap_err();
    assert!(matches!(err, SnapshotError::LowerNotDir { ref path } if path == &file));
    assert_eq!(
        fs::metadata(tmp.path().join("d"))
            .map_err(|e| e.kind())
            .err(),
        Some(ErrorKind::NotFound)
    );
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Timings, not a check: `cargo test -p berth-image --release --lib
/// snapshot::mount_tests::timings -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark; run explicitly with --release --ignored --nocapture"]
fn timings() {
    const RUNS: usize = 200;
    for (count, link_len) in [(50, Some(26)), (50, None), (150, Some(26)), (150, None)] {
        let tmp = tempfile::tempdir().unwrap();
        let lowers = layers(tmp.path(), count, link_len);
        let mut phases: [Vec<Duration>; 4] = Default::default();
        let mut strategy = None;
        for run in 0..RUNS {
            let t0 = Instant::now();
            let snap = Snapshot::prepare(&tmp.path().join(format!("c{run}")), &lowers).unwrap();
            let t1 = Instant::now();
            strategy = Some(snap.mount().unwrap());
            let t2 = Instant::now();
            let guard = MountGuard(snap.target().to_path_buf());
            fs::write(snap.target().join("f0"), "written").unwrap();
            let t3 = Instant::now();
            snap.unmount().unwrap();
            let t4 = Instant::now();
            snap.remove().unwrap();
            let t5 = Instant::now();
            for (phase, d) in phases.iter_mut().zip([t1 - t0, t2 - t1, t4 - t3, t5 - t4]) {
                phase.push(d);
            }
            drop(guard);
        }
        let [prepare, mount, unmount, remove] = phases.map(median);
        let kind = if link_len.is_some() {
            "26-char links"
        } else {
            "long paths"
        };
        println!(
            "{count} layers, {kind}: prepare {prepare:?} + mount {mount:?} ({strategy:?}); \
             unmount {unmount:?} + remove {remove:?}"
        );
        assert_no_mounts_under(tmp.path());
    }
}
