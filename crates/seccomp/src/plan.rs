//! Validate a `linux.seccomp` section and turn it into a [`FilterPlan`]: pure data that
//! says which actions, architectures, rules and seccomp(2) flags to use.
//!
//! Runs in berthd; touches neither the kernel nor libseccomp's filter state, so every
//! decision here is unit-tested as data. Follows the OCI runtime-spec `linux.seccomp`
//! section with runc's conventions: rules whose action equals the default action are
//! dropped (libseccomp refuses them), SCMP_ACT_KILL means kill-thread, a missing
//! errnoRet means EPERM, and several conditions on the same argument become separate
//! (OR-ed) rules. SCMP_ACT_NOTIFY is deliberately not supported.

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};

use crate::error::SeccompError;
use crate::sys;

const ROOT: &str = "linux.seccomp";
/// Syscalls take at most six arguments (indices 0-5).
const MAX_ARG_INDEX: usize = 5;

/// Everything libseccomp needs, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FilterPlan {
    /// Action when no rule matches.
    pub default_action: ScmpAction,
    /// Extra architectures (the native one is always present), with their JSON path.
    pub arches: Vec<(String, ScmpArch)>,
    /// Rules in profile order; rules equal to the default action are already dropped.
    pub rules: Vec<RulePlan>,
    /// SECCOMP_FILTER_FLAG_* bits for seccomp(2).
    pub flags: u32,
}

/// One `linux.seccomp.syscalls[i]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RulePlan {
    /// JSON path of the entry, for error messages.
    pub field: String,
    /// Syscall names; names unknown to libseccomp are skipped when building.
    pub names: Vec<String>,
    /// Action on match.
    pub action: ScmpAction,
    /// One libseccomp rule per inner list (its comparisons are AND-ed; the rules OR-ed).
    pub conditions: Vec<Vec<ArgCompare>>,
}

/// One argument comparison of a rule, as libseccomp's `struct scmp_arg_cmp` holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArgCompare {
    /// Argument index, 0-5.
    pub index: u8,
    /// The operator; `MaskedEq` carries the mask.
    pub op: CompareOp,
    /// The value compared against (for `MaskedEq`, the expected masked value).
    pub value: u64,
}

/// libseccomp's comparison operators (`enum scmp_compare`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    /// `arg != value`
    Ne,
    /// `arg < value`
    Lt,
    /// `arg <= value`
    Le,
    /// `arg == value`
    Eq,
    /// `arg >= value`
    Ge,
    /// `arg > value`
    Gt,
    /// `arg & mask == value`
    MaskedEq {
        /// The mask (the OCI `value`).
        mask: u64,
    },
}

impl ArgCompare {
    /// The same comparison in libseccomp's type.
    pub fn to_scmp(self) -> ScmpArgCompare {
        let op = match self.op {
            CompareOp::Ne => ScmpCompareOp::NotEqual,
            CompareOp::Lt => ScmpCompareOp::Less,
            CompareOp::Le => ScmpCompareOp::LessOrEqual,
            CompareOp::Eq => ScmpCompareOp::Equal,
            CompareOp::Ge => ScmpCompareOp::GreaterEqual,
            CompareOp::Gt => ScmpCompareOp::Greater,
            CompareOp::MaskedEq { mask } => ScmpCompareOp::MaskedEqual(mask),
        };
        ScmpArgCompare::new(u32::from(self.index), op, self.value)
    }
}

/// Validate the whole profile and decide what to build.
pub(crate) fn filter_plan(profile: &LinuxSeccomp) -> Result<FilterPlan, SeccompError> {
    let default_action = scmp_action(
        profile.default_action(),
        profile.default_errno_ret(),
        &format!("{ROOT}.defaultAction"),
        &format!("{ROOT}.defaultErrnoRet"),
        profile.listener_path().is_some(),
    )?;
    let arches = profile
        .architectures()
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, arch)| scmp_arch(*arch).map(|a| (format!("{ROOT}.architectures[{i}]"), a)))
        .collect();
    let flags = filter_flags(profile.flags().as_deref().unwrap_or_default())?;
    let mut rules = Vec::new();
    for (i, syscall) in profile.syscalls().iter().flatten().enumerate() {
        let field = format!("{ROOT}.syscalls[{i}]");
        let rule = rule_plan(syscall, field, profile.listener_path().is_some())?;
        if rule.action != default_action {
            rules.push(rule);
        }
    }
    Ok(FilterPlan {
        default_action,
        arches,
        rules,
        flags,
    })
}

