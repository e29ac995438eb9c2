//! The error type for compiling and loading a `linux.seccomp` section.
//!
//! Built in berthd (compile) and in the container init (load); owns nothing.
//! Validation variants carry the JSON path of the offending field (for example
//! `linux.seccomp.syscalls[3].args[0].index`) and the value found there.

use std::io;

/// Errors from compiling or loading a seccomp profile.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// An action the engine deliberately does not implement (SCMP_ACT_NOTIFY).
    #[error("{field}: action {action} is not supported{hint}")]
    UnsupportedAction {
        /// JSON path of the action field.
        field: String,
        /// The action as written in the profile.
        action: String,
        /// Extra explanation (empty or starting with "; ").
        hint: &'static str,
    },
    /// A filter flag the engine cannot honour.
    #[error("{field}: flag {flag} is not supported: {reason}")]
    UnsupportedFlag {
        /// JSON path of the flag.
        field: String,
        /// The flag as written in the profile.
        flag: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// `errnoRet` / `defaultErrnoRet` does not fit the 16-bit SECCOMP_RET_DATA field.
    #[error("{field}: value {value} is out of range (0-65535)")]
    ErrnoOutOfRange {
        /// JSON path of the errno field.
        field: String,
        /// The value found.
        value: u32,
    },
    /// An errno value given for an action that does not take one.
    #[error(
        "{field}: value {value} is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {action}"
    )]
    ErrnoWithoutErrnoAction {
        /// JSON path of the errno field.
        field: String,
        /// The value found.
        value: u32,
        /// The action it was combined with.
        action: String,
    },
    /// A rule with an empty `names` list.
    #[error("{field}: names list is empty")]
    EmptyNames {
        /// JSON path of the names list.
        field: String,
    },
    /// An empty string in a `names` list.
    #[error("{field}: syscall name is empty")]
    EmptySyscallName {
        /// JSON path of the name.
        field: String,
    },
    /// An argument index beyond the six syscall arguments.
    #[error("{field}: argument index {index} is out of range (0-5)")]
    ArgIndexOutOfRange {
        /// JSON path of the index field.
        field: String,
        /// The index found.
        index: usize,
    },
    /// libseccomp could not create a filter context.
    #[error("creating libseccomp filter context with default action {action}")]
    CreateContext {
        /// The default action.
        action: String,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },
    /// libseccomp refused a filter attribute.
    #[error("setting libseccomp filter attribute {attr}")]
    SetAttribute {
        /// The attribute name.
        attr: &'static str,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },
    /// libseccomp refused an architecture (e.g. one this libseccomp build lacks).
    #[error("{field}: cannot add architecture {arch}")]
    AddArchitecture {
        /// JSON path of the architecture entry.
        field: String,
        /// The architecture as written in the profile.
        arch: String,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },
    /// libseccomp refused a rule.
    #[error("{field}: libseccomp rejected the rule for syscall {name:?}")]
    AddRule {
        /// JSON path of the syscall rule.
        field: String,
        /// The syscall name.
        name: String,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },
    /// libseccomp's version could not be read (needed for the cache key).
    #[error("reading the libseccomp version")]
    LibraryVersion {
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },
    /// Creating the memfd that receives the exported BPF failed.
    #[error("creating a memfd for the exported BPF program")]
    CreateExportMemfd {
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// libseccomp failed to generate the BPF program.
    #[error("exporting the BPF program from libseccomp")]
    ExportBpf {
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },
    /// Reading the exported BPF program back from the memfd failed.
    #[error("reading the exported BPF program back from its memfd")]
    ReadExportedBpf {
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The program is empty, not a whole number of 8-byte instructions, or too long.
    #[error("BPF program of {len} bytes is not 1-4096 whole 8-byte instructions")]
    InvalidProgram {
        /// Length of the program in bytes.
        len: usize,
    },
    /// The running kernel rejects some of the filter flags.
    #[error(
        "the kernel does not support seccomp filter flags {flags:#x} (of requested {requested:#x})"
    )]
    UnsupportedKernelFlags {
        /// The flags the kernel rejected.
        flags: u32,
        /// All flags that were requested.
        requested: u32,
    },
    /// The kernel refused the filter because neither no_new_privs nor CAP_SYS_ADMIN is set.
    #[error("loading the seccomp filter needs no_new_privs or CAP_SYS_ADMIN")]
    LoadNotPermitted,
    /// `seccomp(SECCOMP_SET_MODE_FILTER)` failed.
    #[error(
        "seccomp(SECCOMP_SET_MODE_FILTER) with flags {flags:#x} and {instructions} instructions"
    )]
    LoadFilter {
        /// The flags passed.
        flags: u32,
        /// Program length in instructions.
        instructions: usize,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}
