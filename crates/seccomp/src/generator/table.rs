//! What libseccomp 2.5's filter database holds for a plan: per architecture, for each
//! syscall number, either one action or a list of OR-ed argument rules.
//!
//! Runs in berthd; asks libseccomp only to resolve syscall names and numbers, and owns
//! nothing. Follows libseccomp's `seccomp_rule_add` path: a name is resolved on the
//! native architecture and translated by name to each other one (arch.c
//! `arch_syscall_translate`); on x86, socket and SysV IPC calls also get a rule on
//! socketcall(2)/ipc(2) with arg0 replaced by the call number (syscalls.c `abi_rule_add`);
//! pseudo-syscall numbers get no code; the first unconditional rule for a syscall wins
//! over every other rule (db.c `db_rule_add`). Several conditional rules on one syscall
//! are merged by libseccomp into a tree whose program is their OR only for some shapes
//! (see [`merge_is_or`]); other shapes, and rules with different actions, are left to
//! libseccomp ([`Fallback::MixedActions`], [`Fallback::MergedRules`]).

use std::collections::{BTreeMap, HashMap};

use libseccomp::{ScmpAction, ScmpArch, ScmpSyscall};

use super::abi::{abi, needs_kernel_support, ret_value, Abi, Width, X32_SYSCALL_BIT};
use super::Fallback;
use crate::plan::{ArgCompare, CompareOp, FilterPlan};
use crate::sys;

/// Highest syscall number + 1 scanned to find an x86 call's direct number. libseccomp
/// 2.5's x86 table ends at 456; the kernel's i386 table is far below 1024.
const RAW_SCAN_END: i32 = 1024;

/// x86's socketcall(2) and ipc(2) numbers (arch/x86/entry/syscalls/syscall_32.tbl,
/// libseccomp arch-x86.c `__x86_NR_socketcall` / `__x86_NR_ipc`).
const X86_SOCKETCALL: i32 = 102;
const X86_IPC: i32 = 117;

/// The syscalls of one `seccomp_data.arch` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArchTable {
    /// The audit token the kernel reports.
    pub audit_arch: u32,
    /// Which syscall numbers belong to this table rather than to a foreign ABI.
    pub numbers: NrRange,
    /// Decisions by syscall number; numbers not listed get the default action.
    pub syscalls: BTreeMap<u32, Verdict>,
}

/// Which numbers libseccomp treats as this ABI's (gen_bpf.c `_gen_bpf_arch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NrRange {
    /// All of them.
    All,
    /// x86_64 without x32: numbers with the x32 bit get the bad-arch action, except
    /// 0xffffffff (-1, a tracer skipping the call), which gets the default action.
    NoX32,
    /// x32 without x86_64: numbers without the x32 bit get the bad-arch action.
    X32Only,
}

/// What happens to one syscall number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Always this return value.
    Always(u32),
    /// `action` when every check of any rule holds, else the default action.
    Rules {
        /// Return value on a match.
        action: u32,
        /// The rules, in the order they were added.
        rules: Vec<Vec<ArgCheck>>,
    },
}

/// One argument comparison, reduced to what libseccomp compares on the architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArgCheck {
    /// Argument index, 0-5.
    pub index: u8,
    /// [`Width::W32`]: `value` (and any mask) hold only the low 32 bits, compared with
    /// the low word of the argument.
    pub width: Width,
    /// The operator.
    pub op: CompareOp,
    /// The value compared against; for `MaskedEq`, already masked.
    pub value: u64,
}

/// One seccomp_rule_add() as it lands in one architecture's database.
#[derive(Debug, Clone)]
struct Entry {
    action: u32,
    checks: Vec<ArgCheck>,
}

/// One architecture's rules while the plan is being read.
struct ArchDb {
    abi: Abi,
    /// Rules by syscall number, including the negative pseudo-syscall numbers libseccomp
    /// keeps (and checks rules against) but emits no code for.
    entries: BTreeMap<i32, Vec<Entry>>,
    /// Real syscall numbers by name, for multiplexed calls (built on first use).
    raw_numbers: Option<HashMap<String, i32>>,
}

