//! Build a libseccomp filter from a [`FilterPlan`] and export it as raw BPF bytes: the
//! fallback for plans berth's own generator (`crate::generator`) does not handle, and the
//! reference its differential tests compare against.
//!
//! Runs in berthd. Owns a libseccomp filter context and a memfd for the export, both
//! released before returning. libseccomp never loads the filter and never sets
//! no_new_privs (the runtime decides NNP); see seccomp_init(3), seccomp_rule_add(3),
//! seccomp_export_bpf(3). Syscall names libseccomp does not know are skipped, as runc
//! does, so newer profiles still work with an older libseccomp.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use libseccomp::{ScmpFilterContext, ScmpSyscall};

use crate::compile::valid_program_len;
use crate::error::SeccompError;
use crate::plan::FilterPlan;
use crate::sys;

/// Generate the BPF program (native-endian `struct sock_filter` records) for `plan`.
pub(crate) fn bpf_program(plan: &FilterPlan) -> Result<Vec<u8>, SeccompError> {
    let ctx = filter_context(plan)?;
    export(&ctx)
}

fn filter_context(plan: &FilterPlan) -> Result<ScmpFilterContext, SeccompError> {
    let mut ctx = ScmpFilterContext::new(plan.default_action).map_err(|source| {
        SeccompError::CreateContext {
            action: format!("{:?}", plan.default_action),
            source,
        }
    })?;
    ctx.set_ctl_nnp(false)
        .map_err(|source| SeccompError::SetAttribute {
            attr: "SCMP_FLTATR_CTL_NNP",
            source,
        })?;
    for (field, arch) in &plan.arches {
        ctx.add_arch(*arch)
            .map_err(|source| SeccompError::AddArchitecture {
                field: field.clone(),
                arch: format!("{arch:?}"),
                source,
            })?;
    }
    for rule in &plan.rules {
        for (j, name) in rule.names.iter().enumerate() {
            let Ok(syscall) = ScmpSyscall::from_name(name) else {
                continue; // unknown to this libseccomp: skipped, like runc
            };
            for compares in &rule.conditions {
                let compares: Vec<_> = compares.iter().map(|c| c.to_scmp()).collect();
                ctx.add_rule_conditional(rule.action, syscall, &compares)
                    .map_err(|source| SeccompError::AddRule {
                        field: format!("{}.names[{j}]", rule.field),
                        name: name.clone(),
                        source,
                    })?;
            }
        }
    }
    Ok(ctx)
}

/// Export through a memfd: libseccomp 2.5 only exports to a file descriptor.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>, SeccompError> {
    let fd = sys::memfd_create(c"berth-seccomp-bpf")
        .map_err(|source| SeccompError::CreateExportMemfd { source })?;
    let mut file = File::from(fd);
    ctx.export_bpf(&file)
        .map_err(|source| SeccompError::ExportBpf { source })?;
    let mut program = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut program))
        .map_err(|source| SeccompError::ReadExportedBpf { source })?;
    if !valid_program_len(program.len()) {
        return Err(SeccompError::InvalidProgram { len: program.len() });
    }
    Ok(program)
}
