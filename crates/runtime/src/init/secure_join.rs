//! Resolve a path inside the rootfs without letting symlinks escape it.
//!
//! Runs in the container init before pivot_root, when the image's symlinks would
//! otherwise resolve against the host. Each component is resolved by hand, with absolute
//! link targets and `..` clamped to the rootfs, like a chroot would.

use std::path::{Component, Path, PathBuf};

const MAX_LINKS: usize = 40;

/// `root` joined with `unsafe_path`, with every symlink resolved inside `root`.
/// Components that do not exist yet are appended as they are.
pub fn secure_join(root: &Path, unsafe_path: &Path) -> Result<PathBuf, String> {
    let mut resolved = PathBuf::new(); // relative to root
    let mut pending: Vec<PathBuf> = vec![unsafe_path.to_path_buf()];
    let mut links = 0;
    while let Some(p) = pending.pop() {
        let mut comps = p.components();
        while let Some(c) = comps.next() {
            match c {
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    resolved.pop();
                }
                Component::Normal(name) => {
                    let candidate = resolved.join(name);
                    match std::fs::read_link(root.join(&candidate)) {
                        Ok(target) => {
                            links += 1;
                            if links > MAX_LINKS {
                                return Err(format!(
                                    "{}: too many levels of symbolic links",
                                    unsafe_path.display()
                                ));
                            }
                            let rest: PathBuf = comps.collect();
                            if !rest.as_os_str().is_empty() {
                                pending.push(rest);
                            }
                            if target.is_absolute() {
                                resolved = PathBuf::new();
                            }
                            pending.push(target);
                            break;
                        }
                        Err(_) => resolved = candidate,
                    }
                }
            }
        }
    }
    Ok(root.join(resolved))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_stay_inside() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("usr/lib")).unwrap();
        symlink("/usr/lib", r.join("lib")).unwrap();
        symlink("../../../../etc", r.join("usr/evil")).unwrap();
        symlink("/", r.join("rootlink")).unwrap();
        assert_eq!(
            secure_join(r, Path::new("/lib/x")).unwrap(),
            r.join("usr/lib/x")
        );
        assert_eq!(
            secure_join(r, Path::new("/usr/evil/passwd")).unwrap(),
            r.join("etc/passwd")
        );
        assert_eq!(
            secure_join(r, Path::new("/rootlink/../../tmp")).unwrap(),
            r.join("tmp")
        );
        assert_eq!(
            secure_join(r, Path::new("/a/../../b")).unwrap(),
            r.join("b")
        );
    }

    #[test]
    fn loops_are_reported() {
        let d = tempfile::tempdir().unwrap();
        symlink("/loop", d.path().join("loop")).unwrap();
        assert!(secure_join(d.path(), Path::new("/loop/x")).is_err());
    }
}
