//! Real-kernel tests on this host's hierarchy (v1/hybrid on the CI machine; a pure v2 host
//! runs the v2 paths instead). Need root; they fail loudly without it.

#[cfg(test)]
mod host {
    use std::io::Write as _;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};

    use berth_cgroups::{Cgroup, CgroupError, Hierarchy};
    use oci_spec::runtime::{
        LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxDeviceType, LinuxMemoryBuilder,
        LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
    };

    /// `/berth-test-<name>-<pid>/ctr`: unique per test, with a parent that must vanish too.
    fn test_path(name: &str) -> PathBuf {
        PathBuf::from(format!("/berth-test-{name}-{}/ctr", std::process::id()))
    }

    fn roots() -> Vec<PathBuf> {
        match Hierarchy::detect().unwrap() {
            Hierarchy::V1 { mounts, unified } => mounts
                .into_iter()
                .map(|m| m.mountpoint)
                .chain(unified)
                .collect(),
            Hierarchy::V2 { root } => vec![root],
        }
    }

    fn v1_dir(controller: &str, path: &Path) -> PathBuf {
        match Hierarchy::detect().unwrap() {
            Hierarchy::V1 { mounts, .. } => {
                let m = mounts
                    .iter()
                    .find(|m| m.has(controller))
                    .expect("controller mounted");
                m.mountpoint.join(path.strip_prefix("/").unwrap())
            }
            Hierarchy::V2 { .. } => panic!("v1 host expected"),
        }
    }

    fn is_v1() -> bool {
        matches!(Hierarchy::detect().unwrap(), Hierarchy::V1 { .. })
    }

    /// Every directory of the test's top-level parent, across hierarchies.
    fn leftovers(path: &Path) -> Vec<PathBuf> {
        let top = path.components().nth(1).unwrap();
        roots()
            .into_iter()
            .map(|r| r.join(top))
            .filter(|p| p.exists())
            .collect()
    }

    fn read(p: PathBuf) -> String {
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .trim()
            .to_string()
    }

    fn resources() -> LinuxResources {
        let dev = |allow, t, maj, min, acc: &str| {
            LinuxDeviceCgroupBuilder::default()
                .allow(allow)
                .typ(t)
                .major(maj)
                .minor(min)
                .access(acc)
                .build()
                .unwrap()
        };
        LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(64 << 20)
                    .swap(128 << 20)
                    .reservation(32 << 20)
                    .build()
                    .unwrap(),
            )
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(512u64)
                    .quota(50_000)
                    .period(100_000u64)
                    .cpus("0")
                    .mems("0")
                    .build()
                    .unwrap(),
            )
            .pids(LinuxPidsBuilder::default().limit(64).build().unwrap())
            .devices(vec![
                dev(false, LinuxDeviceType::A, -1, -1, "rwm"),
                dev(true, LinuxDeviceType::C, 1, 3, "rwm"),
                dev(true, LinuxDeviceType::C, 1, 5, "rw"),
            ])
            .build()
            .unwrap()
    }

    /// A shell that waits for a line on stdin, then touches some memory and sleeps.
    fn spawn_worker() -> Child {
        Command::new("sh")
            .arg("-c")
            .arg("read _; x=$(head -c 4000000 /dev/zero | tr '\\0' a); exec sleep 60")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Kill the child and anything else left in the cgroup (as the runtime does via pids()).
    fn finish(cg: &Cgroup, mut child: Child) {
        child.kill().unwrap();
        child.wait().unwrap();
        let rest: Vec<String> = cg.pids().unwrap().iter().map(ToString::to_string).collect();
        if !rest.is_empty() {
            Command::new("kill").arg("-9").args(&rest).status().unwrap();
        }
        for _ in 0..100 {
            if cg.pids().unwrap().is_empty() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("processes left in cgroup: {:?}", cg.pids());
    }

    #[test]
    fn create_with_limits_writes_files_and_destroy_cleans_up() {
        assert!(
            is_v1(),
            "this test checks v1 files; run on the v1/hybrid CI host"
        );
        let path = test_path("limits");
        let cg = Cgroup::new(&path).unwrap();
        cg.create(Some(&resources())).unwrap();

        assert_eq!(
            read(v1_dir("memory", &path).join("memory.limit_in_bytes")),
            (64u64 << 20).to_string()
        );
        assert_eq!(
            read(v1_dir("memory", &path).join("memory.memsw.limit_in_bytes")),
            (128u64 << 20).to_string()
        );
        assert_eq!(
            read(v1_dir("memory", &path).join("memory.soft_limit_in_bytes")),
            (32u64 << 20).to_string()
        );
        assert_eq!(read(v1_dir("cpu", &path).join("cpu.shares")), "512");
        assert_eq!(read(v1_dir("cpu", &path).join("cpu.cfs_quota_us")), "50000");
        assert_eq!(
            read(v1_dir("cpu", &path).join("cpu.cfs_period_us")),
            "100000"
        );
        assert_eq!(read(v1_dir("cpuset", &path).join("cpuset.cpus")), "0");
        assert_eq!(read(v1_dir("cpuset", &path).join("cpuset.mems")), "0");
        // The intermediate level got its parent's cpus/mems copied in.
        let parent = v1_dir("cpuset", path.parent().unwrap());
        assert_eq!(
            read(parent.join("cpuset.cpus")),
            read(v1_dir("cpuset", Path::new("/")).join("cpuset.cpus"))
        );
        assert_eq!(read(v1_dir("pids", &path).join("pids.max")), "64");
        assert_eq!(
            read(v1_dir("devices", &path).join("devices.list")),
            "c 1:3 rwm\nc 1:5 rw"
        );

        // Raise memory and swap on the live cgroup: memsw must be written first.
        let raise = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(256 << 20)
                    .swap(512 << 20)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        cg.apply(&raise).unwrap();
        assert_eq!(
            read(v1_dir("memory", &path).join("memory.limit_in_bytes")),
            (256u64 << 20).to_string()
        );
        let lower = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(16 << 20)
                    .swap(32 << 20)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        cg.apply(&lower).unwrap();
        assert_eq!(
            read(v1_dir("memory", &path).join("memory.memsw.limit_in_bytes")),
            (32u64 << 20).to_string()
        );

        assert!(!leftovers(&path).is_empty());
        cg.destroy().unwrap();
        cg.remove_empty_ancestors();
        assert_eq!(leftovers(&path), Vec::<PathBuf>::new());
        cg.destroy().unwrap();
        cg.remove_empty_ancestors();
    }

    #[test]
    fn process_join_freeze_stats() {
        let path = test_path("proc");
        let cg = Cgroup::new(&path).unwrap();
        cg.create(None).unwrap();
        let mut child = spawn_worker();
        let pid = i32::try_from(child.id()).unwrap();
        cg.add_pid(pid).unwrap();
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(cg.pids().unwrap().contains(&pid));

        assert!(!cg.is_frozen().unwrap());
        cg.freeze().unwrap();
        assert!(cg.is_frozen().unwrap());
        cg.thaw().unwrap();
        assert!(!cg.is_frozen().unwrap());

        let s = cg.stats().unwrap();
        assert!(s.memory.usage.usage > 0, "{s:?}");
        assert!(s.pids.current >= 1, "{s:?}");
        assert!(s.cpu.usage.total > 0, "{s:?}");
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["memory"]["usage"]["usage"].as_u64().unwrap() > 0);
        assert!(json["memory"]["raw"]
            .as_object()
            .is_some_and(|m| !m.is_empty()));

        // Not empty yet: destroy must fail and name the path, after retrying ~1 s.
        let err = cg.destroy().unwrap_err().to_string();
        assert!(err.contains("berth-test-proc"), "{err}");

        finish(&cg, child);
        cg.destroy().unwrap();
        cg.remove_empty_ancestors();
        assert_eq!(leftovers(&path), Vec::<PathBuf>::new());
    }

    #[test]
    fn oom_kills_are_counted() {
        let path = test_path("oom");
        let cg = Cgroup::new(&path).unwrap();
        let limit = 16 << 20;
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(limit)
                    .swap(limit)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        cg.create(Some(&r)).unwrap();
        assert_eq!(cg.oom_kills().unwrap(), 0);
        // `tail` keeps the last (never-ending) line of /dev/zero in memory.
        let mut hog = Command::new("sh")
            .arg("-c")
            .arg("read _; exec tail /dev/zero")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        cg.add_pid(i32::try_from(hog.id()).unwrap()).unwrap();
        hog.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let status = hog.wait().unwrap();
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(status.signal(), Some(9), "{status:?}");
        assert_eq!(cg.oom_kills().unwrap(), 1);
        assert_eq!(cg.stats().unwrap().memory.oom_kill, 1);
        for _ in 0..100 {
            if cg.pids().unwrap().is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        cg.destroy().unwrap();
        cg.remove_empty_ancestors();
        assert_eq!(leftovers(&path), Vec::<PathBuf>::new());
    }

    #[test]
    fn bad_value_names_file_and_rolls_back() {
        let path = test_path("bad");
        let cg = Cgroup::new(&path).unwrap();
        let r = LinuxResourcesBuilder::default()
            .cpu(LinuxCpuBuilder::default().cpus("abc").build().unwrap())
            .build()
            .unwrap();
        let err = cg.create(Some(&r)).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, CgroupError::Write { .. }), "{err:?}");
        assert!(
            msg.contains("cpuset.cpus") && msg.contains("\"abc\""),
            "{msg}"
        );
        assert_eq!(leftovers(&path), Vec::<PathBuf>::new());
    }

    #[test]
    fn rejects_dotdot_and_relative_is_under_root() {
        assert!(matches!(
            Cgroup::new(Path::new("/a/../../etc")),
            Err(CgroupError::InvalidPath { .. })
        ));
        let cg = Cgroup::new(Path::new("berth/x")).unwrap();
        assert_eq!(cg.path, Path::new("berth/x"));
    }

    #[test]
    fn concurrent_create_destroy_share_parent() {
        let parent = format!("/berth-test-race-{}", std::process::id());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let parent = parent.clone();
                std::thread::spawn(move || {
                    for i in 0..20 {
                        let cg = Cgroup::new(Path::new(&format!("{parent}/c{t}-{i}"))).unwrap();
                        cg.create(None).unwrap();
                        cg.destroy().unwrap();
                        cg.remove_empty_ancestors();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(
            leftovers(Path::new(&format!("{parent}/x"))),
            Vec::<PathBuf>::new()
        );
    }

    /// The v2 code paths on a cgroup2 mount (the hybrid host's controller-less
    /// /sys/fs/cgroup/unified, or the root on a pure v2 host): devices via BPF, join, freeze.
    #[test]
    fn v2_paths_on_cgroup2_mount() {
        let root = match Hierarchy::detect().unwrap() {
            Hierarchy::V1 {
                unified: Some(u), ..
            } => u,
            Hierarchy::V2 { root } => root,
            h => panic!("no cgroup2 mount: {h:?}"),
        };
        let path = test_path("v2");
        let cg = Cgroup::with_hierarchy(&path, Hierarchy::V2 { root: root.clone() }).unwrap();
        let r = LinuxResourcesBuilder::default()
            .devices(vec![
                LinuxDeviceCgroupBuilder::default()
                    .allow(false)
                    .typ(LinuxDeviceType::A)
                    .access("rwm")
                    .build()
                    .unwrap(),
                LinuxDeviceCgroupBuilder::default()
                    .allow(true)
                    .typ(LinuxDeviceType::C)
                    .major(1)
                    .minor(3)
                    .access("rw")
                    .build()
                    .unwrap(),
            ])
            .build()
            .unwrap();
        cg.create(Some(&r)).unwrap();
        assert!(cg.clone_into_fd().is_some());
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("read _; (exec 3</dev/null) 2>&1 && echo null-ok; (exec 4</dev/zero) 2>&1 && echo zero-ok; read _")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        cg.add_pid(pid).unwrap();
        assert_eq!(cg.pids().unwrap(), [pid]);
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
        cg.freeze().unwrap();
        assert!(cg.is_frozen().unwrap());
        cg.thaw().unwrap();
        assert!(!cg.is_frozen().unwrap());
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(out.contains("null-ok") && !out.contains("zero-ok"), "{out}");
        assert!(out.contains("Operation not permitted"), "{out}");
        cg.destroy().unwrap();
        cg.remove_empty_ancestors();
        assert!(!root
            .join(path.strip_prefix("/").unwrap())
            .parent()
            .unwrap()
            .exists());
    }
}
