//! Acceptance tests for berthd driven by the stock `docker` CLI: run/exit codes, detached
//! runs and logs, ttys, exec, attach/detach, cp, stats, top, wait, events, restart
//! policies, pause, rename, ps filters, removal, name conflicts, run options and
//! save | load. Every test runs its own private berthd (`TestBerthd`).
#![allow(clippy::tests_outside_test_module)]

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berth_tests::berthd::TestBerthd;

/// Polls `f` every 50 ms until it holds or `timeout` passes; returns whether it held.
fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        sleep(Duration::from_millis(50));
    }
    f()
}

/// `docker inspect -f <format> <name>`, trimmed; panics on failure.
fn inspect(d: &TestBerthd, name: &str, format: &str) -> String {
    d.docker_ok(&["inspect", "-f", format, name])
}

/// `docker run --rm busybox <args…>` that must succeed; returns trimmed stdout.
fn run_ok(d: &TestBerthd, args: &[&str]) -> String {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(args);
    d.docker_ok(&all)
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// A private tmux server (socket outside the daemon dir) killed on drop.
struct Tmux {
    sock: PathBuf,
}

impl Tmux {
    fn new(tag: &str) -> Self {
        let sock = PathBuf::from(format!("/tmp/berth-tmux-{}-{tag}.sock", std::process::id()));
        let _ = fs::remove_file(&sock);
        Tmux { sock }
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.sock)
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn capture(&self, session: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", session]).stdout)
            .into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
        let _ = fs::remove_file(&self.sock);
    }
}

#[test]
fn run_rm_echo_exit_codes_and_cleanup() {
    let d = TestBerthd::start("run-rm");
    let out = d.docker(&["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(out.stdout, "hi\n");
    assert_eq!(out.stderr, "");
    assert_eq!(
        d.docker_ok(&["ps", "-aq"]),
        "",
        "--rm container still listed"
    );

    let out = d.docker(&["run", "--rm", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(out.code(), 3, "{out:?}");
    let out = d.docker(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo err >&2; exit 42",
    ]);
    assert_eq!(out.code(), 42, "{out:?}");
    assert_eq!(out.stderr, "err\n", "stderr must stay on stderr: {out:?}");
    assert_eq!(out.stdout, "");
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
    assert_eq!(
        fs::read_dir(d.dir.join("data/containers"))
            .map(|r| r.count())
            .unwrap_or(0),
        0,
        "container dirs left after --rm runs"
    );
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
}

#[test]
fn run_stdin_pipe() {
    let d = TestBerthd::start("run-stdin");
    let out = d.sh("printf 'a\\nb\\n' | docker run --rm -i busybox wc -l");
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "2");
}

#[test]
fn run_missing_command_127() {
    let d = TestBerthd::start("run-127");
    let out = d.docker(&["run", "--name", "nx", "busybox", "nosuchcmd"]);
    assert_eq!(out.code(), 127, "{out:?}");
    assert!(
        out.stderr
            .starts_with("docker: Error response from daemon: "),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("exec: \"nosuchcmd\": executable file not found in $PATH"),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("Run 'docker run --help' for more information"),
        "{out:?}"
    );
    assert_eq!(inspect(&d, "nx", "{{.State.ExitCode}}"), "127");
    assert_eq!(inspect(&d, "nx", "{{.State.Status}}"), "created");

    // A path that is not executable: 126.
    let out = d.docker(&["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(out.code(), 126, "{out:?}");
    assert!(out.stderr.contains("permission denied"), "{out:?}");
}

#[test]
fn run_detached_logs_follow_stop_rm() {
    let d = TestBerthd::start("run-d");
    let id = d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "counter",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3; do echo $i; sleep 0.2; done",
    ]);
    assert_eq!(id.len(), 64, "run -d prints the full id: {id:?}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    let t = Instant::now();
    let out = d.docker(&["logs", "-f", "counter"]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(out.stdout, "1\n2\n3\n");
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(inspect(&d, "counter", "{{.State.Status}}"), "exited");
    assert_eq!(inspect(&d, "counter", "{{.State.ExitCode}}"), "0");
    // logs of an exited container, tail and timestamps.
    assert_eq!(d.docker_ok(&["logs", "--tail", "1", "counter"]), "3");
    let ts = d.docker_ok(&["logs", "-t", "counter"]);
    let first = ts.lines().next().expect("a line");
    assert!(
        first.len() > 31 && first.as_bytes()[4] == b'-' && first.ends_with("Z 1"),
        "{ts:?}"
    );

    // stop on an exited container is fine (304 under the hood).
    assert_eq!(d.docker_ok(&["stop", "counter"]), "counter");
    assert_eq!(d.docker_ok(&["rm", "counter"]), "counter");
    let out = d.docker(&["inspect", "counter"]);
    assert_eq!(out.code(), 1, "{out:?}");

    // stop of a running container: sleep as pid 1 ignores SIGTERM, so SIGKILL after -t.
    d.docker_ok(&["run", "-d", "--name", "sl", "busybox", "sleep", "100"]);
    let t = Instant::now();
    assert_eq!(d.docker_ok(&["stop", "-t", "1", "sl"]), "sl");
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    assert_eq!(inspect(&d, "sl", "{{.State.Status}}"), "exited");
    assert_eq!(inspect(&d, "sl", "{{.State.ExitCode}}"), "137");
    // a container that handles SIGTERM stops promptly with its own code.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "trap",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 9' TERM; while true; do sleep 0.1; done",
    ]);
    sleep(Duration::from_millis(300));
    let t = Instant::now();
    d.docker_ok(&["stop", "trap"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(inspect(&d, "trap", "{{.State.ExitCode}}"), "9");
    d.docker_ok(&["rm", "sl", "trap"]);
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
}

#[test]
fn run_it_under_pty() {
    let d = TestBerthd::start("run-it");
    let out = d.docker_tty("run -it --rm busybox sh -c 'exit 3'");
    assert_eq!(out.code(), 3, "{out:?}");
    let out = d.docker_tty("run -it --rm busybox sh -c 'tty; echo cols=$(stty size)'");
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stdout.contains("/dev/pts/0"), "{out:?}");
    assert!(out.stdout.contains("cols="), "{out:?}");
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
}

#[test]
fn exec_plain_and_tty() {
    let d = TestBerthd::start("exec");
    d.docker_ok(&["run", "-d", "--name", "cc", "busybox", "sleep", "100"]);
    assert_eq!(d.docker_ok(&["exec", "cc", "echo", "in"]), "in");
    let out = d.docker(&["exec", "cc", "sh", "-c", "echo o; echo e >&2; exit 5"]);
    assert_eq!(out.code(), 5, "{out:?}");
    assert_eq!(out.stdout, "o\n");
    assert_eq!(out.stderr, "e\n");
    assert_eq!(
        d.docker_ok(&[
            "exec",
            "-e",
            "X=1",
            "-w",
            "/tmp",
            "-u",
            "nobody",
            "cc",
            "sh",
            "-c",
            "echo $X $(pwd) $(id -u)"
        ]),
        "1 /tmp 65534"
    );
    let out = d.sh("echo piped | docker exec -i cc cat");
    assert_eq!(out.stdout, "piped\n", "{out:?}");
    let out = d.docker_tty("exec -it cc sh -c 'tty; exit 6'");
    assert_eq!(out.code(), 6, "{out:?}");
    assert!(out.stdout.contains("/dev/pts/"), "{out:?}");
    // detached exec
    d.docker_ok(&["exec", "-d", "cc", "sh", "-c", "echo x > /tmp/detached"]);
    assert!(wait_until(Duration::from_secs(5), || {
        d.docker(&["exec", "cc", "cat", "/tmp/detached"]).stdout == "x\n"
    }));
    // exec on unknown / stopped containers
    let out = d.docker(&["exec", "nope", "true"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("No such container: nope"), "{out:?}");
    d.docker_ok(&["kill", "cc"]);
    let out = d.docker(&["exec", "cc", "true"]);
    assert_ne!(out.code(), 0, "{out:?}");
    assert!(out.stderr.contains("is not running"), "{out:?}");
}

#[test]
fn attach_and_detach_with_ctrl_p_ctrl_q() {
    let d = TestBerthd::start("attach");
    d.docker_ok(&["run", "-dit", "--name", "att", "busybox", "sh"]);
    let tmux = Tmux::new("attach");
    let rc = d.dir.join("attach.rc");
    let line = format!(
        "{} docker attach att; echo $? > {}; sleep 60",
        d.env_prefix(),
        rc.display()
    );
    let st = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "X",
        "-x",
        "100",
        "-y",
        "30",
        &line,
    ]);
    assert!(st.status.success(), "{st:?}");
    sleep(Duration::from_millis(1000));
    tmux.cmd(&["send-keys", "-t", "X", "echo hel''lo-from-attach", "Enter"]);
    assert!(
        wait_until(Duration::from_secs(5), || tmux
            .capture("X")
            .contains("hello-from-attach")),
        "attached shell did not echo: {}",
        tmux.capture("X")
    );
    tmux.cmd(&["send-keys", "-t", "X", "C-p", "C-q"]);
    // The CLI ends `docker attach` on the detach keys (its exit code is the CLI's business).
    assert!(
        wait_until(Duration::from_secs(5), || rc.exists()),
        "docker attach did not detach: {}",
        tmux.capture("X")
    );
    sleep(Duration::from_millis(300));
    assert_eq!(inspect(&d, "att", "{{.State.Status}}"), "running");
    // attach to a stopped container fails
    d.docker_ok(&["rm", "-f", "att"]);
    d.docker_ok(&["create", "--name", "bb", "busybox", "true"]);
    let out = d.docker(&["attach", "bb"]);
    assert_ne!(out.code(), 0, "{out:?}");
    assert!(
        out.stderr
            .contains("You cannot attach to a stopped container"),
        "{out:?}"
    );
}

#[test]
fn cp_both_ways() {
    let d = TestBerthd::start("cp");
    d.docker_ok(&["run", "-d", "--name", "cc", "busybox", "sleep", "100"]);
    let src = d.dir.join("in.txt");
    fs::write(&src, "from host\n").expect("write");
    d.docker_ok(&["cp", src.to_str().expect("utf8"), "cc:/tmp/in.txt"]);
    assert_eq!(
        d.docker_ok(&["exec", "cc", "cat", "/tmp/in.txt"]),
        "from host"
    );
    // a directory into the container
    let sub = d.dir.join("tree");
    fs::create_dir_all(sub.join("x")).expect("mkdir");
    fs::write(sub.join("x/y"), "deep").expect("write");
    d.docker_ok(&["cp", sub.to_str().expect("utf8"), "cc:/tmp/"]);
    assert_eq!(d.docker_ok(&["exec", "cc", "cat", "/tmp/tree/x/y"]), "deep");

    d.docker_ok(&["exec", "cc", "sh", "-c", "echo from ctr > /tmp/out.txt"]);
    let dst = d.dir.join("out.txt");
    d.docker_ok(&["cp", "cc:/tmp/out.txt", dst.to_str().expect("utf8")]);
    assert_eq!(fs::read_to_string(&dst).expect("read"), "from ctr\n");
    // copy to stdout as a tar
    let out = d.sh("docker cp cc:/tmp/out.txt - | tar -xO");
    assert_eq!(out.stdout, "from ctr\n", "{out:?}");
    // cp from a stopped container still works
    d.docker_ok(&["stop", "-t", "0", "cc"]);
    let dst2 = d.dir.join("out2.txt");
    d.docker_ok(&["cp", "cc:/tmp/out.txt", dst2.to_str().expect("utf8")]);
    assert_eq!(fs::read_to_string(&dst2).expect("read"), "from ctr\n");
    let out = d.docker(&["cp", "cc:/nonexistent", dst2.to_str().expect("utf8")]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stderr
            .contains("Could not find the file /nonexistent in container cc"),
        "{out:?}"
    );
}

#[test]
fn stats_top_wait() {
    let d = TestBerthd::start("stats");
    d.docker_ok(&["run", "-d", "--name", "ss", "busybox", "sleep", "100"]);
    let out = d.docker_ok(&["stats", "--no-stream", "ss"]);
    let mut lines = out.lines();
    let head = lines.next().expect("header");
    assert!(
        head.starts_with("CONTAINER ID") && head.contains("MEM USAGE / LIMIT"),
        "{out}"
    );
    let row = lines.next().expect("row");
    assert!(row.contains(" ss ") && row.contains('%'), "{out}");
    let mem = d.docker_ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.MemUsage}} {{.PIDs}}",
        "ss",
    ]);
    assert!(mem.starts_with("ss "), "{mem}");
    assert!(mem.ends_with(" 1"), "one pid in the container: {mem}");
    assert!(!mem.contains(" 0B /"), "memory usage is zero: {mem}");

    let top = d.docker_ok(&["top", "ss"]);
    let mut tl = top.lines();
    let th = tl.next().expect("top header");
    assert!(th.contains("PID") && th.contains("CMD"), "{top}");
    assert!(tl.any(|l| l.contains("sleep 100")), "{top}");
    let top = d.docker_ok(&["top", "ss", "-o", "pid,comm"]);
    assert!(
        top.lines().any(|l| l.trim_end().ends_with("sleep")),
        "{top}"
    );

    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "ww",
        "busybox",
        "sh",
        "-c",
        "sleep 0.5; exit 4",
    ]);
    assert_eq!(d.docker_ok(&["wait", "ww"]), "4");
    // wait on an already exited container returns at once
    assert_eq!(d.docker_ok(&["wait", "ww"]), "4");
    let out = d.docker(&["wait", "nope"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("No such container: nope"), "{out:?}");
}

