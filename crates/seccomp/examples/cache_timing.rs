//! Prints how long compiling Docker's default seccomp profile takes cold (generating BPF)
//! versus from the on-disk cache. Measurement only, no assertions:
//! `cargo run --release -p berth-seccomp --example cache_timing`.

use std::time::{Duration, Instant};

use berth_seccomp::{compile, compile_with_status, docker_default_profile, CacheStatus};

fn main() {
    let caps: Vec<String> = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_SETUID", "CAP_SETGID"]
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    let profile = docker_default_profile(&caps).expect("convert the embedded profile");
    let rounds = 50u32;

    let mut cold = Duration::ZERO;
    for _ in 0..rounds {
        let start = Instant::now();
        compile(&profile, None).expect("compile without cache");
        cold += start.elapsed();
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let start = Instant::now();
    let (filter, status) = compile_with_status(&profile, Some(dir.path())).expect("miss");
    let miss = start.elapsed();
    assert!(matches!(status, CacheStatus::Miss { .. }));

    let mut hit = Duration::ZERO;
    for _ in 0..rounds {
        let start = Instant::now();
        let (cached, status) = compile_with_status(&profile, Some(dir.path())).expect("hit");
        hit += start.elapsed();
        assert!(matches!(status, CacheStatus::Hit { .. }) && cached == filter);
    }

    println!(
        "docker default profile: {} instructions ({} bytes)",
        filter.instructions(),
        filter.program.len()
    );
    println!(
        "cold compile (no cache): {:?} avg over {rounds}",
        cold / rounds
    );
    println!("first compile with cache dir (miss + fsync'd write): {miss:?}");
    println!("cache hit: {:?} avg over {rounds}", hit / rounds);
}
