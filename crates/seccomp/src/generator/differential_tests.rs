//! Differential tests: berth's generator against libseccomp's for Docker's default
//! profile under several capability sets and for hand-written plans covering every
//! operator, action, architecture list, rule precedence and x86's socketcall/ipc, plus
//! the plans berth must leave to libseccomp.

use oci_spec::runtime::LinuxSeccomp;

use super::abi::AUDIT_ARCH_AARCH64;
use super::differential::{assert_same, plan_of, profile_json, programs, ARCH_LISTS};
use super::interp::{run, SeccompData};
use super::{program, Fallback};
use crate::bpf::bpf_program;
use crate::compile::compile;
use crate::docker_profile::{
    docker_profile_to_oci_for, ProfileTarget, DOCKER_DEFAULT_PROFILE_JSON,
};
use crate::kernel_version::KernelVersion;
use crate::plan::{filter_plan, FilterPlan};

use crate::docker_profile::tests::DOCKER_DEFAULT_CAPS;

const ALL_CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

fn docker_plan(caps: &[&str], arch: &str, kernel: (u32, u32)) -> FilterPlan {
    let caps: Vec<String> = caps.iter().map(|c| (*c).to_owned()).collect();
    let target = ProfileTarget {
        caps: &caps,
        arch,
        kernel: KernelVersion {
            major: kernel.0,
            minor: kernel.1,
        },
    };
    let profile = docker_profile_to_oci_for(DOCKER_DEFAULT_PROFILE_JSON, &target).unwrap();
    filter_plan(&profile).unwrap()
}

