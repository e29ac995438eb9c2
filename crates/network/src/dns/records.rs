//! The name table of one network's DNS server: container names, network-scoped aliases
//! and short ids → IPv4 addresses, plus the reverse map for PTR answers.
//!
//! Lives in berthd, shared (`Arc`) between the engine, which edits it as containers join
//! and leave, and the server's tasks, which read it per query. Owns nothing outside
//! memory. Names compare ASCII-case-insensitively, with or without a trailing dot
//! (RFC 4343); the spelling of the first `add` is kept for PTR answers.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, PoisonError, RwLock, Weak};

/// Names of one network: name (case-insensitive, with or without a trailing dot) →
/// addresses, in the order added. Cheap to share: `Arc<Records>` with interior locks.
#[derive(Debug, Default)]
pub struct Records {
    table: RwLock<Table>,
    /// Client address on this network → the tables of the other networks that client
    /// is also on (Docker resolves the names of every network a container is on, whichever
    /// server it asks). Weak, so two networks linking each other do not leak.
    links: RwLock<HashMap<Ipv4Addr, Vec<Weak<Records>>>>,
}

#[derive(Debug, Default)]
struct Table {
    /// Normalised name → addresses, in the order added.
    by_name: HashMap<String, Vec<Ipv4Addr>>,
    /// Address → its names as first spelled (trailing dot removed), in the order added.
    by_ip: HashMap<Ipv4Addr, Vec<String>>,
}

