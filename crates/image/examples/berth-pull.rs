//! Benchmark driver for `bench/pull`: pulls one image into fresh stores, or times the
//! creation of a container rootfs (overlay snapshot) over many layers.
//!
//! ```text
//! berth-pull --root DIR [--insecure HOST:PORT]... [--platform P] [--concurrency N] REF
//! berth-pull rootfs-bench --root DIR [--layers 50] [--runs 100] [--warmup 10]
//! ```
//!
//! `pull` opens `DIR/content` (blob store) and `DIR/overlay` (layer store), pulls `REF`
//! (streaming download and unpack, as berthd does) and prints a JSON line with the
//! image id, layer count, bytes and wall time of the pull itself (store opening and
//! runtime start-up excluded; the caller times the whole process as well).
//!
//! `rootfs-bench` unpacks `--layers` small layers (a few files each) into a layer store
//! under `DIR`, then `--runs` times: `Snapshot::prepare` over all of them, `mount`,
//! `unmount`, `remove`; prints a JSON line with the median/p90/min of each step, of
//! `create` (prepare + mount) and of the whole sequence, in milliseconds. Needs root (overlay mounts).
//!
//! Exits non-zero with a message on stderr on any error.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use berth_image::layers::{chain_id, LayerStore};
use berth_image::manifest::Platform;
use berth_image::pull::{pull, PullContext, DEFAULT_CONCURRENCY};
use berth_image::reference::Reference;
use berth_image::snapshot::Snapshot;
use berth_image::store::BlobStore;
use berth_image::unpack::{unpack, UnpackOptions};
use berth_registry::ClientConfig;

type Error = Box<dyn std::error::Error>;
/// `--name value` pairs in command-line order.
type Flags = Vec<(String, String)>;

const USAGE: &str = "usage:
  berth-pull --root DIR [--insecure HOST:PORT]... [--platform OS/ARCH[/VARIANT]] [--concurrency N] REF
  berth-pull rootfs-bench --root DIR [--layers N] [--runs N] [--warmup N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let res = if args.first().map(String::as_str) == Some("rootfs-bench") {
        rootfs_bench(&args[1..])
    } else {
        pull_cmd(&args)
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let mut msg = format!("berth-pull: {err}");
            let mut src = err.source();
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            eprintln!("{msg}");
            ExitCode::FAILURE
        }
    }
}

/// Minimal `--flag value` parser: returns (flags, positionals).
fn parse_flags(args: &[String], known: &[&str]) -> Result<(Flags, Vec<String>), Error> {
    let (mut flags, mut pos) = (Vec::new(), Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(name) = a.strip_prefix("--") {
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_owned(), v.to_owned()),
                None => {
                    let v = it
                        .next()
                        .ok_or(format!("--{name} needs a value\n{USAGE}"))?;
                    (name.to_owned(), v.clone())
                }
            };
            if !known.contains(&name.as_str()) {
                return Err(format!("unknown flag --{name}\n{USAGE}").into());
            }
            flags.push((name, value));
        } else {
            pos.push(a.clone());
        }
    }
    Ok((flags, pos))
}

fn flag<'a>(flags: &'a [(String, String)], name: &str) -> Option<&'a str> {
    flags
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn num_flag(flags: &[(String, String)], name: &str, default: usize) -> Result<usize, Error> {
    match flag(flags, name) {
        None => Ok(default),
        Some(v) => {
            let n: usize = v
                .parse()
                .map_err(|_| format!("--{name}: not a number: {v}"))?;
            if n == 0 {
                return Err(format!("--{name} must be at least 1").into());
            }
            Ok(n)
        }
    }
}

