//! Acceptance tests for berthd driven by the stock `docker` CLI: `run` options (env,
//! workdir, user, hostname, entrypoint, read-only, memory, capabilities, privileged,
//! volumes, tmpfs, init), the named-volume API and save | load. Every test runs its own
//! private berthd (`TestBerthd`).
#![allow(clippy::tests_outside_test_module)]

use std::fs;

use berth_tests::berthd::TestBerthd;

#[test]
fn run_options_env_workdir_user_hostname_entrypoint() {
    let d = TestBerthd::start("run-opts");
    assert_eq!(
        d.docker_run_ok(&[
            "-e",
            "FOO=bar",
            "--env",
            "X",
            "busybox",
            "sh",
            "-c",
            "echo $FOO:${X-unset}"
        ]),
        "bar:unset"
    );
    let env = d.docker_run_ok(&["-t", "busybox", "env"]);
    assert!(env.contains("TERM=xterm"), "{env}");
    let env = d.docker_run_ok(&["busybox", "env"]);
    assert!(
        env.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        "{env}"
    );
    assert!(
        env.lines()
            .any(|l| l.starts_with("HOSTNAME=") && l.len() == 21),
        "{env}"
    );
    assert_eq!(d.docker_run_ok(&["-w", "/tmp", "busybox", "pwd"]), "/tmp");
    assert_eq!(
        d.docker_run_ok(&["-w", "/new/dir", "busybox", "pwd"]),
        "/new/dir"
    );
    assert_eq!(
        d.docker_run_ok(&["-u", "nobody", "busybox", "id", "-u"]),
        "65534"
    );
    assert_eq!(
        d.docker_run_ok(&[
            "-u",
            "1234:5678",
            "busybox",
            "sh",
            "-c",
            "echo $(id -u) $(id -g)"
        ]),
        "1234 5678"
    );
    assert_eq!(
        d.docker_run_ok(&[
            "--hostname",
            "myhost",
            "busybox",
            "sh",
            "-c",
            "hostname; cat /etc/hostname"
        ]),
        "myhost\nmyhost"
    );
    let hosts = d.docker_run_ok(&["--hostname", "myhost", "busybox", "cat", "/etc/hosts"]);
    assert!(hosts.contains("127.0.0.1\tlocalhost"), "{hosts}");
    assert_eq!(
        d.docker_run_ok(&["--entrypoint", "echo", "busybox", "hello", "world"]),
        "hello world"
    );
    assert_eq!(
        d.docker_run_ok(&["--entrypoint", "/bin/sh", "busybox", "-c", "echo via-sh"]),
        "via-sh"
    );
    let out = d.docker(&["run", "--rm", "-u", "nosuchuser", "busybox", "true"]);
    assert_eq!(out.code(), 125, "{out:?}");
    assert!(
        out.stderr.contains("no matching entries in passwd file"),
        "{out:?}"
    );
}

#[test]
fn run_options_readonly_memory_caps_privileged() {
    let d = TestBerthd::start("run-sec");
    let out = d.docker(&["run", "--rm", "--read-only", "busybox", "touch", "/x"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    assert_eq!(
        d.docker_run_ok(&[
            "--read-only",
            "busybox",
            "sh",
            "-c",
            "echo ok > /dev/shm/f && cat /dev/shm/f"
        ]),
        "ok"
    );
    assert_eq!(
        d.docker_run_ok(&["busybox", "sh", "-c", "touch /x && echo rw"]),
        "rw"
    );

    assert_eq!(
        d.docker_run_ok(&[
            "--memory",
            "64m",
            "busybox",
            "cat",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes"
        ]),
        "67108864"
    );
    let caps = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["busybox", "sh", "-c", "grep CapEff /proc/self/status"]);
        d.docker_run_ok(&all)
    };
    assert_eq!(caps(&[]), "CapEff:\t00000000a80425fb");
    assert_eq!(
        caps(&["--cap-drop", "NET_RAW"]),
        "CapEff:\t00000000a80405fb"
    );
    assert_eq!(caps(&["--cap-drop", "ALL"]), "CapEff:\t0000000000000000");
    assert_eq!(
        caps(&["--cap-add", "SYS_ADMIN"]),
        "CapEff:\t00000000a82425fb"
    );
    let out = d.docker(&[
        "run", "--rm", "busybox", "mount", "-t", "tmpfs", "t", "/mnt",
    ]);
    assert_ne!(out.code(), 0, "mount without privileges: {out:?}");
    let out = d.docker(&["run", "--rm", "--cap-add", "BOGUS", "busybox", "true"]);
    assert_eq!(out.code(), 125, "{out:?}");
    assert!(
        out.stderr.contains("unknown capability: \"CAP_BOGUS\""),
        "{out:?}"
    );
}

