//! berth: the Docker-compatible CLI. Skeleton: arrives with the daemon issue (#4).
fn main() {
    eprintln!("berth: not built yet (see issue #4)");
    std::process::exit(1);
}
