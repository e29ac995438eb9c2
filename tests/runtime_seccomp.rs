//! Seccomp: targeted errno rules, a Docker-like allowlist profile, argument conditions.

// Integration-test crates are test-only by construction; the lint targets src/.
#![allow(clippy::tests_outside_test_module)]

use berth_tests::procfs::status_field;
use berth_tests::Runtime;
use serde_json::{json, Value};

const ARCHES: &[&str] = &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

/// A representative subset of Docker's default allowlist (moby `profiles/seccomp`):
/// enough for busybox, and notably without mount, unshare, setns, keyctl, ptrace, reboot.
const DOCKER_LIKE_ALLOW: &[&str] = &[
    "accept",
    "accept4",
    "access",
    "alarm",
    "bind",
    "brk",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "clock_getres",
    "clock_gettime",
    "clock_nanosleep",
    "clone",
    "clone3",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_pwait",
    "epoll_wait",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fallocate",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchownat",
    "fcntl",
    "fdatasync",
    "flock",
    "fork",
    "fstat",
    "fstatfs",
    "fsync",
    "ftruncate",
    "futex",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "geteuid",
    "getgid",
    "getgroups",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresuid",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "gettid",
    "gettimeofday",
    "getuid",
    "getxattr",
    "ioctl",
    "kill",
    "lchown",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "lseek",
    "lstat",
    "madvise",
    "membarrier",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mmap",
    "mprotect",
    "mremap",
    "munmap",
    "nanosleep",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pause",
    "pipe",
    "pipe2",
    "poll",
    "ppoll",
    "prctl",
    "pread64",
    "preadv",
    "prlimit64",
    "pselect6",
    "pwrite64",
    "read",
    "readlink",
    "readlinkat",
    "readv",
    "recvfrom",
    "recvmsg",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "sched_getaffinity",
    "sched_yield",
    "select",
    "sendfile",
    "sendmsg",
    "sendto",
    "setgid",
    "setgroups",
    "setitimer",
    "setpgid",
    "setresgid",
    "setresuid",
    "setsid",
    "setsockopt",
    "set_robust_list",
    "set_tid_address",
    "setuid",
    "sigaltstack",
    "socket",
    "socketpair",
    "stat",
    "statfs",
    "statx",
    "symlink",
    "symlinkat",
    "sysinfo",
    "tgkill",
    "time",
    "times",
    "tkill",
    "truncate",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utimensat",
    "vfork",
    "wait4",
    "waitid",
    "write",
    "writev",
    "arch_prctl",
];

fn with_seccomp(rt: &Runtime, id: &str, seccomp: Value, script: &str) -> berth_tests::CmdOutput {
    let mut b = rt.bundle(id);
    b.set("/linux/seccomp", seccomp).sh(script);
    rt.run(&b, id)
}

#[test]
fn errno_rule_blocks_mkdir_with_eperm() {
    let rt = Runtime::new();
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ARCHES,
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
    });
    let out = with_seccomp(
        &rt,
        "eperm",
        profile,
        "grep Seccomp /proc/self/status; mkdir /tmp/d; echo rc=$?",
    );
    assert_eq!(status_field(&out.stdout, "Seccomp"), Some("2"), "{out}");
    assert!(out.stdout.contains("rc=1"), "{out}");
    assert!(out.stderr.contains("Operation not permitted"), "{out}");
}

#[test]
fn errno_ret_is_honoured() {
    let rt = Runtime::new();
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ARCHES,
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
    });
    let out = with_seccomp(&rt, "enosys", profile, "mkdir /tmp/d; echo rc=$?");
    assert!(out.stdout.contains("rc=1"), "{out}");
    assert!(out.stderr.contains("Function not implemented"), "{out}");
}

#[test]
fn docker_like_allowlist_profile() {
    let rt = Runtime::new();
    let profile = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ARCHES,
        "syscalls": [
            {"names": DOCKER_LIKE_ALLOW, "action": "SCMP_ACT_ALLOW"},
            // Docker allows personality(0) / personality(0xffffffff) only.
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 4294967295u64, "op": "SCMP_CMP_EQ"}]}
        ]
    });
    // Give it CAP_SYS_ADMIN so a failing unshare/mount is seccomp's doing, not caps'.
    let mut b = rt.bundle("dockerlike");
    let mut caps = berth_tests::spec::DOCKER_DEFAULT_CAPS.to_vec();
    caps.push("CAP_SYS_ADMIN");
    b.caps(&caps).set("/linux/seccomp", profile).sh(
        "grep -E '^Seccomp(_filters)?:' /proc/self/status; echo ok > /tmp/f; cat /tmp/f; \
         unshare -n true; echo unshare=$?; mount -t tmpfs t /mnt; echo mount=$?",
    );
    let out = rt.run(&b, "dockerlike");
    assert_eq!(status_field(&out.stdout, "Seccomp"), Some("2"), "{out}");
    assert!(
        out.stdout.contains("ok\n"),
        "allowed syscalls failed:\n{out}"
    );
    assert!(out.stdout.contains("unshare=1"), "unshare allowed:\n{out}");
    assert!(
        out.stdout.contains("mount=255") || out.stdout.contains("mount=1"),
        "{out}"
    );
    assert!(out.stderr.contains("Operation not permitted"), "{out}");
}

#[test]
fn kill_process_action_and_arg_condition() {
    let rt = Runtime::new();
    // umask(0o077) kills the process; any other umask value is allowed.
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ARCHES,
        "syscalls": [{"names": ["umask"], "action": "SCMP_ACT_KILL_PROCESS",
                      "args": [{"index": 0, "value": 63, "op": "SCMP_CMP_EQ"}]}]
    });
    let out = with_seccomp(
        &rt,
        "killproc",
        profile,
        "umask 022; echo first; umask 077; echo second",
    );
    assert_eq!(out.stdout, "first\n", "{out}");
    assert_eq!(out.code, 128 + libc::SIGSYS, "{out}");
}
