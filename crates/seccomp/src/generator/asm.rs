//! A small classic-BPF assembler for seccomp programs: forward jumps to labels, long
//! conditional jumps relayed through `ja`, and loads the accumulator already holds skipped.
//!
//! Pure code running in berthd; owns nothing. Encodes `struct sock_filter` as in
//! linux/filter.h with the opcodes of linux/bpf_common.h. Only forward jumps exist (as
//! the kernel requires), so when a label is bound every jump to it is already known,
//! which is what lets the assembler know what the accumulator holds there.

use std::collections::BTreeMap;

use crate::compile::MAX_PROGRAM_BYTES;

// Opcode parts from linux/bpf_common.h.
const BPF_LD: u16 = 0x00;
const BPF_ST: u16 = 0x02;
const BPF_ALU: u16 = 0x04;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_MISC: u16 = 0x07;
const BPF_W: u16 = 0x00;
const BPF_ABS: u16 = 0x20;
const BPF_IMM: u16 = 0x00;
const BPF_MEM: u16 = 0x60;
const BPF_K: u16 = 0x00;
const BPF_X: u16 = 0x08;
const BPF_JA: u16 = 0x00;
const BPF_TAX: u16 = 0x00;

/// Largest forward distance of a conditional jump (`jt`/`jf` are 8 bits).
const MAX_COND_JUMP: usize = 255;

/// ALU operations the generator uses (linux/bpf_common.h values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AluOp {
    /// `A &= operand`
    And = 0x50,
    /// `A <<= operand`
    Lsh = 0x60,
}

/// Conditional jumps (linux/bpf_common.h values); all compare A with K as unsigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cond {
    /// `A == K`
    Jeq = 0x10,
    /// `A > K`
    Jgt = 0x20,
    /// `A >= K`
    Jge = 0x30,
    /// `A & K != 0`
    Jset = 0x40,
}

/// A jump target; bound to a position with [`Asm::bind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Label(usize);

/// What the accumulator is known to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acc {
    Unknown,
    /// The 32-bit word at this `seccomp_data` offset.
    Data(u32),
}

#[derive(Debug)]
enum Item {
    Plain {
        code: u16,
        k: u32,
    },
    Cond {
        code: u16,
        k: u32,
        jt: Label,
        jf: Label,
    },
    Ja(Label),
}

#[derive(Debug, Default)]
struct LabelState {
    /// Index of the item the label is bound before.
    at: Option<usize>,
    /// Merged accumulator state of the jumps seen so far.
    incoming: Option<Acc>,
}

/// The program was longer than the kernel's BPF_MAXINSNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLong(pub usize);

/// A program under construction.
#[derive(Debug, Default)]
pub(crate) struct Asm {
    items: Vec<Item>,
    labels: Vec<LabelState>,
    /// What A holds at the current position; `None` when it cannot be reached.
    acc: Option<Acc>,
}

fn merge(a: Option<Acc>, b: Option<Acc>) -> Option<Acc> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) if x == y => Some(x),
        _ => Some(Acc::Unknown),
    }
}

impl Asm {
    /// An empty program; execution starts at the first instruction.
    pub fn new() -> Self {
        Self {
            acc: Some(Acc::Unknown),
            ..Self::default()
        }
    }

    /// A fresh, unbound label.
    pub fn label(&mut self) -> Label {
        self.labels.push(LabelState::default());
        Label(self.labels.len() - 1)
    }

    /// Bind `label` to the next instruction. Every jump to it must already be emitted.
    pub fn bind(&mut self, label: Label) {
        let state = &mut self.labels[label.0];
        assert!(state.at.is_none(), "label bound twice");
        state.at = Some(self.items.len());
        self.acc = merge(self.acc, state.incoming);
    }

    fn push(&mut self, item: Item) {
        self.items.push(item);
    }

    fn jump_from_here(&mut self, target: Label) {
        let state = &mut self.labels[target.0];
        assert!(state.at.is_none(), "backward jump");
        state.incoming = merge(state.incoming, self.acc);
    }

    /// `A = seccomp_data[offset]` (32 bits), unless A already holds it.
    pub fn load_data(&mut self, offset: u32) {
        if self.acc != Some(Acc::Data(offset)) {
            self.push(Item::Plain {
                code: BPF_LD | BPF_W | BPF_ABS,
                k: offset,
            });
            self.acc = Some(Acc::Data(offset));
        }
    }

    /// `A = k`
    pub fn load_imm(&mut self, k: u32) {
        self.plain(BPF_LD | BPF_IMM, k);
    }

    /// `A = M[slot]`
    pub fn load_mem(&mut self, slot: u32) {
        self.plain(BPF_LD | BPF_MEM, slot);
    }

    /// `M[slot] = A` (A is unchanged).
    pub fn store(&mut self, slot: u32) {
        let acc = self.acc;
        self.plain(BPF_ST, slot);
        self.acc = acc;
    }

    /// `X = A` (A is unchanged).
    pub fn tax(&mut self) {
        let acc = self.acc;
        self.plain(BPF_MISC | BPF_TAX, 0);
        self.acc = acc;
    }

