//! IPv4 address pools of bridge networks, and the choice of a subnet for a new network.
//!
//! Pure data, no kernel calls: berthd keeps one [`Pool`] per bridge network (it is
//! `serde`-serialisable) and, after a restart, rebuilds it by [`Pool::reserve`]-ing the
//! addresses of the containers that kept running. Allocation follows Docker's default
//! IPAM: sequential from the last address handed out, wrapping (so a released address
//! is not reused at once), never the subnet's network or broadcast address nor the
//! gateway. Error texts are Docker's (moby `ipamapi` and `ValidateIPAM`). IPv6 and
//! auxiliary addresses are left out.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Why a pool could not be made or an address could not be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    /// The subnet has host bits set (`10.1.0.5/24`).
    #[error("invalid subnet {0}: it should be {canonical}", canonical = .0.trunc())]
    SubnetNotCanonical(Ipv4Net),
    /// The ip-range has a shorter prefix than its subnet.
    #[error("invalid ip-range {range}: CIDR block is bigger than its parent subnet {subnet}")]
    RangeTooBig {
        /// The requested ip-range.
        range: Ipv4Net,
        /// The network's subnet.
        subnet: Ipv4Net,
    },
    /// The ip-range has host bits set.
    #[error("invalid ip-range {0}: it should be {canonical}", canonical = .0.trunc())]
    RangeNotCanonical(Ipv4Net),
    /// The ip-range lies outside the subnet.
    #[error("invalid ip-range {range}: parent subnet {subnet} doesn't contain ip-range")]
    RangeOutsideSubnet {
        /// The requested ip-range.
        range: Ipv4Net,
        /// The network's subnet.
        subnet: Ipv4Net,
    },
    /// The gateway lies outside the subnet.
    #[error("invalid gateway {gateway}: parent subnet {subnet} doesn't contain this address")]
    GatewayOutsideSubnet {
        /// The requested gateway.
        gateway: Ipv4Addr,
        /// The network's subnet.
        subnet: Ipv4Net,
    },
    /// The gateway is the subnet's network or broadcast address.
    #[error("failed to allocate gateway ({0}): Address already in use")]
    GatewayUnavailable(Ipv4Addr),
    /// A requested or restored address outside the subnet.
    #[error("no configured subnet or ip-range contain the IP address {0}")]
    OutsideSubnet(Ipv4Addr),
    /// A requested or restored address that is taken (or is the network, broadcast or
    /// gateway address).
    #[error("Address already in use")]
    InUse(Ipv4Addr),
    /// Every address of the pool (its ip-range, if it has one) is taken.
    #[error("no available addresses on this pool")]
    Exhausted(Ipv4Net),
}

/// The addresses of one network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pool {
    subnet: Ipv4Net,
    range: Option<Ipv4Net>,
    gateway: Ipv4Addr,
    allocated: BTreeSet<Ipv4Addr>,
    last: Option<Ipv4Addr>,
}

impl Pool {
    /// A pool for `subnet` that hands out addresses from `range` (default: the whole
    /// subnet). Checked as Docker checks a network's IPAM config: both prefixes
    /// canonical, the range inside the subnet, the gateway inside the subnet and not its
    /// network or broadcast address. Without a gateway, the first address of the range
    /// (or subnet) that a container could have becomes the gateway, as in Docker.
    pub fn new(
        subnet: Ipv4Net,
        range: Option<Ipv4Net>,
        gateway: Option<Ipv4Addr>,
    ) -> Result<Pool, IpamError> {
        if subnet != subnet.trunc() {
            return Err(IpamError::SubnetNotCanonical(subnet));
        }
        if let Some(range) = range {
            check_range(subnet, range)?;
        }
        let mut pool = Pool {
            subnet,
            range,
            gateway: subnet.network(),
            allocated: BTreeSet::new(),
            last: None,
        };
        pool.gateway = match gateway {
            Some(g) if !subnet.contains(&g) => {
                return Err(IpamError::GatewayOutsideSubnet { gateway: g, subnet })
            }
            Some(g) if pool.reserved(g) => return Err(IpamError::GatewayUnavailable(g)),
            Some(g) => g,
            None => pool
                .span_addresses()
                .find(|ip| !pool.reserved(*ip))
                .unwrap_or(subnet.network()),
        };
        Ok(pool)
    }

