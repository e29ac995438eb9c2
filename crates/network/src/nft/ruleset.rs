//! The text of berth's table, for `nft -f -`. Pure: decides, runs nothing.
//!
//! The script is `table … {}` (create if missing), `delete table …`, then the whole
//! table: loaded as one transaction it replaces any earlier version atomically, and
//! loading it twice leaves exactly one copy of each rule.

use std::fmt::Write;

use super::elements::{MAP_ADDR, MAP_ANY};
use super::{NetRules, NftError, PortMap};

/// The `nft -f` script that replaces table `ip <table>` with the rules for `nets` and
/// the DNAT map elements for `ports`.
pub fn ruleset_for(table: &str, nets: &[NetRules], ports: &[PortMap]) -> Result<String, NftError> {
    check_name("table", table, 255)?;
    for n in nets {
        // IFNAMSIZ is 16 with the NUL.
        check_name("bridge", &n.bridge, 15)?;
    }
    let all = quoted_set(nets.iter().map(|n| n.bridge.as_str()));
    let mut out = format!("table ip {table} {{}}\ndelete table ip {table}\ntable ip {table} {{\n");
    map(&mut out, MAP_ANY, "inet_proto . inet_service", ports, false);
    map(
        &mut out,
        MAP_ADDR,
        "ipv4_addr . inet_proto . inet_service",
        ports,
        true,
    );

    // route_localnet on the bridges (for published ports on 127.0.0.1) would also let
    // containers reach the host's loopback services: drop that before conntrack.
    chain(&mut out, "guard", "filter hook prerouting priority raw");
    if let Some(all) = &all {
        rule(&mut out, format!("iifname {all} ip daddr 127.0.0.0/8 drop"));
    }
    out.push_str("\t}\n");

    let dnat = [
        format!("dnat ip to ip daddr . meta l4proto . th dport map @{MAP_ADDR}"),
        format!("fib daddr type local dnat ip to meta l4proto . th dport map @{MAP_ANY}"),
    ];
    // From outside and from containers.
    chain(
        &mut out,
        "prerouting",
        "nat hook prerouting priority dstnat",
    );
    dnat.iter().for_each(|r| rule(&mut out, r));
    out.push_str("\t}\n");
    // From the host itself, 127.0.0.1 included.
    chain(&mut out, "output", "nat hook output priority -100");
    dnat.iter().for_each(|r| rule(&mut out, r));
    out.push_str("\t}\n");

    chain(
        &mut out,
        "postrouting",
        "nat hook postrouting priority srcnat",
    );
    if let Some(all) = &all {
        // Host loopback to a container: it must answer the gateway, not itself.
        rule(
            &mut out,
            format!("ip saddr 127.0.0.0/8 oifname {all} masquerade"),
        );
    }
    for n in nets {
        let (b, s) = (&n.bridge, n.subnet.trunc());
        // Hairpin and container to a published port on its own bridge. No iifname:
        // br_netfilter runs this hook for bridged frames with no input device.
        rule(
            &mut out,
            format!("oifname \"{b}\" ip saddr {s} ct status dnat masquerade"),
        );
        if !n.internal {
            rule(
                &mut out,
                format!("ip saddr {s} oifname != \"{b}\" masquerade"),
            );
        }
    }
    out.push_str("\t}\n");

    chain(&mut out, "forward", "filter hook forward priority filter");
    for r in forward_rules(nets) {
        rule(&mut out, r);
    }
    out.push_str("\t}\n}\n");
    Ok(out)
}

/// The forward chain: internal networks closed, other networks isolated from each
/// other. Empty when there is nothing to drop.
fn forward_rules(nets: &[NetRules]) -> Vec<String> {
    let mut drops = Vec::new();
    for n in nets.iter().filter(|n| n.internal) {
        let b = &n.bridge;
        drops.push(format!("iifname \"{b}\" oifname != \"{b}\" drop"));
        drops.push(format!("oifname \"{b}\" iifname != \"{b}\" drop"));
    }
    let open: Vec<&str> = nets
        .iter()
        .filter(|n| !n.internal)
        .map(|n| n.bridge.as_str())
        .collect();
    if open.len() > 1 {
        // Published ports stay reachable from other networks, as through Docker's
        // userland proxy; everything else between two bridges is dropped.
        drops.push("ct status dnat accept".to_string());
        for b in &open {
            let others = quoted_set(open.iter().copied().filter(|o| o != b));
            if let Some(others) = others {
                drops.push(format!("iifname \"{b}\" oifname {others} drop"));
            }
        }
    }
    if !drops.is_empty() {
        drops.insert(0, "ct state established,related accept".to_string());
    }
    drops
}