#[test]
fn events_of_a_run() {
    let d = TestBerthd::start("events");
    let since = now_secs() - 1.0;
    d.docker_ok(&["run", "--rm", "--name", "ev", "busybox", "true"]);
    let until = now_secs() + 1.0;
    let out = d.docker_ok(&[
        "events",
        "--since",
        &format!("{since:.3}"),
        "--until",
        &format!("{until:.3}"),
        "--filter",
        "container=ev",
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
    ]);
    let actions: Vec<&str> = out.lines().collect();
    assert_eq!(
        actions,
        vec![
            "container create ev",
            "container attach ev",
            "container start ev",
            "container die ev",
            "container destroy ev"
        ],
        "{out}"
    );
    // die carries exitCode; JSON format has the legacy fields at API 1.47
    let since = now_secs() - 0.5;
    let _ = d.docker(&[
        "run", "--rm", "--name", "ev2", "--label", "k=v", "busybox", "sh", "-c", "exit 2",
    ]);
    let until = now_secs() + 1.0;
    let out = d.docker_ok(&[
        "events",
        "--since",
        &format!("{since:.3}"),
        "--until",
        &format!("{until:.3}"),
        "--filter",
        "event=die",
        "--format",
        "{{json .}}",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.lines().next().expect("die event"))
        .unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["Action"], "die", "{v}");
    assert_eq!(v["Actor"]["Attributes"]["exitCode"], "2", "{v}");
    assert_eq!(v["Actor"]["Attributes"]["k"], "v", "{v}");
    assert_eq!(v["Actor"]["Attributes"]["image"], "busybox", "{v}");
    assert_eq!(v["scope"], "local", "{v}");
    assert!(v["timeNano"].as_i64().unwrap_or(0) > 0, "{v}");
}