    /// The subnet.
    pub fn subnet(&self) -> Ipv4Net {
        self.subnet
    }

    /// The ip-range addresses are handed out from, if narrower than the subnet.
    pub fn ip_range(&self) -> Option<Ipv4Net> {
        self.range
    }

    /// The gateway (the bridge's address).
    pub fn gateway(&self) -> Ipv4Addr {
        self.gateway
    }

    /// Whether `ip` is handed out or reserved.
    pub fn is_allocated(&self, ip: Ipv4Addr) -> bool {
        self.allocated.contains(&ip)
    }

    /// Gives `requested` (anywhere in the subnet, even outside the ip-range, as Docker
    /// allows), or else the next free address of the range after the last one handed
    /// out, wrapping around.
    pub fn allocate(&mut self, requested: Option<Ipv4Addr>) -> Result<Ipv4Addr, IpamError> {
        if let Some(ip) = requested {
            self.take(ip)?;
            return Ok(ip);
        }
        let span = self.span();
        let (first, last) = (u32::from(span.network()), u32::from(span.broadcast()));
        let start = self
            .last
            .map(u32::from)
            .filter(|l| (first..last).contains(l))
            .map_or(first, |l| l + 1);
        let candidates = (start..=last).chain(first..start).map(Ipv4Addr::from);
        for ip in candidates {
            if !self.reserved(ip) && ip != self.gateway && !self.allocated.contains(&ip) {
                self.allocated.insert(ip);
                self.last = Some(ip);
                return Ok(ip);
            }
        }
        Err(IpamError::Exhausted(span))
    }

    /// Marks `ip` as taken: used after a daemon restart for the addresses of running
    /// containers. Sequential allocation continues after the highest address restored.
    pub fn reserve(&mut self, ip: Ipv4Addr) -> Result<(), IpamError> {
        self.take(ip)?;
        if self.last.is_none_or(|l| l < ip) {
            self.last = Some(ip);
        }
        Ok(())
    }

    /// Gives `ip` back; unknown addresses are ignored.
    pub fn release(&mut self, ip: Ipv4Addr) {
        self.allocated.remove(&ip);
    }

    fn take(&mut self, ip: Ipv4Addr) -> Result<(), IpamError> {
        if !self.subnet.contains(&ip) {
            return Err(IpamError::OutsideSubnet(ip));
        }
        if self.reserved(ip) || ip == self.gateway || !self.allocated.insert(ip) {
            return Err(IpamError::InUse(ip));
        }
        Ok(())
    }

    /// The network and broadcast addresses (a /31 or /32 has none, RFC 3021).
    fn reserved(&self, ip: Ipv4Addr) -> bool {
        self.subnet.prefix_len() < 31
            && (ip == self.subnet.network() || ip == self.subnet.broadcast())
    }

    /// Where dynamic addresses come from.
    fn span(&self) -> Ipv4Net {
        self.range.unwrap_or(self.subnet)
    }

    fn span_addresses(&self) -> impl Iterator<Item = Ipv4Addr> {
        let span = self.span();
        (u32::from(span.network())..=u32::from(span.broadcast())).map(Ipv4Addr::from)
    }
}

/// Docker's ip-range checks, in its order.
fn check_range(subnet: Ipv4Net, range: Ipv4Net) -> Result<(), IpamError> {
    if range.prefix_len() < subnet.prefix_len() {
        return Err(IpamError::RangeTooBig { range, subnet });
    }
    if range != range.trunc() {
        return Err(IpamError::RangeNotCanonical(range));
    }
    if !overlaps(subnet, range) {
        return Err(IpamError::RangeOutsideSubnet { range, subnet });
    }
    Ok(())
}