/// Names go into the script inside double quotes or as identifiers: allow only what
/// both forms accept.
fn check_name(what: &'static str, name: &str, max: usize) -> Result<(), NftError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let reason = if name.is_empty() {
        "empty"
    } else if name.len() > max {
        "too long"
    } else if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        "must start with a letter"
    } else if !name.chars().all(ok_char) {
        "only letters, digits, '-', '_' and '.' are allowed"
    } else {
        return Ok(());
    };
    Err(NftError::InvalidName {
        what,
        name: name.to_string(),
        reason,
    })
}

/// `{ "a", "b" }`, or None for no names (nft refuses an empty set).
fn quoted_set<'a>(names: impl Iterator<Item = &'a str>) -> Option<String> {
    let list: Vec<String> = names.map(|n| format!("\"{n}\"")).collect();
    (!list.is_empty()).then(|| format!("{{ {} }}", list.join(", ")))
}

fn chain(out: &mut String, name: &str, hook: &str) {
    let _ = write!(out, "\tchain {name} {{\n\t\ttype {hook}; policy accept;\n");
}

fn rule(out: &mut String, text: impl AsRef<str>) {
    let _ = writeln!(out, "\t\t{}", text.as_ref());
}

fn map(out: &mut String, name: &str, key: &str, ports: &[PortMap], on_addr: bool) {
    let _ = write!(
        out,
        "\tmap {name} {{\n\t\ttype {key} : ipv4_addr . inet_service\n"
    );
    let elements: Vec<String> = ports
        .iter()
        .filter(|p| p.host_ip.is_some() == on_addr)
        .map(|p| {
            let proto = p.proto.as_str();
            let target = format!("{} . {}", p.container_ip, p.container_port);
            match p.host_ip {
                Some(ip) => format!("{ip} . {proto} . {} : {target}", p.host_port),
                None => format!("{proto} . {} : {target}", p.host_port),
            }
        })
        .collect();
    if !elements.is_empty() {
        let _ = writeln!(out, "\t\telements = {{ {} }}", elements.join(", "));
    }
    out.push_str("\t}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nft::Proto;
    use std::net::Ipv4Addr;

    fn net(bridge: &str, subnet: &str, internal: bool) -> NetRules {
        NetRules {
            bridge: bridge.into(),
            subnet: subnet.parse().unwrap(),
            internal,
        }
    }

    #[test]
    fn two_networks_and_two_ports() {
        let nets = [
            net("br0", "10.1.0.0/24", false),
            net("br1", "10.2.0.0/24", false),
            net("bri", "10.3.0.0/24", true),
        ];
        let ports = [
            PortMap {
                proto: Proto::Tcp,
                host_ip: None,
                host_port: 8080,
                container_ip: Ipv4Addr::new(10, 1, 0, 2),
                container_port: 80,
            },
            PortMap {
                proto: Proto::Udp,
                host_ip: Some(Ipv4Addr::LOCALHOST),
                host_port: 5353,
                container_ip: Ipv4Addr::new(10, 2, 0, 2),
                container_port: 53,
            },
        ];
        let text = ruleset_for("berth-t", &nets, &ports).unwrap();
        assert_eq!(text, include_str!("ruleset_example.nft"));
    }

    #[test]
    fn no_networks_gives_a_table_without_empty_sets() {
        let text = ruleset_for("berth-t", &[], &[]).unwrap();
        assert!(!text.contains("{ }"), "{text}");
        assert!(!text.contains("elements"), "{text}");
        assert!(!text.contains("ct state"), "{text}");
    }

    #[test]
    fn subnets_are_written_as_networks() {
        let text = ruleset_for("t", &[net("br0", "10.1.0.7/24", false)], &[]).unwrap();
        assert!(
            text.contains("ip saddr 10.1.0.0/24 oifname != \"br0\""),
            "{text}"
        );
    }

    #[test]
    fn names_that_could_break_the_script_are_refused() {
        for bad in [
            "",
            "a\"b",
            "a b",
            "0abc",
            "x}\nflush ruleset",
            "sixteen-chars-xx",
        ] {
            let e = ruleset_for("t", &[net(bad, "10.0.0.0/24", false)], &[]).unwrap_err();
            assert!(e.to_string().starts_with("invalid bridge name"), "{e}");
        }
        assert!(ruleset_for("t;x", &[], &[]).is_err());
        assert!(ruleset_for("berth-a_b.c", &[], &[]).is_ok());
    }
}
