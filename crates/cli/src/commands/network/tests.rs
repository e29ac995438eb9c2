//! Unit tests of the `network` commands' flags, request bodies and output, checked
//! against what docker 28.2.2 sent to and printed from a canned daemon.

use clap::Parser;

use super::show::{render_inspect, render_ls};
use super::*;

#[derive(Debug, Parser)]
struct T {
    #[command(subcommand)]
    cmd: NetworkCmd,
}

fn parse(args: &[&str]) -> NetworkCmd {
    let mut v = vec!["network"];
    v.extend_from_slice(args);
    T::try_parse_from(v).unwrap().cmd
}

fn create_args(args: &[&str]) -> CreateArgs {
    let mut v = vec!["create"];
    v.extend_from_slice(args);
    match parse(&v) {
        NetworkCmd::Create(a) => a,
        other => panic!("{other:?}"),
    }
}

#[test]
fn create_body_like_docker() {
    let a = create_args(&[
        "--subnet",
        "10.1.0.0/24",
        "--gateway",
        "10.1.0.1",
        "--ip-range",
        "10.1.0.128/25",
        "--label",
        "a=b",
        "-o",
        "com.docker.network.bridge.name=br9",
        "--ipv6",
        "--internal",
        "--attachable",
        "n1",
    ]);
    assert_eq!(
        create_body(&a).unwrap(),
        json!({"Driver": "bridge", "Scope": "", "EnableIPv6": true,
            "IPAM": {"Driver": "default", "Options": {}, "Config": [
                {"Subnet": "10.1.0.0/24", "IPRange": "10.1.0.128/25", "Gateway": "10.1.0.1"}]},
            "Internal": true, "Attachable": true, "Ingress": false, "ConfigOnly": false,
            "ConfigFrom": null, "Options": {"com.docker.network.bridge.name": "br9"},
            "Labels": {"a": "b"}, "Name": "n1"})
    );
    let b = create_body(&create_args(&["n2"])).unwrap();
    assert_eq!(
        b,
        json!({"Driver": "bridge", "Scope": "",
            "IPAM": {"Driver": "default", "Options": {}, "Config": []}, "Internal": false,
            "Attachable": false, "Ingress": false, "ConfigOnly": false, "ConfigFrom": null,
            "Options": {}, "Labels": {}, "Name": "n2"})
    );
    let b = create_body(&create_args(&[
        "--ipv4=false",
        "--ipam-opt",
        "x=y",
        "--aux-address",
        "host1=10.1.0.5",
        "--subnet",
        "10.1.0.0/24,fd00::/64",
        "-d",
        "macvlan",
        "--config-from",
        "base",
        "n3",
    ]))
    .unwrap();
    assert_eq!(b["EnableIPv4"], false);
    assert!(b.get("EnableIPv6").is_none());
    assert_eq!(
        b["Driver"], "macvlan",
        "other drivers are the daemon's to refuse"
    );
    assert_eq!(b["ConfigFrom"], json!({"Network": "base"}));
    assert_eq!(
        b["IPAM"],
        json!({"Driver": "default", "Options": {"x": "y"}, "Config": [
            {"Subnet": "10.1.0.0/24", "AuxiliaryAddresses": {"host1": "10.1.0.5"}},
            {"Subnet": "fd00::/64"}]})
    );
}

#[test]
fn create_validation() {
    let e = |args: &[&str]| create_body(&create_args(args)).unwrap_err().to_string();
    assert_eq!(
        e(&["--subnet", "10.1.0.0/24", "--gateway", "10.2.0.1", "x"]),
        "no matching subnet for gateway 10.2.0.1"
    );
    assert_eq!(
        e(&["--gateway", "10.2.0.1", "x"]),
        "every ip-range or gateway must have a corresponding subnet"
    );
    assert!(e(&["--label", "=x", "x"]).starts_with(
        "invalid argument \"=x\" for \"--label\" flag: invalid label '=x': empty name"
    ));
    assert!(T::try_parse_from(["network", "create", "--ipv6=maybe", "x"]).is_err());
    assert!(T::try_parse_from(["network", "create"]).is_err());
    // `--ipv6 name` must not take the name as the flag's value.
    assert_eq!(create_args(&["--ipv6", "x"]).name, "x");
}

#[test]
fn connect_and_disconnect_bodies() {
    let NetworkCmd::Connect(a) = parse(&[
        "connect",
        "--alias",
        "a1",
        "--ip",
        "10.1.0.7",
        "--link",
        "c:d",
        "--driver-opt",
        "k=v",
        "n1",
        "ctr",
    ]) else {
        panic!()
    };
    assert_eq!(
        connect_body(&a).unwrap(),
        json!({"Container": "ctr", "EndpointConfig": {"IPAMConfig": {"IPv4Address": "10.1.0.7"},
            "Links": ["c:d"], "Aliases": ["a1"], "MacAddress": "", "DriverOpts": {"k": "v"},
            "GwPriority": 0, "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "",
            "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
            "DNSNames": null}})
    );
    let NetworkCmd::Connect(a) = parse(&["connect", "n1", "ctr"]) else {
        panic!()
    };
    let b = connect_body(&a).unwrap();
    assert_eq!(b["EndpointConfig"]["IPAMConfig"], json!({}));
    assert_eq!(b["EndpointConfig"]["Aliases"], json!([]));
    assert_eq!(b["EndpointConfig"]["DriverOpts"], json!({}));
    assert!(b["EndpointConfig"]["Links"].is_null());
    let NetworkCmd::Connect(a) = parse(&["connect", "--driver-opt", "novalue", "n1", "c"]) else {
        panic!()
    };
    assert_eq!(
        connect_body(&a).unwrap_err().to_string(),
        "invalid key/value pair format in driver options"
    );
    assert!(matches!(
        parse(&["disconnect", "-f", "n1", "ctr"]),
        NetworkCmd::Disconnect(DisconnectArgs { force: true, .. })
    ));
    assert!(matches!(parse(&["remove", "a", "b"]), NetworkCmd::Rm(_)));
    assert!(matches!(parse(&["list", "-q"]), NetworkCmd::Ls(_)));
}

