//! Media type strings of Docker schema2 and OCI manifests, indexes, configs and layers.
//!
//! Pure constants and classification used by manifest parsing and layer unpacking.

/// Docker v2 schema2 image manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker v2 manifest list (multi-platform).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker v2 schema1 manifest (unsupported, detected only to give a clear error).
pub const DOCKER_SCHEMA1_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Signed Docker v2 schema1 manifest (unsupported).
pub const DOCKER_SCHEMA1_SIGNED_MANIFEST: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index (multi-platform).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// Docker gzip-compressed layer.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker uncompressed layer (written by some tools; not in the schema2 spec).
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// Docker zstd-compressed layer (containerd's name).
pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";
/// Docker foreign (non-distributable, e.g. Windows base) gzip layer.
pub const DOCKER_LAYER_FOREIGN_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// OCI uncompressed layer.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI gzip-compressed layer.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI zstd-compressed layer.
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// OCI non-distributable uncompressed layer.
pub const OCI_LAYER_NONDISTRIBUTABLE: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
/// OCI non-distributable gzip layer.
pub const OCI_LAYER_NONDISTRIBUTABLE_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/// OCI non-distributable zstd layer.
pub const OCI_LAYER_NONDISTRIBUTABLE_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

/// What a layer media type says about its blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LayerType {
    /// The compression of the blob.
    pub compression: Compression,
    /// Foreign / non-distributable: the blob may live at the descriptor's `urls`.
    pub foreign: bool,
}

/// Classifies a layer media type; `None` if it is not a layer type we can unpack.
pub fn layer_type(media_type: &str) -> Option<LayerType> {
    let (compression, foreign) = match media_type {
        DOCKER_LAYER | OCI_LAYER => (Compression::None, false),
        DOCKER_LAYER_GZIP | OCI_LAYER_GZIP => (Compression::Gzip, false),
        DOCKER_LAYER_ZSTD | OCI_LAYER_ZSTD => (Compression::Zstd, false),
        OCI_LAYER_NONDISTRIBUTABLE => (Compression::None, true),
        DOCKER_LAYER_FOREIGN_GZIP | OCI_LAYER_NONDISTRIBUTABLE_GZIP => (Compression::Gzip, true),
        OCI_LAYER_NONDISTRIBUTABLE_ZSTD => (Compression::Zstd, true),
        _ => return None,
    };
    Some(LayerType {
        compression,
        foreign,
    })
}

/// Whether `media_type` is an image config type.
pub fn is_config(media_type: &str) -> bool {
    matches!(media_type, DOCKER_CONFIG | OCI_CONFIG)
}

/// Whether `media_type` is a single-image manifest type.
pub fn is_manifest(media_type: &str) -> bool {
    matches!(media_type, DOCKER_MANIFEST | OCI_MANIFEST)
}

/// Whether `media_type` is a multi-platform index type.
pub fn is_index(media_type: &str) -> bool {
    matches!(media_type, DOCKER_MANIFEST_LIST | OCI_INDEX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_layers() {
        let cases = [
            (DOCKER_LAYER_GZIP, Compression::Gzip, false),
            (DOCKER_LAYER, Compression::None, false),
            (DOCKER_LAYER_ZSTD, Compression::Zstd, false),
            (DOCKER_LAYER_FOREIGN_GZIP, Compression::Gzip, true),
            (OCI_LAYER, Compression::None, false),
            (OCI_LAYER_GZIP, Compression::Gzip, false),
            (OCI_LAYER_ZSTD, Compression::Zstd, false),
            (OCI_LAYER_NONDISTRIBUTABLE, Compression::None, true),
            (OCI_LAYER_NONDISTRIBUTABLE_GZIP, Compression::Gzip, true),
            (OCI_LAYER_NONDISTRIBUTABLE_ZSTD, Compression::Zstd, true),
        ];
        for (mt, compression, foreign) in cases {
            assert_eq!(
                layer_type(mt),
                Some(LayerType {
                    compression,
                    foreign
                }),
                "{mt}"
            );
        }
        assert_eq!(layer_type("application/vnd.in-toto+json"), None);
        assert_eq!(layer_type(OCI_CONFIG), None);
    }
}
