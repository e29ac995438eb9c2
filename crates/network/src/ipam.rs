//! Address pools of bridge networks: sequential allocation (the next free address after
//! the last one handed out, wrapping, so a released address is not reused at once),
//! never the network, broadcast or gateway address. Pure and serialisable; the engine
//! rebuilds pools after a restart by reserving the addresses running containers hold.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Why an address could not be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpamError {
    /// The ip-range is not inside the subnet.
    #[error("no matching subnet for range {0}")]
    RangeOutsideSubnet(Ipv4Net),
    /// The gateway is not inside the subnet.
    #[error("no matching subnet for gateway {0}")]
    GatewayOutsideSubnet(Ipv4Addr),
    /// A requested address outside the subnet.
    #[error("no configured subnet or ip-range contain the IP address {0}")]
    OutsideSubnet(Ipv4Addr),
    /// A requested address someone holds.
    #[error("Address already in use")]
    InUse(Ipv4Addr),
    /// Nothing left.
    #[error("no available IPv4 addresses on this network's address pools: {0}")]
    Exhausted(Ipv4Net),
}

/// One network's addresses.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Pool {
    subnet: Ipv4Net,
    range: Option<Ipv4Net>,
    gateway: Ipv4Addr,
    allocated: BTreeSet<Ipv4Addr>,
    last: Option<Ipv4Addr>,
}

impl Pool {
    /// A pool for `subnet`, handing out addresses from `range` (default: the subnet);
    /// the gateway defaults to the first host address.
    pub fn new(
        subnet: Ipv4Net,
        range: Option<Ipv4Net>,
        gateway: Option<Ipv4Addr>,
    ) -> Result<Pool, IpamError> {
        let subnet = subnet.trunc();
        if let Some(r) = range {
            if !subnet.contains(&r) {
                return Err(IpamError::RangeOutsideSubnet(r));
            }
        }
        let gateway = match gateway {
            Some(g) if !subnet.contains(&g) => return Err(IpamError::GatewayOutsideSubnet(g)),
            Some(g) => g,
            None => subnet.hosts().next().unwrap_or(subnet.network()),
        };
        Ok(Pool {
            subnet,
            range: range.map(|r| r.trunc()),
            gateway,
            allocated: BTreeSet::new(),
            last: None,
        })
    }

    /// The subnet.
    pub fn subnet(&self) -> Ipv4Net {
        self.subnet
    }

    /// The gateway (the bridge's address).
    pub fn gateway(&self) -> Ipv4Addr {
        self.gateway
    }

    fn usable(&self, ip: Ipv4Addr) -> bool {
        let small = self.subnet.prefix_len() >= 31;
        ip != self.gateway
            && (small || (ip != self.subnet.network() && ip != self.subnet.broadcast()))
    }

    /// `requested`, or the next free address after the last one handed out.
    pub fn allocate(&mut self, requested: Option<Ipv4Addr>) -> Result<Ipv4Addr, IpamError> {
        if let Some(ip) = requested {
            if !self.subnet.contains(&ip) {
                return Err(IpamError::OutsideSubnet(ip));
            }
            if self.allocated.contains(&ip) || !self.usable(ip) {
                return Err(IpamError::InUse(ip));
            }
            self.allocated.insert(ip);
            return Ok(ip);
        }
        let span = self.range.unwrap_or(self.subnet);
        let (first, last) = (u32::from(span.network()), u32::from(span.broadcast()));
        let size = last - first + 1;
        let start = self
            .last
            .map(u32::from)
            .filter(|l| (first..=last).contains(l))
            .map_or(0, |l| l - first + 1);
        for step in 0..size {
            let ip = Ipv4Addr::from(first + (start + step) % size);
            if self.usable(ip) && !self.allocated.contains(&ip) {
                self.allocated.insert(ip);
                self.last = Some(ip);
                return Ok(ip);
            }
        }
        Err(IpamError::Exhausted(self.subnet))
    }

