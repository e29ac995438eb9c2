//! `docker load`: images from a docker save archive (`manifest.json`, old or Docker 25+
//! style) or an OCI image layout (`index.json`) into the stores, all or nothing.
//!
//! Runs in berthd. Steps: stage the archive ([`super::staging`]), plan every image from
//! its metadata (paths cleaned, configs parsed, layer counts checked), measure each
//! layer's diff id against the config, and only then unpack layers, store blobs, add
//! records and move tags, under a [`Rollback`]. Layers in `manifest.json` may be plain or
//! compressed tars; a Docker 25+ archive's OCI manifest is kept when it describes the
//! same blobs, otherwise an OCI manifest is written for the image.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::layout::{
    annotated_name, diff_id_of, oci_manifest, parse_tag, Compression, LayerBlob, INDEX_JSON,
    MANIFEST_JSON,
};
use super::rollback::Rollback;
use super::staging::{Limits, Member, Staged};
use super::ArchiveError;
use crate::digest::Digest;
use crate::images::{ImageRecord, ImageStore};
use crate::manifest::{
    self, chain_ids, media_type, Descriptor, ImageConfig, Manifest, Parsed, Platform,
    MAX_CONFIG_SIZE, MAX_MANIFEST_SIZE,
};
use crate::reference::Reference;
use crate::unpack::UnpackOptions;

/// Limits for `load`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Most bytes of archive content (all members together).
    pub max_bytes: u64,
    /// Most archive members.
    pub max_members: u64,
    /// Options for unpacking each layer.
    pub unpack: UnpackOptions,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_bytes: manifest::MAX_LAYER_SIZE,
            max_members: 100_000,
            unpack: UnpackOptions::default(),
        }
    }
}

/// One loaded image: Docker prints `Loaded image: <tag>` per tag, or
/// `Loaded image ID: <id>` when there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The image id.
    pub id: Digest,
    /// Its tags from the archive, familiar form (`busybox:latest`).
    pub tags: Vec<String>,
}

/// An image found in the archive, validated but not stored yet.
struct Plan {
    config_path: String,
    config_bytes: Vec<u8>,
    config: ImageConfig,
    layers: Vec<(String, Member)>,
    manifest: Option<Vec<u8>>,
    others: Vec<Vec<u8>>,
    tags: Vec<Reference>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// Loads every image of the archive read from `reader`; see the module docs.
pub fn load(
    store: &ImageStore,
    reader: impl std::io::Read,
    opts: &LoadOptions,
) -> Result<Vec<Loaded>, ArchiveError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let dir = store
        .dir()
        .join(format!(".load-{}-{nanos}", std::process::id()));
    let limits = Limits {
        total_bytes: opts.max_bytes,
        members: opts.max_members,
    };
    let staged = Staged::read(reader, dir, limits)?;
    let plans = if staged.has(MANIFEST_JSON) {
        docker_plans(&staged)?
    } else if staged.has(INDEX_JSON) {
        oci_plans(&staged)?
    } else {
        return Err(ArchiveError::NoManifest);
    };
    verify_diff_ids(&plans)?;
    let mut rollback = Rollback::new(store);
    let mut out = Vec::new();
    for plan in &plans {
        let id = store_plan(&mut rollback, plan, &opts.unpack)?;
        out.push(Loaded {
            id,
            tags: plan.tags.iter().map(Reference::familiar).collect(),
        });
    }
    for (plan, loaded) in plans.iter().zip(&out) {
        for tag in &plan.tags {
            store.tag(&loaded.id, &tag.to_string())?;
        }
    }
    rollback.commit();
    drop(staged);
    Ok(out)
}

fn decode<T: serde::de::DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<T, ArchiveError> {
    serde_json::from_slice(bytes).map_err(|source| ArchiveError::Decode {
        path: path.to_owned(),
        source,
    })
}

fn parse_config(path: &str, bytes: &[u8]) -> Result<ImageConfig, ArchiveError> {
    ImageConfig::parse(bytes).map_err(|source| ArchiveError::Config {
        path: path.to_owned(),
        source,
    })
}

