//! A classic-BPF interpreter for seccomp programs, for tests only: checks a program the
//! way the kernel's loader does and runs it on a `struct seccomp_data`.
//!
//! Written from linux/filter.h, linux/bpf_common.h and the kernel's classic-BPF rules
//! (kernel/seccomp.c `seccomp_check_filter`, net/core/filter.c `bpf_check_classic` and
//! `check_load_and_stores`). Covers every instruction seccomp accepts except division;
//! anything else is reported as an invalid program.

/// One decoded `struct sock_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// `struct seccomp_data`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SeccompData {
    pub nr: u32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

/// What a run returned and whether it looked at the syscall arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub ret: u32,
    pub read_args: bool,
}

const SECCOMP_DATA_LEN: u32 = 64;
const MEM_WORDS: u32 = 16;

/// Decode native-endian `struct sock_filter` records.
pub(crate) fn decode(bytes: &[u8]) -> Vec<Insn> {
    assert_eq!(bytes.len() % 8, 0, "not whole instructions");
    bytes
        .chunks_exact(8)
        .map(|c| Insn {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

impl SeccompData {
    /// The structure's bytes in native byte order.
    fn bytes(&self) -> [u8; SECCOMP_DATA_LEN as usize] {
        let mut bytes = [0u8; SECCOMP_DATA_LEN as usize];
        bytes[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        bytes[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        bytes[8..16].copy_from_slice(&self.instruction_pointer.to_ne_bytes());
        for (i, arg) in self.args.iter().enumerate() {
            bytes[16 + 8 * i..24 + 8 * i].copy_from_slice(&arg.to_ne_bytes());
        }
        bytes
    }
}

/// Whether `code` is an instruction seccomp accepts (besides division and modulo).
fn known(code: u16) -> bool {
    matches!(
        code,
        0x20 | 0x80 | 0x81 // ld [k], ld len, ldx len
            | 0x00 | 0x01 | 0x60 | 0x61 | 0x02 | 0x03 // ld/ldx imm, ld/ldx mem, st, stx
            | 0x04 | 0x0c | 0x14 | 0x1c | 0x24 | 0x2c // add, sub, mul (k, x)
            | 0x44 | 0x4c | 0x54 | 0x5c | 0xa4 | 0xac // or, and, xor
            | 0x64 | 0x6c | 0x74 | 0x7c | 0x84 // lsh, rsh, neg
            | 0x05 | 0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d // ja, jeq..jset
            | 0x06 | 0x16 // ret k, ret a
            | 0x07 | 0x87 // tax, txa
    )
}

/// Check `prog` as the kernel would before accepting it.
pub(crate) fn validate(prog: &[Insn]) -> Result<(), String> {
    if prog.is_empty() || prog.len() > 4096 {
        return Err(format!("{} instructions", prog.len()));
    }
    // Scratch words surely written on every path into each instruction.
    let mut written: Vec<Option<u16>> = vec![None; prog.len() + 1];
    written[0] = Some(0);
    for (pc, insn) in prog.iter().enumerate() {
        let fail = |why: &str| Err(format!("insn {pc} {insn:?}: {why}"));
        if !known(insn.code) {
            return fail("opcode not allowed in seccomp");
        }
        let Some(mut mem) = written[pc] else {
            continue; // unreachable
        };
        match insn.code {
            0x20 if insn.k >= SECCOMP_DATA_LEN || insn.k % 4 != 0 => {
                return fail("unaligned or out-of-range load");
            }
            0x60 | 0x61 | 0x02 | 0x03 if insn.k >= MEM_WORDS => return fail("bad scratch slot"),
            0x60 | 0x61 if mem & (1 << insn.k) == 0 => return fail("scratch read before write"),
            0x02 | 0x03 => mem |= 1 << insn.k,
            0x64 | 0x74 if insn.k >= 32 => return fail("shift by 32 or more"),
            _ => {}
        }
        let rest = prog.len() - pc - 1;
        let mut flow = |target: usize| -> Result<(), String> {
            if target > rest {
                return Err(format!("insn {pc}: jump past the end"));
            }
            let slot = &mut written[pc + 1 + target];
            *slot = Some(slot.map_or(mem, |m| m & mem));
            Ok(())
        };
        match insn.code {
            0x06 | 0x16 => {}
            0x05 => flow(insn.k as usize)?,
            0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d => {
                flow(usize::from(insn.jt))?;
                flow(usize::from(insn.jf))?;
            }
            _ if rest == 0 => return fail("falls off the end"),
            _ => flow(0)?,
        }
    }
    match prog.last().map(|i| i.code) {
        Some(0x06 | 0x16) => Ok(()),
        _ => Err("last instruction is not a return".into()),
    }
}

/// Run a validated program on `data`.
pub(crate) fn run(prog: &[Insn], data: &SeccompData) -> Outcome {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; MEM_WORDS as usize];
    let mut read_args = false;
    let bytes = data.bytes();
    let mut pc = 0usize;
    loop {
        let Insn { code, jt, jf, k } = prog[pc];
        pc += 1;
        let src = if code & 0x08 != 0 { x } else { k };
        match code {
            0x20 => {
                read_args |= k >= 16;
                let at = k as usize;
                a = u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("validated offset"));
            }
            0x80 => a = SECCOMP_DATA_LEN,
            0x81 => x = SECCOMP_DATA_LEN,
            0x00 => a = k,
            0x01 => x = k,
            0x60 => a = mem[k as usize],
            0x61 => x = mem[k as usize],
            0x02 => mem[k as usize] = a,
            0x03 => mem[k as usize] = x,
            0x04 | 0x0c => a = a.wrapping_add(src),
            0x14 | 0x1c => a = a.wrapping_sub(src),
            0x24 | 0x2c => a = a.wrapping_mul(src),
            0x44 | 0x4c => a |= src,
            0x54 | 0x5c => a &= src,
            0xa4 | 0xac => a ^= src,
            0x64 | 0x6c => a = a.checked_shl(src).expect("shift by 32 or more"),
            0x74 | 0x7c => a = a.checked_shr(src).expect("shift by 32 or more"),
            0x84 => a = a.wrapping_neg(),
            0x05 => pc += k as usize,
            0x15 | 0x1d | 0x25 | 0x2d | 0x35 | 0x3d | 0x45 | 0x4d => {
                let taken = match code & 0xf0 {
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    _ => a & src != 0,
                };
                pc += usize::from(if taken { jt } else { jf });
            }
            0x06 => return Outcome { ret: k, read_args },
            0x16 => return Outcome { ret: a, read_args },
            0x07 => x = a,
            0x87 => a = x,
            _ => panic!("instruction {code:#x} not handled"),
        }
    }
}

/// Whether the kernel's action cache marks syscall `nr` on `arch` as always allowed, so
/// that the filter does not even run for it: kernel/seccomp.c `seccomp_is_const_allow`
/// (Linux 5.11+) follows the program knowing only `nr` and `arch`, and gives up at any
/// other load and at any instruction besides `and K`, `ja`, `jeq/jgt/jge/jset K`, `ret K`.
pub(crate) fn const_allow(prog: &[Insn], arch: u32, nr: u32) -> bool {
    let mut a = 0u32;
    let mut pc = 0usize;
    while let Some(&Insn { code, jt, jf, k }) = prog.get(pc) {
        pc += 1;
        match code {
            0x20 if k == 0 => a = nr,
            0x20 if k == 4 => a = arch,
            0x06 => return k == 0x7fff_0000,
            0x05 => pc += k as usize,
            0x15 | 0x25 | 0x35 | 0x45 => {
                let taken = match code {
                    0x15 => a == k,
                    0x25 => a > k,
                    0x35 => a >= k,
                    _ => a & k != 0,
                };
                pc += usize::from(if taken { jt } else { jf });
            }
            0x54 => a &= k,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
        Insn { code, jt, jf, k }
    }

    #[test]
    fn runs_loads_alu_jumps_and_scratch() {
        // A = nr & 31; X = A; A = 1 << X; M[3] = A; A = args[1].hi; jgt 4 → ret A? ...
        let prog = [
            insn(0x20, 0, 0, 0),           // ld nr
            insn(0x54, 0, 0, 31),          // and #31
            insn(0x07, 0, 0, 0),           // tax
            insn(0x00, 0, 0, 1),           // ld #1
            insn(0x6c, 0, 0, 0),           // lsh x
            insn(0x02, 0, 0, 3),           // st M[3]
            insn(0x20, 0, 0, 28),          // ld args[1].hi
            insn(0x25, 0, 2, 4),           // jgt #4
            insn(0x60, 0, 0, 3),           // ld M[3]
            insn(0x16, 0, 0, 0),           // ret A
            insn(0x45, 0, 1, 0x8000_0000), // jset
            insn(0x06, 0, 0, 7),           // ret #7
            insn(0x05, 0, 0, 1),           // ja +1
            insn(0x06, 0, 0, 8),           // (skipped)
            insn(0x87, 0, 0, 0),           // txa
            insn(0x16, 0, 0, 0),           // ret A
        ];
        validate(&prog).unwrap();
        let data = |nr, arg1: u64| SeccompData {
            nr,
            args: [0, arg1, 0, 0, 0, 0],
            ..SeccompData::default()
        };
        assert_eq!(run(&prog, &data(37, 5 << 32)).ret, 1 << 5);
        assert_eq!(run(&prog, &data(37, 0x8000_0000 << 32)).ret, 1 << 5);
        assert_eq!(run(&prog, &data(37, 3 << 32)).ret, 5);
        assert!(run(&prog, &data(37, 0)).read_args);
    }

    #[test]
    fn const_allow_follows_only_number_and_arch() {
        let prog = [
            insn(0x20, 0, 0, 0),           // ld nr
            insn(0x35, 0, 2, 10),          // jge 10
            insn(0x54, 0, 0, 1),           // and #1
            insn(0x15, 2, 3, 1),           // jeq 1 (odd, >= 10) -> ld args
            insn(0x15, 0, 1, 3),           // jeq 3
            insn(0x06, 0, 0, 0x7fff_0000), // ret allow
            insn(0x06, 0, 0, 0x0005_0001), // ret errno
            insn(0x20, 0, 0, 16),          // ld args[0]
            insn(0x06, 0, 0, 0x7fff_0000),
        ];
        validate(&prog).unwrap();
        assert!(const_allow(&prog, 0, 3));
        assert!(!const_allow(&prog, 0, 4), "returns errno");
        assert!(!const_allow(&prog, 0, 11), "loads an argument");
        assert!(!const_allow(
            &[insn(0x07, 0, 0, 0), insn(0x06, 0, 0, 0x7fff_0000)],
            0,
            0
        ));
    }

    #[test]
    fn rejects_what_the_kernel_rejects() {
        let ret = insn(0x06, 0, 0, 0);
        assert!(validate(&[insn(0x20, 0, 0, 2), ret]).is_err(), "unaligned");
        assert!(
            validate(&[insn(0x20, 0, 0, 64), ret]).is_err(),
            "past seccomp_data"
        );
        assert!(
            validate(&[insn(0x60, 0, 0, 0), ret]).is_err(),
            "uninitialised M[0]"
        );
        assert!(
            validate(&[
                insn(0x15, 0, 1, 0),
                insn(0x02, 0, 0, 0),
                insn(0x60, 0, 0, 0),
                ret
            ])
            .is_err(),
            "M[0] written on one path only"
        );
        assert!(
            validate(&[insn(0x15, 0, 5, 0), ret]).is_err(),
            "jump past the end"
        );
        assert!(
            validate(&[insn(0x00, 0, 0, 0)]).is_err(),
            "no return at the end"
        );
        assert!(
            validate(&[insn(0x94, 0, 0, 3), ret]).is_err(),
            "mod is not allowed"
        );
        assert!(
            validate(&[insn(0x64, 0, 0, 32), ret]).is_err(),
            "shift by 32"
        );
    }
}
