//! The program's shape: dispatch on `seccomp_data.arch`, then per architecture the
//! foreign-ABI checks, the syscall-number lookup and the argument-rule blocks.
//!
//! Pure code running in berthd; owns nothing. Layout, for each table in order (native
//! first): `ld arch; jeq token -> table` ... `ret bad-arch`; each table loads the number,
//! sends x32/x86_64 numbers that do not belong to it to the bad-arch action (keeping -1,
//! which tracers use to skip a call, on the default action as libseccomp does), runs the
//! lookup (x32 numbers apart), then holds its argument blocks and its `ret`s.

use super::abi::{OFFSET_ARCH, OFFSET_NR, RET_BAD_ARCH, X32_SYSCALL_BIT};
use super::args::emit_rules;
use super::asm::{Asm, Cond, Returns};
use super::lookup::{emit_lookup, Dest, Lookup};
use super::table::{accepted_action, arch_tables, ArchTable, NrRange, Verdict};
use super::Fallback;
use crate::plan::FilterPlan;

/// Generate the program for `plan`, or say why libseccomp has to.
pub(crate) fn program(plan: &FilterPlan) -> Result<Vec<u8>, Fallback> {
    let default = accepted_action(plan.default_action)?;
    let tables = arch_tables(plan)?;
    assemble(&tables, default)
}

/// Lay out the program for `tables` with `default` as the default return value.
fn assemble(tables: &[ArchTable], default: u32) -> Result<Vec<u8>, Fallback> {
    let mut asm = Asm::new();
    asm.load_data(OFFSET_ARCH);
    let bad_arch = asm.label();
    let entries: Vec<_> = tables.iter().map(|_| asm.label()).collect();
    for (i, (table, entry)) in tables.iter().zip(&entries).enumerate() {
        let next = if i + 1 == tables.len() {
            bad_arch
        } else {
            asm.label()
        };
        asm.jump(Cond::Jeq, table.audit_arch, *entry, next);
        if next != bad_arch {
            asm.bind(next);
        }
    }
    if tables.is_empty() {
        asm.ja(bad_arch);
    }
    asm.bind(bad_arch);
    asm.ret(RET_BAD_ARCH);
    for (table, entry) in tables.iter().zip(entries) {
        asm.bind(entry);
        emit_table(&mut asm, table, default);
    }
    asm.finish()
        .map_err(|too_long| Fallback::TooLong(too_long.0))
}

fn emit_table(asm: &mut Asm, table: &ArchTable, default: u32) {
    let mut rets = Returns::default();
    asm.load_data(OFFSET_NR);
    let lookup = asm.label();
    let other_abi = asm.label();
    let x32 = asm.label();
    let has_x32 = table.syscalls.keys().any(|nr| nr & X32_SYSCALL_BIT != 0);
    match table.numbers {
        NrRange::All if has_x32 => asm.jump(Cond::Jge, X32_SYSCALL_BIT, x32, lookup),
        NrRange::All => {}
        NrRange::NoX32 => asm.jump(Cond::Jge, X32_SYSCALL_BIT, other_abi, lookup),
        NrRange::X32Only => {
            let bad = rets.of(asm, RET_BAD_ARCH);
            asm.jump(Cond::Jge, X32_SYSCALL_BIT, x32, bad);
        }
    }
    let mut blocks = Vec::new();
    let mut dests: Vec<(u32, Dest)> = table
        .syscalls
        .iter()
        .map(|(&nr, verdict)| match verdict {
            Verdict::Always(value) => (nr, Dest::Action(*value)),
            Verdict::Rules { action, rules } => {
                let label = asm.label();
                blocks.push((label, *action, rules));
                (nr, Dest::Block(label))
            }
        })
        .collect();
    // The kernel's action cache never covers x32 numbers, so they may use the shorter
    // bitmap; every other number gets only instructions the cache understands.
    let x32_dests = dests.split_off(dests.partition_point(|(nr, _)| nr & X32_SYSCALL_BIT == 0));
    if table.numbers != NrRange::X32Only {
        asm.bind(lookup);
        emit_lookup(asm, &mut rets, default, &dests, Lookup::Search);
    }
    if has_x32 || table.numbers == NrRange::X32Only {
        asm.bind(x32);
        emit_lookup(asm, &mut rets, default, &x32_dests, Lookup::Bitmap);
    }
    for (label, action, rules) in blocks {
        asm.bind(label);
        emit_rules(asm, &mut rets, default, action, rules);
    }
    if table.numbers == NrRange::NoX32 {
        asm.bind(other_abi);
        let keep = rets.of(asm, default);
        let bad = rets.of(asm, RET_BAD_ARCH);
        asm.jump(Cond::Jeq, u32::MAX, keep, bad);
    }
    rets.emit(asm);
}
