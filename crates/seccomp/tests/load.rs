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

    /// Docker's default capability set for containers.
    fn docker_default_caps() -> Vec<String> {
        [
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_FSETID",
            "CAP_FOWNER",
            "CAP_MKNOD",
            "CAP_NET_RAW",
            "CAP_SETGID",
            "CAP_SETUID",
            "CAP_SETFCAP",
            "CAP_SETPCAP",
            "CAP_NET_BIND_SERVICE",
            "CAP_SYS_CHROOT",
            "CAP_KILL",
            "CAP_AUDIT_WRITE",
        ]
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
    }

    /// Docker's default profile as berth's own generator compiles it (libseccomp's
    /// program for it is about 1000 instructions; berth's is a fraction of that).
    fn docker_default_filter() -> CompiledFilter {
        let profile = docker_default_profile(&docker_default_caps()).unwrap();
        let filter = compile(&profile, None).unwrap();
        assert!(
            filter.instructions() < 400,
            "not berth's generator: {} instructions",
            filter.instructions()
        );
        filter
    }

    /// `-errno` of a failed raw call, else its result.
    fn raw(rc: libc::c_long) -> i64 {
        if rc == -1 {
            -i64::from(errno())
        } else {
            rc
        }
    }

    #[test]
    fn docker_default_profile_from_berths_generator_filters_on_the_kernel() {
        let filter = docker_default_filter();
        fn check() -> i32 {
            // SAFETY: getpid has no arguments; allowed.
            if unsafe { libc::getpid() } <= 0 {
                return 70;
            }
            // SAFETY: KEYCTL_GET_KEYRING_ID on the session keyring only reads; the filter
            // refuses keyctl (not in Docker's list) with EPERM first.
            let keyctl = unsafe { libc::syscall(libc::SYS_keyctl, 0, -3, 0) };
            if raw(keyctl) != -i64::from(libc::EPERM) {
                return 71;
            }
            // SAFETY: unshare(CLONE_NEWNS) would only affect this child; refused first.
            if unsafe { libc::unshare(libc::CLONE_NEWNS) } != -1 || errno() != libc::EPERM {
                return 72;
            }
            // SAFETY: clone3 with a NULL argument would fail with EINVAL in the kernel;
            // Docker's profile answers ENOSYS first (rule with errnoRet 38).
            let clone3 = unsafe { libc::syscall(libc::SYS_clone3, 0, 0) };
            if raw(clone3) != -i64::from(libc::ENOSYS) {
                return 73;
            }
            // SAFETY: personality(0xffffffff) only queries the persona; allowed by value.
            if unsafe { libc::personality(0xffff_ffff) } < 0 {
                return 74;
            }
            // SAFETY: personality(1) would change this child's persona; refused first.
            if unsafe { libc::personality(1) } != -1 || errno() != libc::EPERM {
                return 75;
            }
            // SAFETY: a socket(2) call with integer arguments; the fd is closed at once.
            let unix = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
            if unix < 0 {
                return 76;
            }
            // SAFETY: `unix` is the socket just opened and not used afterwards.
            unsafe { libc::close(unix) };
            // SAFETY: as above; AF_VSOCK (40) is outside the allowed family ranges.
            let vsock = unsafe { libc::socket(libc::AF_VSOCK, libc::SOCK_STREAM, 0) };
            if vsock != -1 || errno() != libc::EPERM {
                return 77;
            }
            let flags = libc::CLONE_NEWNS | libc::SIGCHLD;
            // SAFETY: raw clone with a namespace flag; the filter's masked rule refuses
            // it. Should it run anyway, the new child leaves at once.
            let clone = unsafe { libc::syscall(libc::SYS_clone, flags, 0, 0, 0, 0) };
            if clone == 0 {
                // SAFETY: ends the unexpected grandchild immediately.
                unsafe { libc::_exit(0) };
            }
            if raw(clone) != -i64::from(libc::EPERM) {
                return 78;
            }
            OK
        }
        assert_eq!(run_filtered(&filter, check), OK);
    }

    /// An i386 system call through `int 0x80` (the kernel's ia32 emulation).
    #[cfg(target_arch = "x86_64")]
    fn int80(nr: u32, arg1: u32, arg2: u32) -> i32 {
        let mut eax = nr;
        // `int 0x80` enters the kernel's i386 entry with eax/ebx/ecx/edx and clobbers
        // nothing else (r8-r11 are zeroed, so they are declared clobbered). ebx is
        // reserved by LLVM, so the first argument is swapped in and out around the call.
        // SAFETY: the calls made here take integer arguments only (no pointers).
        unsafe {
            std::arch::asm!(
                "xchg {arg1:e}, ebx",
                "int 0x80",
                "xchg {arg1:e}, ebx",
                arg1 = inout(reg) arg1 => _,
                inout("eax") eax,
                in("ecx") arg2,
                out("r8") _, out("r9") _, out("r10") _, out("r11") _,
            );
        }
        eax as i32
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn docker_default_profile_filters_i386_and_x32_calls_on_the_kernel() {
        // SAFETY: getpid takes no arguments.
        let pid = unsafe { libc::getpid() };
        assert_eq!(
            int80(20, 0, 0),
            pid,
            "this kernel has no ia32 emulation (int 0x80 getpid failed)"
        );
        let filter = docker_default_filter();
        fn check() -> i32 {
            const X32: i64 = 0x4000_0000;
            // SAFETY: getpid has no arguments.
            if int80(20, 0, 0) != unsafe { libc::getpid() } {
                return 80; // i386 getpid
            }
            if int80(288, 0, -3i32 as u32) != -libc::EPERM {
                return 81; // i386 keyctl
            }
            if int80(136, 0xffff_ffff, 0) < 0 {
                return 82; // i386 personality query
            }
            if int80(136, 1, 0) != -libc::EPERM {
                return 83;
            }
            if int80(435, 0, 0) != -libc::ENOSYS {
                return 84; // i386 clone3
            }
            if int80(359, 40, 1) != -libc::EPERM {
                return 85; // i386 socket(AF_VSOCK)
            }
            // x32 numbers reach the filter even on kernels without the x32 ABI.
            // SAFETY: keyctl/getpid with integer arguments, refused or harmless.
            let keyctl = unsafe { libc::syscall(X32 | 250, 0, -3, 0) };
            if raw(keyctl) != -i64::from(libc::EPERM) {
                return 86;
            }
            // SAFETY: as above; allowed by the filter (ENOSYS without the x32 ABI).
            let getpid = unsafe { libc::syscall(X32 | 39) };
            if raw(getpid) == -i64::from(libc::EPERM) {
                return 87;
            }
            // SAFETY: a number no ABI uses; the filter's default action answers.
            let unknown = unsafe { libc::syscall(X32 | 4000) };
            if raw(unknown) != -i64::from(libc::EPERM) {
                return 88;
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
