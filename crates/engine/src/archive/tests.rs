//! Unit tests of container archives: path resolution, stat headers, tar walking.
use super::*;

#[test]
fn splits_like_moby() {
    let s = split_path("etc/passwd");
    assert_eq!(
        (s.abs.as_str(), s.dir.as_str(), s.base.as_str()),
        ("/etc/passwd", "/etc", "passwd")
    );
    let s = split_path("/etc/");
    assert_eq!(
        (s.abs.as_str(), s.dir.as_str(), s.base.as_str()),
        ("/etc/", "/etc", "")
    );
    assert_eq!(s.go_base(), "etc");
    let s = split_path("/etc/.");
    assert_eq!(
        (s.dir.as_str(), s.base.as_str(), s.go_base().as_str()),
        ("/etc", ".", ".")
    );
    let s = split_path("/../../x/../etc");
    assert_eq!((s.abs.as_str(), s.dir.as_str()), ("/etc", "/"));
    assert_eq!(split_path("/").go_base(), "/");
}

#[test]
fn go_modes() {
    assert_eq!(go_file_mode(libc::S_IFDIR | 0o755), (1 << 31) | 0o755);
    assert_eq!(go_file_mode(libc::S_IFLNK | 0o777), (1 << 27) | 0o777);
    assert_eq!(go_file_mode(libc::S_IFREG | 0o4755), (1 << 23) | 0o755);
}

#[test]
fn resolution_stays_in_root() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::write(root.join("etc/secret"), b"inside").expect("write");
    std::os::unix::fs::symlink("/etc", root.join("escape")).expect("symlink");
    std::os::unix::fs::symlink("../../../../", root.join("up")).expect("symlink");
    let fd = rustix::fs::open(&root, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())
        .expect("open root");
    // Through the symlink: the container's /etc, never the host's.
    let f = open_in_root(fd.as_fd(), "/escape/secret", OFlags::RDONLY).expect("open");
    let mut s = String::new();
    File::from(f).read_to_string(&mut s).expect("read");
    assert_eq!(s, "inside");
    assert!(open_in_root(fd.as_fd(), "/escape/passwd", OFlags::RDONLY).is_err());
    let up = open_in_root(fd.as_fd(), "/up", OFlags::PATH).expect("open up");
    assert_eq!(
        fd_path(up.as_fd()).expect("path"),
        std::fs::canonicalize(&root).expect("canon")
    );
    // The stat of the link itself names its in-root target.
    let canon = std::fs::canonicalize(&root).expect("canon");
    let st = stat_of(fd.as_fd(), &canon, &split_path("/escape")).expect("stat");
    assert_eq!(st.link_target, "/etc");
    assert_eq!(st.mode & go_mode::SYMLINK, go_mode::SYMLINK);
    // Archiving the link gives the link, not the host's /etc.
    let tar = archive_path(fd.as_fd(), &split_path("/escape"), Vec::new()).expect("tar");
    let mut ar = tar::Archive::new(&tar[..]);
    let names: Vec<String> = ar
        .entries()
        .expect("entries")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["escape"]);
    // A directory through the link: its in-root content.
    let tar = archive_path(fd.as_fd(), &split_path("/escape/"), Vec::new()).expect("tar");
    let mut ar = tar::Archive::new(&tar[..]);
    let names: Vec<String> = ar
        .entries()
        .expect("entries")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(names, ["escape/", "escape/secret"]);
}

#[test]
fn users_resolve_in_root() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("etc")).expect("mkdir");
    std::fs::write(
        dir.path().join("etc/passwd"),
        "root:x:0:0::/:/bin/sh\nweb:x:33:44::/:/bin/sh\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("etc/group"), "root:x:0:\nstaff:x:50:\n").expect("write");
    let fd = rustix::fs::open(
        dir.path(),
        OFlags::RDONLY | OFlags::DIRECTORY,
        Mode::empty(),
    )
    .expect("open");
    assert_eq!(lookup_user(fd.as_fd(), "web"), (33, 44));
    assert_eq!(lookup_user(fd.as_fd(), "web:staff"), (33, 50));
    assert_eq!(lookup_user(fd.as_fd(), "1000:7"), (1000, 7));
    assert_eq!(lookup_user(fd.as_fd(), ""), (0, 0));
}
