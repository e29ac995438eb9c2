//! Finding a container by id, name or unique id prefix, the order Docker uses.

use std::sync::Arc;

use super::Container;
use crate::error::{EngineError, Result};
use crate::Engine;

impl Engine {
    /// The container named by `name_or_id`: full id, then name (with or without the
    /// leading `/`), then a unique id prefix.
    pub fn container(&self, name_or_id: &str) -> Result<Arc<Container>> {
        if name_or_id.is_empty() {
            return Err(EngineError::no_such_container(name_or_id));
        }
        let containers = self.containers.read().expect("containers");
        if let Some(c) = containers.get(name_or_id) {
            return Ok(c.clone());
        }
        let name = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if let Some(id) = self.names.read().expect("names").get(name) {
            if let Some(c) = containers.get(id) {
                return Ok(c.clone());
            }
        }
        if name_or_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut hits = containers
                .iter()
                .filter(|(id, _)| id.starts_with(name_or_id));
            match (hits.next(), hits.next()) {
                (Some((_, c)), None) => return Ok(c.clone()),
                (Some(_), Some(_)) => {
                    return Err(EngineError::invalid(format!(
                        "Multiple IDs found with provided prefix: {name_or_id}"
                    )))
                }
                _ => {}
            }
        }
        Err(EngineError::no_such_container(name_or_id))
    }
}