/// Build the tables for `plan`, native architecture first, x86_64 and x32 merged into
/// one table as libseccomp does when both are present.
pub(crate) fn arch_tables(plan: &FilterPlan) -> Result<Vec<ArchTable>, Fallback> {
    let native = ScmpArch::native();
    let mut dbs = Vec::new();
    for arch in std::iter::once(native).chain(plan.arches.iter().map(|(_, a)| *a)) {
        if dbs.iter().any(|db: &ArchDb| db.abi.arch == arch) {
            continue;
        }
        let abi = abi(arch).ok_or(Fallback::Arch(arch))?;
        dbs.push(ArchDb {
            abi,
            entries: BTreeMap::new(),
            raw_numbers: None,
        });
    }
    for rule in &plan.rules {
        for name in &rule.names {
            let Ok(syscall) = ScmpSyscall::from_name(name) else {
                continue; // unknown to this libseccomp: skipped, like crate::bpf does
            };
            // libseccomp checks the action when a rule is added, not for skipped names.
            let action = accepted_action(rule.action)?;
            for db in &mut dbs {
                let nr = translate(native, db.abi.arch, syscall, name)?;
                for compares in &rule.conditions {
                    db.add(nr, action, compares)?;
                }
            }
        }
    }
    let verdicts = dbs
        .iter()
        .map(|db| db.verdicts().map(|v| (db.abi, v)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(merge_x86_64_x32(verdicts))
}

/// The return value of `action`, if libseccomp accepts the action on this kernel
/// (db.c `db_col_action_valid`); otherwise libseccomp's generator reports the error.
pub(crate) fn accepted_action(action: ScmpAction) -> Result<u32, Fallback> {
    let value = ret_value(action).ok_or(Fallback::Action(action))?;
    if needs_kernel_support(action) && !sys::seccomp_action_available(value) {
        return Err(Fallback::Action(action));
    }
    Ok(value)
}

/// The syscall number on `arch` of a rule given as `syscall` on the native architecture.
fn translate(
    native: ScmpArch,
    arch: ScmpArch,
    syscall: ScmpSyscall,
    name: &str,
) -> Result<i32, Fallback> {
    if arch == native {
        return Ok(syscall.as_raw_syscall());
    }
    let fail = || Fallback::Translate {
        name: name.to_owned(),
        arch,
    };
    let native_name = syscall.get_name_by_arch(native).map_err(|_| fail())?;
    ScmpSyscall::from_name_by_arch(&native_name, arch)
        .map(ScmpSyscall::as_raw_syscall)
        .map_err(|_| fail())
}

impl ArchDb {
    /// Add one rule for syscall `nr` as this architecture resolved it.
    fn add(&mut self, nr: i32, action: u32, compares: &[ArgCompare]) -> Result<(), Fallback> {
        let mut chain: [Option<ArgCompare>; 6] = [None; 6];
        for c in compares {
            if chain[usize::from(c.index)].replace(*c).is_some() {
                return Err(Fallback::RepeatedArgument { index: c.index });
            }
        }
        let mux = match nr {
            -120..=-100 if self.abi.multiplexed => Some((X86_SOCKETCALL, -nr % 100)),
            -224..=-200 if self.abi.multiplexed => Some((X86_IPC, -nr % 200)),
            _ => None,
        };
        // Other negative numbers are pseudo-syscalls: no code, but rules are checked.
        if let Some((via, call)) = mux {
            let mut muxed = chain;
            muxed[0] = Some(ArgCompare {
                index: 0,
                op: CompareOp::Eq,
                value: u64::from(call.unsigned_abs()),
            });
            self.insert(via, action, &muxed);
            // The direct call, or (the csv's PNR) the pseudo number itself.
            let direct = self.direct_number(nr).unwrap_or(nr);
            self.insert(direct, action, &chain);
        } else if nr >= 0 || !self.abi.multiplexed {
            // Without an arch rule hook (arch.c `arch_filter_rule_add`) libseccomp keeps
            // pseudo-syscall numbers too; x86's hook drops them.
            self.insert(nr, action, &chain);
        }
        Ok(())
    }

    fn insert(&mut self, nr: i32, action: u32, chain: &[Option<ArgCompare>; 6]) {
        let width = self.abi.width;
        let checks = chain.iter().flatten().filter_map(|c| check(*c, width));
        self.entries.entry(nr).or_default().push(Entry {
            action,
            checks: checks.collect(),
        });
    }

    /// The real number of the multiplexed pseudo-syscall `pseudo`, if the architecture
    /// has one (syscalls.c `_abi_syscall_demux`).
    fn direct_number(&mut self, pseudo: i32) -> Option<i32> {
        let arch = self.abi.arch;
        let name = ScmpSyscall::from(pseudo).get_name_by_arch(arch).ok()?;
        let raw = self.raw_numbers.get_or_insert_with(|| {
            (0..RAW_SCAN_END)
                .filter_map(|nr| {
                    let name = ScmpSyscall::from(nr).get_name_by_arch(arch).ok()?;
                    Some((name, nr))
                })
                .collect()
        });
        raw.get(&name).copied()
    }

    /// Collapse each syscall's rules into a verdict.
    fn verdicts(&self) -> Result<BTreeMap<u32, Verdict>, Fallback> {
        let mut out = BTreeMap::new();
        for (&nr, entries) in &self.entries {
            let verdict = verdict(entries).ok_or(Fallback::MixedActions {
                arch: self.abi.arch,
                nr,
            })?;
            let Ok(nr) = u32::try_from(nr) else {
                continue; // a pseudo-syscall: checked, no code
            };
            if let Verdict::Rules { rules, .. } = &verdict {
                if !merge_is_or(rules, self.abi.width) {
                    return Err(Fallback::MergedRules {
                        arch: self.abi.arch,
                        nr,
                    });
                }
            }
            out.insert(nr, verdict);
        }
        Ok(out)
    }
}

/// Replay one syscall's rules in the order libseccomp adds them (db.c `db_rule_add`): an
/// unconditional rule replaces conditional ones, and is kept against every later rule.
/// `None` when a conditional rule meets conditional ones with another action, which
/// libseccomp either refuses (EEXIST) or merges in a way this code does not follow.
fn verdict(entries: &[Entry]) -> Option<Verdict> {
    let mut verdict: Option<Verdict> = None;
    for entry in entries {
        match (&mut verdict, entry.checks.is_empty()) {
            (Some(Verdict::Always(_)), _) => {}
            (_, true) => verdict = Some(Verdict::Always(entry.action)),
            (None, false) => {
                verdict = Some(Verdict::Rules {
                    action: entry.action,
                    rules: vec![entry.checks.clone()],
                });
            }
            (Some(Verdict::Rules { action, rules }), false) => {
                if *action != entry.action {
                    return None;
                }
                rules.push(entry.checks.clone());
            }
        }
    }
    verdict
}

/// Whether libseccomp 2.5's program for these same-action rules of one syscall is their
/// OR, which is what [`Verdict::Rules`] means.
///
/// libseccomp merges the rules into a tree with one level per 32-bit comparison; a failed
/// subtree falls through to the next node of its parent's level (db.c `_db_tree_add`,
/// gen_bpf.c `_gen_bpf_chain`). The program reloads the accumulator for a node only when
/// the first jump to it that gen_bpf.c `_gen_bpf_build_bpf` places needs it, so a level
/// whose node sends its *true* edge to the next node and its *false* edge into a subtree
/// on another word skips the reload on the subtree's fall-through and then compares the
/// wrong word. That node is the high-word `>` node of an LT/LE comparison on a 64-bit
/// ABI; all other nodes put their subtree on the true edge, which gets placed first. So
/// this accepts, besides a single rule (a plain chain):
/// - rules of one comparison each, all on the same argument (the tree's first level
///   compares one word and nothing else), and
/// - on 64-bit ABIs, all LT/LE/GT/GE comparisons share their high word, so there is a
///   single high-word `>` node, and it sorts last on its level (after EQ/NE/masked).
///
/// Docker's profile has exactly these shapes (`personality` values, `socket` ranges).
fn merge_is_or(rules: &[Vec<ArgCheck>], width: Width) -> bool {
    let [first, rest @ ..] = rules else {
        return true;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(index) = (first.len() == 1).then(|| first[0].index) else {
        return false;
    };
    if rules.iter().any(|r| r.len() != 1 || r[0].index != index) {
        return false;
    }
    if width == Width::W32 {
        return true;
    }
    let mut ordering_high_words = rules.iter().filter_map(|r| match r[0].op {
        CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge => Some(r[0].value >> 32),
        _ => None,
    });
    let first_high = ordering_high_words.next();
    ordering_high_words.all(|high| Some(high) == first_high)
}

/// The comparison as libseccomp evaluates it on an architecture of `width`, or `None`
/// when it always holds and libseccomp drops it (db.c `_db_arg_cmp_need_lo/hi`).
fn check(c: ArgCompare, width: Width) -> Option<ArgCheck> {
    let keep = match width {
        Width::W64 => u64::MAX,
        Width::W32 => u64::from(u32::MAX),
    };
    let op = match c.op {
        CompareOp::MaskedEq { mask } if mask & keep == 0 => return None,
        CompareOp::MaskedEq { mask } => CompareOp::MaskedEq { mask: mask & keep },
        op => op,
    };
    let value = match op {
        CompareOp::MaskedEq { mask } => c.value & mask,
        _ => c.value & keep,
    };
    Some(ArgCheck {
        index: c.index,
        width,
        op,
        value,
    })
}

/// One table per audit token: x86_64 and x32 share AUDIT_ARCH_X86_64, and libseccomp
/// emits one block for both when both are in the filter (gen_bpf.c `_gen_bpf_build_bpf`).
fn merge_x86_64_x32(dbs: Vec<(Abi, BTreeMap<u32, Verdict>)>) -> Vec<ArchTable> {
    let has = |arch| dbs.iter().any(|(abi, _)| abi.arch == arch);
    let both = has(ScmpArch::X8664) && has(ScmpArch::X32);
    let mut tables: Vec<ArchTable> = Vec::new();
    for (abi, syscalls) in dbs {
        let numbers = match abi.arch {
            _ if both => NrRange::All,
            ScmpArch::X8664 => NrRange::NoX32,
            ScmpArch::X32 => NrRange::X32Only,
            _ => NrRange::All,
        };
        if let Some(shared) = tables.iter_mut().find(|t| t.audit_arch == abi.audit_arch) {
            // x86_64 numbers are below the x32 bit and x32 numbers above it.
            debug_assert!(syscalls.keys().all(|nr| !shared.syscalls.contains_key(nr)));
            shared.syscalls.extend(syscalls);
            continue;
        }
        tables.push(ArchTable {
            audit_arch: abi.audit_arch,
            numbers,
            syscalls,
        });
    }
    debug_assert!(tables
        .iter()
        .all(|t| t.numbers != NrRange::X32Only
            || t.syscalls.keys().all(|nr| nr & X32_SYSCALL_BIT != 0)));
    tables
}
