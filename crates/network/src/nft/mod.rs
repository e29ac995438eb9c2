//! berth's nftables table (`ip` family, IPv4 only): NAT for bridge networks, DNAT
//! maps for published ports, isolation between networks, in berthd.
//!
//! Acts in the network namespace of the calling thread and owns only the table, which
//! [`Firewall::remove`] deletes. Rules change with networks and are written whole by
//! one `nft -f -` transaction; a published port is a map element added or removed
//! over nfnetlink, so a container start runs no process and rewrites no rule. There is
//! no userland proxy: [`crate::ports`] holds the host ports.

mod elements;
mod nfnl;
mod ruleset;

use std::fmt;
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use ipnet::Ipv4Net;
use nix::errno::Errno;

use elements::Change;
use nfnl::{Failure, Msg, Socket};
pub use ruleset::ruleset_for;

/// Transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP (the kernel needs the `sctp` module to reserve such a port).
    Sctp,
}

impl Proto {
    /// The IP protocol number.
    pub fn number(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::Sctp => 132,
        }
    }

    /// `tcp`, `udp` or `sctp`, as nft and Docker spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rules of one bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetRules {
    /// The bridge device.
    pub bridge: String,
    /// The network's subnet (host bits are ignored).
    pub subnet: Ipv4Net,
    /// An internal network: no NAT, and nothing forwarded between its bridge and any
    /// other interface.
    pub internal: bool,
}

/// One published port: traffic to the host port goes to the container port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortMap {
    /// Protocol.
    pub proto: Proto,
    /// The host address it is published on; None: every local address.
    pub host_ip: Option<Ipv4Addr>,
    /// Host port.
    pub host_port: u16,
    /// Container address.
    pub container_ip: Ipv4Addr,
    /// Container port.
    pub container_port: u16,
}

impl fmt::Display for PortMap {
    /// `tcp 0.0.0.0:8080 to 10.88.0.2:80`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        write!(
            f,
            "{} {ip}:{} to {}:{}",
            self.proto, self.host_port, self.container_ip, self.container_port
        )
    }
}

/// A firewall change that failed.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    /// A name cannot be written into the rule set.
    #[error("invalid {what} name {name:?}: {reason}")]
    InvalidName {
        /// `table` or `bridge`.
        what: &'static str,
        /// The name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `nft` could not be run.
    #[error("run nft -f - for table ip {table}: {source}")]
    RunNft {
        /// The table.
        table: String,
        /// Why.
        source: std::io::Error,
    },
    /// `nft` refused the rule set; the previous table (if any) is unchanged.
    #[error("nft refused the rule set of table ip {table}: {stderr}")]
    Refused {
        /// The table.
        table: String,
        /// What nft printed.
        stderr: String,
    },
    /// Adding a map element failed; no element of the call was added.
    #[error("publish {port} in table ip {table}: {}", .errno.desc())]
    Publish {
        /// The first port the kernel refused.
        port: PortMap,
        /// The table.
        table: String,
        /// The kernel's answer: `EEXIST` when the host port is published to another
        /// target, `ENOENT` when the table or its map is missing.
        errno: Errno,
    },
    /// Removing a map element failed; no element of the call was removed.
    #[error("unpublish {port} in table ip {table}: {}", .errno.desc())]
    Unpublish {
        /// The first port the kernel refused.
        port: PortMap,
        /// The table.
        table: String,
        /// The kernel's answer.
        errno: Errno,
    },
    /// Deleting the table failed.
    #[error("delete table ip {table}: {}", .errno.desc())]
    DeleteTable {
        /// The table.
        table: String,
        /// The kernel's answer.
        errno: Errno,
    },
    /// The nfnetlink conversation itself failed (the change may or may not have
    /// been committed when this happens after sending).
    #[error("{step} netfilter netlink socket for table ip {table}: {}", .errno.desc())]
    Netlink {
        /// What was being done.
        step: &'static str,
        /// The table.
        table: String,
        /// The error.
        errno: Errno,
    },
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, NftError>;

/// The IPv4 table of one daemon. Cheap to clone; holds no fd.
///
/// Calls are independent kernel transactions. [`Firewall::apply`] replaces the map
/// elements with the ports it is given, so a caller that publishes ports while
/// applying must serialize the two or an element added in between is lost.
///
/// The host must provide what the table cannot:
/// - `net.ipv4.ip_forward=1`;
/// - `net.ipv4.conf.<bridge>.route_localnet=1` on each bridge, for ports published
///   on 127.0.0.1 to work (the table drops packets from the bridges to 127.0.0.0/8,
///   which that sysctl would otherwise let containers send to the host's loopback);
/// - hairpin mode on each bridge port when `br_netfilter` is loaded, for a container
///   reaching its own published port through the host.
///
/// Other firewalls still apply (an iptables `FORWARD` policy of `DROP`): an `accept`
/// here does not override a `drop` elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firewall {
    table: String,
}

/// `NFT_MSG_GETTABLE` / `NFT_MSG_DELTABLE` and `NFTA_TABLE_NAME`.
const NFT_MSG_GETTABLE: u16 = 1;
const NFT_MSG_DELTABLE: u16 = 2;
const NFTA_TABLE_NAME: u16 = 1;

