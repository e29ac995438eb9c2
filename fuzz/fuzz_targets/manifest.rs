//! `manifest::parse` (without a Content-Type and with each one a registry may
//! send) and `ImageConfig::parse` on arbitrary bytes: must never panic.
#![no_main]

use berth_image::manifest::{self, config::ImageConfig, media_type};
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: &[&str] = &[
    media_type::DOCKER_MANIFEST,
    media_type::DOCKER_MANIFEST_LIST,
    media_type::DOCKER_SCHEMA1_MANIFEST,
    media_type::DOCKER_SCHEMA1_SIGNED_MANIFEST,
    media_type::OCI_MANIFEST,
    media_type::OCI_INDEX,
    // Generic / odd ones registries really send.
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/octet-stream",
    "",
    "APPLICATION/VND.OCI.IMAGE.MANIFEST.V1+JSON ; charset=utf-8",
    media_type::OCI_CONFIG,
];

fuzz_target!(|data: &[u8]| {
    let _ = manifest::parse(data, None);
    for ct in CONTENT_TYPES {
        let _ = manifest::parse(data, Some(ct));
    }
    // A content type taken from the input itself, so odd strings get tried too.
    if let Some(nl) = data.iter().position(|&b| b == b'\n') {
        if let Ok(ct) = std::str::from_utf8(&data[..nl]) {
            let _ = manifest::parse(&data[nl + 1..], Some(ct));
        }
    }
    if let Ok(config) = ImageConfig::parse(data) {
        let _ = config.chain_id();
        let _ = config.to_oci();
    }
});
