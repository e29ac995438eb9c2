//! Syscall-number lookup for one architecture, in one of two forms:
//! - a binary search over runs of numbers with the same destination, with isolated
//!   numbers as `jeq` exceptions. It uses only `jeq`/`jge` on the number, which the
//!   kernel's action cache can follow (kernel/seccomp.c `seccomp_is_const_allow`, Linux
//!   5.11+): for a syscall the filter always allows, the kernel then skips the filter;
//! - a binary search over 32-number words ending in a bit test (`1 << (nr & 31)` kept in
//!   M[0], built with X): shorter, but opaque to the cache, so only offered
//!   ([`Lookup::Bitmap`]) for numbers the kernel never caches (x32's).
//!
//! Pure code running in berthd; owns nothing. Expects A to hold `seccomp_data.nr`.

use std::collections::{BTreeMap, HashMap};

use super::abi::OFFSET_NR;
use super::asm::{AluOp, Asm, Cond, Label, Returns};

/// Scratch memory slot holding `1 << (nr & 31)`.
const BIT_SLOT: u32 = 0;
/// How many runs ahead a leaf looks for its own destination again.
const ABSORB_WINDOW: usize = 8;

/// Where one syscall number goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Dest {
    /// Return this value.
    Action(u32),
    /// Jump to this block (argument rules).
    Block(Label),
}

/// Which forms a lookup may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Only instructions the kernel's action cache understands.
    Search,
    /// Whichever of a search and a bitmap is shorter.
    Bitmap,
}

/// Emit code that sends every number in `dests` (sorted by number) to its destination
/// and every other number to `default`. A must hold the syscall number.
pub(crate) fn emit_lookup(
    asm: &mut Asm,
    rets: &mut Returns,
    default: u32,
    dests: &[(u32, Dest)],
    lookup: Lookup,
) {
    let leaves = search_leaves(dests, default);
    let search_cost = leaves.len() - 1 + leaves.iter().map(|l| l.exceptions.len()).sum::<usize>();
    if lookup == Lookup::Bitmap {
        let bitmap = Bitmap::new(dests, default);
        if bitmap.cost() < search_cost {
            bitmap.emit(asm, rets, default);
            return;
        }
    }
    emit_search(asm, rets, &leaves);
}

fn label_of(asm: &mut Asm, rets: &mut Returns, dest: Dest) -> Label {
    match dest {
        Dest::Action(value) => rets.of(asm, value),
        Dest::Block(label) => label,
    }
}

/// A balanced binary search: `jge starts[mid]` splits the ranges in halves, and range i
/// (from `starts[i]` up to the next start) jumps to `targets[i]`. `starts[0]` is 0.
fn emit_tree(asm: &mut Asm, starts: &[u32], targets: &[Label]) {
    if starts.len() == 1 {
        asm.ja(targets[0]);
        return;
    }
    let mut pending = vec![(0, starts.len() - 1, None)];
    while let Some((lo, hi, label)) = pending.pop() {
        if let Some(label) = label {
            asm.bind(label);
        }
        let mid = (lo + hi).div_ceil(2);
        let mut side = |asm: &mut Asm, lo: usize, hi: usize| {
            if lo == hi {
                targets[lo]
            } else {
                let label = asm.label();
                pending.push((lo, hi, Some(label)));
                label
            }
        };
        // The lower half is pushed last so it is emitted next, as the fall-through.
        let upper = side(asm, mid, hi);
        let lower = side(asm, lo, mid - 1);
        asm.jump(Cond::Jge, starts[mid], upper, lower);
    }
}

// ---- search over runs -------------------------------------------------------------

/// A range of numbers that go to `base`, except the listed ones.
#[derive(Debug)]
struct Leaf {
    start: u32,
    base: Dest,
    exceptions: Vec<(u32, Dest)>,
}

