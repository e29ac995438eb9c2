//! Networking acceptance tests through the stock `docker` CLI: the default bridge, user
//! networks with DNS, published ports (127.0.0.1, the gateway address, hairpin),
//! `none`/`container:` modes, `--internal`, NAT to a namespace standing in for the
//! outside world, bad input, and two daemons side by side.
//!
//! Traffic goes only to 127.0.0.0/8 and to addresses these tests create (bridges,
//! containers, the test's own network namespace). Each daemon has its own bridge,
//! subnet and nftables table; its teardown fails the test on a leftover veth, bridge or
//! table.
#![allow(clippy::tests_outside_test_module)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use berth_tests::berthd::{free_subnet24, TestBerthd};

/// The shell line that serves `body` with busybox httpd on port 80, in the foreground.
fn httpd(body: &str) -> String {
    format!("mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p 80 -h /www")
}

// Busybox 1.35 (Debian) `wget -T` crashes; tests bound wget with `timeout` instead.

/// A shell line fetching `url` with a 5 s limit. Never `timeout` as the container's
/// pid 1: the kernel drops its SIGTERM there, so `sh -c` keeps a parent around.
fn fetch(url: impl AsRef<str>) -> String {
    format!("timeout 5 wget -qO- {} || exit 1", url.as_ref())
}

/// `GET /` over plain TCP; the body, or None if nothing answered.
fn http_get(addr: &str) -> Option<String> {
    let addr: SocketAddr = addr.parse().ok()?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.trim().to_string())
}

/// Retries `http_get` for a few seconds (httpd needs a moment after `run -d`).
fn http_get_retry(addr: &str) -> Option<String> {
    let start = Instant::now();
    loop {
        if let Some(b) = http_get(addr) {
            return Some(b);
        }
        if start.elapsed() > Duration::from_secs(5) {
            return None;
        }
        sleep(Duration::from_millis(100));
    }
}

fn inspect(d: &TestBerthd, name: &str, format: &str) -> String {
    d.docker_ok(&["inspect", "-f", format, name])
}

/// The first address of a `10.x.y.0/24`.
fn gateway_of(subnet: &str) -> String {
    subnet.replace(".0/24", ".1")
}

#[test]
fn default_bridge_address_route_and_etc_files() {
    let d = TestBerthd::start("net-default");
    let out = d.docker_ok(&[
        "run",
        "--rm",
        "--hostname",
        "box",
        "--add-host",
        "gw:host-gateway",
        "busybox",
        "sh",
        "-c",
        "ip -o -4 addr show eth0; ip route; cat /etc/hosts; cat /etc/hostname",
    ]);
    let prefix = d.subnet.trim_end_matches("0/24");
    assert!(out.contains(&format!("inet {prefix}")), "{out}");
    assert!(
        out.contains(&format!("default via {}", gateway_of(&d.subnet))),
        "{out}"
    );
    assert!(
        out.contains(&format!("{}\tgw", gateway_of(&d.subnet))),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with(prefix) && l.ends_with("\tbox")),
        "{out}"
    );
    // `none` has only loopback.
    let links = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.contains(": lo:") && links.contains("UP"), "{links}");
    // inspect/ps of a running container show the address.
    d.docker_ok(&["run", "-d", "--name", "c1", "busybox", "sleep", "60"]);
    let ip = inspect(&d, "c1", "{{.NetworkSettings.IPAddress}}");
    assert!(ip.starts_with(prefix), "{ip}");
    let nets = inspect(
        &d,
        "c1",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}}{{end}}",
    );
    assert_eq!(nets, format!("bridge={ip}"));
    // `container:` shares the stack.
    let shared = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "container:c1",
        "busybox",
        "ip",
        "-o",
        "-4",
        "addr",
        "show",
        "eth0",
    ]);
    assert!(shared.contains(&format!("inet {ip}/")), "{shared}");
    d.docker_ok(&["rm", "-f", "c1"]);
}

