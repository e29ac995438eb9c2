//! Bridge, veth, IPAM, NAT and DNS. Skeleton: arrives with the networking issue (#5).
