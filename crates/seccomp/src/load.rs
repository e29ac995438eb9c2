//! Install a compiled filter on the calling thread.
//!
//! Runs in the freshly cloned, single-threaded container init right before execve, after
//! the runtime has set no_new_privs (or kept CAP_SYS_ADMIN). Does not allocate on the
//! success path and owns nothing. Implements seccomp(2) SECCOMP_SET_MODE_FILTER; setting
//! no_new_privs is deliberately left to the caller.

use crate::compile::{valid_program_len, CompiledFilter};
use crate::error::SeccompError;
use crate::sys;

/// Every SECCOMP_FILTER_FLAG_* bit this crate may produce, probed one by one on EINVAL.
const KNOWN_FLAGS: [u32; 4] = [
    sys::FLAG_TSYNC,
    sys::FLAG_LOG,
    sys::FLAG_SPEC_ALLOW,
    sys::FLAG_WAIT_KILLABLE_RECV,
];

/// Install `filter` on the calling thread. Async-signal-safe enough to call after clone:
/// no allocation unless the kernel refuses the filter.
///
/// Needs no_new_privs or CAP_SYS_ADMIN ([`SeccompError::LoadNotPermitted`] otherwise).
/// When the kernel answers EINVAL and some requested flag is unknown to it, the error
/// is [`SeccompError::UnsupportedKernelFlags`] naming those flags.
pub fn load(filter: &CompiledFilter) -> Result<(), SeccompError> {
    if !valid_program_len(filter.program.len()) {
        return Err(SeccompError::InvalidProgram {
            len: filter.program.len(),
        });
    }
    let Err(source) = sys::seccomp_set_mode_filter(filter.flags, &filter.program) else {
        return Ok(());
    };
    match source.raw_os_error() {
        Some(libc::EACCES) => return Err(SeccompError::LoadNotPermitted),
        Some(libc::EINVAL) if filter.flags != 0 => {
            let rejected = unsupported_flags(filter.flags);
            if rejected != 0 {
                return Err(SeccompError::UnsupportedKernelFlags {
                    flags: rejected,
                    requested: filter.flags,
                });
            }
        }
        _ => {}
    }
    Err(SeccompError::LoadFilter {
        flags: filter.flags,
        instructions: filter.instructions(),
        source,
    })
}

/// The bits of `flags` the running kernel rejects on their own; unknown bits count as
/// rejected when the kernel refuses them too.
pub fn unsupported_flags(flags: u32) -> u32 {
    let mut rejected = 0;
    for bit in KNOWN_FLAGS {
        if flags & bit != 0 && !sys::seccomp_flags_supported(bit) {
            rejected |= bit;
        }
    }
    let unknown = flags & !KNOWN_FLAGS.iter().fold(0, |acc, b| acc | b);
    if unknown != 0 && !sys::seccomp_flags_supported(unknown) {
        rejected |= unknown;
    }
    rejected
}