/// Whether two prefixes share an address.
pub fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Docker's default local address pools, in order: 172.17.0.0/16 … 172.31.0.0/16, then
/// 192.168.0.0/16 cut into /20s (moby `ipamutils`).
pub fn default_pools() -> impl Iterator<Item = Ipv4Net> {
    let b16 = (17..=31u8).map(|b| Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16));
    let c20 = (0..16u8).map(|i| Ipv4Net::new(Ipv4Addr::new(192, 168, i * 16, 0), 20));
    b16.chain(c20)
        .map(|n| n.expect("prefix lengths 16 and 20 are valid"))
}

/// The first of Docker's default pools ([`default_pools`]) that overlaps nothing in
/// `taken` (other networks' subnets, host routes); `None` when all are used.
pub fn pick_subnet(taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    default_pools().find(|c| !taken.iter().any(|t| overlaps(*t, *c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn sequential_skips_network_gateway_broadcast_and_wraps() {
        let mut p = Pool::new(net("10.0.0.0/29"), None, None).unwrap();
        assert_eq!(p.gateway(), ip("10.0.0.1"));
        let got: Vec<_> = (0..5).map(|_| p.allocate(None).unwrap()).collect();
        let want: Vec<_> = (2..=6).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
        assert_eq!(got, want);
        assert_eq!(
            p.allocate(None),
            Err(IpamError::Exhausted(net("10.0.0.0/29")))
        );
        assert_eq!(
            p.allocate(None).unwrap_err().to_string(),
            "no available addresses on this pool"
        );
        p.release(ip("10.0.0.3"));
        assert_eq!(p.allocate(None).unwrap(), ip("10.0.0.3"));
    }

    #[test]
    fn released_address_is_not_reused_at_once() {
        let mut p = Pool::new(net("10.0.0.0/24"), None, None).unwrap();
        let a = p.allocate(None).unwrap();
        let b = p.allocate(None).unwrap();
        p.release(a);
        p.release(b);
        assert_eq!(p.allocate(None).unwrap(), ip("10.0.0.4"));
        assert!(!p.is_allocated(a));
    }

    #[test]
    fn wraps_to_the_start_of_the_range() {
        let mut p = Pool::new(net("10.0.0.0/24"), Some(net("10.0.0.248/30")), None).unwrap();
        // Docker takes the gateway from the range too.
        assert_eq!(p.gateway(), ip("10.0.0.248"));
        assert_eq!(p.allocate(None).unwrap(), ip("10.0.0.249"));
        assert_eq!(p.allocate(None).unwrap(), ip("10.0.0.250"));
        assert_eq!(p.allocate(None).unwrap(), ip("10.0.0.251"));
        p.release(ip("10.0.0.249"));
        assert_eq!(p.allocate(None).unwrap(), ip("10.0.0.249"));
        assert!(matches!(p.allocate(None), Err(IpamError::Exhausted(_))));
    }

    #[test]
    fn requested_addresses() {
        let mut p = Pool::new(
            net("10.1.0.0/24"),
            Some(net("10.1.0.128/25")),
            Some(ip("10.1.0.254")),
        )
        .unwrap();
        assert_eq!(p.allocate(None).unwrap(), ip("10.1.0.128"));
        // Outside the range but inside the subnet: allowed, as in Docker.
        assert_eq!(p.allocate(Some(ip("10.1.0.5"))).unwrap(), ip("10.1.0.5"));
        for taken in ["10.1.0.5", "10.1.0.0", "10.1.0.255", "10.1.0.254"] {
            let e = p.allocate(Some(ip(taken))).unwrap_err();
            assert_eq!(e, IpamError::InUse(ip(taken)));
            assert_eq!(e.to_string(), "Address already in use");
        }
        let e = p.allocate(Some(ip("10.2.0.5"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no configured subnet or ip-range contain the IP address 10.2.0.5"
        );
        // A requested address does not move the sequential cursor.
        assert_eq!(p.allocate(None).unwrap(), ip("10.1.0.129"));
    }

    #[test]
    fn reserve_restores_and_moves_the_cursor() {
        let mut p = Pool::new(net("10.1.0.0/24"), None, None).unwrap();
        p.reserve(ip("10.1.0.200")).unwrap();
        p.reserve(ip("10.1.0.7")).unwrap();
        assert_eq!(
            p.reserve(ip("10.1.0.7")),
            Err(IpamError::InUse(ip("10.1.0.7")))
        );
        assert_eq!(
            p.reserve(ip("10.1.0.1")),
            Err(IpamError::InUse(ip("10.1.0.1")))
        );
        assert!(matches!(
            p.reserve(ip("10.9.0.1")),
            Err(IpamError::OutsideSubnet(_))
        ));
        assert_eq!(p.allocate(None).unwrap(), ip("10.1.0.201"));
    }

    #[test]
    fn config_checks_use_dockers_texts() {
        let e = |s: &str, r: Option<&str>, g: Option<&str>| {
            Pool::new(net(s), r.map(net), g.map(ip))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("10.1.0.0/24", Some("10.2.0.0/25"), None),
            "invalid ip-range 10.2.0.0/25: parent subnet 10.1.0.0/24 doesn't contain ip-range"
        );
        assert_eq!(
            e("10.1.0.0/24", Some("10.0.0.0/16"), None),
            "invalid ip-range 10.0.0.0/16: CIDR block is bigger than its parent subnet 10.1.0.0/24"
        );
        assert_eq!(
            e("10.1.0.0/24", Some("10.1.0.130/25"), None),
            "invalid ip-range 10.1.0.130/25: it should be 10.1.0.128/25"
        );
        assert_eq!(
            e("10.1.0.0/24", None, Some("10.9.0.1")),
            "invalid gateway 10.9.0.1: parent subnet 10.1.0.0/24 doesn't contain this address"
        );
        assert_eq!(
            e("10.1.0.0/24", None, Some("10.1.0.255")),
            "failed to allocate gateway (10.1.0.255): Address already in use"
        );
        assert_eq!(
            e("10.1.0.5/24", None, None),
            "invalid subnet 10.1.0.5/24: it should be 10.1.0.0/24"
        );
    }

    #[test]
    fn tiny_subnets_have_no_network_or_broadcast_address() {
        let mut p = Pool::new(net("10.3.0.0/31"), None, None).unwrap();
        assert_eq!(p.gateway(), ip("10.3.0.0"));
        assert_eq!(p.allocate(None).unwrap(), ip("10.3.0.1"));
        assert!(p.allocate(None).is_err());
        let mut p = Pool::new(net("10.3.0.9/32"), None, None).unwrap();
        assert_eq!(p.gateway(), ip("10.3.0.9"));
        assert!(p.allocate(None).is_err());
    }

    #[test]
    fn pool_is_serialisable() {
        fn serde<T: serde::Serialize + serde::de::DeserializeOwned>() {}
        serde::<Pool>();
    }

    #[test]
    fn default_pools_in_dockers_order_avoiding_taken() {
        let all: Vec<_> = default_pools().collect();
        assert_eq!(all.len(), 31);
        assert_eq!(all[0], net("172.17.0.0/16"));
        assert_eq!(all[14], net("172.31.0.0/16"));
        assert_eq!(all[15], net("192.168.0.0/20"));
        assert_eq!(all[30], net("192.168.240.0/20"));
        assert_eq!(pick_subnet(&[]), Some(net("172.17.0.0/16")));
        assert_eq!(
            pick_subnet(&[net("172.17.0.0/16"), net("172.18.5.0/24")]),
            Some(net("172.19.0.0/16"))
        );
        assert_eq!(
            pick_subnet(&[net("172.16.0.0/12"), net("192.168.1.0/24")]),
            Some(net("192.168.16.0/20"))
        );
        assert_eq!(pick_subnet(&[net("0.0.0.0/0")]), None);
        assert!(overlaps(net("10.0.0.0/8"), net("10.1.0.0/16")));
        assert!(overlaps(net("10.1.0.0/16"), net("10.0.0.0/8")));
        assert!(!overlaps(net("10.0.0.0/16"), net("10.1.0.0/16")));
    }
}
