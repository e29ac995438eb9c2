//! Argument rules of one syscall: the checks of a rule are AND-ed, the rules OR-ed, and a
//! 64-bit comparison is made on the two 32-bit halves of the argument.
//!
//! Pure code running in berthd; owns nothing. The comparisons mean what libseccomp 2.5's
//! do (db.c `_db_rule_gen_64` / `_db_rule_gen_32`): unsigned, on the whole argument for
//! 64-bit ABIs and on its low word for 32-bit ones.

use super::abi::{arg_hi, arg_lo, Width};
use super::asm::{AluOp, Asm, Cond, Label, Returns};
use super::table::ArgCheck;
use crate::plan::CompareOp;

/// Emit the block for a syscall that returns `action` when any rule holds and `default`
/// otherwise.
pub(crate) fn emit_rules(
    asm: &mut Asm,
    rets: &mut Returns,
    default: u32,
    action: u32,
    rules: &[Vec<ArgCheck>],
) {
    let hit = rets.of(asm, action);
    let last_miss = rets.of(asm, default);
    let mut rest = rules;
    while !rest.is_empty() {
        let shared = high_word_group(rest);
        let taken = shared.max(1);
        let miss = if taken == rest.len() {
            last_miss
        } else {
            asm.label()
        };
        if shared > 1 {
            emit_high_word_group(asm, &rest[..shared], hit, miss);
        } else {
            emit_rule(asm, &rest[0], hit, miss);
        }
        if miss != last_miss {
            asm.bind(miss);
        }
        rest = &rest[taken..];
    }
}

/// The one 64-bit, unmasked check of a rule that has exactly one.
fn single_plain_64(rule: &[ArgCheck]) -> Option<&ArgCheck> {
    match rule {
        [check] if check.width == Width::W64 && !matches!(check.op, CompareOp::MaskedEq { .. }) => {
            Some(check)
        }
        _ => None,
    }
}

/// How many leading rules are single unmasked 64-bit checks on one argument with the
/// same high word (Docker's `personality` values and `socket` ranges), which can share
/// one high-word comparison.
fn high_word_group(rules: &[Vec<ArgCheck>]) -> usize {
    let Some(first) = single_plain_64(&rules[0]) else {
        return 0;
    };
    let same = |rule: &Vec<ArgCheck>| {
        single_plain_64(rule)
            .is_some_and(|c| c.index == first.index && c.value >> 32 == first.value >> 32)
    };
    rules.iter().take_while(|r| same(r)).count()
}

/// OR of one-check rules that share argument and high word: compare the high word once
/// (above or below it, each rule's outcome is known), then the low words one by one.
fn emit_high_word_group(asm: &mut Asm, rules: &[Vec<ArgCheck>], hit: Label, miss: Label) {
    let checks: Vec<&ArgCheck> = rules.iter().map(|r| &r[0]).collect();
    let index = checks[0].index;
    let hi = (checks[0].value >> 32) as u32;
    let passes_when = |above: bool| {
        checks.iter().any(|c| match c.op {
            CompareOp::Ne => true,
            CompareOp::Gt | CompareOp::Ge => above,
            CompareOp::Lt | CompareOp::Le => !above,
            CompareOp::Eq | CompareOp::MaskedEq { .. } => false,
        })
    };
    let (above, below) = (
        if passes_when(true) { hit } else { miss },
        if passes_when(false) { hit } else { miss },
    );
    high_word_order(asm, arg_hi(index), hi, above, below);
    asm.load_data(arg_lo(index));
    for (i, check) in checks.iter().enumerate() {
        let fail = if i + 1 == checks.len() {
            miss
        } else {
            asm.label()
        };
        compare_word(asm, check.op, check.value as u32, hit, fail);
        if fail != miss {
            asm.bind(fail);
        }
    }
}

fn emit_rule(asm: &mut Asm, checks: &[ArgCheck], hit: Label, miss: Label) {
    if checks.is_empty() {
        asm.ja(hit);
        return;
    }
    for (j, check) in checks.iter().enumerate() {
        let pass = if j + 1 == checks.len() {
            hit
        } else {
            asm.label()
        };
        emit_check(asm, check, pass, miss);
        if pass != hit {
            asm.bind(pass);
        }
    }
}