impl Firewall {
    /// The table `ip <table>` (nothing is created until [`Firewall::apply`]).
    pub fn new(table: &str) -> Firewall {
        Firewall {
            table: table.to_string(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Replaces the whole table, atomically, with the rules for `nets` and the map
    /// elements for `ports` (one `nft -f -` transaction; on error the previous table
    /// stays). Idempotent. For daemon start and network create/remove.
    pub fn apply(&self, nets: &[NetRules], ports: &[PortMap]) -> Result<()> {
        let script = ruleset_for(&self.table, nets, ports)?;
        self.run_nft(&script)
    }

    /// Deletes the table, with its maps; an absent table is not an error.
    pub fn remove(&self) -> Result<()> {
        let mut m = Msg::new(NFT_MSG_DELTABLE);
        m.attr_str(NFTA_TABLE_NAME, &self.table);
        match self.socket()?.transact(&[m]) {
            Ok(()) => Ok(()),
            Err(Failure::Refused(r)) if r.iter().all(|(_, e)| *e == Errno::ENOENT) => Ok(()),
            Err(Failure::Refused(r)) => Err(NftError::DeleteTable {
                table: self.table.clone(),
                errno: r[0].1,
            }),
            Err(Failure::Io { step, errno }) => Err(self.netlink(step, errno)),
        }
    }

    /// Whether the table exists (for leak checks). When the kernel cannot be asked
    /// this answers true, so a leak check fails rather than passes.
    pub fn exists(&self) -> bool {
        let mut m = Msg::new(NFT_MSG_GETTABLE);
        m.attr_str(NFTA_TABLE_NAME, &self.table);
        let Ok(socket) = self.socket() else {
            return true;
        };
        match socket.request(&m) {
            Ok(()) => true,
            Err(Failure::Refused(r)) => r.first().is_some_and(|(_, e)| *e != Errno::ENOENT),
            Err(Failure::Io { .. }) => true,
        }
    }

    /// Publishes `ports`: all of them or, on error, none. One nfnetlink batch, one
    /// message per port; no process. Publishing an identical element again is a
    /// no-op; the same host port to another target fails with `EEXIST`
    /// ("publish tcp 0.0.0.0:8080 to 10.88.0.3:80 in table ip berth: File exists").
    pub fn add_ports(&self, ports: &[PortMap]) -> Result<()> {
        let msgs = self.element_msgs(Change::Add, ports);
        match self.socket()?.transact(&msgs) {
            Ok(()) => Ok(()),
            Err(Failure::Refused(r)) => Err(NftError::Publish {
                port: ports[r[0].0],
                table: self.table.clone(),
                errno: r[0].1,
            }),
            Err(Failure::Io { step, errno }) => Err(self.netlink(step, errno)),
        }
    }

    /// Unpublishes `ports`, all of them or, on error, none. Ports that are not
    /// published are skipped, not an error; so is a missing table (the kernel answers
    /// both with `ENOENT`). Elements are matched by key (protocol, host address, host
    /// port), whatever their target. One batch, plus one more per round of absent
    /// ports found.
    pub fn remove_ports(&self, ports: &[PortMap]) -> Result<()> {
        let socket = self.socket()?;
        let mut left: Vec<PortMap> = ports.to_vec();
        // The kernel answers every absent element with ENOENT and commits nothing:
        // drop those and try again. Each round removes at least one port from `left`.
        while !left.is_empty() {
            let msgs = self.element_msgs(Change::Delete, &left);
            let refused = match socket.transact(&msgs) {
                Ok(()) => return Ok(()),
                Err(Failure::Refused(r)) => r,
                Err(Failure::Io { step, errno }) => return Err(self.netlink(step, errno)),
            };
            if let Some((i, errno)) = refused.iter().find(|(_, e)| *e != Errno::ENOENT) {
                return Err(NftError::Unpublish {
                    port: left[*i],
                    table: self.table.clone(),
                    errno: *errno,
                });
            }
            let absent: Vec<usize> = refused.iter().map(|(i, _)| *i).collect();
            left = left
                .iter()
                .enumerate()
                .filter(|(i, _)| !absent.contains(i))
                .map(|(_, p)| *p)
                .collect();
        }
        Ok(())
    }

    fn element_msgs(&self, change: Change, ports: &[PortMap]) -> Vec<Msg> {
        ports
            .iter()
            .map(|p| elements::element_msg(change, &self.table, p))
            .collect()
    }

    fn socket(&self) -> Result<Socket> {
        Socket::open().map_err(|(step, errno)| self.netlink(step, errno))
    }

    fn netlink(&self, step: &'static str, errno: Errno) -> NftError {
        NftError::Netlink {
            step,
            table: self.table.clone(),
            errno,
        }
    }

    fn run_nft(&self, script: &str) -> Result<()> {
        let run = |source| NftError::RunNft {
            table: self.table.clone(),
            source,
        };
        let mut child = Command::new("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(run)?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let written = stdin.write_all(script.as_bytes());
        drop(stdin);
        let out = child.wait_with_output().map_err(run)?;
        if !out.status.success() {
            return Err(NftError::Refused {
                table: self.table.clone(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        written.map_err(run)
    }
}
