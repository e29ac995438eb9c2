//! berth-shim: the per-container monitor. Skeleton: arrives with the daemon issue (#4).
fn main() {
    eprintln!("berth-shim: not built yet (see issue #4)");
    std::process::exit(1);
}
