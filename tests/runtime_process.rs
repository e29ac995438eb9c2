//! Process settings: args/env/cwd, user and groups, umask, capabilities,
//! noNewPrivileges, rlimits, oomScoreAdj, sysctls.

// Integration-test crates are test-only by construction; the lint targets src/.
#![allow(clippy::tests_outside_test_module)]

use berth_tests::procfs::{parse_cap_hex, status_field};
use berth_tests::spec::{cap_mask, DOCKER_DEFAULT_CAPS};
use berth_tests::Runtime;
use serde_json::json;

#[test]
fn args_env_and_cwd() {
    let rt = Runtime::new();
    let mut b = rt.bundle("argsenv");
    b.args(&[
        "sh",
        "-c",
        "echo \"$0|$1|$GREETING|$(pwd)\"",
        "zero",
        "one two",
    ])
    .env("GREETING=hello world")
    .set("/process/cwd", json!("/tmp"));
    let out = rt.run(&b, "argsenv");
    out.assert_ok();
    assert_eq!(out.stdout, "zero|one two|hello world|/tmp\n", "{out}");
}

#[test]
fn exit_code_is_propagated() {
    let rt = Runtime::new();
    let mut b = rt.bundle("exitcode");
    b.sh("exit 42");
    let (code, _, _) = rt.run_to_completion(&b, "exitcode");
    assert_eq!(code, 42);
}

#[test]
fn nonexistent_cwd_is_created() {
    let rt = Runtime::new();
    let mut b = rt.bundle("mkcwd");
    b.set("/process/cwd", json!("/work/dir")).sh("pwd");
    let out = rt.run(&b, "mkcwd");
    out.assert_ok();
    assert_eq!(out.stdout, "/work/dir\n", "{out}");
}

#[test]
fn user_uid_gid_and_additional_gids() {
    let rt = Runtime::new();
    let mut b = rt.bundle("user");
    b.set(
        "/process/user",
        json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 29]}),
    )
    .sh("id -u; id -g; id -G; id -un");
    let out = rt.run(&b, "user");
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "1000", "{out}");
    assert_eq!(lines[1], "1000", "{out}");
    let mut groups: Vec<&str> = lines[2].split_whitespace().collect();
    groups.sort();
    assert_eq!(groups, ["10", "1000", "29"], "{out}");
    assert_eq!(lines[3], "berth", "{out}");
}

#[test]
fn umask_is_applied() {
    let rt = Runtime::new();
    let mut b = rt.bundle("umask");
    b.set("/process/user/umask", json!(0o027))
        .sh("umask; touch /tmp/f; stat -c %a /tmp/f");
    let out = rt.run(&b, "umask");
    out.assert_ok();
    assert_eq!(out.stdout, "0027\n640\n", "{out}");
}

fn caps_of(stdout: &str) -> [u64; 5] {
    ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"].map(|k| {
        parse_cap_hex(status_field(stdout, k).unwrap_or_else(|| panic!("{k} in {stdout}")))
    })
}

#[test]
fn default_capabilities_match_config() {
    let rt = Runtime::new();
    let mut b = rt.bundle("caps");
    b.sh("cat /proc/self/status");
    let out = rt.run(&b, "caps");
    out.assert_ok();
    let m = cap_mask(DOCKER_DEFAULT_CAPS);
    assert_eq!(
        caps_of(&out.stdout),
        [0, m, m, m, 0],
        "Inh/Prm/Eff/Bnd/Amb:\n{}",
        out.stdout
    );
}