    /// Marks `ip` as taken (restore after a daemon restart).
    pub fn reserve(&mut self, ip: Ipv4Addr) -> Result<(), IpamError> {
        if !self.subnet.contains(&ip) {
            return Err(IpamError::OutsideSubnet(ip));
        }
        if !self.allocated.insert(ip) {
            return Err(IpamError::InUse(ip));
        }
        if self.last.is_none_or(|l| l < ip) {
            self.last = Some(ip);
        }
        Ok(())
    }

    /// Gives `ip` back.
    pub fn release(&mut self, ip: Ipv4Addr) {
        self.allocated.remove(&ip);
    }
}

/// Whether two prefixes share an address.
pub fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Docker's default local pools (libnetwork ipamutils): 172.17.0.0/16 … 172.31.0.0/16,
/// then 192.168.0.0/20 … 192.168.240.0/20; the first that overlaps nothing in `taken`.
pub fn pick_subnet(taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    let b16 = (17..=31u8).map(|b| Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16).expect("valid"));
    let c20 =
        (0..16u8).map(|i| Ipv4Net::new(Ipv4Addr::new(192, 168, i * 16, 0), 20).expect("valid"));
    b16.chain(c20)
        .find(|c| !taken.iter().any(|t| overlaps(*t, *c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn sequential_skips_gateway_and_wraps() {
        let mut p = Pool::new(net("10.0.0.0/29"), None, None).unwrap();
        assert_eq!(p.gateway(), Ipv4Addr::new(10, 0, 0, 1));
        let got: Vec<_> = (0..5).map(|_| p.allocate(None).unwrap()).collect();
        assert_eq!(got[0], Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(got[4], Ipv4Addr::new(10, 0, 0, 6));
        assert_eq!(
            p.allocate(None),
            Err(IpamError::Exhausted(net("10.0.0.0/29")))
        );
        p.release(Ipv4Addr::new(10, 0, 0, 3));
        assert_eq!(p.allocate(None).unwrap(), Ipv4Addr::new(10, 0, 0, 3));
    }

    #[test]
    fn released_addresses_are_not_reused_at_once() {
        let mut p = Pool::new(net("10.0.0.0/24"), None, None).unwrap();
        let a = p.allocate(None).unwrap();
        p.release(a);
        assert_ne!(p.allocate(None).unwrap(), a);
    }

    #[test]
    fn requests_range_and_reserve() {
        let mut p = Pool::new(
            net("10.1.0.0/24"),
            Some(net("10.1.0.128/25")),
            Some(Ipv4Addr::new(10, 1, 0, 254)),
        )
        .unwrap();
        assert_eq!(p.allocate(None).unwrap(), Ipv4Addr::new(10, 1, 0, 128));
        assert_eq!(
            p.allocate(Some(Ipv4Addr::new(10, 1, 0, 5))).unwrap(),
            Ipv4Addr::new(10, 1, 0, 5)
        );
        assert_eq!(
            p.allocate(Some(Ipv4Addr::new(10, 1, 0, 5))),
            Err(IpamError::InUse(Ipv4Addr::new(10, 1, 0, 5)))
        );
        assert!(matches!(
            p.allocate(Some(Ipv4Addr::new(10, 2, 0, 5))),
            Err(IpamError::OutsideSubnet(_))
        ));
        assert!(p.reserve(Ipv4Addr::new(10, 1, 0, 200)).is_ok());
        assert_eq!(p.allocate(None).unwrap(), Ipv4Addr::new(10, 1, 0, 201));
        assert!(Pool::new(net("10.1.0.0/24"), Some(net("10.2.0.0/25")), None).is_err());
        assert!(Pool::new(net("10.1.0.0/24"), None, Some(Ipv4Addr::new(10, 9, 0, 1))).is_err());
    }

    #[test]
    fn default_pools_avoid_taken() {
        assert_eq!(pick_subnet(&[]), Some(net("172.17.0.0/16")));
        assert_eq!(
            pick_subnet(&[net("172.17.0.0/16"), net("172.18.5.0/24")]),
            Some(net("172.19.0.0/16"))
        );
        assert!(overlaps(net("10.0.0.0/8"), net("10.1.0.0/16")));
        assert!(!overlaps(net("10.0.0.0/16"), net("10.1.0.0/16")));
    }
}