#[test]
fn restart_always_keeps_restarting() {
    let d = TestBerthd::start("restart-always");
    d.docker_ok(&[
        "run",
        "-d",
        "--restart=always",
        "--name",
        "rr",
        "busybox",
        "sh",
        "-c",
        "sleep 0.3; exit 1",
    ]);
    assert!(
        wait_until(Duration::from_secs(8), || {
            inspect(&d, "rr", "{{.RestartCount}}")
                .parse::<u32>()
                .unwrap_or(0)
                >= 2
        }),
        "RestartCount stays at {}",
        inspect(&d, "rr", "{{.RestartCount}}")
    );
    sleep(Duration::from_millis(500));
    let st = inspect(&d, "rr", "{{.State.Status}}");
    assert!(st == "running" || st == "restarting", "{st}");
    // stop ends the restart loop
    d.docker_ok(&["stop", "rr"]);
    let n = inspect(&d, "rr", "{{.RestartCount}}");
    sleep(Duration::from_millis(1500));
    assert_eq!(inspect(&d, "rr", "{{.State.Status}}"), "exited");
    assert_eq!(
        inspect(&d, "rr", "{{.RestartCount}}"),
        n,
        "restarted after stop"
    );
}

#[test]
fn restart_on_failure_limit() {
    let d = TestBerthd::start("restart-onfail");
    d.docker_ok(&[
        "run",
        "-d",
        "--restart",
        "on-failure:2",
        "--name",
        "rr",
        "busybox",
        "sh",
        "-c",
        "exit 1",
    ]);
    assert!(
        wait_until(Duration::from_secs(10), || {
            inspect(&d, "rr", "{{.RestartCount}}") == "2"
                && inspect(&d, "rr", "{{.State.Status}}") == "exited"
        }),
        "{}",
        inspect(&d, "rr", "{{.RestartCount}} {{.State.Status}}")
    );
    sleep(Duration::from_millis(1500));
    assert_eq!(
        inspect(
            &d,
            "rr",
            "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}"
        ),
        "2 exited 1"
    );
    // on-failure does not restart a clean exit
    d.docker_ok(&[
        "run",
        "-d",
        "--restart",
        "on-failure",
        "--name",
        "ok",
        "busybox",
        "true",
    ]);
    sleep(Duration::from_millis(1500));
    assert_eq!(
        inspect(&d, "ok", "{{.RestartCount}} {{.State.Status}}"),
        "0 exited"
    );
}