fn pull_cmd(args: &[String]) -> Result<(), Error> {
    let (flags, pos) = parse_flags(args, &["root", "insecure", "platform", "concurrency"])?;
    let [reference] = pos.as_slice() else {
        return Err(format!("expected exactly one image reference\n{USAGE}").into());
    };
    let root = PathBuf::from(flag(&flags, "root").ok_or(format!("--root is required\n{USAGE}"))?);
    let reference = Reference::parse(reference)?;
    let platform = match flag(&flags, "platform") {
        Some(p) => Platform::parse(p)?,
        None => Platform::host(),
    };
    let client = ClientConfig {
        insecure_registries: flags
            .iter()
            .filter(|(n, _)| n == "insecure")
            .map(|(_, v)| v.clone())
            .collect(),
        ..ClientConfig::default()
    };
    let max_concurrent = num_flag(&flags, "concurrency", DEFAULT_CONCURRENCY)?;
    let blobs = BlobStore::open(root.join("content"))?;
    let layers = LayerStore::open(&root.join("overlay"))?;
    let unpack = UnpackOptions::default();
    let ctx = PullContext {
        blobs: &blobs,
        layers: &layers,
        client: &client,
        unpack: &unpack,
        max_concurrent,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let start = Instant::now();
    let pulled = rt.block_on(pull(&ctx, &reference, &platform, &|_| {}))?;
    let secs = start.elapsed().as_secs_f64();
    let (mut compressed, mut uncompressed, mut entries) = (0u64, 0u64, 0u64);
    for l in &pulled.layers {
        let layer = layers.get(&l.chain_id.to_string())?;
        compressed += l.descriptor.size;
        uncompressed += layer.uncompressed_bytes;
        entries += layer.entries;
    }
    println!(
        "{{\"image_id\":\"{}\",\"manifest\":\"{}\",\"layers\":{},\"compressed_bytes\":{compressed},\"uncompressed_bytes\":{uncompressed},\"entries\":{entries},\"concurrency\":{max_concurrent},\"pull_seconds\":{secs:.4}}}",
        pulled.config_digest,
        pulled.manifest_digest,
        pulled.layers.len(),
    );
    eprintln!(
        "pulled {reference} -> {} ({} layers, {:.1} MB compressed, {:.1} MB uncompressed) in {secs:.3}s",
        pulled.config_digest,
        pulled.layers.len(),
        compressed as f64 / 1e6,
        uncompressed as f64 / 1e6,
    );
    Ok(())
}

/// A small gzip-free layer tar: a directory of its own with a few files, plus one
/// shared path every layer overwrites (so the overlay really has to stack them).
fn small_layer_tar(i: usize) -> Result<Vec<u8>, Error> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    dir.set_mtime(0);
    b.append_data(&mut dir, format!("layer{i:03}/"), std::io::empty())?;
    b.append_data(&mut dir.clone(), "etc/", std::io::empty())?;
    let mut file = |path: String, data: Vec<u8>| -> Result<(), Error> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        b.append_data(&mut h, path, data.as_slice())?;
        Ok(())
    };
    for f in 0..4 {
        file(
            format!("layer{i:03}/file{f}"),
            format!("layer {i} file {f}\n").repeat(16).into_bytes(),
        )?;
    }
    file("etc/berth-layer".into(), format!("{i}\n").into_bytes())?;
    Ok(b.into_inner()?)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// (median, p90 by nearest rank, min) of `v`, in ms.
fn summary(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    let p90 = v[(n * 9).div_ceil(10).max(1) - 1];
    (median, p90, v[0])
}

fn rootfs_bench(args: &[String]) -> Result<(), Error> {
    let (flags, pos) = parse_flags(args, &["root", "layers", "runs", "warmup"])?;
    if !pos.is_empty() {
        return Err(format!("unexpected argument {}\n{USAGE}", pos[0]).into());
    }
    let root = PathBuf::from(flag(&flags, "root").ok_or(format!("--root is required\n{USAGE}"))?);
    let n_layers = num_flag(&flags, "layers", 50)?;
    let runs = num_flag(&flags, "runs", 100)?;
    let warmup = flag(&flags, "warmup").map_or(Ok(10), str::parse::<usize>)?;
    let store = LayerStore::open(&root.join("overlay"))?;
    let opts = UnpackOptions::default();

    // Layers through the layer store, as a pull leaves them (diff dirs under
    // overlay/layers/<chain hex>/diff, so the lowerdir list has realistic lengths).
    let mut parent: Option<String> = None;
    let mut diffs = Vec::with_capacity(n_layers);
    for i in 0..n_layers {
        let tar = small_layer_tar(i)?;
        let diff_id = berth_image::digest::Digest::sha256_of(&tar).to_string();
        let chain = chain_id(parent.as_deref(), &diff_id);
        let layer = store.ensure(&chain, parent.as_deref(), |dir: &Path| {
            unpack(tar.as_slice(), dir, &opts)
        })?;
        diffs.push(layer.diff_dir);
        parent = Some(chain);
    }
    diffs.reverse(); // top first
    let lowers = diffs;

    let snap_dir = root.join("containers").join("c0");
    let mut steps: [Vec<f64>; 6] = Default::default();
    let mut strategy = None;
    for run in 0..warmup + runs {
        let t0 = Instant::now();
        let snap = Snapshot::prepare(&snap_dir, &lowers)?;
        let t1 = Instant::now();
        let how = snap.mount()?;
        let t2 = Instant::now();
        if run == 0 {
            // The mount really shows the top layer's version of the shared file.
            let top = std::fs::read_to_string(snap.target().join("etc/berth-layer"))?;
            if top.trim() != (n_layers - 1).to_string() {
                return Err(
                    format!("merged etc/berth-layer is {top:?}, expected the top layer's").into(),
                );
            }
            strategy = Some(how);
        }
        snap.unmount()?;
        let t3 = Instant::now();
        snap.remove()?;
        let t4 = Instant::now();
        if run >= warmup {
            for (v, d) in
                steps
                    .iter_mut()
                    .zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t2 - t0, t4 - t0])
            {
                v.push(ms(d));
            }
        }
    }
    // create = prepare + mount (a rootfs ready for a container); total = all four steps.
    let names = ["prepare", "mount", "unmount", "remove", "create", "total"];
    let mut parts = Vec::new();
    for (name, v) in names.iter().zip(steps.iter_mut()) {
        let (med, p90, min) = summary(v);
        parts.push(format!(
            "\"{name}\":{{\"median_ms\":{med:.4},\"p90_ms\":{p90:.4},\"min_ms\":{min:.4}}}"
        ));
    }
    println!(
        "{{\"layers\":{n_layers},\"runs\":{runs},\"warmup\":{warmup},\"strategy\":\"{:?}\",{}}}",
        strategy.ok_or("no run")?,
        parts.join(",")
    );
    for l in store.list()? {
        store.remove(&l.chain_id)?;
    }
    Ok(())
}
