//! Test harness for the differential tests: runs libseccomp's program (`crate::bpf`) and
//! berth's for one plan through the test interpreter over architectures, syscall numbers
//! and argument values, and fails on the first difference in the returned action or in
//! what the kernel's action cache would make of them.

use std::collections::BTreeSet;

use oci_spec::runtime::LinuxSeccomp;

use super::abi::{
    AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_I386, AUDIT_ARCH_RISCV64, AUDIT_ARCH_X86_64,
};
use super::interp::{const_allow, decode, run, validate, Insn, Outcome, SeccompData};
use super::program;
use crate::bpf::bpf_program;
use crate::plan::{filter_plan, CompareOp, FilterPlan};

/// `seccomp_data.arch` values tried: every handled ABI and two foreign ones.
const ARCHES: [u32; 7] = [
    AUDIT_ARCH_X86_64,
    AUDIT_ARCH_I386,
    AUDIT_ARCH_AARCH64,
    AUDIT_ARCH_ARM,
    AUDIT_ARCH_RISCV64,
    0,
    0xdead_beef,
];

/// Syscall numbers tried on every architecture.
fn numbers() -> Vec<u32> {
    let x32 = 0x4000_0000;
    let mut nrs: Vec<u32> = (0..1024).collect();
    nrs.extend(x32..x32 + 1024);
    nrs.extend(0x000f_0000..0x000f_0010); // ARM private syscalls
    nrs.extend([
        x32 - 1,
        0x7fff_ffff,
        0x8000_0000,
        0xbfff_ffff,
        0xc000_0000,
        0xffff_fffe,
        u32::MAX,
        0x4000_0000 | 0x3fff_ffff,
    ]);
    nrs
}

/// Argument values: generic edge cases plus every constant of the plan and its
/// neighbours, high-word-only and low-word-only variants and mask combinations.
fn arg_values(plan: &FilterPlan) -> Vec<u64> {
    let mut values: BTreeSet<u64> = [
        0,
        1,
        2,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        1 << 32,
        (1 << 32) + 1,
        0xffff_ffff_0000_0000,
        0x1_ffff_ffff,
        1 << 63,
        u64::MAX,
        u64::MAX - 1,
    ]
    .into();
    for c in plan
        .rules
        .iter()
        .flat_map(|r| r.conditions.iter().flatten())
    {
        let mut constants = vec![c.value];
        if let CompareOp::MaskedEq { mask } = c.op {
            constants.extend([
                mask,
                c.value | !mask,
                c.value & mask,
                (c.value & mask) ^ (mask & mask.wrapping_neg()),
            ]);
        }
        for v in constants {
            values.extend([
                v,
                v.wrapping_sub(1),
                v.wrapping_add(1),
                v & 0xffff_ffff,
                v & !0xffff_ffff,
                v | 1 << 32,
                v ^ 1 << 63,
                !v,
                v | 0xffff_ffff_0000_0000,
                (v & 0xffff_ffff).wrapping_sub(1),
                (v & 0xffff_ffff) + 1,
            ]);
        }
    }
    values.into_iter().collect()
}

/// A smaller set for varying two arguments at once: edge cases and the plan's constants.
fn pair_values(plan: &FilterPlan) -> Vec<u64> {
    let mut values: BTreeSet<u64> = [0, 1, 0xffff_ffff, 1 << 32, u64::MAX].into();
    for c in plan
        .rules
        .iter()
        .flat_map(|r| r.conditions.iter().flatten())
    {
        values.extend([c.value, c.value.wrapping_add(1), c.value.wrapping_sub(1)]);
    }
    values.into_iter().collect()
}

/// One argument vector per rule that satisfies every comparison of the rule, as a base
/// from which single arguments are varied (so AND-ed checks are reached).
fn satisfying_args(plan: &FilterPlan) -> Vec<[u64; 6]> {
    let mut out = vec![[0; 6], [u64::MAX; 6]];
    for rule in plan.rules.iter().flat_map(|r| &r.conditions) {
        let mut args = [0u64; 6];
        for c in rule {
            args[usize::from(c.index)] = match c.op {
                CompareOp::Eq | CompareOp::Le | CompareOp::Ge => c.value,
                CompareOp::Ne | CompareOp::Gt => c.value.wrapping_add(1),
                CompareOp::Lt => c.value.wrapping_sub(1),
                CompareOp::MaskedEq { .. } => c.value,
            };
        }
        out.push(args);
    }
    out
}

/// Both programs for one plan, decoded.
pub(super) struct Programs {
    pub libseccomp: Vec<Insn>,
    pub berth: Vec<Insn>,
}