#[test]
fn pause_unpause_rename_inspect() {
    let d = TestBerthd::start("pause");
    d.docker_ok(&["run", "-d", "--name", "pp", "busybox", "sleep", "100"]);
    assert_eq!(inspect(&d, "pp", "{{.State.Status}}"), "running");
    assert_eq!(d.docker_ok(&["pause", "pp"]), "pp");
    assert_eq!(
        inspect(&d, "pp", "{{.State.Status}} {{.State.Paused}}"),
        "paused true"
    );
    let ps = d.docker_ok(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.ends_with("(Paused)"), "{ps}");
    let out = d.docker(&["exec", "pp", "true"]);
    assert_ne!(out.code(), 0, "exec on a paused container: {out:?}");
    assert!(out.stderr.contains("is paused"), "{out:?}");
    assert_eq!(d.docker_ok(&["unpause", "pp"]), "pp");
    assert_eq!(
        inspect(&d, "pp", "{{.State.Status}} {{.State.Paused}}"),
        "running false"
    );
    assert_eq!(d.docker_ok(&["exec", "pp", "echo", "alive"]), "alive");

    d.docker_ok(&["rename", "pp", "qq"]);
    assert_eq!(inspect(&d, "qq", "{{.Name}}"), "/qq");
    let out = d.docker(&["inspect", "pp"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("No such object: pp"), "{out:?}");
    assert_eq!(d.docker_ok(&["ps", "--format", "{{.Names}}"]), "qq");
    // rename to a name in use
    d.docker_ok(&["create", "--name", "other", "busybox"]);
    let out = d.docker(&["rename", "qq", "other"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stderr
            .contains("The container name \"/other\" is already in use"),
        "{out:?}"
    );
    // inspect -f fields
    let id = inspect(&d, "qq", "{{.Id}}");
    assert_eq!(id.len(), 64);
    assert_eq!(inspect(&d, &id[..12], "{{.Name}}"), "/qq");
    assert_eq!(
        inspect(
            &d,
            "qq",
            "{{.Config.Image}} {{json .Config.Cmd}} {{.HostConfig.NetworkMode}}"
        ),
        "busybox [\"sleep\",\"100\"] bridge"
    );
    assert_eq!(
        inspect(&d, "qq", "{{.Config.Hostname}}"),
        id[..12].to_string()
    );
    let pid: u32 = inspect(&d, "qq", "{{.State.Pid}}").parse().expect("pid");
    assert!(PathBuf::from(format!("/proc/{pid}")).exists());
}

#[test]
fn ps_filters() {
    let d = TestBerthd::start("ps");
    d.docker_ok(&["run", "--name", "ex", "busybox", "true"]);
    d.docker_ok(&[
        "run", "-d", "--label", "a=b", "--name", "lab", "busybox", "sleep", "100",
    ]);
    d.docker_ok(&[
        "run", "-d", "--label", "a=c", "--name", "other", "busybox", "sleep", "100",
    ]);
    d.docker_ok(&["create", "--name", "cr", "busybox"]);
    let names = |args: &[&str]| {
        let mut all = vec!["ps", "--format", "{{.Names}}"];
        all.extend_from_slice(args);
        let mut v: Vec<String> = d.docker_ok(&all).lines().map(str::to_string).collect();
        v.sort();
        v.join(",")
    };
    assert_eq!(names(&[]), "lab,other");
    assert_eq!(names(&["-a"]), "cr,ex,lab,other");
    assert_eq!(names(&["-a", "--filter", "status=exited"]), "ex");
    assert_eq!(names(&["-a", "--filter", "status=created"]), "cr");
    assert_eq!(names(&["--filter", "label=a=b"]), "lab");
    assert_eq!(names(&["--filter", "label=a"]), "lab,other");
    assert_eq!(names(&["-a", "--filter", "name=oth"]), "other");
    assert_eq!(names(&["-a", "--filter", "exited=0"]), "ex");
    assert_eq!(
        names(&["-a", "--filter", "ancestor=busybox"]),
        "cr,ex,lab,other"
    );
    let out = d.docker(&["ps", "--filter", "bogus=1"]);
    assert_ne!(out.code(), 0, "{out:?}");
    assert!(out.stderr.contains("invalid filter 'bogus'"), "{out:?}");
    // newest first, -n / -l
    assert_eq!(
        d.docker_ok(&["ps", "-a", "-l", "--format", "{{.Names}}"]),
        "cr"
    );
    let st = d.docker_ok(&["ps", "-a", "--filter", "name=ex", "--format", "{{.Status}}"]);
    assert!(
        st.starts_with("Exited (0) ") && st.ends_with(" ago"),
        "{st}"
    );
    let st = d.docker_ok(&[
        "ps",
        "--filter",
        "name=lab",
        "--format",
        "{{.Status}} {{.Command}}",
    ]);
    assert!(st.starts_with("Up "), "{st}");
    assert!(st.ends_with("\"sleep 100\""), "{st}");
}

#[test]
fn rm_running_and_name_conflict() {
    let d = TestBerthd::start("rm");
    let id = d.docker_ok(&["run", "-d", "--name", "xx", "busybox", "sleep", "100"]);
    let out = d.docker(&["run", "-d", "--name", "xx", "busybox", "sleep", "100"]);
    assert_eq!(out.code(), 125, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "Conflict. The container name \"/xx\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
        )),
        "{out:?}"
    );
    let out = d.docker(&["rm", "xx"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stderr.contains("cannot remove container \"xx\": container is running: stop the container before removing or force remove"),
        "{out:?}"
    );
    assert_eq!(d.docker_ok(&["rm", "-f", "xx"]), "xx");
    assert_eq!(d.docker_ok(&["ps", "-aq"]), "");
    let out = d.docker(&["rm", "xx"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("No such container: xx"), "{out:?}");
    // the name is free again
    d.docker_ok(&["run", "--rm", "--name", "xx", "busybox", "true"]);
    assert!(
        fs::read_dir(d.dir.join("data/containers"))
            .map(|r| r.count())
            .unwrap_or(0)
            == 0,
        "container dirs left"
    );
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
}

#[test]
fn run_options_env_workdir_user_hostname_entrypoint() {
    let d = TestBerthd::start("run-opts");
    assert_eq!(
        run_ok(
            &d,
            &[
                "-e",
                "FOO=bar",
                "--env",
                "X",
                "busybox",
                "sh",
                "-c",
                "echo $FOO:${X-unset}"
            ]
        ),
        "bar:unset"
    );
    let env = run_ok(&d, &["-t", "busybox", "env"]);
    assert!(env.contains("TERM=xterm"), "{env}");
    let env = run_ok(&d, &["busybox", "env"]);
    assert!(
        env.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        "{env}"
    );
    assert!(
        env.lines()
            .any(|l| l.starts_with("HOSTNAME=") && l.len() == 21),
        "{env}"
    );
    assert_eq!(run_ok(&d, &["-w", "/tmp", "busybox", "pwd"]), "/tmp");
    assert_eq!(
        run_ok(&d, &["-w", "/new/dir", "busybox", "pwd"]),
        "/new/dir"
    );
    assert_eq!(
        run_ok(&d, &["-u", "nobody", "busybox", "id", "-u"]),
        "65534"
    );
    assert_eq!(
        run_ok(
            &d,
            &[
                "-u",
                "1234:5678",
                "busybox",
                "sh",
                "-c",
                "echo $(id -u) $(id -g)"
            ]
        ),
        "1234 5678"
    );
    assert_eq!(
        run_ok(
            &d,
            &[
                "--hostname",
                "myhost",
                "busybox",
                "sh",
                "-c",
                "hostname; cat /etc/hostname"
            ]
        ),
        "myhost\nmyhost"
    );
    let hosts = run_ok(
        &d,
        &["--hostname", "myhost", "busybox", "cat", "/etc/hosts"],
    );
    assert!(hosts.contains("127.0.0.1\tlocalhost"), "{hosts}");
    assert_eq!(
        run_ok(&d, &["--entrypoint", "echo", "busybox", "hello", "world"]),
        "hello world"
    );
    assert_eq!(
        run_ok(
            &d,
            &["--entrypoint", "/bin/sh", "busybox", "-c", "echo via-sh"]
        ),
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
        run_ok(
            &d,
            &[
                "--read-only",
                "busybox",
                "sh",
                "-c",
                "echo ok > /dev/shm/f && cat /dev/shm/f"
            ]
        ),
        "ok"
    );
    assert_eq!(
        run_ok(&d, &["busybox", "sh", "-c", "touch /x && echo rw"]),
        "rw"
    );

    assert_eq!(
        run_ok(
            &d,
            &[
                "--memory",
                "64m",
                "busybox",
                "cat",
                "/sys/fs/cgroup/memory/memory.limit_in_bytes"
            ]
        ),
        "67108864"
    );
    let caps = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["busybox", "sh", "-c", "grep CapEff /proc/self/status"]);
        run_ok(&d, &all)
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
        run_ok(
            &d,
            &[
                "-v",
                &bind,
                "busybox",
                "sh",
                "-c",
                "cat /ctr/f; echo back > /ctr/g"
            ]
        ),
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
        run_ok(&d, &["--mount", &mnt, "busybox", "cat", "/m/f"]),
        "host data"
    );

    run_ok(
        &d,
        &[
            "-v",
            "vol1:/data",
            "busybox",
            "sh",
            "-c",
            "echo persisted > /data/f",
        ],
    );
    assert_eq!(
        run_ok(&d, &["-v", "vol1:/data", "busybox", "cat", "/data/f"]),
        "persisted"
    );

    let m = run_ok(
        &d,
        &[
            "--tmpfs",
            "/run/t:size=1m",
            "busybox",
            "sh",
            "-c",
            "grep ' /run/t ' /proc/mounts",
        ],
    );
    assert!(m.starts_with("tmpfs /run/t tmpfs rw"), "{m}");
    assert!(m.contains("size=1024k"), "{m}");

    assert_eq!(
        run_ok(&d, &["--init", "busybox", "cat", "/proc/1/comm"]),
        "docker-init"
    );
    let out = d.docker(&["run", "--rm", "--init", "busybox", "sh", "-c", "exit 5"]);
    assert_eq!(out.code(), 5, "{out:?}");
    assert_eq!(run_ok(&d, &["busybox", "cat", "/proc/1/comm"]), "cat");
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
}