fn with(extra: &[&'static str]) -> Vec<&'static str> {
    DOCKER_DEFAULT_CAPS.iter().chain(extra).copied().collect()
}

#[test]
fn docker_default_profile_matches_libseccomp() {
    let progs = assert_same(
        "docker default",
        &docker_plan(&DOCKER_DEFAULT_CAPS, "amd64", (6, 18)),
    );
    // The point of the generator: far fewer instructions than libseccomp's chain.
    assert!(
        progs.berth.len() * 4 < progs.libseccomp.len(),
        "berth {} vs libseccomp {} instructions",
        progs.berth.len(),
        progs.libseccomp.len()
    );
}

#[test]
fn docker_profile_with_other_capabilities_matches_libseccomp() {
    let cases: [(&str, Vec<&str>, (u32, u32)); 6] = [
        ("+CAP_SYS_ADMIN", with(&["CAP_SYS_ADMIN"]), (6, 18)),
        ("+CAP_SYS_PTRACE", with(&["CAP_SYS_PTRACE"]), (6, 18)),
        (
            "+CAP_SYS_PTRACE, kernel 4.7",
            with(&["CAP_SYS_PTRACE"]),
            (4, 7),
        ),
        (
            "+CAP_BPF +CAP_PERFMON +CAP_SYSLOG",
            with(&["CAP_BPF", "CAP_PERFMON", "CAP_SYSLOG"]),
            (6, 18),
        ),
        ("all caps", ALL_CAPS.to_vec(), (6, 18)),
        ("no caps", Vec::new(), (6, 18)),
    ];
    for (name, caps, kernel) in cases {
        assert_same(name, &docker_plan(&caps, "amd64", kernel));
    }
}

#[test]
fn docker_profile_for_arm64_matches_libseccomp() {
    // Converted for arm64 (architectures aarch64 + arm): foreign tables next to x86_64.
    assert_same(
        "docker default, arm64",
        &docker_plan(&DOCKER_DEFAULT_CAPS, "arm64", (6, 18)),
    );
}

/// Every operator, with values that use the high word, on one argument each.
fn every_operator() -> serde_json::Value {
    serde_json::json!([
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0x1_0000_0005u64, "op": "SCMP_CMP_EQ"}]},
        {"names": ["mmap"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 2, "value": 0xffff_ffff_0000_0000u64, "op": "SCMP_CMP_NE"}]},
        {"names": ["mprotect"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 1, "value": 0x2_0000_0000u64, "op": "SCMP_CMP_LT"}]},
        {"names": ["munmap"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 1, "value": 0x1_ffff_ffffu64, "op": "SCMP_CMP_LE"}]},
        {"names": ["brk"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0x8000_0000_0000_0000u64, "op": "SCMP_CMP_GT"}]},
        {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 1, "value": 0x5401, "op": "SCMP_CMP_GE"}]},
        {"names": ["fcntl"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 1, "value": 0xffff_0000_ffff_0000u64, "valueTwo": 0x1234_0000_5678_0000u64,
                   "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["lseek"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 2, "value": 0xff_0000_0000u64, "valueTwo": 0x42_0000_0000u64,
                   "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["pread64"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 3, "value": 0xf0, "valueTwo": 0x30, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["pwrite64"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 3, "value": u64::MAX, "op": "SCMP_CMP_LT"}]},
        {"names": ["getcwd"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_GE"}]},
        {"names": ["chdir"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0xffff_ffff_ffff_fff0u64, "op": "SCMP_CMP_GT"}]},
        {"names": ["fchdir"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_LE"}]},
    ])
}

#[test]
fn every_operator_on_every_arch_list_matches_libseccomp() {
    for arches in ARCH_LISTS {
        for default in ["SCMP_ACT_ERRNO", "SCMP_ACT_KILL_PROCESS"] {
            let plan = plan_of(profile_json(default, arches, every_operator()));
            assert_same(&format!("operators, {default}, {arches:?}"), &plan);
        }
    }
}

#[test]
fn several_rules_and_arguments_on_one_syscall_match_libseccomp() {
    let syscalls = serde_json::json!([
        // Docker's socket shape: OR-ed ranges on one argument, one high word.
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 38, "op": "SCMP_CMP_LT"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 39, "op": "SCMP_CMP_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_GT"}]},
        // Two conditions on one argument: split into two OR-ed rules (runc's way).
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
         "args": [{"index": 0, "value": 0x1_0000_0008u64, "op": "SCMP_CMP_GE"},
                  {"index": 0, "value": 0x1_0000_0002u64, "op": "SCMP_CMP_LE"}]},
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
         "args": [{"index": 0, "value": 0x5, "op": "SCMP_CMP_EQ"}]},
        // One rule of three AND-ed checks on different arguments.
        {"names": ["mmap"], "action": "SCMP_ACT_TRAP",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                  {"index": 2, "value": 4, "valueTwo": 4, "op": "SCMP_CMP_MASKED_EQ"},
                  {"index": 5, "value": 0xffff_ffff_ffff_ffffu64, "op": "SCMP_CMP_LT"}]},
        // EQ, NE and masked values with different high words (Docker's personality list
        // has five EQ values).
        {"names": ["prctl"], "action": "SCMP_ACT_LOG",
         "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["prctl"], "action": "SCMP_ACT_LOG",
         "args": [{"index": 1, "value": 0x1_0000_0001u64, "op": "SCMP_CMP_EQ"}]},
        {"names": ["prctl"], "action": "SCMP_ACT_LOG",
         "args": [{"index": 1, "value": 0xff00, "valueTwo": 0x1200, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["prctl"], "action": "SCMP_ACT_LOG",
         "args": [{"index": 1, "value": 0x7_0000_0000u64, "op": "SCMP_CMP_NE"}]},
        {"names": ["prctl"], "action": "SCMP_ACT_LOG",
         "args": [{"index": 1, "value": 0xffff_ffffu64, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getpid", "gettid"], "action": "SCMP_ACT_ALLOW"},
    ]);
    for arches in ARCH_LISTS {
        let plan = plan_of(profile_json("SCMP_ACT_ERRNO", arches, syscalls.clone()));
        assert_same(&format!("several rules, {arches:?}"), &plan);
    }
}

#[test]
fn rule_sets_libseccomp_merges_unreliably_fall_back() {
    // Shapes outside `merge_is_or`: libseccomp's program is not their OR (the first one is
    // libseccomp 2.5.4 comparing the low word where it means the high word).
    let shapes = [
        serde_json::json!([
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_GT"},
                      {"index": 0, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_LT"}]}]),
        serde_json::json!([
            {"names": ["mount"], "action": "SCMP_ACT_LOG",
             "args": [{"index": 5, "value": 0x8000_0000u64, "op": "SCMP_CMP_NE"},
                      {"index": 1, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_NE"}]},
            {"names": ["mount"], "action": "SCMP_ACT_LOG",
             "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_LE"}]}]),
        serde_json::json!([
            {"names": ["prctl"], "action": "SCMP_ACT_LOG",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
            {"names": ["prctl"], "action": "SCMP_ACT_LOG",
             "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}]),
    ];
    for syscalls in shapes {
        let plan = plan_of(profile_json("SCMP_ACT_ERRNO", &[], syscalls));
        assert!(
            matches!(program(&plan), Err(Fallback::MergedRules { .. })),
            "{:?}",
            plan.rules
        );
    }
}

#[test]
fn every_action_matches_libseccomp() {
    let syscalls = serde_json::json!([
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42},
        {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["getpid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
        {"names": ["uname"], "action": "SCMP_ACT_TRAP"},
        {"names": ["reboot"], "action": "SCMP_ACT_KILL"},
        {"names": ["kexec_load"], "action": "SCMP_ACT_KILL_THREAD"},
        {"names": ["init_module"], "action": "SCMP_ACT_KILL_PROCESS"},
        {"names": ["sync"], "action": "SCMP_ACT_LOG"},
        {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 4094,
         "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
    ]);
    let defaults = [
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_LOG",
    ];
    for default in defaults {
        for arches in [ARCH_LISTS[0], ARCH_LISTS[7]] {
            let plan = plan_of(profile_json(default, arches, syscalls.clone()));
            assert_same(&format!("actions, default {default}, {arches:?}"), &plan);
        }
    }
}

#[test]
fn precedence_between_rules_matches_libseccomp() {
    let syscalls = serde_json::json!([
        // Conditional first, then unconditional with another action: the latter wins.
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3},
        // Unconditional first, then conditional: the conditional rule is dropped.
        {"names": ["umask"], "action": "SCMP_ACT_LOG"},
        {"names": ["umask"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0o22, "op": "SCMP_CMP_EQ"}]},
        // Two unconditional rules: the first wins.
        {"names": ["getuid"], "action": "SCMP_ACT_TRAP"},
        {"names": ["getuid"], "action": "SCMP_ACT_ALLOW"},
        // A check that always holds (mask 0) makes the rule unconditional.
        {"names": ["getgid"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 1, "value": 7, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getgid"], "action": "SCMP_ACT_LOG",
         "args": [{"index": 0, "value": 0, "valueTwo": 5, "op": "SCMP_CMP_MASKED_EQ"}]},
        // A mask with only high bits is a no-op on 32-bit ABIs only.
        {"names": ["getegid"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getegid"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0xf_0000_0000u64, "valueTwo": 0x3_0000_0000u64,
                   "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["geteuid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 9,
         "args": [{"index": 0, "value": 0xf_0000_0000u64, "valueTwo": 0x3_0000_0000u64,
                   "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["read", "getuid", "no_such_syscall_xyz"], "action": "SCMP_ACT_ALLOW"},
    ]);
    for arches in ARCH_LISTS {
        let plan = plan_of(profile_json("SCMP_ACT_ERRNO", arches, syscalls.clone()));
        assert_same(&format!("precedence, {arches:?}"), &plan);
    }
}

#[test]
fn x86_socketcall_and_ipc_multiplexing_matches_libseccomp() {
    let syscalls = serde_json::json!([
        // Direct socket(2) on x86 plus socketcall(SYS_SOCKET, ...): arg0 is replaced.
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 38, "op": "SCMP_CMP_LT"}]},
        // accept has no direct syscall on x86; recv and send exist nowhere directly.
        {"names": ["accept", "recv", "send", "bind"], "action": "SCMP_ACT_ALLOW"},
        // SysV IPC: through ipc(2) and, where they exist, the direct calls.
        {"names": ["semop", "shmget", "msgrcv"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["shmat"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 100, "op": "SCMP_CMP_LT"}]},
        // x86-only and x86_64-only names.
        {"names": ["waitpid", "_llseek", "arch_prctl"], "action": "SCMP_ACT_ALLOW"},
    ]);
    let with_socketcall = serde_json::json!([
        {"names": ["socketcall"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["ipc"], "action": "SCMP_ACT_LOG",
         "args": [{"index": 0, "value": 23, "op": "SCMP_CMP_EQ"}]},
        {"names": ["socket", "socketpair"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["shmget"], "action": "SCMP_ACT_LOG"},
    ]);
    for arches in ARCH_LISTS {
        for (name, syscalls) in [("mux", &syscalls), ("socketcall", &with_socketcall)] {
            let plan = plan_of(profile_json("SCMP_ACT_ERRNO", arches, syscalls.clone()));
            assert_same(&format!("{name}, {arches:?}"), &plan);
        }
    }
    // A two-check socket rule becomes a two-check socketcall rule next to bind's: left
    // to libseccomp when x86 is in the filter.
    let two_checks = serde_json::json!([
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["bind"], "action": "SCMP_ACT_ALLOW"},
    ]);
    let plan = plan_of(profile_json(
        "SCMP_ACT_ERRNO",
        &["SCMP_ARCH_X86"],
        two_checks.clone(),
    ));
    assert!(matches!(
        program(&plan),
        Err(Fallback::MergedRules { nr: 102, .. })
    ));
    let plan = plan_of(profile_json("SCMP_ACT_ERRNO", &[], two_checks));
    assert_same("two-check socket rule without x86", &plan);
}

#[test]
fn deny_lists_and_small_plans_match_libseccomp() {
    // Default allow with a deny list (a bitmap of errno), and plans small enough for a
    // plain jeq chain, including the empty plan.
    let deny: Vec<&str> = vec![
        "mount",
        "umount2",
        "pivot_root",
        "reboot",
        "swapon",
        "swapoff",
        "init_module",
        "delete_module",
        "kexec_load",
        "acct",
        "settimeofday",
        "clock_settime",
        "sethostname",
        "setdomainname",
        "iopl",
        "ioperm",
        "create_module",
        "quotactl",
        "unshare",
        "setns",
    ];
    let cases = [
        serde_json::json!([{"names": deny, "action": "SCMP_ACT_ERRNO"}]),
        serde_json::json!([{"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}]),
        serde_json::json!([
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]),
        serde_json::json!([]),
    ];
    for (i, syscalls) in cases.iter().enumerate() {
        for arches in ARCH_LISTS {
            let plan = plan_of(profile_json("SCMP_ACT_ALLOW", arches, syscalls.clone()));
            assert_same(&format!("deny list {i}, {arches:?}"), &plan);
        }
    }
}

#[test]
fn long_programs_use_far_jumps_and_match_libseccomp() {
    // Many syscalls with argument rules: the blocks push jump targets past 255.
    let names = [
        "read",
        "write",
        "close",
        "fstat",
        "lseek",
        "mmap",
        "mprotect",
        "munmap",
        "brk",
        "ioctl",
        "pread64",
        "pwrite64",
        "readv",
        "writev",
        "access",
        "pipe",
        "select",
        "sched_yield",
        "mremap",
        "msync",
        "mincore",
        "madvise",
        "dup",
        "dup2",
        "pause",
        "nanosleep",
        "getitimer",
        "alarm",
        "setitimer",
        "getpid",
        "sendfile",
        "connect",
        "accept",
        "sendto",
        "recvfrom",
        "sendmsg",
        "recvmsg",
        "shutdown",
        "bind",
        "listen",
    ];
    let syscalls: Vec<serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            serde_json::json!({"names": [name], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": i % 6, "value": 0x1_0000_0000u64 + i as u64, "op": "SCMP_CMP_GT"},
                {"index": (i + 1) % 6, "value": i as u64, "op": "SCMP_CMP_NE"}]})
        })
        .collect();
    // Not x86: there the socket calls' rules would merge on socketcall(2).
    let plan = plan_of(profile_json(
        "SCMP_ACT_ERRNO",
        ARCH_LISTS[4],
        serde_json::Value::Array(syscalls),
    ));
    let progs = assert_same("far jumps", &plan);
    assert!(
        progs.berth.len() > 300,
        "{} instructions",
        progs.berth.len()
    );
}

#[test]
fn plans_it_cannot_reproduce_fall_back_to_libseccomp() {
    let mixed = plan_of(profile_json(
        "SCMP_ACT_ERRNO",
        &[],
        serde_json::json!([
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_LOG",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        ]),
    ));
    assert!(matches!(
        program(&mixed),
        Err(Fallback::MixedActions { .. })
    ));
    // Different actions reaching x86's socketcall through two socket calls.
    let via_socketcall = plan_of(profile_json(
        "SCMP_ACT_ERRNO",
        &["SCMP_ARCH_X86"],
        serde_json::json!([
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["bind"], "action": "SCMP_ACT_LOG"},
        ]),
    ));
    assert!(matches!(
        program(&via_socketcall),
        Err(Fallback::MixedActions { .. })
    ));
    // A conditional rule meeting conditional ones with another action falls back even
    // when an unconditional rule comes later, and even for a name that has no syscall on
    // the architecture (_llseek on x86_64): libseccomp merges or, when the comparisons
    // collide, refuses them (EEXIST), and compile() must then fail the same way.
    for name in ["personality", "_llseek"] {
        for (second_arg, refused) in [(1, false), (0, true)] {
            let json = profile_json(
                "SCMP_ACT_ERRNO",
                &[],
                serde_json::json!([
                    {"names": [name], "action": "SCMP_ACT_ALLOW",
                     "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                    {"names": [name], "action": "SCMP_ACT_LOG",
                     "args": [{"index": second_arg, "value": 8, "op": "SCMP_CMP_EQ"}]},
                    {"names": [name], "action": "SCMP_ACT_TRAP"},
                ]),
            );
            let profile: LinuxSeccomp = serde_json::from_value(json).unwrap();
            let plan = filter_plan(&profile).unwrap();
            assert!(
                matches!(program(&plan), Err(Fallback::MixedActions { .. })),
                "{name}"
            );
            assert_eq!(
                bpf_program(&plan).is_err(),
                refused,
                "{name}, arg {second_arg}"
            );
            assert_eq!(compile(&profile, None).is_err(), refused, "{name}");
        }
    }
    // libseccomp refuses errno values from 4095 up.
    let big_errno = plan_of(profile_json(
        "SCMP_ACT_ALLOW",
        &[],
        serde_json::json!([{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 4095}]),
    ));
    assert!(matches!(program(&big_errno), Err(Fallback::Action(_))));
    assert!(bpf_program(&big_errno).is_err());
    let foreign = plan_of(profile_json(
        "SCMP_ACT_ERRNO",
        &["SCMP_ARCH_X86_64", "SCMP_ARCH_PPC64LE"],
        serde_json::json!([{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]),
    ));
    assert!(matches!(program(&foreign), Err(Fallback::Arch(_))));
    // compile() then hands over libseccomp's program unchanged.
    for json in [
        profile_json(
            "SCMP_ACT_ERRNO",
            &["SCMP_ARCH_X86_64", "SCMP_ARCH_PPC64LE"],
            serde_json::json!([{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]),
        ),
        profile_json(
            "SCMP_ACT_ERRNO",
            &[],
            serde_json::json!([
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
                {"names": ["personality"], "action": "SCMP_ACT_LOG",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]),
        ),
    ] {
        let profile: LinuxSeccomp = serde_json::from_value(json).unwrap();
        let plan = filter_plan(&profile).unwrap();
        assert_eq!(
            compile(&profile, None).unwrap().program,
            bpf_program(&plan).unwrap()
        );
    }
}

#[test]
fn libseccomp_arch_block_without_nr_load_is_not_copied() {
    // libseccomp 2.5 gives an architecture block no `ld nr` when its highest-priority
    // entry is a pseudo-syscall (socketcall does not exist on aarch64) and no real syscall
    // there has an unconditional rule: the block then compares the arch token with syscall
    // numbers, and accept(2) on aarch64 gets the default action. berth does what the rules
    // say; this test shows the two apart.
    let plan = plan_of(profile_json(
        "SCMP_ACT_ALLOW",
        &["SCMP_ARCH_AARCH64"],
        serde_json::json!([
            {"names": ["socketcall"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["accept"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 5, "value": 5, "op": "SCMP_CMP_NE"}]},
        ]),
    ));
    let progs = programs(&plan);
    let accept_aarch64 = SeccompData {
        nr: 202,
        arch: AUDIT_ARCH_AARCH64,
        ..SeccompData::default()
    };
    let eperm = 0x0005_0001;
    assert_eq!(run(&progs.berth, &accept_aarch64).ret, eperm);
    let version = libseccomp::ScmpVersion::current().unwrap();
    if (version.major, version.minor) == (2, 5) {
        assert_eq!(
            run(&progs.libseccomp, &accept_aarch64).ret,
            super::abi::RET_ALLOW
        );
    }
    // With a real unconditional rule next to it, libseccomp's block is right and both agree.
    let mut fixed = plan.clone();
    fixed.rules.push(
        plan_of(profile_json(
            "SCMP_ACT_ALLOW",
            &[],
            serde_json::json!([{"names": ["getppid"], "action": "SCMP_ACT_LOG"}]),
        ))
        .rules
        .remove(0),
    );
    assert_same("with a real unconditional rule", &fixed);
}
