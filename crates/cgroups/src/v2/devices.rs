//! v2 device access control: compile device rules to a BPF_PROG_TYPE_CGROUP_DEVICE program
//! and attach it to the cgroup, replacing earlier ones.
//!
//! Runs in the runtime process. The attached program is owned by the cgroup (freed when it
//! is removed); program fds here are dropped after attaching. The program reads
//! `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }` (type in the low
//! 16 bits of access_type, access bits above) and returns 1 (allow) or 0 (deny). Rules are
//! checked last to first and the first match decides (so a later rule overrides an earlier
//! one, as on v1); with no match the device is allowed, like an empty v1 list under the root.
//! An allow rule matches when the requested access is a subset of its access, a deny rule
//! when they overlap.

use std::os::fd::AsFd;
use std::path::Path;

use crate::devices::{DevKind, DeviceRule, ACC_MKNOD, ACC_READ, ACC_WRITE};
use crate::sys::bpf::{self, Insn};
use crate::CgroupError;

/// `BPF_DEVCG_DEV_BLOCK` / `BPF_DEVCG_DEV_CHAR`.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ALL_ACCESS: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

// Opcodes used (BPF_CLASS | BPF_OP | BPF_SRC).
/// `dst = *(u32 *)(src + off)`
pub const LDX_W: u8 = 0x61;
/// `dst32 &= imm`
pub const AND32_K: u8 = 0x54;
/// `dst32 >>= imm`
pub const RSH32_K: u8 = 0x74;
/// `dst32 = src32`
pub const MOV32_X: u8 = 0xbc;
/// `dst = imm`
pub const MOV64_K: u8 = 0xb7;
/// `if dst != imm goto +off`
pub const JNE_K: u8 = 0x55;
/// `if dst == imm goto +off`
pub const JEQ_K: u8 = 0x15;
/// `return r0`
pub const EXIT: u8 = 0x95;

/// Registers: r1 ctx, r2 type, r3 access, r4 major, r5 minor, r0 result, r6 scratch.
const R_TYPE: u8 = 2;
const R_ACCESS: u8 = 3;
const R_MAJOR: u8 = 4;
const R_MINOR: u8 = 5;
const R_TMP: u8 = 6;

/// Build the program for `rules` (in OCI order).
pub fn device_program(rules: &[DeviceRule]) -> Result<Vec<Insn>, CgroupError> {
    let mut p = vec![
        Insn::new(LDX_W, R_TYPE, 1, 0, 0),
        Insn::new(AND32_K, R_TYPE, 0, 0, 0xffff),
        Insn::new(LDX_W, R_ACCESS, 1, 0, 0),
        Insn::new(RSH32_K, R_ACCESS, 0, 0, 16),
        Insn::new(LDX_W, R_MAJOR, 1, 4, 0),
        Insn::new(LDX_W, R_MINOR, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        if rule.is_everything() {
            p.extend(verdict(rule.allow));
            return Ok(p);
        }
        p.extend(rule_block(rule)?);
    }
    p.extend(verdict(true));
    Ok(p)
}

fn verdict(allow: bool) -> [Insn; 2] {
    [
        Insn::new(MOV64_K, 0, 0, 0, i32::from(allow)),
        Insn::new(EXIT, 0, 0, 0, 0),
    ]
}

/// Checks that jump past the block when the rule does not match, then the verdict.
fn rule_block(r: &DeviceRule) -> Result<Vec<Insn>, CgroupError> {
    // Jumps are emitted with off = 0 and patched once the block length is known.
    let mut b = Vec::new();
    match r.kind {
        DevKind::All => {}
        DevKind::Block => b.push(Insn::new(JNE_K, R_TYPE, 0, 0, DEV_BLOCK)),
        DevKind::Char => b.push(Insn::new(JNE_K, R_TYPE, 0, 0, DEV_CHAR)),
    }
    if let Some(m) = r.major {
        b.push(Insn::new(JNE_K, R_MAJOR, 0, 0, imm("devices.major", m)?));
    }
    if let Some(m) = r.minor {
        b.push(Insn::new(JNE_K, R_MINOR, 0, 0, imm("devices.minor", m)?));
    }
    let access = r.access & ALL_ACCESS;
    if access != ALL_ACCESS {
        b.push(Insn::new(MOV32_X, R_TMP, R_ACCESS, 0, 0));
        if r.allow {
            // Skip unless every requested bit is in the rule.
            b.push(Insn::new(
                AND32_K,
                R_TMP,
                0,
                0,
                imm("devices.access", ALL_ACCESS & !access)?,
            ));
            b.push(Insn::new(JNE_K, R_TMP, 0, 0, 0));
        } else {
            // Skip unless some requested bit is in the rule.
            b.push(Insn::new(
                AND32_K,
                R_TMP,
                0,
                0,
                imm("devices.access", access)?,
            ));
            b.push(Insn::new(JEQ_K, R_TMP, 0, 0, 0));
        }
    }
    b.extend(verdict(r.allow));
    let len = b.len();
    for (i, insn) in b.iter_mut().enumerate() {
        if matches!(insn.code, JNE_K | JEQ_K) {
            insn.off = i16::try_from(len - i - 1).expect("a rule block is under 16 instructions");
        }
    }
    Ok(b)
}

fn imm(field: &'static str, v: u32) -> Result<i32, CgroupError> {
    i32::try_from(v).map_err(|_| CgroupError::InvalidValue {
        field,
        value: v.to_string(),
        reason: "too large",
    })
}

/// Load the program for `rules`, attach it to the cgroup `dir`, then detach the programs
/// that were attached before (so there is no window without a filter).
pub fn apply_device_rules(dir: &Path, rules: &[DeviceRule]) -> Result<(), CgroupError> {
    let insns = device_program(rules)?;
    let cg = crate::sys::fs::open_dir(dir).map_err(|err| CgroupError::OpenDir {
        path: dir.to_path_buf(),
        err,
    })?;
    let bpf_err = |step| {
        move |err| CgroupError::Bpf {
            step,
            path: dir.to_path_buf(),
            err,
        }
    };
    let old = bpf::query_device_programs(cg.as_fd()).map_err(bpf_err("query"))?;
    let prog = bpf::load_device_program(&insns).map_err(|(err, log)| CgroupError::BpfLoad {
        path: dir.to_path_buf(),
        err,
        log,
    })?;
    bpf::attach_device_program(cg.as_fd(), prog.as_fd()).map_err(bpf_err("attach"))?;
    for id in old {
        let fd = bpf::program_fd_by_id(id).map_err(bpf_err("get fd of"))?;
        bpf::detach_device_program(cg.as_fd(), fd.as_fd()).map_err(bpf_err("detach"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
