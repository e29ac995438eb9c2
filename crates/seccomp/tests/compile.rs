//! Integration tests for `compile`: Docker's default profile through real libseccomp,
//! the on-disk cache (hit, corrupt file, unwritable directory) and error reporting.

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    use berth_seccomp::{
        compile, compile_with_status, docker_default_profile, CacheError, CacheStatus,
        CompiledFilter, SeccompError,
    };
    use oci_spec::runtime::LinuxSeccomp;

    fn default_caps() -> Vec<String> {
        [
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_SETUID",
            "CAP_SETGID",
            "CAP_KILL",
        ]
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
    }

    fn docker_default() -> LinuxSeccomp {
        docker_default_profile(&default_caps()).unwrap()
    }

    fn profile(json: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(json).unwrap()
    }

    fn miss_path(status: &CacheStatus) -> PathBuf {
        match status {
            CacheStatus::Miss {
                path,
                discarded: _,
                store_error: None,
            } => path.clone(),
            other => panic!("expected a clean cache miss, got {other:?}"),
        }
    }

    #[test]
    fn compiles_docker_default_profile() {
        let filter = compile(&docker_default(), None).unwrap();
        assert_eq!(filter.program.len() % 8, 0);
        assert!(
            filter.instructions() > 100,
            "{} insns",
            filter.instructions()
        );
        assert_eq!(filter.flags, 0);
        // Deterministic: compiling twice yields the same program.
        assert_eq!(compile(&docker_default(), None).unwrap(), filter);
    }

    #[test]
    fn unknown_syscall_names_are_skipped() {
        let with_unknown = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["no_such_syscall_xyz", "mkdir"], "action": "SCMP_ACT_ERRNO"}]
        }));
        let plain = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
        }));
        assert_eq!(
            compile(&with_unknown, None).unwrap(),
            compile(&plain, None).unwrap()
        );
    }

    #[test]
    fn cache_hit_returns_stored_bytes_without_libseccomp() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("nested/cache");
        let (first, status) = compile_with_status(&docker_default(), Some(&cache)).unwrap();
        let path = miss_path(&status);
        assert_eq!(
            fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let stored = fs::read(&path).unwrap();
        assert_eq!(stored[..4], first.flags.to_le_bytes());
        assert_eq!(stored[4..], first.program[..]);

        let (second, status) = compile_with_status(&docker_default(), Some(&cache)).unwrap();
        assert!(matches!(status, CacheStatus::Hit { .. }), "{status:?}");
        assert_eq!(second, first);

        // Replace the entry with a distinct valid program (a single RET ALLOW): a hit
        // must return exactly these bytes, proving libseccomp was not consulted.
        let sentinel = CompiledFilter {
            program: vec![0x06, 0, 0, 0, 0, 0, 0xff, 0x7f],
            flags: 0,
        };
        let mut bytes = sentinel.flags.to_le_bytes().to_vec();
        bytes.extend_from_slice(&sentinel.program);
        write_private(&path, &bytes);
        let (hit, status) = compile_with_status(&docker_default(), Some(&cache)).unwrap();
        assert!(matches!(status, CacheStatus::Hit { .. }), "{status:?}");
        assert_eq!(hit, sentinel);
    }

    #[test]
    fn corrupt_cache_file_is_recompiled_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let (good, status) = compile_with_status(&docker_default(), Some(dir.path())).unwrap();
        let path = miss_path(&status);
        for corrupt in [
            &b""[..],
            &b"\x00\x00"[..],
            &b"\x00\x00\x00\x00\x06\x00\x00"[..],
        ] {
            write_private(&path, corrupt);
            let (filter, status) =
                compile_with_status(&docker_default(), Some(dir.path())).unwrap();
            assert_eq!(filter, good);
            match status {
                CacheStatus::Miss {
                    discarded: Some(CacheError::Corrupt { len, .. }),
                    store_error: None,
                    ..
                } => assert_eq!(len, corrupt.len()),
                other => panic!("expected a corrupt-file miss, got {other:?}"),
            }
            assert_eq!(fs::read(&path).unwrap()[4..], good.program[..]);
        }
        // Flags that disagree with the profile make the file stale.
        let mut wrong_flags = 2u32.to_le_bytes().to_vec();
        wrong_flags.extend_from_slice(&good.program);
        write_private(&path, &wrong_flags);
        let (filter, status) = compile_with_status(&docker_default(), Some(dir.path())).unwrap();
        assert_eq!(filter, good);
        assert!(
            matches!(
                status,
                CacheStatus::Miss {
                    discarded: Some(CacheError::FlagsMismatch {
                        found: 2,
                        expected: 0,
                        ..
                    }),
                    ..
                }
            ),
            "{status:?}"
        );
        // A world-writable cache file is not trusted either.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        let (_, status) = compile_with_status(&docker_default(), Some(dir.path())).unwrap();
        assert!(
            matches!(
                status,
                CacheStatus::Miss {
                    discarded: Some(CacheError::Untrusted { .. }),
                    ..
                }
            ),
            "{status:?}"
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn cache_write_failure_does_not_fail_compile() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        fs::write(&blocker, b"x").unwrap();
        let (filter, status) = compile_with_status(&docker_default(), Some(&blocker)).unwrap();
        assert!(!filter.program.is_empty());
        assert!(
            matches!(
                status,
                CacheStatus::Miss {
                    store_error: Some(CacheError::CreateDir { .. }),
                    ..
                }
            ),
            "{status:?}"
        );
    }

    #[test]
    fn different_profiles_use_different_cache_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = profile(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW"}));
        let b = profile(serde_json::json!({"defaultAction": "SCMP_ACT_LOG"}));
        let (fa, sa) = compile_with_status(&a, Some(dir.path())).unwrap();
        let (fb, sb) = compile_with_status(&b, Some(dir.path())).unwrap();
        assert_ne!(miss_path(&sa), miss_path(&sb));
        assert_ne!(fa, fb);
    }

    #[test]
    fn invalid_profile_fails_even_with_cache() {
        let dir = tempfile::tempdir().unwrap();
        let bad = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["write"], "action": "SCMP_ACT_ERRNO", "args": [
                    {"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}
            ]
        }));
        let err = compile(&bad, Some(dir.path())).unwrap_err();
        assert!(matches!(
            err,
            SeccompError::ArgIndexOutOfRange { index: 9, .. }
        ));
        assert_eq!(
            err.to_string(),
            "linux.seccomp.syscalls[1].args[0].index: argument index 9 is out of range (0-5)"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn architectures_are_added() {
        let native_only = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]
        }));
        let multi = profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]
        }));
        let one = compile(&native_only, None).unwrap();
        let many = compile(&multi, None).unwrap();
        assert!(many.instructions() > one.instructions());
    }

    fn write_private(path: &Path, bytes: &[u8]) {
        fs::write(path, bytes).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    }
}