fn nets() -> Vec<Value> {
    vec![
        json!({"Name": "net10", "Id": "a".repeat(64), "Driver": "bridge", "Scope": "local",
               "Created": "2026-01-02T03:04:05.5Z", "Labels": {"b": "2", "a": "1"},
               "EnableIPv6": true}),
        json!({"Name": "bridge", "Id": "b".repeat(64), "Driver": "bridge", "Scope": "local",
               "Created": "2026-01-02T03:04:05Z", "Labels": {}}),
        json!({"Name": "net2", "Id": "c".repeat(64), "Driver": "bridge", "Scope": "local",
               "Created": "2026-01-02T03:04:05.120Z", "Internal": true}),
        json!({"Name": "host", "Id": "d".repeat(64), "Driver": "host", "Scope": "local",
               "Created": "2026-01-02T03:04:05Z"}),
    ]
}

fn ls_args(args: &[&str]) -> LsArgs {
    let mut v = vec!["ls"];
    v.extend_from_slice(args);
    match parse(&v) {
        NetworkCmd::Ls(a) => a,
        other => panic!("{other:?}"),
    }
}

#[test]
fn ls_table_sorted_by_name() {
    let out = render_ls(&mut nets(), &ls_args(&[])).unwrap();
    assert_eq!(
        out,
        "NETWORK ID     NAME      DRIVER    SCOPE\n\
         bbbbbbbbbbbb   bridge    bridge    local\n\
         dddddddddddd   host      host      local\n\
         cccccccccccc   net2      bridge    local\n\
         aaaaaaaaaaaa   net10     bridge    local\n"
    );
    let q = render_ls(&mut nets(), &ls_args(&["-q"])).unwrap();
    assert_eq!(
        q,
        "bbbbbbbbbbbb\ndddddddddddd\ncccccccccccc\naaaaaaaaaaaa\n"
    );
    let q = render_ls(&mut nets(), &ls_args(&["-q", "--no-trunc"])).unwrap();
    assert_eq!(q.lines().next().unwrap(), "b".repeat(64));
    let f = render_ls(
        &mut nets(),
        &ls_args(&[
            "--format",
            "{{.Name}} {{.IPv6}} {{.Internal}} {{.Labels}}|{{.CreatedAt}}",
        ]),
    )
    .unwrap();
    assert_eq!(
        f,
        "bridge false false |2026-01-02 03:04:05 +0000 UTC\n\
         host false false |2026-01-02 03:04:05 +0000 UTC\n\
         net2 false true |2026-01-02 03:04:05.12 +0000 UTC\n\
         net10 true false a=1,b=2|2026-01-02 03:04:05.5 +0000 UTC\n"
    );
    let t = render_ls(
        &mut nets(),
        &ls_args(&["--format", "table {{.Name}}\t{{.IPv4}}"]),
    )
    .unwrap();
    assert!(t.starts_with("NAME      IPV4\nbridge    false\n"), "{t}");
    let j = render_ls(&mut nets()[..1], &ls_args(&["--format", "json"])).unwrap();
    let v: Value = serde_json::from_str(j.trim()).unwrap();
    assert_eq!(v["Name"], "net10");
    assert_eq!(v["ID"], "aaaaaaaaaaaa");
    assert_eq!(v["IPv6"], "true");
}

#[test]
fn inspect_keeps_daemon_order() {
    let raw =
        br#"{"Name":"n1","Id":"0123","Containers":{},"IPAM":{"Config":[{"Subnet":"10.1.0.0/24"}]}}
"#
        .to_vec();
    let out = render_inspect(std::slice::from_ref(&raw), None).unwrap();
    assert_eq!(
        out,
        "[\n    {\n        \"Name\": \"n1\",\n        \"Id\": \"0123\",\n        \"Containers\": {},\n        \"IPAM\": {\n            \"Config\": [\n                {\n                    \"Subnet\": \"10.1.0.0/24\"\n                }\n            ]\n        }\n    }\n]\n"
    );
    assert_eq!(render_inspect(&[], None).unwrap(), "[]\n");
    assert_eq!(
        render_inspect(&[raw.clone(), raw.clone()], Some("json")).unwrap(),
        format!(
            "[{},{}]\n",
            String::from_utf8_lossy(&raw).trim(),
            String::from_utf8_lossy(&raw).trim()
        )
    );
    assert_eq!(
        render_inspect(
            std::slice::from_ref(&raw),
            Some("{{.Name}} {{range .IPAM.Config}}{{.Subnet}}{{end}}")
        )
        .unwrap(),
        "n1 10.1.0.0/24\n"
    );
    assert_eq!(render_inspect(&[], Some("{{.Name}}")).unwrap(), "\n");
    let e = render_inspect(&[raw], Some("{{.Name")).unwrap_err();
    assert!(e.to_string().starts_with("template parsing error"), "{e}");
}
