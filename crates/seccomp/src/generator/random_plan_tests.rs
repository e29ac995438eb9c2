//! Random plans (seeded, so every run tries the same ones): each is either compiled by
//! both generators and compared, or must be one berth leaves to libseccomp.

use oci_spec::runtime::LinuxSeccomp;

use super::differential::{assert_same, profile_json, ARCH_LISTS};
use super::{program, Fallback};
use crate::plan::filter_plan;

/// A small deterministic generator (xorshift64*) for random plans.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn random_profile(rng: &mut Rng) -> serde_json::Value {
    const NAMES: [&str; 36] = [
        "read",
        "write",
        "openat",
        "close",
        "mmap",
        "mprotect",
        "ioctl",
        "personality",
        "clone",
        "clone3",
        "socket",
        "bind",
        "connect",
        "accept",
        "accept4",
        "recv",
        "send",
        "recvfrom",
        "socketpair",
        "socketcall",
        "ipc",
        "semop",
        "semget",
        "shmat",
        "msgsnd",
        "arch_prctl",
        "modify_ldt",
        "waitpid",
        "_llseek",
        "mount",
        "ptrace",
        "rt_sigaction",
        "execve",
        "futex",
        "prctl",
        "no_such_syscall",
    ];
    const VALUES: [u64; 14] = [
        0,
        1,
        2,
        5,
        38,
        0xff,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        1 << 32,
        0x1_ffff_ffff,
        0xffff_ffff_0000_0000,
        1 << 63,
        u64::MAX,
    ];
    const MASKS: [u64; 7] = [
        0,
        0xff,
        0xffff_ffff,
        0xffff_ffff_0000_0000,
        0x8000_0000_0000_0001,
        u64::MAX,
        0x7e02_0000,
    ];
    const OPS: [&str; 7] = [
        "SCMP_CMP_EQ",
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_GT",
        "SCMP_CMP_GE",
        "SCMP_CMP_MASKED_EQ",
    ];
    const ACTIONS: [(&str, Option<u32>); 6] = [
        ("SCMP_ACT_ALLOW", None),
        ("SCMP_ACT_ERRNO", Some(13)),
        ("SCMP_ACT_ERRNO", None),
        ("SCMP_ACT_LOG", None),
        ("SCMP_ACT_TRAP", None),
        ("SCMP_ACT_KILL_PROCESS", None),
    ];
    let mut syscalls = Vec::new();
    let mut unused: Vec<&str> = NAMES.to_vec();
    for _ in 0..1 + rng.below(12) {
        // Mostly names no other rule uses; sometimes one again, to mix actions.
        let names: Vec<&str> = (0..1 + rng.below(3))
            .map(|_| {
                if unused.is_empty() || rng.below(16) == 0 {
                    rng.pick(&NAMES)
                } else {
                    unused.swap_remove(rng.below(unused.len()))
                }
            })
            .collect();
        let (action, errno) = rng.pick(&ACTIONS);
        let mut rule = serde_json::json!({"names": names, "action": action});
        if let Some(errno) = errno {
            rule["errnoRet"] = errno.into();
        }
        // Mostly the shapes the generator reproduces: one rule of AND-ed checks on
        // distinct arguments, or several one-check rules on one argument with ordering
        // comparisons on one high word. Sometimes anything, to reach the fallbacks.
        let shape = rng.below(20);
        let rules = if shape < 5 { 1 } else { 2 + rng.below(2) };
        let (index, high) = (rng.below(6), rng.pick(&[0u64, 1, 0xffff_ffff]) << 32);
        for _ in 0..rules {
            let mut rule = rule.clone();
            let arg = |rng: &mut Rng, index: usize, high: Option<u64>| {
                let op = rng.pick(&OPS);
                let value = match (op, high) {
                    ("SCMP_CMP_MASKED_EQ", _) => rng.pick(&MASKS),
                    ("SCMP_CMP_EQ" | "SCMP_CMP_NE", _) | (_, None) => rng.pick(&VALUES),
                    (_, Some(high)) => high | (rng.pick(&VALUES) & 0xffff_ffff),
                };
                serde_json::json!({"index": index, "value": value,
                                   "valueTwo": rng.pick(&VALUES), "op": op})
            };
            match shape {
                0 => {} // unconditional
                1..=4 => {
                    let mut indices = vec![0, 1, 2, 3, 4, 5];
                    let args: Vec<_> = (0..1 + rng.below(3))
                        .map(|_| {
                            let index = indices.swap_remove(rng.below(indices.len()));
                            arg(rng, index, None)
                        })
                        .collect();
                    rule["args"] = args.into();
                }
                5..=18 => rule["args"] = serde_json::json!([arg(rng, index, Some(high))]),
                _ => {
                    let args: Vec<_> = (0..1 + rng.below(3))
                        .map(|_| {
                            let index = rng.below(6);
                            arg(rng, index, None)
                        })
                        .collect();
                    rule["args"] = args.into();
                }
            }
            syscalls.push(rule);
        }
    }
    let (default, _) = rng.pick(&ACTIONS);
    // A real syscall with an unconditional rule keeps clear of the libseccomp bug pinned in
    // `libseccomp_arch_block_without_nr_load_is_not_copied`.
    let action = if default == "SCMP_ACT_LOG" {
        "SCMP_ACT_TRAP"
    } else {
        "SCMP_ACT_LOG"
    };
    syscalls.push(serde_json::json!({"names": ["getppid"], "action": action}));
    profile_json(default, rng.pick(&ARCH_LISTS), syscalls.into())
}

#[test]
fn random_plans_match_libseccomp() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut compared, mut fell_back) = (0, 0);
    for i in 0..200 {
        let json = random_profile(&mut rng);
        let profile: LinuxSeccomp = serde_json::from_value(json.clone()).unwrap();
        let Ok(plan) = filter_plan(&profile) else {
            continue;
        };
        match program(&plan) {
            Err(Fallback::MixedActions { .. } | Fallback::MergedRules { .. }) => fell_back += 1,
            Err(other) => panic!("plan {i} fell back: {other}\n{json}"),
            Ok(_) => {
                assert_same(&format!("random plan {i}: {json}"), &plan);
                compared += 1;
            }
        }
    }
    // Both outcomes must be exercised: mostly compared, some falling back.
    assert!(
        compared >= 80 && fell_back >= 20,
        "{compared} compared, {fell_back} fell back"
    );
}