#[test]
fn save_load_round_trip() {
    let d = TestBerthd::start("save-load");
    let id = inspect(&d, "busybox", "{{.Id}}");
    let out = d.sh("docker save busybox | docker load");
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "Loaded image: busybox:latest", "{out:?}");
    assert_eq!(inspect(&d, "busybox", "{{.Id}}"), id);
    let tar = d.dir.join("bb.tar");
    d.docker_ok(&["save", "-o", tar.to_str().expect("utf8"), "busybox"]);
    d.docker_ok(&["rmi", "busybox"]);
    let out = d.docker(&["run", "--rm", "--pull=never", "busybox", "true"]);
    assert_eq!(out.code(), 125, "{out:?}");
    let out = d.docker_ok(&["load", "-i", tar.to_str().expect("utf8")]);
    assert_eq!(out, "Loaded image: busybox:latest");
    assert_eq!(run_ok(&d, &["busybox", "echo", "back"]), "back");
}

#[test]
fn run_privileged() {
    let d = TestBerthd::start("run-priv");
    let caps = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["busybox", "sh", "-c", "grep CapEff /proc/self/status"]);
        run_ok(&d, &all)
    };
    let host_bnd = fs::read_to_string("/proc/self/status")
        .expect("status")
        .lines()
        .find(|l| l.starts_with("CapBnd:"))
        .expect("CapBnd")
        .replace("CapBnd", "CapEff");
    assert_eq!(caps(&["--privileged"]), host_bnd);
    assert_eq!(
        run_ok(
            &d,
            &[
                "--privileged",
                "busybox",
                "sh",
                "-c",
                "mount -t tmpfs t /mnt && echo mounted"
            ]
        ),
        "mounted"
    );
    assert_eq!(
        run_ok(
            &d,
            &[
                "--privileged",
                "busybox",
                "sh",
                "-c",
                "test -e /dev/kmsg && echo dev"
            ]
        ),
        "dev"
    );
}

