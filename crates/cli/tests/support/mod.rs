//! The networking scenario shared by the `berth` CLI acceptance tests: the same steps run
//! against Docker's own dockerd (the reference) and against berthd.
//!
//! Runs in the test process; drives the built `berth` binary with `-H unix://<sock>`
//! and, where output must match Docker's byte for byte, the stock `docker` CLI against
//! the same daemon. Creates networks `bnet1`/`bnet2` (subnets from `free_subnet24`) and
//! containers `web`/`peer`; a guard removes them even when an assertion fails, so no
//! bridge outlives the test.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use berth_tests::berthd::free_subnet24;

/// Deadline for one CLI invocation.
const TIMEOUT: Duration = Duration::from_secs(90);

/// Exit code and output of one command.
#[derive(Debug, PartialEq, Eq)]
pub struct Out {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A daemon under test.
pub trait Daemon {
    /// Its API socket path.
    fn sock(&self) -> String;
    /// The stock `docker` CLI against it.
    fn docker(&self, args: &[&str]) -> Out;
}

/// Runs `cmd` to completion with captured output and a deadline.
pub fn run(mut cmd: Command) -> Out {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let mut so = child.stdout.take().expect("stdout pipe");
    let mut se = child.stderr.take().expect("stderr pipe");
    let t_out = thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t_err = thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{desc} timed out");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Out {
        code: status.code().unwrap_or(-1),
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// `berth -H unix://<sock> args…`.
pub fn berth(sock: &str, args: &[&str]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.arg("-H")
        .arg(format!("unix://{sock}"))
        .args(args)
        .env_remove("BERTH_HOST");
    run(cmd)
}

/// `berth …` that must succeed; returns stdout.
fn ok(sock: &str, args: &[&str]) -> String {
    let o = berth(sock, args);
    assert_eq!(o.code, 0, "berth {args:?}: {o:?}");
    o.stdout
}

/// Runs `args` through both CLIs and requires the same exit code, stdout and stderr
/// (with `docker`/`berth` in usage hints made equal).
fn same_as_docker(d: &dyn Daemon, args: &[&str]) -> Out {
    let ours = berth(&d.sock(), args);
    let theirs = d.docker(args);
    assert_eq!(ours, theirs, "berth and docker differ for {args:?}");
    ours
}

/// Removes the scenario's containers and networks when dropped.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = berth(&self.0, &["rm", "-f", "web", "peer"]);
        let _ = berth(&self.0, &["network", "rm", "bnet1", "bnet2"]);
    }
}