#[test]
fn published_ports_localhost_gateway_hairpin_and_port_command() {
    let d = TestBerthd::start("net-ports");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "127.0.0.1::80",
        "-p",
        "80",
        "busybox",
        "sh",
        "-c",
        &httpd("hello-web"),
    ]);
    let port = d.docker_ok(&["port", "web", "80/tcp"]);
    let mut lines: Vec<&str> = port.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 2, "{port}");
    let local = lines
        .iter()
        .find(|l| l.starts_with("127.0.0.1:"))
        .expect("127.0.0.1 binding")
        .to_string();
    let any = lines
        .iter()
        .find(|l| l.starts_with("0.0.0.0:"))
        .expect("0.0.0.0 binding")
        .to_string();
    assert_eq!(http_get_retry(&local).as_deref(), Some("hello-web"));
    // The wildcard binding answers on loopback and on the host's bridge address.
    let any_port = any.rsplit(':').next().unwrap();
    assert_eq!(
        http_get_retry(&format!("127.0.0.1:{any_port}")).as_deref(),
        Some("hello-web")
    );
    let gw = gateway_of(&d.subnet);
    assert_eq!(
        http_get_retry(&format!("{gw}:{any_port}")).as_deref(),
        Some("hello-web")
    );
    // Hairpin: the container reaches its own published port through the host address.
    let hair = d.docker_ok(&[
        "exec",
        "web",
        "timeout",
        "5",
        "wget",
        "-qO-",
        &format!("http://{gw}:{any_port}/"),
    ]);
    assert_eq!(hair.trim(), "hello-web");
    // Another container reaches it too.
    let other = d.docker_ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        &fetch(format!("http://{gw}:{any_port}/")),
    ]);
    assert_eq!(other.trim(), "hello-web");
    // ps shows the bindings.
    let ps = d.docker_ok(&["ps", "--format", "{{.Ports}}", "-f", "name=web"]);
    assert!(ps.contains(&format!("{local}->80/tcp")), "{ps}");
    // No userland proxy: berthd itself holds the ports, no process per port.
    let procs = Command::new("pgrep")
        .args(["-f", "docker-proxy|berth-proxy"])
        .output()
        .unwrap();
    assert!(procs.stdout.is_empty());
    // After stop the port is closed and free again.
    d.docker_ok(&["stop", "-t", "1", "web"]);
    assert_eq!(http_get(&local), None);
    // berthd withdraws the DNAT elements in the background and holds the port until
    // they are gone (the kernel takes 10-20 ms per withdrawal).
    let start = Instant::now();
    while TcpListener::bind(&local).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "port not released after stop"
        );
        sleep(Duration::from_millis(20));
    }
    d.docker_ok(&["rm", "web"]);
}

#[test]
fn fixed_host_port_and_conflicts() {
    let d = TestBerthd::start("net-conflict");
    // A port some host program already uses is refused, and nothing is left behind.
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port();
    let out = d.docker(&[
        "run",
        "-d",
        "--name",
        "clash",
        "-p",
        &format!("127.0.0.1:{busy_port}:80"),
        "busybox",
        "sleep",
        "30",
    ]);
    assert_ne!(out.code(), 0);
    assert!(out.stderr.contains("already"), "{}", out.stderr);
    assert_eq!(inspect(&d, "clash", "{{.State.Running}}"), "false");
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
    d.docker_ok(&["rm", "clash"]);
    drop(busy);
    // A free fixed port works; a second container cannot take it.
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec = format!("127.0.0.1:{free}:80");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "pa",
        "-p",
        &spec,
        "busybox",
        "sh",
        "-c",
        &httpd("pa"),
    ]);
    assert_eq!(
        http_get_retry(&format!("127.0.0.1:{free}")).as_deref(),
        Some("pa")
    );
    let second = d.docker(&[
        "run", "-d", "--name", "pb", "-p", &spec, "busybox", "sleep", "30",
    ]);
    assert_ne!(second.code(), 0);
    assert!(
        second.stderr.contains("port is already allocated"),
        "{}",
        second.stderr
    );
    d.docker_ok(&["rm", "-f", "pa", "pb"]);
    // -P publishes every exposed port on an ephemeral host port; ranges map one to one.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "all",
        "-P",
        "--expose",
        "80",
        "--expose",
        "90/udp",
        "busybox",
        "sh",
        "-c",
        &httpd("all"),
    ]);
    let ports = d.docker_ok(&["port", "all"]);
    assert_eq!(ports.lines().count(), 2, "{ports}");
    let tcp = ports
        .lines()
        .find(|l| l.starts_with("80/tcp -> 0.0.0.0:"))
        .expect("80/tcp");
    let host_port = tcp.rsplit(':').next().unwrap();
    assert_eq!(
        http_get_retry(&format!("127.0.0.1:{host_port}")).as_deref(),
        Some("all")
    );
    assert!(ports.contains("90/udp -> 0.0.0.0:"), "{ports}");
    let base = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let range = format!("127.0.0.1:{}-{}:80-82", base, base + 2);
    if d.docker(&[
        "run", "-d", "--name", "rng", "-p", &range, "busybox", "sleep", "60",
    ])
    .code()
        == 0
    {
        let r = d.docker_ok(&["port", "rng"]);
        for (i, p) in [80, 81, 82].iter().enumerate() {
            assert!(
                r.contains(&format!("{p}/tcp -> 127.0.0.1:{}", base as usize + i)),
                "{r}"
            );
        }
    }
    d.docker_ok(&["rm", "-f", "all", "rng"]);
}