#[test]
fn named_volume_api() {
    let d = TestBerthd::start("volume-api");
    run_ok(
        &d,
        &[
            "-v",
            "vol1:/data",
            "busybox",
            "sh",
            "-c",
            "echo persisted > /data/f",
        ],
    );
    assert!(d
        .docker_ok(&["volume", "ls", "-q"])
        .lines()
        .any(|l| l == "vol1"));
    assert_eq!(inspect(&d, "vol1", "{{.Name}} {{.Driver}}"), "vol1 local");
    d.docker_ok(&["volume", "rm", "vol1"]);
    let out = d.docker(&["volume", "inspect", "vol1"]);
    assert_eq!(out.code(), 1, "{out:?}");
}

#[test]
fn exec_missing_command_127() {
    let d = TestBerthd::start("exec-127");
    d.docker_ok(&["run", "-d", "--name", "cc", "busybox", "sleep", "100"]);
    let out = d.docker(&["exec", "cc", "nosuchcmd"]);
    assert_eq!(out.code(), 127, "{out:?}");
    assert!(
        out.stdout
            .contains("exec: \"nosuchcmd\": executable file not found in $PATH"),
        "Docker writes the start error into the stream (stdout): {out:?}"
    );
    let out = d.docker(&["exec", "cc", "/etc/passwd"]);
    assert_eq!(out.code(), 126, "{out:?}");
}

#[test]
fn exec_exit_code_is_never_lost() {
    let d = TestBerthd::start("exec-code");
    d.docker_ok(&["run", "-d", "--name", "cc", "busybox", "sleep", "100"]);
    let codes: Vec<i32> = (0..30)
        .map(|_| d.docker(&["exec", "cc", "sh", "-c", "exit 4"]).code())
        .collect();
    assert!(
        codes.iter().all(|&c| c == 4),
        "docker exec exit codes: {codes:?}"
    );
    let codes: Vec<i32> = (0..30)
        .map(|_| d.berth(&["exec", "cc", "sh", "-c", "exit 4"]).code())
        .collect();
    assert!(
        codes.iter().all(|&c| c == 4),
        "berth exec exit codes: {codes:?}"
    );
}
