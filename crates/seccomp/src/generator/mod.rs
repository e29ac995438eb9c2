//! berth's own seccomp BPF generator: the same decisions as libseccomp's program for a
//! [`FilterPlan`], found with a binary search over syscall numbers instead of a `jeq` per
//! syscall, so the kernel checks and JITs a fraction of the instructions on every
//! container start, and its per-syscall action cache still works.
//!
//! Runs in berthd (or the runtime before clone); pure apart from asking libseccomp to
//! resolve syscall names per architecture, and owns nothing. The program behaves like
//! libseccomp 2.5's for every architecture, syscall number and argument value; it is not
//! the same instructions. Plans it cannot reproduce exactly get a [`Fallback`] naming
//! why, and the caller uses libseccomp's program (`crate::bpf`) instead.

/// Kernel ABI facts: audit tokens, argument layout, return values.
mod abi;
/// Argument-rule blocks.
mod args;
/// The classic-BPF assembler.
mod asm;
/// Syscall-number lookup: a search the kernel's action cache follows, or a bitmap.
mod lookup;
/// The program's shape: architecture dispatch and per-architecture blocks.
mod program;
/// Per-architecture syscall tables, as libseccomp's database would hold them.
mod table;

/// Test harness: both generators' programs run through the interpreter side by side.
#[cfg(test)]
mod differential;
#[cfg(test)]
mod differential_tests;
/// Test-only classic-BPF interpreter and the kernel's action-cache emulation.
#[cfg(test)]
mod interp;
#[cfg(test)]
mod random_plan_tests;

pub(crate) use program::program;

use libseccomp::{ScmpAction, ScmpArch};

/// Why a plan is left to libseccomp's generator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Fallback {
    /// An architecture the generator does not handle (big-endian ones, or those with
    /// syscall rewriting other than x86's socketcall/ipc).
    #[error("architecture {0:?} is not handled")]
    Arch(ScmpArch),
    /// An action libseccomp refuses (an errno of 4095 or more; LOG or KILL_PROCESS on a
    /// kernel without them), or one this code does not know.
    #[error("action {0:?} is not handled")]
    Action(ScmpAction),
    /// libseccomp cannot translate a syscall to an architecture (it would fail the rule).
    #[error("syscall {name:?} has no translation to {arch:?}")]
    Translate {
        /// The syscall name.
        name: String,
        /// The architecture.
        arch: ScmpArch,
    },
    /// A rule compares one argument twice (libseccomp refuses such rules).
    #[error("a rule compares argument {index} twice")]
    RepeatedArgument {
        /// The argument index.
        index: u8,
    },
    /// Conditional rules with different actions on one syscall: libseccomp's outcome
    /// depends on how it merges them.
    #[error("syscall {nr} on {arch:?} has argument rules with different actions")]
    MixedActions {
        /// The architecture.
        arch: ScmpArch,
        /// The syscall number there (negative: a libseccomp pseudo-syscall).
        nr: i32,
    },
    /// Several argument rules on one syscall in a shape whose libseccomp program is not
    /// simply their OR (see `table::merge_is_or`).
    #[error("syscall {nr} on {arch:?} has argument rules libseccomp merges unreliably")]
    MergedRules {
        /// The architecture.
        arch: ScmpArch,
        /// The syscall number there.
        nr: u32,
    },
    /// The program would exceed the kernel's 4096 instructions.
    #[error("the program would need {0} instructions")]
    TooLong(usize),
}