/// The networking flow: create/ls/inspect, run with `--network --ip --network-alias`
/// and published ports, name resolution by alias, `port`/`ps` output, connect and
/// disconnect, rm and prune, and client-side errors.
pub fn network_flow(d: &dyn Daemon, salt: usize) {
    let sock = d.sock();
    let s = sock.as_str();
    let _cleanup = Cleanup(sock.clone());
    let subnet = free_subnet24(salt);
    let prefix = subnet.trim_end_matches("0/24").to_string();
    let (gateway, range, ip) = (
        format!("{prefix}1"),
        format!("{prefix}128/25"),
        format!("{prefix}10"),
    );

    // create: id on stdout; Docker's client-side checks.
    let id = ok(
        s,
        &[
            "network",
            "create",
            "--subnet",
            &subnet,
            "--gateway",
            &gateway,
            "--ip-range",
            &range,
            "--label",
            "purpose=berth-test",
            "bnet1",
        ],
    );
    let id = id.trim();
    assert!(
        id.len() == 64 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id:?}"
    );
    let o = same_as_docker(d, &["network", "create", "bnet1"]);
    assert_eq!(o.code, 1, "duplicate name: {o:?}");
    let o = berth(s, &["network", "create", "--gateway", "10.9.9.1", "bad"]);
    assert_eq!(
        (o.code, o.stderr.as_str()),
        (
            1,
            "every ip-range or gateway must have a corresponding subnet\n"
        )
    );
    let second = free_subnet24(salt + 1);
    ok(s, &["network", "create", "--subnet", &second, "bnet2"]);

    // ls and inspect print exactly what docker prints.
    let ls = same_as_docker(d, &["network", "ls"]);
    assert!(
        ls.stdout
            .starts_with("NETWORK ID     NAME      DRIVER    SCOPE\n"),
        "{}",
        ls.stdout
    );
    assert!(
        ls.stdout.contains(&format!("{}   bnet1 ", &id[..12])),
        "{}",
        ls.stdout
    );
    same_as_docker(d, &["network", "ls", "-q", "--no-trunc"]);
    let named = same_as_docker(
        d,
        &[
            "network",
            "ls",
            "-f",
            "label=purpose=berth-test",
            "--format",
            "{{.Name}} {{.Driver}} {{.Labels}}",
        ],
    );
    assert_eq!(named.stdout, "bnet1 bridge purpose=berth-test\n");
    same_as_docker(d, &["network", "inspect", "bnet1", "bnet2"]);
    let o = same_as_docker(d, &["network", "inspect", "bnet1", "nosuch"]);
    assert_eq!(o.code, 1);
    let ipam = same_as_docker(
        d,
        &[
            "network",
            "inspect",
            "-f",
            "{{range .IPAM.Config}}{{.Subnet}} {{.IPRange}} {{.Gateway}}{{end}}",
            "bnet1",
        ],
    );
    assert_eq!(ipam.stdout, format!("{subnet} {range} {gateway}\n"));

    // run on the network with a fixed address, an alias and published ports.
    ok(
        s,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "--network",
            "bnet1",
            "--ip",
            &ip,
            "--network-alias",
            "webalias",
            "-p",
            "127.0.0.1::80",
            "--expose",
            "81",
            "busybox",
            "sh",
            "-c",
            "mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 80 -h /www",
        ],
    );
    let addr = ok(
        s,
        &[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            "web",
        ],
    );
    assert_eq!(addr.trim(), ip);
    let aliases = ok(
        s,
        &[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{range .Aliases}}{{.}} {{end}}{{end}}",
            "web",
        ],
    );
    assert!(aliases.contains("webalias"), "{aliases}");
    let pong = ok(
        s,
        &[
            "run",
            "--rm",
            "--network",
            "bnet1",
            "busybox",
            "ping",
            "-c",
            "1",
            "-W",
            "3",
            "webalias",
        ],
    );
    assert!(pong.contains(&format!("({ip})")), "{pong}");

    let port = same_as_docker(d, &["port", "web"]);
    assert!(
        port.stdout.starts_with("80/tcp -> 127.0.0.1:"),
        "{}",
        port.stdout
    );
    same_as_docker(d, &["port", "web", "80"]);
    let o = same_as_docker(d, &["port", "web", "81"]);
    assert_eq!(o.stderr, "Error: No public port '81' published for web\n");
    let ps = same_as_docker(
        d,
        &["ps", "--format", "{{.Names}}|{{.Ports}}|{{.Networks}}"],
    );
    assert!(
        ps.stdout.starts_with("web|81/tcp, 127.0.0.1:"),
        "{}",
        ps.stdout
    );
    assert!(ps.stdout.ends_with("->80/tcp|bnet1\n"), "{}", ps.stdout);

    // connect / disconnect.
    ok(
        s,
        &["network", "connect", "--alias", "second", "bnet2", "web"],
    );
    let nets = ok(s, &["ps", "--format", "{{.Networks}}", "-f", "name=web"]);
    assert_eq!(nets, "bnet1,bnet2\n");
    let o = berth(s, &["network", "connect", "bnet2", "web"]);
    assert_eq!(o.code, 1, "already connected: {o:?}");
    assert!(
        o.stderr.starts_with("Error response from daemon: "),
        "{o:?}"
    );
    ok(s, &["network", "disconnect", "bnet2", "web"]);
    assert_eq!(
        ok(s, &["ps", "--format", "{{.Networks}}", "-f", "name=web"]),
        "bnet1\n"
    );

    // rm: in use, missing, forced.
    let o = same_as_docker(d, &["network", "rm", "bnet1"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.ends_with("\nexit status 1\n"), "{o:?}");
    ok(s, &["rm", "-f", "web"]);
    let o = berth(s, &["network", "rm", "bnet1", "nosuch"]);
    assert_eq!((o.code, o.stdout.as_str()), (1, "bnet1\n"), "{o:?}");
    assert!(
        o.stderr.starts_with("Error response from daemon: "),
        "{o:?}"
    );
    assert!(o.stderr.contains("nosuch"), "{o:?}");
    let o = berth(s, &["network", "rm", "-f", "nosuch"]);
    assert_eq!((o.code, o.stdout.as_str(), o.stderr.as_str()), (0, "", ""));

    // prune removes the unused user network only.
    assert_eq!(
        ok(s, &["network", "prune", "-f"]),
        "Deleted Networks:\nbnet2\n\n"
    );
    assert_eq!(ok(s, &["network", "ls", "-q", "-f", "name=bnet"]), "");

    // Client-side errors of run.
    let o = berth(
        s,
        &["run", "--rm", "--network-alias", "x", "busybox", "true"],
    );
    assert_eq!(o.code, 125, "{o:?}");
    assert!(
        o.stderr
            .contains("network-scoped aliases are only supported for user-defined networks"),
        "{o:?}"
    );
}