#[test]
fn user_network_dns_aliases_and_isolation() {
    let d = TestBerthd::start("net-user");
    let subnet = free_subnet24(1);
    let id = d.docker_ok(&[
        "network", "create", "--subnet", &subnet, "--label", "t=1", "appnet",
    ]);
    assert_eq!(id.len(), 64, "{id}");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "appnet",
        "--network-alias",
        "www",
        "busybox",
        "sh",
        "-c",
        &httpd("from-web"),
    ]);
    let by_name = d.docker_ok(&[
        "run", "--rm", "--network", "appnet", "busybox", "sh", "-c",
        "for i in 1 2 3 4 5 6 7 8 9 10; do timeout 5 wget -qO- http://web/ && break; sleep 0.3; done",
    ]);
    assert_eq!(by_name.trim(), "from-web");
    let by_alias = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "appnet",
        "busybox",
        "sh",
        "-c",
        &fetch("http://www/"),
    ]);
    assert_eq!(by_alias.trim(), "from-web");
    let ping = d.docker(&[
        "run",
        "--rm",
        "--network",
        "appnet",
        "busybox",
        "ping",
        "-c1",
        "-W2",
        "web",
    ]);
    assert_eq!(ping.code(), 0, "{}{}", ping.stdout, ping.stderr);
    // The default bridge has no name resolution (Docker's behaviour).
    let on_default = d.docker(&["run", "--rm", "busybox", "nslookup", "web"]);
    assert_ne!(on_default.code(), 0);
    // Another user network cannot reach appnet's containers.
    let web_ip = inspect(&d, "web", "{{.NetworkSettings.Networks.appnet.IPAddress}}");
    assert!(
        web_ip.starts_with(subnet.trim_end_matches("0/24")),
        "{web_ip}"
    );
    let other = free_subnet24(2);
    d.docker_ok(&["network", "create", "--subnet", &other, "othernet"]);
    let cross = d.docker(&[
        "run",
        "--rm",
        "--network",
        "othernet",
        "busybox",
        "sh",
        "-c",
        &fetch(format!("http://{web_ip}/")),
    ]);
    assert_ne!(cross.code(), 0, "{}", cross.stdout);
    // connect makes it reachable; disconnect takes it away again.
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "client",
        "--network",
        "othernet",
        "busybox",
        "sleep",
        "60",
    ]);
    d.docker_ok(&["network", "connect", "--alias", "cli", "appnet", "client"]);
    let via = d.docker_ok(&[
        "exec",
        "client",
        "timeout",
        "5",
        "wget",
        "-qO-",
        "http://web/",
    ]);
    assert_eq!(via.trim(), "from-web");
    d.docker_ok(&["network", "disconnect", "appnet", "client"]);
    let gone = d.docker(&["exec", "client", "ip", "-o", "link"]);
    assert_eq!(gone.stdout.lines().count(), 2, "{}", gone.stdout);
    // ls / inspect / rm rules.
    let ls = d.docker_ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    for want in [
        "appnet bridge",
        "bridge bridge",
        "host host",
        "none null",
        "othernet bridge",
    ] {
        assert!(ls.lines().any(|l| l == want), "{want} missing in {ls}");
    }
    let ins = inspect(
        &d,
        "appnet",
        "{{(index .IPAM.Config 0).Subnet}} {{.Labels.t}}",
    );
    assert_eq!(ins, format!("{subnet} 1"));
    let busy = d.docker(&["network", "rm", "appnet"]);
    assert_ne!(busy.code(), 0);
    assert!(
        busy.stderr.contains("has active endpoints"),
        "{}",
        busy.stderr
    );
    let builtin = d.docker(&["network", "rm", "bridge"]);
    assert!(
        builtin.stderr.contains("pre-defined network"),
        "{}",
        builtin.stderr
    );
    d.docker_ok(&["rm", "-f", "web", "client"]);
    d.docker_ok(&["network", "rm", "appnet"]);
    let pruned = d.docker_ok(&["network", "prune", "-f"]);
    assert!(pruned.contains("othernet"), "{pruned}");
}

