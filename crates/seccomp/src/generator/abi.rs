//! Kernel ABI facts the generator needs: the architectures it handles, their audit
//! tokens and argument width, `struct seccomp_data` offsets and SECCOMP_RET_* values.
//!
//! Pure constants, used in berthd; owns nothing. Values are from linux/audit.h,
//! linux/seccomp.h and asm/unistd_x32.h; libseccomp 2.5's `arch-*.c` files give the same
//! tokens and widths. Big-endian architectures and those where libseccomp rewrites rules
//! other than through socketcall/ipc are deliberately left out (they fall back).

use libseccomp::{ScmpAction, ScmpArch};

/// `AUDIT_ARCH_X86_64` (EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE), linux/audit.h.
/// x32 tasks report it too.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386` (EM_386 | __AUDIT_ARCH_LE), linux/audit.h.
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `AUDIT_ARCH_AARCH64` (EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE), linux/audit.h.
pub const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
/// `AUDIT_ARCH_ARM` (EM_ARM | __AUDIT_ARCH_LE), linux/audit.h.
pub const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
/// `AUDIT_ARCH_RISCV64` (EM_RISCV | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE), linux/audit.h.
pub const AUDIT_ARCH_RISCV64: u32 = 0xc000_00f3;

/// `__X32_SYSCALL_BIT` (asm/unistd_x32.h): set in every x32 syscall number.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Offset of `nr` in `struct seccomp_data` (linux/seccomp.h).
pub const OFFSET_NR: u32 = 0;
/// Offset of `arch` in `struct seccomp_data`.
pub const OFFSET_ARCH: u32 = 4;

/// Offset of the low 32 bits of `args[index]` (every handled architecture is little-endian).
pub const fn arg_lo(index: u8) -> u32 {
    16 + 8 * index as u32
}

/// Offset of the high 32 bits of `args[index]`.
pub const fn arg_hi(index: u8) -> u32 {
    arg_lo(index) + 4
}

/// How wide libseccomp treats syscall arguments on an architecture (`ARCH_SIZE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// 32-bit ABI: only the low word of each argument is compared.
    W32,
    /// 64-bit ABI: the whole argument is compared.
    W64,
}

/// One architecture the generator handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abi {
    /// libseccomp's token.
    pub arch: ScmpArch,
    /// What the kernel puts in `seccomp_data.arch`.
    pub audit_arch: u32,
    /// Argument width.
    pub width: Width,
    /// Whether socket and SysV IPC calls may also arrive multiplexed through
    /// socketcall(2)/ipc(2), which libseccomp's `abi_rule_add` adds rules for.
    pub multiplexed: bool,
}

/// The ABI facts for `arch`, or `None` when the generator does not handle it.
pub fn abi(arch: ScmpArch) -> Option<Abi> {
    let (audit_arch, width, multiplexed) = match arch {
        ScmpArch::X8664 => (AUDIT_ARCH_X86_64, Width::W64, false),
        ScmpArch::X32 => (AUDIT_ARCH_X86_64, Width::W32, false),
        ScmpArch::X86 => (AUDIT_ARCH_I386, Width::W32, true),
        ScmpArch::Aarch64 => (AUDIT_ARCH_AARCH64, Width::W64, false),
        ScmpArch::Arm => (AUDIT_ARCH_ARM, Width::W32, false),
        ScmpArch::Riscv64 => (AUDIT_ARCH_RISCV64, Width::W64, false),
        _ => return None,
    };
    Some(Abi {
        arch,
        audit_arch,
        width,
        multiplexed,
    })
}

/// `SECCOMP_RET_KILL_PROCESS` (linux/seccomp.h).
const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// `SECCOMP_RET_KILL_THREAD`.
pub const RET_KILL_THREAD: u32 = 0;
/// `SECCOMP_RET_TRAP`.
const RET_TRAP: u32 = 0x0003_0000;
/// `SECCOMP_RET_ERRNO`; the errno goes in the low 16 bits (`SECCOMP_RET_DATA`).
const RET_ERRNO: u32 = 0x0005_0000;
/// `SECCOMP_RET_USER_NOTIF`.
const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// `SECCOMP_RET_TRACE`; the tracer's message goes in the low 16 bits.
const RET_TRACE: u32 = 0x7ff0_0000;
/// `SECCOMP_RET_LOG`.
const RET_LOG: u32 = 0x7ffc_0000;
/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;

/// libseccomp's `MAX_ERRNO`: it refuses SCMP_ACT_ERRNO values from this one up
/// (system.c `sys_chk_seccomp_action`).
const MAX_ERRNO: u32 = 4095;

/// The filter return value for `action`, as libseccomp encodes it; `None` for an action
/// libseccomp refuses whatever the kernel (an errno of 4095 or more) or that this
/// libseccomp binding added after this code was written.
pub fn ret_value(action: ScmpAction) -> Option<u32> {
    Some(match action {
        ScmpAction::KillProcess => RET_KILL_PROCESS,
        ScmpAction::KillThread => RET_KILL_THREAD,
        ScmpAction::Trap => RET_TRAP,
        ScmpAction::Notify => RET_USER_NOTIF,
        // The binding passes the errno as a uint16_t (SCMP_ACT_ERRNO(x)).
        ScmpAction::Errno(errno) => {
            let errno = u32::from(errno as u16);
            if errno >= MAX_ERRNO {
                return None;
            }
            RET_ERRNO | errno
        }
        ScmpAction::Trace(msg) => RET_TRACE | u32::from(msg),
        ScmpAction::Log => RET_LOG,
        ScmpAction::Allow => RET_ALLOW,
        _ => return None,
    })
}

/// Whether libseccomp asks the kernel before accepting `action` (SCMP_ACT_LOG and
/// SCMP_ACT_KILL_PROCESS need Linux 4.14).
pub fn needs_kernel_support(action: ScmpAction) -> bool {
    matches!(action, ScmpAction::KillProcess | ScmpAction::Log)
}

/// The action libseccomp returns for a foreign architecture (`SCMP_FLTATR_ACT_BADARCH`),
/// which berth leaves at its default, SCMP_ACT_KILL (kill the thread).
pub const RET_BAD_ARCH: u32 = RET_KILL_THREAD;