    /// `A = A op k`
    pub fn alu_k(&mut self, op: AluOp, k: u32) {
        self.plain(BPF_ALU | op as u16 | BPF_K, k);
    }

    /// `A = A op X`
    pub fn alu_x(&mut self, op: AluOp) {
        self.plain(BPF_ALU | op as u16 | BPF_X, 0);
    }

    fn plain(&mut self, code: u16, k: u32) {
        self.push(Item::Plain { code, k });
        self.acc = Some(Acc::Unknown);
    }

    /// `if (A cond k) goto jt else goto jf`
    pub fn jump(&mut self, cond: Cond, k: u32, jt: Label, jf: Label) {
        self.jump_from_here(jt);
        self.jump_from_here(jf);
        self.push(Item::Cond {
            code: BPF_JMP | cond as u16 | BPF_K,
            k,
            jt,
            jf,
        });
        self.acc = None;
    }

    /// `goto target`
    pub fn ja(&mut self, target: Label) {
        self.jump_from_here(target);
        self.push(Item::Ja(target));
        self.acc = None;
    }

    /// `return k`
    pub fn ret(&mut self, k: u32) {
        self.push(Item::Plain {
            code: BPF_RET | BPF_K,
            k,
        });
        self.acc = None;
    }

    /// Lay the program out and encode it as native-endian `struct sock_filter` records.
    pub fn finish(self) -> Result<Vec<u8>, TooLong> {
        let far = self.relax();
        let addrs = addresses(&far);
        let total = addrs.last().copied().unwrap_or(0);
        if total * 8 > MAX_PROGRAM_BYTES {
            return Err(TooLong(total));
        }
        let at = |label: Label| {
            let index = self.labels[label.0].at.expect("jump to an unbound label");
            addrs[index]
        };
        let mut out = Vec::with_capacity(total * 8);
        let mut put = |code: u16, jt: usize, jf: usize, k: u32| {
            out.extend_from_slice(&code.to_ne_bytes());
            out.push(u8::try_from(jt).expect("jump offset checked by relax"));
            out.push(u8::try_from(jf).expect("jump offset checked by relax"));
            out.extend_from_slice(&k.to_ne_bytes());
        };
        let ja_k = |from: usize, to: usize| u32::try_from(to - from - 1).expect("program <= 4096");
        for (i, item) in self.items.iter().enumerate() {
            let next = addrs[i] + 1;
            match *item {
                Item::Plain { code, k } => put(code, 0, 0, k),
                Item::Ja(target) => put(BPF_JMP | BPF_JA, 0, 0, ja_k(addrs[i], at(target))),
                Item::Cond { code, k, jt, jf } => {
                    let (far_t, far_f) = far[i];
                    let jt_off = if far_t { 0 } else { at(jt) - next };
                    let jf_off = if far_f {
                        usize::from(far_t)
                    } else {
                        at(jf) - next
                    };
                    put(code, jt_off, jf_off, k);
                    let mut pos = next;
                    for (is_far, target) in [(far_t, jt), (far_f, jf)] {
                        if is_far {
                            put(BPF_JMP | BPF_JA, 0, 0, ja_k(pos, at(target)));
                            pos += 1;
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Decide which conditional jumps need a `ja` trampoline for their true/false edge.
    /// Trampolines only lengthen jumps, so marking stops once nothing changes.
    fn relax(&self) -> Vec<(bool, bool)> {
        let mut far = vec![(false, false); self.items.len()];
        loop {
            let addrs = addresses(&far);
            let at = |label: Label| addrs[self.labels[label.0].at.expect("bound label")];
            let mut changed = false;
            for (i, item) in self.items.iter().enumerate() {
                if let Item::Cond { jt, jf, .. } = *item {
                    let next = addrs[i] + 1;
                    if !far[i].0 && at(jt) - next > MAX_COND_JUMP {
                        far[i].0 = true;
                        changed = true;
                    }
                    if !far[i].1 && at(jf) - next > MAX_COND_JUMP {
                        far[i].1 = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                return far;
            }
        }
    }
}

/// Address of every item (plus the end address last) given the trampolines in `far`.
fn addresses(far: &[(bool, bool)]) -> Vec<usize> {
    let mut addrs = Vec::with_capacity(far.len() + 1);
    let mut pos = 0;
    addrs.push(pos);
    for &(t, f) in far {
        pos += 1 + usize::from(t) + usize::from(f);
        addrs.push(pos);
    }
    addrs
}

/// One `ret` per return value, shared by every jump to it; emitted where the caller says.
#[derive(Debug, Default)]
pub(crate) struct Returns {
    labels: BTreeMap<u32, Label>,
}

impl Returns {
    /// The label of `return value`, created on first use.
    pub fn of(&mut self, asm: &mut Asm, value: u32) -> Label {
        *self.labels.entry(value).or_insert_with(|| asm.label())
    }

    /// Emit every `ret` asked for so far.
    pub fn emit(self, asm: &mut Asm) {
        for (value, label) in self.labels {
            asm.bind(label);
            asm.ret(value);
        }
    }
}