/// Runs of numbers with one destination, as `(first number, length, destination)`,
/// covering every u32.
fn runs(dests: &[(u32, Dest)], default: u32) -> Vec<(u32, u64, Dest)> {
    let mut runs: Vec<(u32, u64, Dest)> = Vec::new();
    let mut push = |start: u64, end: u64, dest: Dest| match runs.last_mut() {
        Some(last) if last.2 == dest => last.1 += end - start,
        _ => runs.push((start as u32, end - start, dest)),
    };
    let mut next = 0u64; // first number not covered yet
    for &(nr, dest) in dests {
        let nr = u64::from(nr);
        if nr > next {
            push(next, nr, Dest::Action(default));
        }
        push(nr, nr + 1, dest);
        next = nr + 1;
    }
    if next <= u64::from(u32::MAX) {
        push(next, 1 << 32, Dest::Action(default));
    }
    runs
}

/// Group the runs into leaves: the few numbers between two runs with the same
/// destination become `jeq` exceptions of one leaf when that takes fewer instructions
/// than giving each run its own place in the search (one node per run).
fn search_leaves(dests: &[(u32, Dest)], default: u32) -> Vec<Leaf> {
    let runs = runs(dests, default);
    let mut leaves = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        let (start, _, base) = runs[i];
        let mut leaf = Leaf {
            start,
            base,
            exceptions: Vec::new(),
        };
        let mut j = i;
        let window = |j: usize| j + 2..runs.len().min(j + 2 + ABSORB_WINDOW);
        while let Some(k) = window(j).find(|&k| runs[k].2 == base) {
            let between: u64 = runs[j + 1..k].iter().map(|r| r.1).sum();
            if between >= (k - j) as u64 {
                break;
            }
            for &(first, len, dest) in &runs[j + 1..k] {
                leaf.exceptions
                    .extend((0..len as u32).map(|n| (first + n, dest)));
            }
            j = k;
        }
        leaves.push(leaf);
        i = j + 1;
    }
    leaves
}

/// The search over the leaves' first numbers, then each leaf's exceptions.
fn emit_search(asm: &mut Asm, rets: &mut Returns, leaves: &[Leaf]) {
    let targets: Vec<Label> = leaves
        .iter()
        .map(|leaf| {
            if leaf.exceptions.is_empty() {
                label_of(asm, rets, leaf.base)
            } else {
                asm.label()
            }
        })
        .collect();
    let starts: Vec<u32> = leaves.iter().map(|l| l.start).collect();
    emit_tree(asm, &starts, &targets);
    for (leaf, target) in leaves.iter().zip(targets) {
        if leaf.exceptions.is_empty() {
            continue;
        }
        asm.bind(target);
        let base = label_of(asm, rets, leaf.base);
        for (i, &(nr, dest)) in leaf.exceptions.iter().enumerate() {
            let hit = label_of(asm, rets, dest);
            let next = if i + 1 == leaf.exceptions.len() {
                base
            } else {
                asm.label()
            };
            asm.jump(Cond::Jeq, nr, hit, next);
            if next != base {
                asm.bind(next);
            }
        }
    }
}

// ---- bitmap over words ------------------------------------------------------------

/// Everything the bitmap lookup does for the 32 numbers of one word.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Word {
    /// Numbers compared one by one (argument-rule blocks), with their blocks.
    blocks: Vec<(u32, Label)>,
    /// Bitmap of the numbers per return value.
    bits: BTreeMap<u32, u32>,
}

/// What a run of words jumps to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Target {
    /// Straight to this return value: the run is wholly one action.
    Return(u32),
    /// Code that tests the word.
    Leaf(Word),
}

impl Word {
    fn target(self, default: u32) -> Target {
        if self.blocks.is_empty() {
            match self.bits.iter().next() {
                None => return Target::Return(default),
                Some((&value, &u32::MAX)) => return Target::Return(value),
                Some(_) => {}
            }
        }
        Target::Leaf(self)
    }

    /// Instructions of this word's leaf code.
    fn cost(&self) -> usize {
        self.blocks.len()
            + if self.bits.is_empty() {
                0
            } else {
                1 + self.bits.len()
            }
    }
}