fn rule_plan(
    syscall: &LinuxSyscall,
    field: String,
    has_listener: bool,
) -> Result<RulePlan, SeccompError> {
    if syscall.names().is_empty() {
        return Err(SeccompError::EmptyNames {
            field: format!("{field}.names"),
        });
    }
    if let Some(j) = syscall.names().iter().position(|n| n.is_empty()) {
        return Err(SeccompError::EmptySyscallName {
            field: format!("{field}.names[{j}]"),
        });
    }
    let action = scmp_action(
        syscall.action(),
        syscall.errno_ret(),
        &format!("{field}.action"),
        &format!("{field}.errnoRet"),
        has_listener,
    )?;
    let conditions = conditions(syscall.args().as_deref().unwrap_or_default(), &field)?;
    Ok(RulePlan {
        field,
        names: syscall.names().clone(),
        action,
        conditions,
    })
}

/// Map an OCI action plus its errno to libseccomp's action.
fn scmp_action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    action_field: &str,
    errno_field: &str,
    has_listener: bool,
) -> Result<ScmpAction, SeccompError> {
    let errno = match errno_ret {
        Some(value)
            if !matches!(action, LinuxSeccompAction::ScmpActErrno)
                && !matches!(action, LinuxSeccompAction::ScmpActTrace) =>
        {
            return Err(SeccompError::ErrnoWithoutErrnoAction {
                field: errno_field.to_owned(),
                value,
                action: action.to_string(),
            });
        }
        Some(value) => u16::try_from(value).map_err(|_| SeccompError::ErrnoOutOfRange {
            field: errno_field.to_owned(),
            value,
        })?,
        None => u16::try_from(libc::EPERM).expect("EPERM fits in u16"),
    };
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(i32::from(errno)),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(SeccompError::UnsupportedAction {
                field: action_field.to_owned(),
                action: action.to_string(),
                hint: if has_listener {
                    "; berth has no seccomp user-notification agent"
                } else {
                    "; berth has no seccomp user-notification agent (and linux.seccomp.listenerPath is not set)"
                },
            });
        }
    })
}

/// Map an OCI architecture to libseccomp's token; `None` for the native token, which
/// every filter already contains.
pub(crate) fn scmp_arch(arch: Arch) -> Option<ScmpArch> {
    Some(match arch {
        Arch::ScmpArchNative => return None,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    })
}

fn filter_flags(flags: &[LinuxSeccompFilterFlag]) -> Result<u32, SeccompError> {
    let mut bits = 0;
    for (i, flag) in flags.iter().enumerate() {
        bits |= match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => sys::FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => sys::FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => sys::FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                return Err(SeccompError::UnsupportedFlag {
                    field: format!("{ROOT}.flags[{i}]"),
                    flag: flag.to_string(),
                    reason: "it only applies to a user-notification listener, \
                             and berth does not support SCMP_ACT_NOTIFY",
                });
            }
        };
    }
    Ok(bits)
}

/// Split the argument conditions into libseccomp rules the way runc does: all
/// conditions in one rule when every argument index is distinct, else one rule per
/// condition (libseccomp compares each argument at most once per rule).
fn conditions(args: &[LinuxSeccompArg], field: &str) -> Result<Vec<Vec<ArgCompare>>, SeccompError> {
    let mut compares = Vec::with_capacity(args.len());
    for (k, arg) in args.iter().enumerate() {
        if arg.index() > MAX_ARG_INDEX {
            return Err(SeccompError::ArgIndexOutOfRange {
                field: format!("{field}.args[{k}].index"),
                index: arg.index(),
            });
        }
        let index = u8::try_from(arg.index()).expect("index <= 5 fits in u8");
        compares.push(ArgCompare {
            index,
            op: compare_op(arg),
            value: datum(arg),
        });
    }
    let mut seen = [false; MAX_ARG_INDEX + 1];
    let distinct = args
        .iter()
        .all(|a| !std::mem::replace(&mut seen[a.index()], true));
    Ok(if distinct {
        vec![compares]
    } else {
        compares.into_iter().map(|c| vec![c]).collect()
    })
}

/// For SCMP_CMP_MASKED_EQ the OCI `value` is the mask and `valueTwo` the expected result.
fn compare_op(arg: &LinuxSeccompArg) -> CompareOp {
    match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => CompareOp::Ne,
        LinuxSeccompOperator::ScmpCmpLt => CompareOp::Lt,
        LinuxSeccompOperator::ScmpCmpLe => CompareOp::Le,
        LinuxSeccompOperator::ScmpCmpEq => CompareOp::Eq,
        LinuxSeccompOperator::ScmpCmpGe => CompareOp::Ge,
        LinuxSeccompOperator::ScmpCmpGt => CompareOp::Gt,
        LinuxSeccompOperator::ScmpCmpMaskedEq => CompareOp::MaskedEq { mask: arg.value() },
    }
}

fn datum(arg: &LinuxSeccompArg) -> u64 {
    match arg.op() {
        LinuxSeccompOperator::ScmpCmpMaskedEq => arg.value_two().unwrap_or(0),
        _ => arg.value(),
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
