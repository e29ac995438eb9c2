//! Writes OCI image layouts by hand: layers with files, dirs, whiteouts and opaque
//! markers, compressed with gzip, zstd or not at all; configs, manifests and indexes.
//!
//! Everything lives under the caller's directory; nothing is shared between tests.

use std::io::Write as _;
use std::path::Path;

use berth_image::digest::Digest;
use serde_json::{json, Value};

/// OCI media types used here.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// One tar entry.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A directory (mode 0755).
    Dir(&'static str),
    /// A regular file (mode 0644) with content.
    File(&'static str, Vec<u8>),
    /// A whiteout for this path (`dir/.wh.name`).
    Whiteout(&'static str),
    /// An opaque marker for this dir (`dir/.wh..wh..opq`).
    Opaque(&'static str),
}

/// A regular file entry.
pub fn file(path: &'static str, content: impl AsRef<[u8]>) -> Entry {
    Entry::File(path, content.as_ref().to_vec())
}

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
    /// Plain tar.
    None,
}

impl Compression {
    fn media_type(self) -> &'static str {
        match self {
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
        }
    }
}

/// A blob written into a layout.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Digest.
    pub digest: Digest,
    /// Bytes.
    pub bytes: Vec<u8>,
}

/// An image written into a layout.
#[derive(Debug, Clone)]
pub struct Image {
    /// Manifest blob.
    pub manifest: Blob,
    /// Config blob.
    pub config: Blob,
    /// Layer blobs.
    pub layers: Vec<Blob>,
    /// Diff ids.
    pub diff_ids: Vec<Digest>,
}

/// The uncompressed tar of `entries`.
pub fn tar(entries: &[Entry]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        let (path, data): (String, &[u8]) = match entry {
            Entry::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                (format!("{p}/"), &[])
            }
            Entry::File(p, d) => {
                h.set_mode(0o644);
                ((*p).to_owned(), d)
            }
            Entry::Whiteout(p) => {
                h.set_mode(0o644);
                let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
                let path = if dir.is_empty() {
                    format!(".wh.{name}")
                } else {
                    format!("{dir}/.wh.{name}")
                };
                (path, &[])
            }
            Entry::Opaque(p) => {
                h.set_mode(0o644);
                (format!("{p}/.wh..wh..opq"), &[])
            }
        };
        h.set_size(data.len() as u64);
        tar.append_data(&mut h, path, data).unwrap();
    }
    tar.into_inner().unwrap()
}

/// Compresses a tar as asked.
pub fn compress(raw: &[u8], c: Compression) -> Vec<u8> {
    match c {
        Compression::None => raw.to_vec(),
        Compression::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(raw).unwrap();
            gz.finish().unwrap()
        }
        Compression::Zstd => zstd::encode_all(raw, 3).unwrap(),
    }
}

/// Writes `bytes` as a blob of the layout at `dir`.
pub fn write_blob(dir: &Path, bytes: Vec<u8>) -> Blob {
    let digest = Digest::sha256_of(&bytes);
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(digest.hex()), &bytes).unwrap();
    Blob { digest, bytes }
}

fn descriptor(media_type: &str, blob: &Blob) -> Value {
    json!({ "mediaType": media_type, "digest": blob.digest.to_string(), "size": blob.bytes.len() })
}

/// Writes one image (config, layers, manifest) for `arch` into `dir`'s blobs.
pub fn image(dir: &Path, arch: &str, layers: &[(Compression, Vec<Entry>)]) -> Image {
    let mut blobs = Vec::new();
    let mut diff_ids = Vec::new();
    for (c, entries) in layers {
        let raw = tar(entries);
        diff_ids.push(Digest::sha256_of(&raw));
        blobs.push((*c, write_blob(dir, compress(&raw, *c))));
    }
    let config = json!({
        "architecture": arch, "os": "linux",
        "config": { "Cmd": ["/bin/sh"], "Labels": { "arch": arch } },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    let config = write_blob(dir, serde_json::to_vec(&config).unwrap());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": blobs.iter().map(|(c, b)| descriptor(c.media_type(), b)).collect::<Vec<_>>(),
    });
    let manifest = write_blob(dir, serde_json::to_vec(&manifest).unwrap());
    Image {
        manifest,
        config,
        layers: blobs.into_iter().map(|(_, b)| b).collect(),
        diff_ids,
    }
}

/// Writes `oci-layout` and adds an `index.json` entry tagged `tag` pointing at `top`.
pub fn tag(dir: &Path, tag: &str, media_type: &str, top: &Blob) {
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let path = dir.join("index.json");
    let mut index: Value = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| json!({ "schemaVersion": 2, "manifests": [] }));
    let mut d = descriptor(media_type, top);
    d["annotations"] = json!({ "org.opencontainers.image.ref.name": tag });
    index["manifests"].as_array_mut().unwrap().push(d);
    std::fs::write(path, serde_json::to_vec(&index).unwrap()).unwrap();
}

/// An OCI index of `images` (with their platforms) written and tagged `tag`.
pub fn index(dir: &Path, tag_name: &str, images: &[(&str, &Image)]) -> Blob {
    let manifests: Vec<Value> = images
        .iter()
        .map(|(arch, img)| {
            let mut d = descriptor(OCI_MANIFEST, &img.manifest);
            d["platform"] = json!({ "architecture": arch, "os": "linux" });
            d
        })
        .collect();
    let index = json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
    let index = write_blob(dir, serde_json::to_vec(&index).unwrap());
    tag(dir, tag_name, OCI_INDEX, &index);
    index
}

/// `len` pseudo-random (incompressible) bytes from `seed`.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}