/// Jump to `pass` when the check holds, else to `fail`.
fn emit_check(asm: &mut Asm, check: &ArgCheck, pass: Label, fail: Label) {
    let lo_at = arg_lo(check.index);
    let hi_at = arg_hi(check.index);
    let hi = (check.value >> 32) as u32;
    let lo = check.value as u32;
    if check.width == Width::W32 {
        asm.load_data(lo_at);
        compare_word(asm, check.op, lo, pass, fail);
        return;
    }
    match check.op {
        CompareOp::Eq | CompareOp::Ne => {
            let (equal, unequal) = if check.op == CompareOp::Eq {
                (pass, fail)
            } else {
                (fail, pass)
            };
            let low = asm.label();
            asm.load_data(hi_at);
            asm.jump(Cond::Jeq, hi, low, unequal);
            asm.bind(low);
            asm.load_data(lo_at);
            asm.jump(Cond::Jeq, lo, equal, unequal);
        }
        CompareOp::Gt | CompareOp::Ge => {
            high_word_order(asm, hi_at, hi, pass, fail);
            asm.load_data(lo_at);
            compare_word(asm, check.op, lo, pass, fail);
        }
        CompareOp::Lt | CompareOp::Le => {
            high_word_order(asm, hi_at, hi, fail, pass);
            asm.load_data(lo_at);
            compare_word(asm, check.op, lo, pass, fail);
        }
        CompareOp::MaskedEq { mask } => {
            let (mask_hi, mask_lo) = ((mask >> 32) as u32, mask as u32);
            if mask_hi != 0 {
                let low = if mask_lo != 0 { asm.label() } else { pass };
                asm.load_data(hi_at);
                compare_word(
                    asm,
                    CompareOp::MaskedEq {
                        mask: mask_hi.into(),
                    },
                    hi,
                    low,
                    fail,
                );
                if low != pass {
                    asm.bind(low);
                }
            }
            if mask_lo != 0 {
                asm.load_data(lo_at);
                compare_word(
                    asm,
                    CompareOp::MaskedEq {
                        mask: mask_lo.into(),
                    },
                    lo,
                    pass,
                    fail,
                );
            }
        }
    }
}

/// Compare A (one 32-bit word) with `k`; a mask in `op` is its low 32 bits.
fn compare_word(asm: &mut Asm, op: CompareOp, k: u32, pass: Label, fail: Label) {
    match op {
        CompareOp::Eq => asm.jump(Cond::Jeq, k, pass, fail),
        CompareOp::Ne => asm.jump(Cond::Jeq, k, fail, pass),
        CompareOp::Gt => asm.jump(Cond::Jgt, k, pass, fail),
        CompareOp::Ge => asm.jump(Cond::Jge, k, pass, fail),
        CompareOp::Lt => asm.jump(Cond::Jge, k, fail, pass),
        CompareOp::Le => asm.jump(Cond::Jgt, k, fail, pass),
        CompareOp::MaskedEq { mask } => {
            let mask = mask as u32;
            if mask != u32::MAX {
                asm.alu_k(AluOp::And, mask);
            }
            asm.jump(Cond::Jeq, k & mask, pass, fail);
        }
    }
}

/// Load the argument's high word and compare it with `hi`: greater goes to `above`, less
/// to `below`, equal falls through (to the low-word comparison).
fn high_word_order(asm: &mut Asm, at: u32, hi: u32, above: Label, below: Label) {
    let equal = asm.label();
    asm.load_data(at);
    if hi == 0 {
        // Nothing is below 0.
        asm.jump(Cond::Jgt, 0, above, equal);
    } else if hi == u32::MAX {
        // Nothing is above u32::MAX.
        asm.jump(Cond::Jeq, hi, equal, below);
    } else {
        let not_above = asm.label();
        asm.jump(Cond::Jgt, hi, above, not_above);
        asm.bind(not_above);
        asm.jump(Cond::Jeq, hi, equal, below);
    }
    asm.bind(equal);
}
