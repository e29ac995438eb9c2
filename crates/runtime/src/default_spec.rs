//! The default config.json printed by `berth-runtime spec`. STUB: to be implemented.

/// The default spec, like runc's (`rootless` adds a user namespace with the caller's ids).
pub fn default_spec(rootless: bool) -> oci_spec::runtime::Spec {
    let _ = rootless;
    oci_spec::runtime::Spec::default()
}