#[test]
fn ambient_capabilities_for_non_root_user() {
    let rt = Runtime::new();
    let mut b = rt.bundle("ambient");
    let caps = ["CAP_NET_BIND_SERVICE", "CAP_KILL"];
    b.set("/process/user", json!({"uid": 1000, "gid": 1000}))
        .set(
            "/process/capabilities",
            json!({"bounding": caps, "effective": caps, "permitted": caps,
                   "inheritable": caps, "ambient": ["CAP_NET_BIND_SERVICE"]}),
        )
        .sh("cat /proc/self/status");
    let out = rt.run(&b, "ambient");
    out.assert_ok();
    let all = cap_mask(&caps);
    let amb = cap_mask(&["CAP_NET_BIND_SERVICE"]);
    // After execve as non-root, permitted/effective are exactly the ambient set.
    assert_eq!(
        caps_of(&out.stdout),
        [all, amb, amb, all, amb],
        "{}",
        out.stdout
    );
}

#[test]
fn no_new_privileges() {
    let rt = Runtime::new();
    for (id, nnp, want) in [("nnp1", true, "1"), ("nnp0", false, "0")] {
        let mut b = rt.bundle(id);
        b.set("/process/noNewPrivileges", json!(nnp))
            .sh("cat /proc/self/status");
        let out = rt.run(&b, id);
        out.assert_ok();
        assert_eq!(status_field(&out.stdout, "NoNewPrivs"), Some(want), "{out}");
    }
}

#[test]
fn rlimits_are_applied() {
    let rt = Runtime::new();
    let mut b = rt.bundle("rlimits");
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 4096, "hard": 8192},
               {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400}]),
    )
    .sh("ulimit -n; ulimit -Hn; ulimit -u; ulimit -Hu");
    let out = rt.run(&b, "rlimits");
    out.assert_ok();
    assert_eq!(out.stdout, "4096\n8192\n300\n400\n", "{out}");
}

#[test]
fn rlimit_nofile_docker_default_above_host_hard_limit_starts() {
    let rt = Runtime::new();
    // Docker-style default NOFILE 1024:1048576 while the runtime's own hard limit is
    // lower (20000 on CI hosts). berth must not fail here; runc only succeeds when it
    // can raise the limit, so this is a berth guarantee.
    if !rt.berth_only("berth guarantee: never fail on Docker-style NOFILE defaults") {
        return;
    }
    let mut b = rt.bundle("nofile");
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1048576}]),
    )
    .sh("ulimit -n; ulimit -Hn");
    let mut cmd = rt.command(&["run", "--bundle", b.path().to_str().unwrap(), "nofile"]);
    b.write_config();
    rt.track("nofile");
    // Run the runtime itself with hard NOFILE 20000, as on the CI host.
    // SAFETY: pre_exec runs in the forked child before exec; setrlimit is
    // async-signal-safe and only touches the child's own limits.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: 20000,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = rt.run_command(cmd, "run-nofile");
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "1024", "{out}");
    let hard: u64 = lines[1].parse().unwrap();
    assert!(hard >= 1024, "{out}");
}

#[test]
fn oom_score_adj() {
    let rt = Runtime::new();
    let mut b = rt.bundle("oomadj");
    b.set("/process/oomScoreAdj", json!(423))
        .sh("cat /proc/self/oom_score_adj");
    let out = rt.run(&b, "oomadj");
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "423", "{out}");
}

#[test]
fn sysctls_apply_inside_namespaces_only() {
    let rt = Runtime::new();
    let host_fwd = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let host_shm = std::fs::read_to_string("/proc/sys/kernel/shm_rmid_forced").unwrap();
    let flip = |v: &str| if v.trim() == "1" { "0" } else { "1" };
    let (fwd, shm) = (flip(&host_fwd), flip(&host_shm));
    let mut b = rt.bundle("sysctl");
    b.set(
        "/linux/sysctl",
        json!({"net.ipv4.ip_forward": fwd, "kernel.shm_rmid_forced": shm}),
    )
    .sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced");
    let out = rt.run(&b, "sysctl");
    out.assert_ok();
    assert_eq!(out.stdout, format!("{fwd}\n{shm}\n"), "{out}");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_fwd
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/shm_rmid_forced").unwrap(),
        host_shm
    );
}
