//! The `PORTS` column of `ps` (docker/cli `formatter.DisplayablePorts`) and host
//! addresses as Go's `net.JoinHostPort` writes them.
//!
//! Runs in the CLI process; pure code. Input is the `Ports` list of
//! `GET /containers/json` (`{IP?, PrivatePort, PublicPort?, Type}`).

use serde_json::Value;

/// `host:port`, with IPv6 hosts in brackets (`[::]:8080`); an empty host gives `:port`.
pub fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Port {
    // Field order is the sort order docker/cli uses (comparePorts).
    private: u64,
    ip: String,
    public: u64,
    proto: String,
}

fn port_of(p: &Value) -> Port {
    Port {
        private: p["PrivatePort"].as_u64().unwrap_or(0),
        ip: p["IP"].as_str().unwrap_or_default().to_string(),
        public: p["PublicPort"].as_u64().unwrap_or(0),
        proto: p["Type"].as_str().unwrap_or("tcp").to_string(),
    }
}

/// A run of consecutive ports sharing a key (`tcp`, or `ip/tcp` when published on the
/// same port number).
#[derive(Debug)]
struct Group {
    key: String,
    first: u64,
    last: u64,
}

impl Group {
    fn render(&self) -> String {
        let (ip, proto) = match self.key.split_once('/') {
            Some((ip, proto)) => (Some(ip), proto),
            None => (None, self.key.as_str()),
        };
        let mut range = self.first.to_string();
        if self.first != self.last {
            range = format!("{range}-{}", self.last);
        }
        match ip {
            Some(ip) => format!("{}->{range}/{proto}", join_host_port(ip, &range)),
            None => format!("{range}/{proto}"),
        }
    }
}

/// Docker's `DisplayablePorts`: unpublished ports and ports published on the same
/// number are grouped into ranges (`80-81/tcp`, `0.0.0.0:9000-9001->9000-9001/tcp`);
/// other mappings (`0.0.0.0:8080->80/tcp`) are listed one by one after the groups.
pub fn displayable_ports(ports: &[Value]) -> String {
    let mut ports: Vec<Port> = ports.iter().map(port_of).collect();
    ports.sort();
    // Open groups in the order their keys first appeared.
    let mut open: Vec<Group> = Vec::new();
    let mut result = Vec::new();
    let mut mappings = Vec::new();
    for p in ports {
        let key = if p.ip.is_empty() {
            p.proto.clone()
        } else if p.public != p.private {
            let host = join_host_port(&p.ip, &p.public.to_string());
            mappings.push(format!("{host}->{}/{}", p.private, p.proto));
            continue;
        } else {
            format!("{}/{}", p.ip, p.proto)
        };
        match open.iter_mut().find(|g| g.key == key) {
            None => open.push(Group {
                key,
                first: p.private,
                last: p.private,
            }),
            Some(g) if p.private == g.last + 1 => g.last = p.private,
            Some(g) => {
                result.push(g.render());
                (g.first, g.last) = (p.private, p.private);
            }
        }
    }
    result.extend(open.iter().map(Group::render));
    result.extend(mappings);
    result.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(ip: &str, private: u64, public: u64, proto: &str) -> Value {
        if ip.is_empty() {
            json!({"PrivatePort": private, "Type": proto})
        } else {
            json!({"IP": ip, "PrivatePort": private, "PublicPort": public, "Type": proto})
        }
    }

    #[test]
    fn simple_mappings() {
        let ports = [
            p("0.0.0.0", 80, 8080, "tcp"),
            p("::", 80, 8080, "tcp"),
            p("", 443, 0, "tcp"),
        ];
        assert_eq!(
            displayable_ports(&ports),
            "443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"
        );
        assert_eq!(displayable_ports(&[]), "");
    }

    #[test]
    fn ranges_grouped_like_docker() {
        // The same input docker 28.2.2 `ps` rendered against a canned daemon.
        let ports = [
            p("0.0.0.0", 80, 8080, "tcp"),
            p("::", 80, 8080, "tcp"),
            p("0.0.0.0", 81, 8081, "tcp"),
            p("", 443, 0, "tcp"),
            p("", 444, 0, "tcp"),
            p("", 446, 0, "tcp"),
            p("0.0.0.0", 9000, 9000, "tcp"),
            p("0.0.0.0", 9001, 9001, "tcp"),
            p("0.0.0.0", 9003, 9003, "tcp"),
            p("127.0.0.1", 53, 53, "udp"),
            p("", 53, 0, "tcp"),
            p("", 54, 0, "udp"),
        ];
        assert_eq!(
            displayable_ports(&ports),
            "53/tcp, 443-444/tcp, 0.0.0.0:9000-9001->9000-9001/tcp, 446/tcp, \
             127.0.0.1:53->53/udp, 54/udp, 0.0.0.0:9003->9003/tcp, 0.0.0.0:8080->80/tcp, \
             [::]:8080->80/tcp, 0.0.0.0:8081->81/tcp"
        );
        let ports = [p("", 80, 0, "tcp"), p("", 81, 0, "tcp")];
        assert_eq!(displayable_ports(&ports), "80-81/tcp");
        let ports = [p("::", 80, 80, "tcp"), p("::", 81, 81, "tcp")];
        assert_eq!(displayable_ports(&ports), "[::]:80-81->80-81/tcp");
    }

    #[test]
    fn host_ports() {
        assert_eq!(join_host_port("0.0.0.0", "80"), "0.0.0.0:80");
        assert_eq!(join_host_port("::1", "80"), "[::1]:80");
        assert_eq!(join_host_port("", "80"), ":80");
    }
}