/// Both programs for `plan`; berth's generator must not fall back.
pub(super) fn programs(plan: &FilterPlan) -> Programs {
    let libseccomp = decode(&bpf_program(plan).expect("libseccomp compiles the plan"));
    let berth = decode(&program(plan).unwrap_or_else(|why| panic!("fell back: {why}")));
    validate(&libseccomp).expect("libseccomp's program is valid");
    validate(&berth).unwrap_or_else(|why| panic!("berth's program is invalid: {why}"));
    Programs { libseccomp, berth }
}

/// Run both programs on every input and fail on the first difference.
pub(super) fn assert_same(name: &str, plan: &FilterPlan) -> Programs {
    let progs = programs(plan);
    let values = arg_values(plan);
    let pair_values = pair_values(plan);
    let bases = satisfying_args(plan);
    let indices: BTreeSet<usize> = plan
        .rules
        .iter()
        .flat_map(|r| r.conditions.iter().flatten())
        .map(|c| usize::from(c.index))
        .collect();
    let check = |data: &SeccompData| -> Outcome {
        let ours = run(&progs.berth, data);
        let theirs = run(&progs.libseccomp, data);
        assert_eq!(
            ours.ret, theirs.ret,
            "{name}: arch {:#x} nr {:#x} args {:x?}: berth {:#x}, libseccomp {:#x}",
            data.arch, data.nr, data.args, ours.ret, theirs.ret
        );
        Outcome {
            ret: ours.ret,
            read_args: ours.read_args || theirs.read_args,
        }
    };
    let mut with_args = 0;
    for arch in ARCHES {
        // Wherever the kernel's action cache lets libseccomp's program skip the filter,
        // it must let berth's too (the cache covers numbers below NR_syscalls).
        for nr in 0..1024 {
            assert_eq!(
                const_allow(&progs.berth, arch, nr),
                const_allow(&progs.libseccomp, arch, nr),
                "{name}: arch {arch:#x} nr {nr}: action cache differs"
            );
        }
        for nr in numbers() {
            let mut data = SeccompData {
                nr,
                arch,
                ..SeccompData::default()
            };
            if !check(&data).read_args {
                continue;
            }
            with_args += 1;
            for base in &bases {
                for &i in &indices {
                    for &v in &values {
                        data.args = *base;
                        data.args[i] = v;
                        check(&data);
                    }
                }
            }
            // Pairs of arguments at once, for AND-ed checks; with more than three
            // arguments in play that gets slow, and the per-rule bases cover AND-ing.
            let pairs = if indices.len() <= 3 {
                &indices
            } else {
                &BTreeSet::new()
            };
            for &i in pairs {
                for &j in pairs.iter().filter(|&&j| j > i) {
                    for &vi in &pair_values {
                        for &vj in &pair_values {
                            data.args = [0; 6];
                            data.args[i] = vi;
                            data.args[j] = vj;
                            check(&data);
                        }
                    }
                }
            }
        }
    }
    let loads_args = |prog: &[Insn]| prog.iter().any(|i| i.code == 0x20 && i.k >= 16);
    let has_checks = loads_args(&progs.berth) || loads_args(&progs.libseccomp);
    assert!(
        !has_checks || with_args > 0,
        "{name}: no input reached an argument check"
    );
    progs
}

/// The validated plan of a profile given as JSON.
pub(super) fn plan_of(json: serde_json::Value) -> FilterPlan {
    let profile: LinuxSeccomp = serde_json::from_value(json).expect("profile JSON");
    filter_plan(&profile).expect("valid profile")
}

/// A profile with `syscalls` and the given default action and architectures.
pub(super) fn profile_json(
    default: &str,
    arches: &[&str],
    syscalls: serde_json::Value,
) -> serde_json::Value {
    let mut profile = serde_json::json!({
        "defaultAction": default,
        "architectures": arches,
        "syscalls": syscalls,
    });
    if default == "SCMP_ACT_ERRNO" {
        profile["defaultErrnoRet"] = 1.into();
    }
    profile
}

/// Architecture lists the hand-written and random plans are tried with.
pub(super) const ARCH_LISTS: [&[&str]; 11] = [
    &[],
    &["SCMP_ARCH_X86_64"],
    &["SCMP_ARCH_X86"],
    &["SCMP_ARCH_X32"],
    &["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
    &["SCMP_ARCH_X32", "SCMP_ARCH_X86_64"],
    &["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    &["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    &["SCMP_ARCH_RISCV64"],
    &[
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X32",
        "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_ARM",
        "SCMP_ARCH_RISCV64",
    ],
];