#[test]
fn run_options_volumes_tmpfs_init() {
    let d = TestBerthd::start("run-vol");
    let host = d.dir.join("hostdir");
    fs::create_dir_all(&host).expect("mkdir");
    fs::write(host.join("f"), "host data\n").expect("write");
    let bind = format!("{}:/ctr", host.display());
    assert_eq!(
        d.docker_run_ok(&[
            "-v",
            &bind,
            "busybox",
            "sh",
            "-c",
            "cat /ctr/f; echo back > /ctr/g"
        ]),
        "host data"
    );
    assert_eq!(
        fs::read_to_string(host.join("g")).expect("read g"),
        "back\n"
    );
    let ro = format!("{}:/ctr:ro", host.display());
    let out = d.docker(&["run", "--rm", "-v", &ro, "busybox", "touch", "/ctr/h"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("Read-only file system"), "{out:?}");
    let mnt = format!("type=bind,source={},target=/m", host.display());
    assert_eq!(
        d.docker_run_ok(&["--mount", &mnt, "busybox", "cat", "/m/f"]),
        "host data"
    );

    d.docker_run_ok(&[
        "-v",
        "vol1:/data",
        "busybox",
        "sh",
        "-c",
        "echo persisted > /data/f",
    ]);
    assert_eq!(
        d.docker_run_ok(&["-v", "vol1:/data", "busybox", "cat", "/data/f"]),
        "persisted"
    );

    let m = d.docker_run_ok(&[
        "--tmpfs",
        "/run/t:size=1m",
        "busybox",
        "sh",
        "-c",
        "grep ' /run/t ' /proc/mounts",
    ]);
    assert!(m.starts_with("tmpfs /run/t tmpfs rw"), "{m}");
    assert!(m.contains("size=1024k"), "{m}");

    assert_eq!(
        d.docker_run_ok(&["--init", "busybox", "cat", "/proc/1/comm"]),
        "docker-init"
    );
    let out = d.docker(&["run", "--rm", "--init", "busybox", "sh", "-c", "exit 5"]);
    assert_eq!(out.code(), 5, "{out:?}");
    assert_eq!(d.docker_run_ok(&["busybox", "cat", "/proc/1/comm"]), "cat");
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
}

#[test]
fn save_load_round_trip() {
    let d = TestBerthd::start("save-load");
    let id = d.docker_inspect("busybox", "{{.Id}}");
    let out = d.sh("docker save busybox | docker load");
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "Loaded image: busybox:latest", "{out:?}");
    assert_eq!(d.docker_inspect("busybox", "{{.Id}}"), id);
    let tar = d.dir.join("bb.tar");
    d.docker_ok(&["save", "-o", tar.to_str().expect("utf8"), "busybox"]);
    d.docker_ok(&["rmi", "busybox"]);
    let out = d.docker(&["run", "--rm", "--pull=never", "busybox", "true"]);
    assert_eq!(out.code(), 125, "{out:?}");
    let out = d.docker_ok(&["load", "-i", tar.to_str().expect("utf8")]);
    assert_eq!(out, "Loaded image: busybox:latest");
    assert_eq!(d.docker_run_ok(&["busybox", "echo", "back"]), "back");
}

#[test]
fn run_privileged() {
    let d = TestBerthd::start("run-priv");
    let caps = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["busybox", "sh", "-c", "grep CapEff /proc/self/status"]);
        d.docker_run_ok(&all)
    };
    let host_bnd = fs::read_to_string("/proc/self/status")
        .expect("status")
        .lines()
        .find(|l| l.starts_with("CapBnd:"))
        .expect("CapBnd")
        .replace("CapBnd", "CapEff");
    assert_eq!(caps(&["--privileged"]), host_bnd);
    assert_eq!(
        d.docker_run_ok(&[
            "--privileged",
            "busybox",
            "sh",
            "-c",
            "mount -t tmpfs t /mnt && echo mounted"
        ]),
        "mounted"
    );
    assert_eq!(
        d.docker_run_ok(&[
            "--privileged",
            "busybox",
            "sh",
            "-c",
            "test -e /dev/kmsg && echo dev"
        ]),
        "dev"
    );
}

#[test]
fn named_volume_api() {
    let d = TestBerthd::start("volume-api");
    d.docker_run_ok(&[
        "-v",
        "vol1:/data",
        "busybox",
        "sh",
        "-c",
        "echo persisted > /data/f",
    ]);
    assert!(d
        .docker_ok(&["volume", "ls", "-q"])
        .lines()
        .any(|l| l == "vol1"));
    assert_eq!(
        d.docker_inspect("vol1", "{{.Name}} {{.Driver}}"),
        "vol1 local"
    );
    d.docker_ok(&["volume", "rm", "vol1"]);
    let out = d.docker(&["volume", "inspect", "vol1"]);
    assert_eq!(out.code(), 1, "{out:?}");
}