#[test]
fn network_bad_input() {
    let d = TestBerthd::start("net-bad");
    let subnet = free_subnet24(3);
    d.docker_ok(&["network", "create", "--subnet", &subnet, "n1"]);
    let overlap = d.docker(&["network", "create", "--subnet", &subnet, "n2"]);
    assert_ne!(overlap.code(), 0);
    assert!(overlap.stderr.contains("overlaps"), "{}", overlap.stderr);
    let dup = d.docker(&["network", "create", "n1"]);
    assert!(dup.stderr.contains("already exists"), "{}", dup.stderr);
    let outside = d.docker(&[
        "run",
        "--rm",
        "--network",
        "n1",
        "--ip",
        "192.0.2.10",
        "busybox",
        "true",
    ]);
    assert_eq!(outside.code(), 125, "{}", outside.stderr);
    let on_default = d.docker(&["run", "--rm", "--ip", "10.1.2.3", "busybox", "true"]);
    assert!(
        on_default.stderr.contains("user defined networks"),
        "{}",
        on_default.stderr
    );
    let unknown = d.docker(&["run", "--rm", "--network", "nope", "busybox", "true"]);
    assert_eq!(unknown.code(), 125);
    assert!(
        unknown.stderr.contains("network nope not found"),
        "{}",
        unknown.stderr
    );
    // Another container's stack that does not exist: refused at create, and the CLI
    // does not take it for a missing image (no pull attempt).
    let no_peer = d.docker(&[
        "run",
        "--rm",
        "--network",
        "container:nope",
        "busybox",
        "true",
    ]);
    assert_eq!(no_peer.code(), 125);
    assert!(
        no_peer.stderr.contains("No such container: nope")
            && !no_peer.stderr.contains("Unable to find image"),
        "{}",
        no_peer.stderr
    );
    // The stack of a container that is not running: refused at start, after the shim
    // got its flags (it gives the start up and leaves nothing; see leftovers below).
    d.docker_ok(&["create", "--name", "idle", "busybox", "true"]);
    let not_running = d.docker(&[
        "run",
        "--rm",
        "--network",
        "container:idle",
        "busybox",
        "true",
    ]);
    assert_ne!(not_running.code(), 0, "{}", not_running.stdout);
    assert!(
        not_running.stderr.contains("non running container"),
        "{}",
        not_running.stderr
    );
    d.docker_ok(&["rm", "idle"]);
    let gw = d.docker(&[
        "network",
        "create",
        "--subnet",
        &free_subnet24(4),
        "--gateway",
        "192.0.2.1",
        "n3",
    ]);
    assert_ne!(gw.code(), 0, "{}", gw.stdout);
    let (code, body) = d.http("POST", "/networks/create", Some("{\"Name\": 5}"));
    assert_eq!(code, 400, "{body}");
    let (code, _) = d.http("DELETE", "/networks/nope", None);
    assert_eq!(code, 404);
    // A fixed address in the subnet is honoured; a second taker gets an error.
    let fixed = subnet.replace(".0/24", ".77");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "f1",
        "--network",
        "n1",
        "--ip",
        &fixed,
        "busybox",
        "sleep",
        "60",
    ]);
    assert_eq!(
        inspect(&d, "f1", "{{.NetworkSettings.Networks.n1.IPAddress}}"),
        fixed
    );
    let taken = d.docker(&[
        "run",
        "-d",
        "--name",
        "f2",
        "--network",
        "n1",
        "--ip",
        &fixed,
        "busybox",
        "sleep",
        "60",
    ]);
    assert_ne!(taken.code(), 0);
    d.docker_ok(&["rm", "-f", "f1", "f2"]);
    assert!(d.leftovers().is_empty(), "{:?}", d.leftovers());
    d.docker_ok(&["network", "rm", "n1"]);
}

/// A network namespace standing in for the outside world: a veth to the host with a
/// /24 of its own, and busybox httpd listening in it. Removed on drop.
struct Outside {
    ns: String,
    host_if: String,
    ns_ip: String,
    dir: std::path::PathBuf,
    server: Option<std::process::Child>,
}