fn check_layer_count(path: &str, config: &ImageConfig, layers: usize) -> Result<(), ArchiveError> {
    let expected = config.rootfs.diff_ids.len();
    if expected != layers {
        return Err(ArchiveError::LayerCount {
            config: path.to_owned(),
            expected,
            actual: layers,
        });
    }
    Ok(())
}

fn docker_plans(staged: &Staged) -> Result<Vec<Plan>, ArchiveError> {
    let bytes = staged.read_small(MANIFEST_JSON, MAX_MANIFEST_SIZE)?;
    let entries: Vec<DockerEntry> = decode(MANIFEST_JSON, &bytes)?;
    // A Docker 25+ archive also has OCI manifests; keep one when it matches exactly.
    let oci: HashMap<Digest, (Vec<u8>, Manifest)> = if staged.has(INDEX_JSON) {
        oci_plans(staged)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| {
                let m = p.manifest?;
                let parsed = match manifest::parse(&m, Some(media_type::OCI_MANIFEST)) {
                    Ok(Parsed::Manifest(parsed)) => parsed,
                    _ => return None,
                };
                Some((Digest::sha256_of(&p.config_bytes), (m, parsed)))
            })
            .collect()
    } else {
        HashMap::new()
    };
    let mut plans = Vec::new();
    for entry in entries {
        let config_bytes = staged.read_small(&entry.config, MAX_CONFIG_SIZE)?;
        let config = parse_config(&entry.config, &config_bytes)?;
        check_layer_count(&entry.config, &config, entry.layers.len())?;
        let mut layers = Vec::new();
        for name in &entry.layers {
            layers.push((name.clone(), staged.get(name)?.clone()));
        }
        let tags = entry
            .repo_tags
            .unwrap_or_default()
            .iter()
            .map(|t| parse_tag(t))
            .collect::<Result<Vec<_>, _>>()?;
        let manifest = oci
            .get(&Digest::sha256_of(&config_bytes))
            .and_then(|(bytes, m)| {
                let same = m.layers.len() == layers.len()
                    && m.layers
                        .iter()
                        .zip(&layers)
                        .all(|(d, (_, l))| d.digest == l.digest);
                same.then(|| bytes.clone())
            });
        plans.push(Plan {
            config_path: entry.config,
            config_bytes,
            config,
            layers,
            manifest,
            others: Vec::new(),
            tags,
        });
    }
    Ok(plans)
}

fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm(), digest.hex())
}

/// The staged blob `digest`, checked to hash to it (links could alias other members).
fn blob<'s>(staged: &'s Staged, digest: &Digest) -> Result<&'s Member, ArchiveError> {
    let path = blob_path(digest);
    let m = staged.get(&path)?;
    if &m.digest != digest {
        return Err(ArchiveError::BlobDigest {
            path,
            actual: m.digest.clone(),
        });
    }
    Ok(m)
}

fn read_blob(staged: &Staged, d: &Descriptor, limit: u64) -> Result<Vec<u8>, ArchiveError> {
    blob(staged, &d.digest)?;
    staged.read_small(&blob_path(&d.digest), limit)
}

fn parse_doc(path: &str, bytes: &[u8], media: Option<&str>) -> Result<Parsed, ArchiveError> {
    manifest::parse(bytes, media).map_err(|source| ArchiveError::Manifest {
        path: path.to_owned(),
        source,
    })
}

