//! Tests for the device BPF program: an interpreter for the semantics, and a real attach
//! on this host's cgroup2 mount (needs root and a cgroup2 hierarchy; fails loudly if not).

use std::io::{Read, Write as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use oci_spec::runtime::{LinuxDeviceCgroupBuilder, LinuxDeviceType};

use super::*;
use crate::devices::normalize;

const BLOCK: u32 = 1;
const CHAR: u32 = 2;

/// Interpret the subset of eBPF that `device_program` emits.
fn run(p: &[Insn], typ: u32, access: u32, major: u32, minor: u32) -> u64 {
    let ctx = [(access << 16) | typ, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    loop {
        let i = p[pc];
        pc += 1;
        let (d, s) = (usize::from(i.dst()), usize::from(i.src()));
        let imm64 = i64::from(i.imm) as u64;
        match i.code {
            LDX_W => {
                assert_eq!(s, 1, "loads only from ctx");
                r[d] = u64::from(ctx[usize::try_from(i.off).unwrap() / 4]);
            }
            AND32_K => r[d] = u64::from(r[d] as u32 & i.imm as u32),
            RSH32_K => r[d] = u64::from((r[d] as u32) >> i.imm),
            MOV32_X => r[d] = u64::from(r[s] as u32),
            MOV64_K => r[d] = imm64,
            JNE_K if r[d] != imm64 => pc += usize::try_from(i.off).unwrap(),
            JEQ_K if r[d] == imm64 => pc += usize::try_from(i.off).unwrap(),
            JNE_K | JEQ_K => {}
            EXIT => return r[0],
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
}

fn rule(
    allow: bool,
    t: LinuxDeviceType,
    maj: i64,
    min: i64,
    acc: &str,
) -> oci_spec::runtime::LinuxDeviceCgroup {
    LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(t)
        .major(maj)
        .minor(min)
        .access(acc)
        .build()
        .unwrap()
}

fn program(rules: &[oci_spec::runtime::LinuxDeviceCgroup]) -> Vec<Insn> {
    device_program(&normalize(rules).unwrap()).unwrap()
}

#[test]
fn deny_all_then_allow_null() {
    let p = program(&[
        rule(false, LinuxDeviceType::A, -1, -1, "rwm"),
        rule(true, LinuxDeviceType::C, 1, 3, "rw"),
    ]);
    assert_eq!(run(&p, CHAR, ACC_READ, 1, 3), 1);
    assert_eq!(run(&p, CHAR, ACC_READ | ACC_WRITE, 1, 3), 1);
    assert_eq!(run(&p, CHAR, ACC_MKNOD, 1, 3), 0);
    assert_eq!(run(&p, CHAR, ACC_READ, 1, 5), 0);
    assert_eq!(run(&p, BLOCK, ACC_READ, 1, 3), 0);
}

#[test]
fn no_rules_allows_everything() {
    let p = program(&[]);
    assert_eq!(run(&p, BLOCK, ACC_WRITE, 8, 0), 1);
}

#[test]
fn later_rules_override_earlier() {
    let p = program(&[
        rule(true, LinuxDeviceType::A, -1, -1, "rwm"),
        rule(false, LinuxDeviceType::C, 1, 5, "w"),
        rule(true, LinuxDeviceType::C, 1, -1, "m"),
    ]);
    assert_eq!(run(&p, CHAR, ACC_WRITE, 1, 5), 0, "deny w overlaps rw");
    assert_eq!(run(&p, CHAR, ACC_READ | ACC_WRITE, 1, 5), 0);
    assert_eq!(run(&p, CHAR, ACC_READ, 1, 5), 1, "read not denied");
    assert_eq!(run(&p, CHAR, ACC_MKNOD, 1, 5), 1, "later allow m wins");
    assert_eq!(run(&p, BLOCK, ACC_WRITE, 8, 0), 1);
    // Rules before an everything-rule are unreachable and not emitted.
    let q = program(&[
        rule(true, LinuxDeviceType::C, 1, 3, "rwm"),
        rule(false, LinuxDeviceType::A, -1, -1, "rwm"),
    ]);
    assert_eq!(q.len(), 8);
    assert_eq!(run(&q, CHAR, ACC_READ, 1, 3), 0);
}

#[test]
fn wildcard_major_block_rule() {
    let p = program(&[
        rule(false, LinuxDeviceType::A, -1, -1, "rwm"),
        rule(true, LinuxDeviceType::B, -1, 0, "r"),
    ]);
    assert_eq!(run(&p, BLOCK, ACC_READ, 8, 0), 1);
    assert_eq!(run(&p, BLOCK, ACC_READ, 259, 0), 1);
    assert_eq!(run(&p, BLOCK, ACC_READ, 8, 1), 0);
    assert_eq!(run(&p, CHAR, ACC_READ, 8, 0), 0);
}

/// A throwaway cgroup2 directory, removed on drop.
struct TestCgroup(PathBuf);

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let deadline = std::time::Instant::now() + crate::cgfs::RMDIR_PATIENCE;
        crate::cgfs::remove_cgroup(&self.0, deadline).expect("remove test cgroup");
    }
}

fn cgroup2_mount() -> PathBuf {
    match crate::detect::Hierarchy::detect().expect("detect") {
        crate::detect::Hierarchy::V2 { root } => root,
        crate::detect::Hierarchy::V1 {
            unified: Some(u), ..
        } => u,
        h => panic!("this test needs a cgroup2 mount, found {h:?}"),
    }
}

/// Run `sh` inside `cg` and report what opening /dev/null and /dev/zero did.
fn open_devices_inside(cg: &Path) -> String {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("read _; (exec 3</dev/null) 2>&1 && echo null-ok; (exec 4</dev/zero) 2>&1 && echo zero-ok; true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    crate::cgfs::write(&cg.join("cgroup.procs"), &child.id().to_string()).unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child.wait().unwrap();
    out
}

#[test]
fn real_attach_denies_dev_zero_and_replaces() {
    let dir = cgroup2_mount().join(format!("berth-bpf-test-{}", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let cg = TestCgroup(dir.clone());

    let deny_zero = normalize(&[
        rule(false, LinuxDeviceType::A, -1, -1, "rwm"),
        rule(true, LinuxDeviceType::C, 1, 3, "rw"),
    ])
    .unwrap();
    apply_device_rules(&cg.0, &deny_zero).unwrap();
    let out = open_devices_inside(&cg.0);
    assert!(out.contains("null-ok"), "{out}");
    assert!(
        !out.contains("zero-ok") && out.contains("Operation not permitted"),
        "{out}"
    );

    // Replace: allow /dev/zero too; exactly one program remains attached.
    let allow_zero = normalize(&[
        rule(false, LinuxDeviceType::A, -1, -1, "rwm"),
        rule(true, LinuxDeviceType::C, 1, 3, "rw"),
        rule(true, LinuxDeviceType::C, 1, 5, "r"),
    ])
    .unwrap();
    apply_device_rules(&cg.0, &allow_zero).unwrap();
    let fd = crate::sys::fs::open_dir(&cg.0).unwrap();
    assert_eq!(bpf::query_device_programs(fd.as_fd()).unwrap().len(), 1);
    let out = open_devices_inside(&cg.0);
    assert!(out.contains("null-ok") && out.contains("zero-ok"), "{out}");
}
