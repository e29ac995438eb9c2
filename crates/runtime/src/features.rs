//! The OCI runtime features document printed by `berth-runtime features`. STUB.

/// The features document as JSON.
pub fn features() -> serde_json::Value {
    serde_json::json!({})
}