fn oci_plans(staged: &Staged) -> Result<Vec<Plan>, ArchiveError> {
    let bytes = staged.read_small(INDEX_JSON, MAX_MANIFEST_SIZE)?;
    let Parsed::Index(index) = parse_doc(INDEX_JSON, &bytes, Some(media_type::OCI_INDEX))? else {
        return Err(ArchiveError::NoManifest);
    };
    let mut by_manifest: BTreeMap<Digest, usize> = BTreeMap::new();
    let mut plans: Vec<Plan> = Vec::new();
    for top in &index.manifests {
        let mut desc = top.clone();
        let mut others = Vec::new();
        while media_type::is_index(&desc.media_type) && others.len() < 2 {
            let bytes = read_blob(staged, &desc, MAX_MANIFEST_SIZE)?;
            let path = blob_path(&desc.digest);
            let Parsed::Index(inner) = parse_doc(&path, &bytes, Some(&desc.media_type))? else {
                return Err(ArchiveError::NoManifest);
            };
            desc = manifest::select(&inner, &Platform::host())
                .map_err(|source| ArchiveError::Platform { path, source })?
                .clone();
            others.push(bytes);
        }
        if !media_type::is_manifest(&desc.media_type) {
            continue; // attestations and other artifacts
        }
        let name = annotated_name(&top.annotations);
        if let Some(&i) = by_manifest.get(&desc.digest) {
            plans[i].tags.extend(name);
            continue;
        }
        let manifest_bytes = read_blob(staged, &desc, MAX_MANIFEST_SIZE)?;
        let path = blob_path(&desc.digest);
        let Parsed::Manifest(m) = parse_doc(&path, &manifest_bytes, Some(&desc.media_type))? else {
            return Err(ArchiveError::NoManifest);
        };
        let config_path = blob_path(&m.config.digest);
        let config_bytes = read_blob(staged, &m.config, MAX_CONFIG_SIZE)?;
        let config = parse_config(&config_path, &config_bytes)?;
        check_layer_count(&config_path, &config, m.layers.len())?;
        let mut layers = Vec::new();
        for l in &m.layers {
            layers.push((blob_path(&l.digest), blob(staged, &l.digest)?.clone()));
        }
        by_manifest.insert(desc.digest.clone(), plans.len());
        plans.push(Plan {
            config_path,
            config_bytes,
            config,
            layers,
            manifest: Some(manifest_bytes),
            others,
            tags: name.into_iter().collect(),
        });
    }
    Ok(plans)
}

/// Measures every layer's diff id (once per distinct blob) against its config.
fn verify_diff_ids(plans: &[Plan]) -> Result<(), ArchiveError> {
    let mut measured: HashMap<Digest, Digest> = HashMap::new();
    for plan in plans {
        for ((name, member), expected) in plan.layers.iter().zip(&plan.config.rootfs.diff_ids) {
            let actual = match measured.get(&member.digest) {
                Some(d) => d.clone(),
                None => {
                    let d = diff_id_of(&member.file, &member.digest).map_err(|source| {
                        ArchiveError::Read {
                            what: format!("layer {name}"),
                            source,
                        }
                    })?;
                    measured.insert(member.digest.clone(), d.clone());
                    d
                }
            };
            if &actual != expected {
                return Err(ArchiveError::DiffId {
                    layer: name.clone(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
    }
    Ok(())
}

/// Unpacks the plan's layers and stores its blobs and record; returns the image id.
fn store_plan(
    rollback: &mut Rollback<'_>,
    plan: &Plan,
    opts: &UnpackOptions,
) -> Result<Digest, ArchiveError> {
    let chains = chain_ids(&plan.config.rootfs.diff_ids);
    let mut layer_blobs = Vec::new();
    for (i, (name, member)) in plan.layers.iter().enumerate() {
        let parent = i.checked_sub(1).map(|p| &chains[p]);
        rollback.ensure_layer(&chains[i], parent, &member.file, opts)?;
        rollback.put_file(&member.file, &member.digest, member.size)?;
        let compression =
            Compression::of_file(&member.file).map_err(|source| ArchiveError::Read {
                what: format!("layer {name}"),
                source,
            })?;
        layer_blobs.push(LayerBlob {
            digest: member.digest.clone(),
            size: member.size,
            media_type: compression.oci_media_type().to_owned(),
        });
    }
    let config_digest = rollback.put_bytes(&plan.config_bytes)?;
    let manifest_bytes = plan.manifest.clone().unwrap_or_else(|| {
        oci_manifest(&config_digest, plan.config_bytes.len() as u64, &layer_blobs)
    });
    let manifest_digest = rollback.put_bytes(&manifest_bytes)?;
    let mut others = Vec::new();
    for bytes in &plan.others {
        others.push(rollback.put_bytes(bytes)?);
    }
    let digests = layer_blobs.into_iter().map(|l| l.digest).collect();
    let mut rec = ImageRecord::from_config(&plan.config_bytes, Some(manifest_digest), digests)
        .map_err(|source| ArchiveError::Config {
            path: plan.config_path.clone(),
            source,
        })?;
    rec.other_blobs = others;
    Ok(rollback.add_record(rec)?.id)
}
