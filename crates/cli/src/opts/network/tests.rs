//! Unit tests of `--network` parsing and endpoint settings, checked against the bodies
//! docker 28.2.2 sent to a canned daemon.

use super::*;

fn net(v: &str) -> Attachment {
    parse_network_flag(v).unwrap()
}

fn flags() -> Attachment {
    Attachment::default()
}

#[test]
fn plain_and_long_network_syntax() {
    assert_eq!(net("my-net").target, "my-net");
    assert_eq!(net("container:abc").target, "container:abc");
    let a = net("name=N1,alias=x,alias=y,ip=10.0.0.2,ip6=fd00::2,mac-address=02:42:AC:11:00:02,driver-opt=k=V,gw-priority=5,link-local-ip=169.254.0.9");
    assert_eq!(a.target, "n1", "docker lowercases the long syntax");
    assert_eq!(a.aliases, ["x", "y"]);
    assert_eq!((a.ipv4.as_str(), a.ipv6.as_str()), ("10.0.0.2", "fd00::2"));
    assert_eq!(a.mac, "02:42:ac:11:00:02");
    assert_eq!(a.driver_opts.get("k").map(String::as_str), Some("v"));
    assert_eq!(a.gw_priority, 5);
    assert_eq!(a.link_local_ips, ["169.254.0.9"]);
    let e = |v: &str| parse_network_flag(v).unwrap_err().to_string();
    assert_eq!(
        e("alias=x"),
        "invalid argument \"alias=x\" for \"--network\" flag: network name/id is not specified"
    );
    assert_eq!(
        e("name=n,foo=bar"),
        "invalid argument \"name=n,foo=bar\" for \"--network\" flag: invalid field key foo"
    );
    assert_eq!(
        e("name=n,gw-priority=x"),
        "invalid argument \"name=n,gw-priority=x\" for \"--network\" flag: invalid gw-priority (x): invalid syntax"
    );
    assert_eq!(
        e("name=n,oops"),
        "invalid argument \"name=n,oops\" for \"--network\" flag: invalid field oops"
    );
    assert_eq!(csv_fields(r#"a,"b,c",d"#).unwrap(), ["a", "b,c", "d"]);
    assert_eq!(csv_fields(r#""x""y""#).unwrap(), ["x\"y"]);
    assert!(csv_fields(r#"a"b"#).is_err());
}

#[test]
fn user_defined_modes() {
    for m in ["default", "bridge", "host", "none", "container:x"] {
        assert!(!is_user_defined(m), "{m}");
    }
    for m in ["mynet", "containerx", "0123abcd"] {
        assert!(is_user_defined(m), "{m}");
    }
}

#[test]
fn endpoints_like_docker() {
    // `--network n1 --ip 10.1.0.9 --network-alias web --network-alias w2`
    let f = Attachment {
        ipv4: "10.1.0.9".into(),
        aliases: vec!["web".into(), "w2".into()],
        ..flags()
    };
    let eps = endpoints_config(&[net("n1")], &f).unwrap();
    assert_eq!(
        Value::Object(eps),
        json!({"n1": {"IPAMConfig": {"IPv4Address": "10.1.0.9"}, "Links": null,
            "Aliases": ["web", "w2"], "MacAddress": "", "DriverOpts": null, "GwPriority": 0,
            "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
            "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": null}})
    );
    // A lone network without options, or none at all: no endpoint.
    assert!(endpoints_config(&[net("bridge")], &flags())
        .unwrap()
        .is_empty());
    assert!(endpoints_config(&[net("n1")], &flags()).unwrap().is_empty());
    assert!(endpoints_config(&[], &flags()).unwrap().is_empty());
    // `--mac-address` alone lands on the default endpoint.
    let f = Attachment {
        mac: "02:42:ac:11:00:02".into(),
        ..flags()
    };
    let eps = endpoints_config(&[], &f).unwrap();
    assert_eq!(eps["default"]["MacAddress"], "02:42:ac:11:00:02");
    assert!(eps["default"]["IPAMConfig"].is_null());
    // Two networks: both get endpoints; the flags apply to the first only.
    let f = Attachment {
        links: vec!["db:database".into()],
        ..flags()
    };
    let eps = endpoints_config(&[net("n1"), net("n2")], &f).unwrap();
    assert_eq!(eps["n1"]["Links"], json!(["db:database"]));
    assert!(eps["n2"]["Links"].is_null());
    // On the default bridge `--link` is a legacy link, not an endpoint option.
    assert!(endpoints_config(&[net("bridge")], &f).unwrap().is_empty());
}

#[test]
fn endpoint_errors() {
    let e = |nets: &[&str], f: Attachment| {
        let nets: Vec<Attachment> = nets.iter().map(|n| net(n)).collect();
        endpoints_config(&nets, &f).unwrap_err().to_string()
    };
    let alias = Attachment {
        aliases: vec!["x".into()],
        ..flags()
    };
    assert_eq!(
        e(&[], alias.clone()),
        "network-scoped aliases are only supported for user-defined networks"
    );
    assert_eq!(
        e(&["name=n1,alias=y"], alias),
        "conflicting options: cannot specify both --network-alias and per-network alias"
    );
    assert_eq!(
        e(&["n1", "host"], flags()),
        "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
    );
    assert_eq!(
        e(&["n1", "n1"], flags()),
        "network \"n1\" is specified multiple times"
    );
    let mac = Attachment {
        mac: "zz".into(),
        ..flags()
    };
    assert_eq!(e(&[], mac), "zz is not a valid mac address");
    let ip = Attachment {
        ipv4: "10.0.0.2".into(),
        ..flags()
    };
    assert_eq!(
        e(&["name=n1,ip=10.0.0.3"], ip),
        "conflicting options: cannot specify both --ip and per-network IPv4 address"
    );
}

#[test]
fn small_validators() {
    assert!(valid_mac("02:42:ac:11:00:02"));
    assert!(valid_mac("02-42-AC-11-00-02"));
    assert!(valid_mac("0242.ac11.0002"));
    assert!(valid_mac("02:42:ac:11:00:02:00:01"));
    assert!(!valid_mac("02:42:ac:11:00"));
    assert!(!valid_mac("02:42:ac:11:00:0g"));
    assert!(validate_link("db").is_ok());
    assert!(validate_link("db:alias").is_ok());
    assert_eq!(
        validate_link("a:b:c").unwrap_err().to_string(),
        "bad format for links: a:b:c"
    );
    assert_eq!(dns_search_domain("example.com.").unwrap(), "example.com");
    assert_eq!(dns_search_domain(".").unwrap(), ".");
    assert_eq!(
        dns_search_domain("-bad").unwrap_err().to_string(),
        "-bad is not a valid domain"
    );
    assert!(dns_search_domain("123").is_err());
    assert_eq!(
        connect_driver_opts(&["k=v".into(), " a = b ".into()]).unwrap(),
        BTreeMap::from([("k".into(), "v".into()), ("a".into(), "b".into())])
    );
    assert!(connect_driver_opts(&["=v".into()]).is_err());
}

#[test]
fn mac_address_per_api_version() {
    let body = || {
        json!({"MacAddress": "02:42:ac:11:00:02", "NetworkingConfig": {"EndpointsConfig": {
            "default": settings_json(Value::Null, Value::Null, Value::Null, "02:42:ac:11:00:02", Value::Null, 0)}}})
    };
    let mut new = body();
    place_mac_address(&mut new, true);
    assert!(new.get("MacAddress").is_none());
    assert_eq!(
        new["NetworkingConfig"]["EndpointsConfig"]["default"]["MacAddress"],
        "02:42:ac:11:00:02"
    );
    let mut old = body();
    place_mac_address(&mut old, false);
    assert_eq!(old["MacAddress"], "02:42:ac:11:00:02");
    assert_eq!(old["NetworkingConfig"]["EndpointsConfig"], json!({}));
}