/// The lookup key of `name`: ASCII-lowercased, trailing dots removed.
fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Records {
    /// An empty table.
    pub fn new() -> Arc<Records> {
        Arc::new(Records::default())
    }

    /// `name` resolves (also) to `ip`; adding a pair twice is a no-op, an empty name is
    /// ignored.
    pub fn add(&self, name: &str, ip: Ipv4Addr) {
        let k = key(name);
        if k.is_empty() {
            return;
        }
        let mut t = self.table.write().unwrap_or_else(PoisonError::into_inner);
        let ips = t.by_name.entry(k.clone()).or_default();
        if ips.contains(&ip) {
            return;
        }
        ips.push(ip);
        t.by_ip
            .entry(ip)
            .or_default()
            .push(name.trim_end_matches('.').to_string());
    }

    /// `name` no longer resolves to `ip` (its other addresses stay).
    pub fn remove(&self, name: &str, ip: Ipv4Addr) {
        let k = key(name);
        let mut t = self.table.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(ips) = t.by_name.get_mut(&k) {
            ips.retain(|i| *i != ip);
            if ips.is_empty() {
                t.by_name.remove(&k);
            }
        }
        if let Some(names) = t.by_ip.get_mut(&ip) {
            names.retain(|n| key(n) != k);
            if names.is_empty() {
                t.by_ip.remove(&ip);
            }
        }
    }

    /// Every name of `ip` stops resolving to it, and its links go (the container left
    /// the network).
    pub fn remove_ip(&self, ip: Ipv4Addr) {
        self.links
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&ip);
        let mut t = self.table.write().unwrap_or_else(PoisonError::into_inner);
        for name in t.by_ip.remove(&ip).unwrap_or_default() {
            let k = key(&name);
            if let Some(ips) = t.by_name.get_mut(&k) {
                ips.retain(|i| *i != ip);
                if ips.is_empty() {
                    t.by_name.remove(&k);
                }
            }
        }
    }

    /// The addresses of `name` on this network, in the order added; empty when unknown.
    pub fn lookup(&self, name: &str) -> Vec<Ipv4Addr> {
        self.table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_name
            .get(&key(name))
            .cloned()
            .unwrap_or_default()
    }

    /// The first name added for `ip` on this network (the container name, as the engine
    /// adds it first), as spelled then.
    pub fn name_of(&self, ip: Ipv4Addr) -> Option<String> {
        self.table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_ip
            .get(&ip)
            .and_then(|names| names.first().cloned())
    }

    /// Queries from `client` (its address on this network) also see the names of
    /// `others`, searched in that order after this network's; replaces earlier links of
    /// that client, and an empty list removes them.
    pub fn set_links(&self, client: Ipv4Addr, others: Vec<Arc<Records>>) {
        let mut links = self.links.write().unwrap_or_else(PoisonError::into_inner);
        if others.is_empty() {
            links.remove(&client);
        } else {
            links.insert(client, others.iter().map(Arc::downgrade).collect());
        }
    }

    /// What `client` sees for `name`: this network's addresses, else those of the first
    /// linked network that knows the name.
    pub fn lookup_for(&self, client: Option<Ipv4Addr>, name: &str) -> Vec<Ipv4Addr> {
        let own = self.lookup(name);
        if !own.is_empty() {
            return own;
        }
        self.linked(client)
            .iter()
            .map(|r| r.lookup(name))
            .find(|ips| !ips.is_empty())
            .unwrap_or_default()
    }

    /// What `client` sees for a reverse lookup of `ip`: this network's first name of it,
    /// else the first linked network's.
    pub fn name_for(&self, client: Option<Ipv4Addr>, ip: Ipv4Addr) -> Option<String> {
        self.name_of(ip)
            .or_else(|| self.linked(client).iter().find_map(|r| r.name_of(ip)))
    }

    /// The live tables linked for `client`.
    fn linked(&self, client: Option<Ipv4Addr>) -> Vec<Arc<Records>> {
        let Some(client) = client else {
            return Vec::new();
        };
        self.links
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&client)
            .map(|others| others.iter().filter_map(Weak::upgrade).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);

    #[test]
    fn names_fold_case_and_trailing_dot() {
        let r = Records::new();
        r.add("Web.", A);
        assert_eq!(r.lookup("WEB"), vec![A]);
        assert_eq!(r.lookup("web."), vec![A]);
        assert_eq!(r.name_of(A).as_deref(), Some("Web"));
        r.add("", A);
        r.add(".", A);
        assert!(r.lookup("").is_empty());
    }

    #[test]
    fn addresses_keep_order_and_duplicates_are_ignored() {
        let r = Records::new();
        r.add("web", B);
        r.add("web", A);
        r.add("WEB", B);
        assert_eq!(r.lookup("web"), vec![B, A]);
    }

    #[test]
    fn remove_drops_one_pair_and_remove_ip_every_name() {
        let r = Records::new();
        r.add("web", A);
        r.add("alias", A);
        r.add("alias", B);
        r.remove("ALIAS", A);
        assert_eq!(r.lookup("alias"), vec![B]);
        assert_eq!(r.name_of(A).as_deref(), Some("web"));
        r.add("alias", A);
        r.remove_ip(A);
        assert!(r.lookup("web").is_empty());
        assert_eq!(r.lookup("alias"), vec![B]);
        assert_eq!(r.name_of(A), None);
        assert_eq!(r.name_of(B).as_deref(), Some("alias"));
    }

    #[test]
    fn ptr_name_is_the_first_added() {
        let r = Records::new();
        r.add("web", A);
        r.add("0123456789ab", A);
        r.add("www", A);
        assert_eq!(r.name_of(A).as_deref(), Some("web"));
        r.remove("web", A);
        assert_eq!(r.name_of(A).as_deref(), Some("0123456789ab"));
    }

    #[test]
    fn links_are_per_client_and_do_not_keep_tables_alive() {
        let own = Records::new();
        let other = Records::new();
        other.add("db", B);
        own.set_links(A, vec![other.clone()]);
        assert_eq!(own.lookup_for(Some(A), "db"), vec![B]);
        assert_eq!(own.name_for(Some(A), B).as_deref(), Some("db"));
        assert!(own.lookup_for(Some(B), "db").is_empty());
        assert!(own.lookup_for(None, "db").is_empty());
        drop(other);
        assert!(own.lookup_for(Some(A), "db").is_empty());
        own.set_links(A, Vec::new());
        assert!(own.links.read().unwrap().is_empty());
    }
}
