//! Regression tests for container-escape CVEs: CVE-2024-21626 (leaked fds / cwd),
//! CVE-2022-0492 (cgroup v1 release_agent), CVE-2019-5736 (overwriting the runtime).

// Integration-test crates are test-only by construction; the lint targets src/.
#![allow(clippy::tests_outside_test_module)]

use std::os::unix::process::CommandExt;

use berth_tests::Runtime;
use serde_json::json;

/// Opens `dir` in the runtime's child as fd 7 without CLOEXEC, like a careless caller.
fn leak_fd_into(cmd: &mut std::process::Command, dir: &std::path::Path) {
    let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    // SAFETY: pre_exec runs in the forked child before exec; open/dup2/close are
    // async-signal-safe, and `c` is moved into the closure so it lives long enough.
    unsafe {
        cmd.pre_exec(move || {
            let fd = libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
            if fd < 0 || libc::dup2(fd, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if fd != 7 {
                libc::close(fd);
            }
            Ok(())
        });
    }
}

#[test]
fn cve_2024_21626_no_host_fds_inside() {
    let rt = Runtime::new();
    let secret = rt.dir().join("host-secret-dir");
    std::fs::create_dir(&secret).unwrap();
    let mut b = rt.bundle("fdleak");
    // `ls` is the container's init: its fds are what the runtime handed over, plus the
    // one it opens to read the directory.
    b.args(&["ls", "-l", "/proc/self/fd"]);
    b.write_config();
    rt.track("fdleak");
    let mut cmd = rt.command(&["run", "--bundle", b.path().to_str().unwrap(), "fdleak"]);
    leak_fd_into(&mut cmd, &secret);
    let out = rt.run_command(cmd, "run-fdleak");
    out.assert_ok();
    let fds: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with('l'))
        .filter_map(|l| l.split(" -> ").next()?.split_whitespace().last())
        .collect();
    // 0-2, plus ls's own fd for the directory it reads (its link is gone by then).
    assert!(
        fds.len() <= 4 && fds[..3] == ["0", "1", "2"],
        "unexpected fds inside:\n{out}"
    );
    assert!(
        !out.stdout.contains("host-secret-dir"),
        "host fd leaked into container:\n{out}"
    );
    // stdio may legitimately point at the caller's files; nothing else may.
    let other: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| {
            l.starts_with('l')
                && !l.contains(" 0 -> ")
                && !l.contains(" 1 -> ")
                && !l.contains(" 2 -> ")
        })
        .collect();
    assert!(
        other.iter().all(|l| !l.contains(" -> /tmp")),
        "host path visible:\n{out}"
    );
}

#[test]
fn cve_2024_21626_cwd_via_leaked_fd_is_refused_or_contained() {
    let rt = Runtime::new();
    let secret = rt.dir().join("host-secret-dir");
    std::fs::create_dir(&secret).unwrap();
    std::fs::write(secret.join("marker"), "host").unwrap();
    for fd in ["/proc/self/fd/7", "/proc/self/fd/8"] {
        let id = format!("cwd{}", &fd[fd.len() - 1..]);
        let mut b = rt.bundle(&id);
        b.set("/process/cwd", json!(fd))
            .sh("pwd; ls; cat ../marker 2>&1; ls ../../../ 2>&1");
        b.write_config();
        rt.track(&id);
        let mut cmd = rt.command(&["run", "--bundle", b.path().to_str().unwrap(), &id]);
        leak_fd_into(&mut cmd, &secret);
        let out = rt.run_command(cmd, &id);
        // Either refused, or the cwd is a directory inside the container.
        assert!(
            !out.stdout.contains("marker"),
            "cwd escaped to a host dir:\n{out}"
        );
        assert!(!out.stdout.contains("host"), "host file readable:\n{out}");
        assert!(!out.stdout.contains("work"), "host root visible:\n{out}");
    }
}

#[test]
fn cve_2022_0492_cgroupfs_readonly_and_no_release_agent() {
    let rt = Runtime::new();
    let mut b = rt.bundle("cgescape");
    b.sh(
        "for f in /sys/fs/cgroup/*/release_agent /sys/fs/cgroup/memory/release_agent; do \
           echo /x > $f && echo WROTE $f; done 2>/dev/null; \
         mkdir /sys/fs/cgroup/memory/x 2>/dev/null && echo MKDIR; \
         mkdir -p /tmp/cg; unshare -U -r -C -m sh -c 'mount -t cgroup -o memory cgroup /tmp/cg && echo MOUNTED'; \
         echo done",
    );
    let out = rt.run(&b, "cgescape");
    assert!(out.stdout.contains("done"), "{out}");
    assert!(
        !out.stdout.contains("WROTE"),
        "release_agent writable:\n{out}"
    );
    assert!(!out.stdout.contains("MKDIR"), "cgroupfs writable:\n{out}");
    assert!(
        !out.stdout.contains("MOUNTED"),
        "cgroup v1 mountable from a userns:\n{out}"
    );
}

#[test]
fn cve_2019_5736_runtime_binary_not_writable_from_container() {
    let rt = Runtime::new();
    let mut b = rt.bundle("exe");
    b.args(&["sleep", "1000"]);
    rt.create(&b, "exe").assert_ok();
    let pid = rt.pid("exe");
    // While `created`, init is still the runtime's own code waiting for `start`.
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    let exe = exe.to_string_lossy().to_string();
    let w = std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/{pid}/exe"));
    assert!(
        w.is_err(),
        "runtime binary of init ({exe}) is writable from the host side"
    );
    if rt.is_berth() {
        // With its own pid namespace the waiting init is alone there, so berth skips the
        // re-exec; a container sharing the host's pid namespace must be sealed: its init
        // runs from a detached read-only bind mount of the binary (or a sealed memfd on
        // old kernels). While the binary runs, a write open fails with ETXTBSY first;
        // the mount flag is what still holds once no runtime process executes it.
        let mut shared = rt.bundle("exe-hostpid");
        shared.args(&["sleep", "1000"]).without_namespace("pid");
        rt.create(&shared, "exe-hostpid").assert_ok();
        let shared_pid = rt.pid("exe-hostpid");
        let shared_exe = std::fs::read_link(format!("/proc/{shared_pid}/exe")).unwrap();
        let shared_exe = shared_exe.to_string_lossy().to_string();
        assert!(
            shared_exe.contains("memfd:") || exe_on_readonly_mount(shared_pid),
            "init sharing the host pid namespace runs from a writable binary ({shared_exe})"
        );
        rt.delete_force("exe-hostpid").assert_ok();
    }
    rt.start("exe").assert_ok();
    // A process exec'd into the container must not be able to reopen the runtime
    // binary of the exec helper for writing; try every pid it can see.
    let out = rt.exec(
        "exe",
        &["sh", "-c", "for p in /proc/[0-9]*; do (echo x >> $p/exe) 2>/dev/null && echo OPENED $p; done; echo end"],
    );
    assert!(out.stdout.contains("end"), "{out}");
    assert!(
        !out.stdout.contains("OPENED"),
        "exe writable from inside:\n{out}"
    );
    rt.delete_force("exe").assert_ok();
}

/// Whether /proc/<pid>/exe resolves to a file on a read-only mount (statvfs follows the
/// magic link to the exact mount the process executes from).
fn exe_on_readonly_mount(pid: i32) -> bool {
    let path = std::ffi::CString::new(format!("/proc/{pid}/exe")).unwrap();
    // SAFETY: statvfs is a plain C struct; all-zero bytes are a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `st` is a live statvfs the call fills in.
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut st) };
    rc == 0 && st.f_flag & libc::ST_RDONLY != 0
}
