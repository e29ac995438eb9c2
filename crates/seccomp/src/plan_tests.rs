//! Unit tests for [`super::filter_plan`]: validation errors name the JSON field and
//! value, and accepted profiles turn into the expected plan.

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp};
use oci_spec::runtime::LinuxSeccomp;

use super::{filter_plan, ArgCompare, CompareOp};
use crate::sys;

fn profile(json: serde_json::Value) -> LinuxSeccomp {
    serde_json::from_value(json).unwrap()
}

fn plan_err(json: serde_json::Value) -> String {
    filter_plan(&profile(json)).unwrap_err().to_string()
}

#[test]
fn maps_actions_errno_arches_and_flags() {
    let plan = filter_plan(&profile(serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_NATIVE", "SCMP_ARCH_X86"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["ptrace"], "action": "SCMP_ACT_KILL"},
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["getpid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"},
        ]
    })))
    .unwrap();
    assert_eq!(plan.default_action, ScmpAction::Errno(38));
    let arches: Vec<_> = plan.arches.iter().map(|(_, a)| *a).collect();
    assert_eq!(arches, [ScmpArch::X8664, ScmpArch::X86]);
    assert_eq!(plan.arches[1].0, "linux.seccomp.architectures[2]");
    assert_eq!(plan.flags, sys::FLAG_LOG | sys::FLAG_SPEC_ALLOW);
    let actions: Vec<_> = plan.rules.iter().map(|r| r.action).collect();
    // The uname rule equals the default action and is dropped (libseccomp refuses it).
    assert_eq!(
        actions,
        [
            ScmpAction::Allow,
            ScmpAction::KillThread,
            ScmpAction::Errno(libc::EPERM),
            ScmpAction::Trace(7),
            ScmpAction::KillProcess,
        ]
    );
    assert_eq!(plan.rules[4].field, "linux.seccomp.syscalls[5]");
}

#[test]
fn splits_conditions_like_runc() {
    let plan = filter_plan(&profile(serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "args": [
                {"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"},
                {"index": 1, "value": 5, "op": "SCMP_CMP_NE"}
            ]},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [
                {"index": 0, "value": 1, "op": "SCMP_CMP_GT"},
                {"index": 0, "value": 9, "valueTwo": 3, "op": "SCMP_CMP_LT"}
            ]},
            {"names": ["getpid"], "action": "SCMP_ACT_LOG"}
        ]
    })))
    .unwrap();
    let scmp = |rule: usize| -> Vec<Vec<ScmpArgCompare>> {
        plan.rules[rule]
            .conditions
            .iter()
            .map(|rule| rule.iter().map(|c| c.to_scmp()).collect())
            .collect()
    };
    let masked = ScmpArgCompare::new(0, ScmpCompareOp::MaskedEqual(2114060288), 0);
    let ne = ScmpArgCompare::new(1, ScmpCompareOp::NotEqual, 5);
    assert_eq!(scmp(0), vec![vec![masked, ne]]);
    assert_eq!(
        plan.rules[0].conditions[0][0],
        ArgCompare {
            index: 0,
            op: CompareOp::MaskedEq { mask: 2114060288 },
            value: 0
        }
    );
    let gt = ScmpArgCompare::new(0, ScmpCompareOp::Greater, 1);
    let lt = ScmpArgCompare::new(0, ScmpCompareOp::Less, 9);
    assert_eq!(scmp(1), vec![vec![gt], vec![lt]]);
    assert_eq!(scmp(2), vec![Vec::<ScmpArgCompare>::new()]);
}

#[test]
fn errors_name_the_field_and_value() {
    let cases = [
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_NOTIFY"}),
            "linux.seccomp.defaultAction: action SCMP_ACT_NOTIFY is not supported",
        ),
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["bind"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.syscalls[1].action: action SCMP_ACT_NOTIFY is not supported",
        ),
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["bind"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 1, "value": 0, "op": "SCMP_CMP_EQ"},
                          {"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}),
            "linux.seccomp.syscalls[1].args[1].index: argument index 6 is out of range (0-5)",
        ),
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": [], "action": "SCMP_ACT_ERRNO"}]}),
            "linux.seccomp.syscalls[0].names: names list is empty",
        ),
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["read", ""], "action": "SCMP_ACT_ERRNO"}]}),
            "linux.seccomp.syscalls[0].names[1]: syscall name is empty",
        ),
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}),
            "linux.seccomp.defaultErrnoRet: value 70000 is out of range (0-65535)",
        ),
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}),
            "linux.seccomp.syscalls[0].errnoRet: value 1 is only valid with SCMP_ACT_ERRNO \
             or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW",
        ),
        (
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
                "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
            "linux.seccomp.flags[1]: flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported",
        ),
    ];
    for (json, want) in cases {
        let got = plan_err(json);
        assert!(got.starts_with(want), "got {got:?}, want prefix {want:?}");
    }
}

#[test]
fn unknown_enum_strings_fail_at_parse_time() {
    let err = serde_json::from_value::<LinuxSeccomp>(serde_json::json!({
        "defaultAction": "SCMP_ACT_FOO"
    }))
    .unwrap_err();
    assert!(err.to_string().contains("SCMP_ACT_FOO"), "{err}");
}