/// Runs of words with the same target, as `(first word index, target)`, from word 0.
struct Bitmap {
    runs: Vec<(u32, Target)>,
}

impl Bitmap {
    fn new(dests: &[(u32, Dest)], default: u32) -> Self {
        let mut words: BTreeMap<u32, Word> = BTreeMap::new();
        for &(nr, dest) in dests {
            let word = words.entry(nr >> 5).or_default();
            match dest {
                Dest::Action(value) => *word.bits.entry(value).or_default() |= 1 << (nr & 31),
                Dest::Block(label) => word.blocks.push((nr, label)),
            }
        }
        let mut runs: Vec<(u32, Target)> = vec![(0, Target::Return(default))];
        let mut push = |start: u32, target: Target| {
            if runs.last().is_some_and(|(last, _)| *last == start) {
                runs.pop(); // an empty run
            }
            if runs.last().is_none_or(|(_, last)| *last != target) {
                runs.push((start, target));
            }
        };
        for (index, word) in words {
            push(index, word.target(default));
            if let Some(next) = index.checked_add(1).filter(|n| *n <= u32::MAX >> 5) {
                push(next, Target::Return(default));
            }
        }
        Self { runs }
    }

    /// The distinct words that need code, in order of first use.
    fn leaves(&self) -> Vec<&Word> {
        let mut leaves: Vec<&Word> = Vec::new();
        for (_, target) in &self.runs {
            if let Target::Leaf(word) = target {
                if !leaves.contains(&word) {
                    leaves.push(word);
                }
            }
        }
        leaves
    }

    fn has_bits(&self) -> bool {
        self.leaves().iter().any(|w| !w.bits.is_empty())
    }

    fn cost(&self) -> usize {
        let prologue = if self.has_bits() { 6 } else { 0 };
        prologue + self.runs.len() - 1 + self.leaves().iter().map(|w| w.cost()).sum::<usize>()
    }

    fn emit(&self, asm: &mut Asm, rets: &mut Returns, default: u32) {
        if self.has_bits() {
            // M[0] = 1 << (nr & 31); X is clobbered; A = nr again for the search.
            asm.alu_k(AluOp::And, 31);
            asm.tax();
            asm.load_imm(1);
            asm.alu_x(AluOp::Lsh);
            asm.store(BIT_SLOT);
            asm.load_data(OFFSET_NR);
        }
        let leaves = self.leaves();
        let mut leaf_labels: HashMap<&Word, Label> = HashMap::new();
        let targets: Vec<Label> = self
            .runs
            .iter()
            .map(|(_, target)| match target {
                Target::Return(value) => rets.of(asm, *value),
                Target::Leaf(word) => *leaf_labels.entry(word).or_insert_with(|| asm.label()),
            })
            .collect();
        let starts: Vec<u32> = self.runs.iter().map(|(start, _)| start << 5).collect();
        emit_tree(asm, &starts, &targets);
        for word in leaves {
            asm.bind(leaf_labels[word]);
            emit_word(asm, rets, default, word);
        }
    }
}

/// Test one word: its argument-rule syscalls by number, then its bitmap.
fn emit_word(asm: &mut Asm, rets: &mut Returns, default: u32, word: &Word) {
    let miss = rets.of(asm, default);
    let tests = word.blocks.len() + word.bits.len();
    let mut done = 0;
    let next_or = |asm: &mut Asm, done: usize| {
        if done == tests {
            miss
        } else {
            asm.label()
        }
    };
    for &(nr, block) in &word.blocks {
        done += 1;
        let next = next_or(asm, done);
        asm.jump(Cond::Jeq, nr, block, next);
        if next != miss {
            asm.bind(next);
        }
    }
    if !word.bits.is_empty() {
        asm.load_mem(BIT_SLOT);
    }
    for (&value, &bits) in &word.bits {
        done += 1;
        let next = next_or(asm, done);
        let hit = rets.of(asm, value);
        asm.jump(Cond::Jset, bits, hit, next);
        if next != miss {
            asm.bind(next);
        }
    }
}
