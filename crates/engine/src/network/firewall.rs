//! The whole nftables table from the engine's state: one rule set per bridge network
//! and a DNAT map element per published port of every running container.

use berth_network::nft::NetRules;

use super::attach::{port_maps, primary_ip};
use super::model::Driver;
use crate::error::{EngineError, Result};
use crate::Engine;

impl Engine {
    /// Rewrites berth's table to match the networks and running containers (daemon
    /// start, network create/remove). Atomic: on error the old table stays.
    pub(crate) fn sync_firewall(&self) -> Result<()> {
        let Some(fw) = &self.firewall else {
            return Ok(());
        };
        let nets: Vec<NetRules> = self
            .all_networks()
            .iter()
            .filter(|n| n.rec.driver == Driver::Bridge)
            .filter_map(|n| {
                Some(NetRules {
                    bridge: n.rec.bridge.clone(),
                    subnet: n.rec.subnet?,
                    internal: n.rec.internal,
                })
            })
            .collect();
        let mut ports = Vec::new();
        for c in self.all_containers() {
            let rec = c.record();
            if !rec.state.status.is_alive() {
                continue;
            }
            if let Some(ip) = primary_ip(&rec) {
                ports.extend(port_maps(&rec.network.ports, ip));
            }
        }
        fw.apply(&nets, &ports)
            .map_err(|e| EngineError::internal(format!("nftables: {e}")))
    }
}
