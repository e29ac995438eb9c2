//! Integration tests for `load` on the real kernel: a forked child sets no_new_privs,
//! installs a compiled filter and reports what its syscalls returned via its exit code.
//!
//! The child runs in a multi-threaded test process, so it only makes raw syscalls and
//! never allocates; the filter is compiled in the parent before fork.

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use berth_seccomp::{compile, docker_default_profile, load, unsupported_flags, CompiledFilter};

    const OK: i32 = 0;
    const NNP_FAILED: i32 = 10;
    const LOAD_FAILED: i32 = 11;
    const STATUS_NOT_FILTERED: i32 = 12;

    fn compile_json(json: serde_json::Value) -> CompiledFilter {
        compile(&serde_json::from_value(json).unwrap(), None).unwrap()
    }

    /// Fork; the child sets no_new_privs, loads `filter`, runs `check` and exits with
    /// its result. Returns the child's exit code.
    fn run_filtered(filter: &CompiledFilter, check: fn() -> i32) -> i32 {
        in_child(|| {
            // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes integer arguments only.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                NNP_FAILED
            } else if load(filter).is_err() {
                LOAD_FAILED
            } else if !seccomp_mode_is_filter() {
                STATUS_NOT_FILTERED
            } else {
                check()
            }
        })
    }

    /// Run `body` in a forked child and return its exit code. `body` must not allocate
    /// or take locks: other test threads may hold them at fork time.
    fn in_child(body: impl FnOnce() -> i32) -> i32 {
        // `body` makes only async-signal-safe calls (prctl, `load`, raw syscalls).
        // SAFETY: the child runs only `body` and then _exit, so locks held by other test
        // threads at fork time cannot deadlock it.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let code = body();
            // SAFETY: _exit ends the child at once without running the parent's
            // atexit handlers or touching shared stdio buffers.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: `status` is a live i32 for the call; `pid` is our own child.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(rc, pid, "waitpid: {}", std::io::Error::last_os_error());
        assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
        libc::WEXITSTATUS(status)
    }

    /// True when /proc/self/status says `Seccomp:\t2`; reads into a stack buffer.
    fn seccomp_mode_is_filter() -> bool {
        let mut buf = [0u8; 8192];
        let path = c"/proc/self/status";
        // SAFETY: `path` is a NUL-terminated literal; the fd is closed below.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return false;
        }
        let mut len = 0;
        while len < buf.len() {
            // SAFETY: the destination is the unused tail of `buf`, `buf.len() - len`
            // bytes long; read writes at most that many.
            let n = unsafe { libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len) };
            if n <= 0 {
                break;
            }
            len += n as usize;
        }
        // SAFETY: `fd` was opened above and is not used afterwards.
        unsafe { libc::close(fd) };
        let needle = b"\nSeccomp:\t2\n";
        buf[..len].windows(needle.len()).any(|w| w == needle)
    }

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    fn mkdir_errno(path: &CStr) -> i32 {
        // SAFETY: `path` is NUL-terminated and outlives the call.
        let rc = unsafe { libc::mkdir(path.as_ptr(), 0o700) };
        if rc == 0 {
            0
        } else {
            errno()
        }
    }

    #[test]
    fn filter_returns_errno_and_checks_args() {
        let filter = compile_json(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 43,
                 "args": [{"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_NE"}]}
            ]
        }));
        fn check() -> i32 {
            if mkdir_errno(c"/tmp/berth-seccomp-load-test-never-created") != 42 {
                return 20;
            }
            // SAFETY: personality(0xffffffff) only queries the persona.
            if unsafe { libc::personality(0xffff_ffff) } < 0 {
                return 21;
            }
            // SAFETY: the filter must refuse this before the kernel sees it.
            if unsafe { libc::personality(0) } != -1 || errno() != 43 {
                return 22;
            }
            // SAFETY: getpid has no arguments; allowed by the default action.
            if unsafe { libc::getpid() } <= 0 {
                return 23;
            }
            OK
        }
        assert_eq!(run_filtered(&filter, check), OK);
        assert!(!std::path::Path::new("/tmp/berth-seccomp-load-test-never-created").exists());
    }

    #[test]
    fn docker_default_profile_blocks_mount() {
        let caps = vec!["CAP_CHOWN".to_owned(), "CAP_SETUID".to_owned()];
        let filter = compile(&docker_default_profile(&caps).unwrap(), None).unwrap();
        fn check() -> i32 {
            // SAFETY: all pointers are NUL-terminated literals; the filter answers
            // EPERM (Docker's defaultErrnoRet 1) before the kernel mounts anything.
            let rc = unsafe {
                libc::mount(
                    c"none".as_ptr(),
                    c"/mnt".as_ptr(),
                    c"tmpfs".as_ptr(),
                    0,
                    std::ptr::null(),
                )
            };
            if rc != -1 || errno() != libc::EPERM {
                return 30;
            }
            // SAFETY: unshare with no flags changes nothing; blocked without SYS_ADMIN.
            if unsafe { libc::unshare(libc::CLONE_NEWNS) } != -1 || errno() != libc::EPERM {
                return 31;
            }
            // SAFETY: getppid has no arguments.
            if unsafe { libc::getppid() } <= 0 {
                return 32;
            }
            OK
        }
        assert_eq!(run_filtered(&filter, check), OK);
    }

    #[test]
    fn loads_with_tsync_and_log_flags() {
        let filter = compile_json(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
        }));
        assert_eq!(filter.flags, 3);
        fn check() -> i32 {
            if mkdir_errno(c"/tmp/berth-seccomp-load-test-never-created-2") != libc::EPERM {
                return 40;
            }
            OK
        }
        assert_eq!(run_filtered(&filter, check), OK);
    }

    #[test]
    fn flag_probe_reports_unknown_flags() {
        assert_eq!(
            unsupported_flags(1 | 2 | 4),
            0,
            "kernel 4.17+ knows these flags"
        );
        assert_eq!(unsupported_flags(1 << 30), 1 << 30);
    }

    #[test]
    fn unknown_flag_is_reported_by_load() {
        let mut filter = compile_json(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW"}));
        filter.flags = 1 << 30;
        fn check() -> i32 {
            OK
        }
        // Loading with the bogus flag fails before any filter is installed.
        assert_eq!(run_filtered(&filter, check), LOAD_FAILED);
        let code = in_child(|| {
            // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) takes integer arguments only.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                return NNP_FAILED;
            }
            match load(&filter) {
                Err(berth_seccomp::SeccompError::UnsupportedKernelFlags {
                    flags: 0x4000_0000,
                    requested: 0x4000_0000,
                }) => OK,
                _ => 50,
            }
        });
        assert_eq!(code, OK);
    }

    #[test]
    fn load_without_nnp_or_cap_sys_admin_is_refused() {
        let filter = compile_json(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW"}));
        let code = in_child(|| {
            // SAFETY: raw setuid(2) with an integer argument; becoming nobody clears
            // every capability, including CAP_SYS_ADMIN. Only this child is affected.
            if unsafe { libc::syscall(libc::SYS_setuid, 65534) } != 0 {
                return 60;
            }
            match load(&filter) {
                Err(berth_seccomp::SeccompError::LoadNotPermitted) => OK,
                _ => 61,
            }
        });
        assert_eq!(code, OK);
    }

    #[test]
    fn malformed_program_is_rejected_before_the_kernel() {
        let filter = CompiledFilter {
            program: vec![0; 7],
            flags: 0,
        };
        assert!(matches!(
            load(&filter),
            Err(berth_seccomp::SeccompError::InvalidProgram { len: 7 })
        ));
    }
}
