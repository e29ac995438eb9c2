//! The host's IPv4 routes, read from `/proc/net/route` (the main table of the reading
//! process's network namespace; proc(5)). Used when a network is created, not on the
//! container start path.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// One row of `/proc/net/route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Route {
    pub dev: String,
    pub dst: Ipv4Net,
    pub metric: u32,
}

/// Parses `/proc/net/route`: `Iface Destination Gateway Flags RefCnt Use Metric Mask …`,
/// addresses as the kernel's big-endian words printed in host order. Bad rows are
/// skipped.
pub(super) fn parse(text: &str) -> Vec<Route> {
    let addr = |s: &str| {
        u32::from_str_radix(s, 16)
            .ok()
            .map(|v| Ipv4Addr::from(v.to_ne_bytes()))
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let dst = Ipv4Net::with_netmask(addr(f.get(1)?)?, addr(f.get(7)?)?).ok()?;
            Some(Route {
                dev: f.first()?.to_string(),
                dst: dst.trunc(),
                metric: f.get(6)?.parse().ok()?,
            })
        })
        .collect()
}

pub(super) fn read() -> Vec<Route> {
    parse(&std::fs::read_to_string("/proc/net/route").unwrap_or_default())
}

/// The interface of the default route with the lowest metric.
pub(super) fn default_dev(routes: &[Route]) -> Option<&str> {
    routes
        .iter()
        .filter(|r| r.dst.prefix_len() == 0)
        .min_by_key(|r| r.metric)
        .map(|r| r.dev.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(ip: [u8; 4]) -> String {
        format!("{:08X}", u32::from_ne_bytes(ip))
    }

    #[test]
    fn parses_rows_and_finds_the_default_device() {
        let row = |dev: &str, dst: [u8; 4], metric: u32, mask: [u8; 4]| {
            format!(
                "{dev}\t{}\t00000000\t0001\t0\t0\t{metric}\t{}\t0\t0\t0\n",
                hex(dst),
                hex(mask)
            )
        };
        let text = [
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
                .to_string(),
            row("wlan0", [0, 0, 0, 0], 600, [0, 0, 0, 0]),
            row("eth0", [0, 0, 0, 0], 100, [0, 0, 0, 0]),
            row("eth0", [192, 168, 1, 0], 100, [255, 255, 255, 0]),
            "garbage\n".to_string(),
        ]
        .concat();
        let routes = parse(&text);
        assert_eq!(routes.len(), 3);
        assert_eq!(routes[2].dst, "192.168.1.0/24".parse().unwrap());
        assert_eq!(default_dev(&routes), Some("eth0"));
        assert_eq!(default_dev(&routes[2..]), None);
    }
}
