//! Acceptance tests for berthd driven by the stock `docker` CLI: run/exit codes, detached
//! runs and logs, ttys, exec, attach/detach, cp, stats, top, wait, events, restart
//! policies, pause, rename, ps filters, removal and name conflicts (run options, volumes
//! and save | load are in daemon_docker_options.rs). Every test runs its own private
//! berthd (`TestBerthd`).
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
    assert_eq!(d.docker_inspect("nx", "{{.State.ExitCode}}"), "127");
    assert_eq!(d.docker_inspect("nx", "{{.State.Status}}"), "created");

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
    assert_eq!(d.docker_inspect("counter", "{{.State.Status}}"), "exited");
    assert_eq!(d.docker_inspect("counter", "{{.State.ExitCode}}"), "0");
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
    assert_eq!(d.docker_inspect("sl", "{{.State.Status}}"), "exited");
    assert_eq!(d.docker_inspect("sl", "{{.State.ExitCode}}"), "137");
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
    assert_eq!(d.docker_inspect("trap", "{{.State.ExitCode}}"), "9");
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
    assert_eq!(d.docker_inspect("att", "{{.State.Status}}"), "running");
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
            d.docker_inspect("rr", "{{.RestartCount}}")
                .parse::<u32>()
                .unwrap_or(0)
                >= 2
        }),
        "RestartCount stays at {}",
        d.docker_inspect("rr", "{{.RestartCount}}")
    );
    sleep(Duration::from_millis(500));
    let st = d.docker_inspect("rr", "{{.State.Status}}");
    assert!(st == "running" || st == "restarting", "{st}");
    // stop ends the restart loop
    d.docker_ok(&["stop", "rr"]);
    let n = d.docker_inspect("rr", "{{.RestartCount}}");
    sleep(Duration::from_millis(1500));
    assert_eq!(d.docker_inspect("rr", "{{.State.Status}}"), "exited");
    assert_eq!(
        d.docker_inspect("rr", "{{.RestartCount}}"),
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
            d.docker_inspect("rr", "{{.RestartCount}}") == "2"
                && d.docker_inspect("rr", "{{.State.Status}}") == "exited"
        }),
        "{}",
        d.docker_inspect("rr", "{{.RestartCount}} {{.State.Status}}")
    );
    sleep(Duration::from_millis(1500));
    assert_eq!(
        d.docker_inspect(
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
        d.docker_inspect("ok", "{{.RestartCount}} {{.State.Status}}"),
        "0 exited"
    );
}

#[test]
fn pause_unpause_rename_inspect() {
    let d = TestBerthd::start("pause");
    d.docker_ok(&["run", "-d", "--name", "pp", "busybox", "sleep", "100"]);
    assert_eq!(d.docker_inspect("pp", "{{.State.Status}}"), "running");
    assert_eq!(d.docker_ok(&["pause", "pp"]), "pp");
    assert_eq!(
        d.docker_inspect("pp", "{{.State.Status}} {{.State.Paused}}"),
        "paused true"
    );
    let ps = d.docker_ok(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.ends_with("(Paused)"), "{ps}");
    let out = d.docker(&["exec", "pp", "true"]);
    assert_ne!(out.code(), 0, "exec on a paused container: {out:?}");
    assert!(out.stderr.contains("is paused"), "{out:?}");
    assert_eq!(d.docker_ok(&["unpause", "pp"]), "pp");
    assert_eq!(
        d.docker_inspect("pp", "{{.State.Status}} {{.State.Paused}}"),
        "running false"
    );
    assert_eq!(d.docker_ok(&["exec", "pp", "echo", "alive"]), "alive");

    d.docker_ok(&["rename", "pp", "qq"]);
    assert_eq!(d.docker_inspect("qq", "{{.Name}}"), "/qq");
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
    let id = d.docker_inspect("qq", "{{.Id}}");
    assert_eq!(id.len(), 64);
    assert_eq!(d.docker_inspect(&id[..12], "{{.Name}}"), "/qq");
    assert_eq!(
        d.docker_inspect(
            "qq",
            "{{.Config.Image}} {{json .Config.Cmd}} {{.HostConfig.NetworkMode}}"
        ),
        "busybox [\"sleep\",\"100\"] bridge"
    );
    assert_eq!(
        d.docker_inspect("qq", "{{.Config.Hostname}}"),
        id[..12].to_string()
    );
    let pid: u32 = d
        .docker_inspect("qq", "{{.State.Pid}}")
        .parse()
        .expect("pid");
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