impl Outside {
    fn new(tag: &str) -> Outside {
        let subnet = free_subnet24(10);
        let (host_ip, ns_ip) = (subnet.replace(".0/24", ".1"), subnet.replace(".0/24", ".2"));
        let ns = format!("bto-{}-{tag}", std::process::id());
        let host_if = format!("bo{:x}{}", std::process::id(), &tag[..1]);
        let sh = |line: &str| {
            let st = Command::new("sh").args(["-c", line]).status().unwrap();
            assert!(st.success(), "{line}");
        };
        sh(&format!("ip netns add {ns}"));
        let dir = std::env::temp_dir().join(&ns);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "outside\n").unwrap();
        let mut o = Outside {
            ns,
            host_if,
            ns_ip,
            dir,
            server: None,
        };
        sh(&format!(
            "ip link add {h} type veth peer name eth0 netns {ns} && ip addr add {host_ip}/24 dev {h} && ip link set {h} up && \
             ip -n {ns} addr add {nsip}/24 dev eth0 && ip -n {ns} link set eth0 up && ip -n {ns} link set lo up",
            h = o.host_if, ns = o.ns, nsip = o.ns_ip
        ));
        o.server = Some(
            Command::new("ip")
                .args([
                    "netns", "exec", &o.ns, "busybox", "httpd", "-f", "-p", "8080", "-h",
                ])
                .arg(&o.dir)
                .spawn()
                .unwrap(),
        );
        o
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn nat_reaches_outside_but_internal_does_not() {
    let d = TestBerthd::start("net-nat");
    let out = Outside::new("nat");
    let url = format!("http://{}:8080/", out.ns_ip);
    let retry = format!(
        "for i in 1 2 3 4 5 6 7 8 9 10; do timeout 5 wget -qO- {url} && exit 0; sleep 0.3; done; exit 1"
    );
    // Default bridge → masqueraded through the host to the outside namespace.
    let got = d.docker_ok(&["run", "--rm", "busybox", "sh", "-c", &retry]);
    assert_eq!(got.trim(), "outside");
    let internal = free_subnet24(11);
    d.docker_ok(&[
        "network",
        "create",
        "--internal",
        "--subnet",
        &internal,
        "sealed",
    ]);
    let blocked = d.docker(&[
        "run",
        "--rm",
        "--network",
        "sealed",
        "busybox",
        "sh",
        "-c",
        &fetch(&url),
    ]);
    assert_ne!(blocked.code(), 0, "{}", blocked.stdout);
    let routes = d.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "sealed",
        "busybox",
        "ip",
        "route",
    ]);
    assert!(!routes.contains("default"), "{routes}");
    d.docker_ok(&["network", "rm", "sealed"]);
}

#[test]
fn addresses_survive_a_daemon_restart_and_two_daemons_coexist() {
    let mut d = TestBerthd::start("net-restart");
    let other = TestBerthd::start("net-second");
    d.docker_ok(&[
        "run",
        "-d",
        "--name",
        "one",
        "-p",
        "127.0.0.1::80",
        "busybox",
        "sh",
        "-c",
        &httpd("one"),
    ]);
    other.docker_ok(&[
        "run",
        "-d",
        "--name",
        "two",
        "-p",
        "127.0.0.1::80",
        "busybox",
        "sh",
        "-c",
        &httpd("two"),
    ]);
    let ip1 = inspect(&d, "one", "{{.NetworkSettings.IPAddress}}");
    let p1 = d.docker_ok(&["port", "one", "80"]);
    let p2 = other.docker_ok(&["port", "two", "80"]);
    assert_eq!(http_get_retry(&p1).as_deref(), Some("one"));
    assert_eq!(http_get_retry(&p2).as_deref(), Some("two"));
    let rules_before = nft_rules(&d.nft_table());
    assert!(rules_before.contains("masquerade"), "{rules_before}");
    d.kill_daemon();
    d.restart_daemon();
    // The running container keeps its address and port; a new one gets another address.
    assert_eq!(http_get_retry(&p1).as_deref(), Some("one"));
    d.docker_ok(&["run", "-d", "--name", "three", "busybox", "sleep", "60"]);
    let ip3 = inspect(&d, "three", "{{.NetworkSettings.IPAddress}}");
    assert_ne!(ip1, ip3);
    // Rules were reconciled, not duplicated: the same rule lines as before the restart.
    let rules_after = nft_rules(&d.nft_table());
    assert_eq!(rule_lines(&rules_before), rule_lines(&rules_after));
    d.docker_ok(&["rm", "-f", "one", "three"]);
    other.docker_ok(&["rm", "-f", "two"]);
}

/// `nft list table ip <table>`.
fn nft_rules(table: &str) -> String {
    let out = Command::new("nft")
        .args(["list", "table", "ip", table])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The rule lines of a listing (set elements and handles left out), sorted.
fn rule_lines(listing: &str) -> Vec<String> {
    let mut v: Vec<String> = listing
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.contains("masquerade")
                || l.contains("dnat")
                || l.contains("drop")
                || l.contains("accept")
        })
        .map(str::to_string)
        .collect();
    v.sort();
    v
}
