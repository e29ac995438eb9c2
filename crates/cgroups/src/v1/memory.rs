//! v1 memory controller writes for `linux.resources.memory`.
//!
//! Pure planning, used by the runtime process before it writes under the memory hierarchy.
//! Follows Documentation/admin-guide/cgroup-v1/memory.rst: `memory.limit_in_bytes` must stay
//! ≤ `memory.memsw.limit_in_bytes`, so when both change the order depends on whether the
//! swap limit grows or shrinks. `kernel` (kmem) limits are left out: obsolete since 5.4.

use oci_spec::runtime::LinuxMemory;

use crate::plan::Write;

/// File holding the memory+swap limit; only present with swap accounting.
pub const MEMSW_LIMIT: &str = "memory.memsw.limit_in_bytes";

/// Writes for `mem`. `current_memsw` is the cgroup's present memsw limit (`u64::MAX` for a
/// new cgroup); it is only consulted when both limit and swap are set.
pub fn memory_writes(mem: &LinuxMemory, current_memsw: u64) -> Vec<Write> {
    let mut w = Vec::new();
    let limit = mem
        .limit()
        .map(|l| Write::new("memory", "memory.limit_in_bytes", l));
    let swap = mem.swap().map(|s| Write::new("memory", MEMSW_LIMIT, s));
    match (limit, swap) {
        (Some(l), Some(s)) => {
            // memsw first when it grows (or becomes unlimited) so the new limit fits under
            // it; limit first when memsw shrinks so memsw never drops below the limit.
            let grows = match mem.swap() {
                Some(sw) if sw >= 0 => u64::try_from(sw).is_ok_and(|sw| sw > current_memsw),
                _ => true,
            };
            if grows {
                w.extend([s, l]);
            } else {
                w.extend([l, s]);
            }
        }
        (l, s) => w.extend(l.into_iter().chain(s)),
    }
    if let Some(r) = mem.reservation() {
        w.push(Write::new("memory", "memory.soft_limit_in_bytes", r));
    }
    if let Some(s) = mem.swappiness() {
        w.push(Write::new("memory", "memory.swappiness", s));
    }
    if mem.disable_oom_killer() == Some(true) {
        w.push(Write::new("memory", "memory.oom_control", 1));
    }
    if let Some(t) = mem.kernel_tcp() {
        w.push(Write::new("memory", "memory.kmem.tcp.limit_in_bytes", t));
    }
    w
}

#[cfg(test)]
mod tests {
    use oci_spec::runtime::LinuxMemoryBuilder;

    use super::*;

    fn files(w: &[Write]) -> Vec<(&str, &str)> {
        w.iter()
            .map(|w| (w.file.as_str(), w.value.as_str()))
            .collect()
    }

    #[test]
    fn new_cgroup_writes_limit_before_memsw() {
        let m = LinuxMemoryBuilder::default()
            .limit(100)
            .swap(200)
            .build()
            .unwrap();
        let w = memory_writes(&m, u64::MAX);
        assert_eq!(
            files(&w),
            [("memory.limit_in_bytes", "100"), (MEMSW_LIMIT, "200")]
        );
    }

    #[test]
    fn raising_writes_memsw_first() {
        let m = LinuxMemoryBuilder::default()
            .limit(300)
            .swap(400)
            .build()
            .unwrap();
        let w = memory_writes(&m, 200);
        assert_eq!(
            files(&w),
            [(MEMSW_LIMIT, "400"), ("memory.limit_in_bytes", "300")]
        );
        let m = LinuxMemoryBuilder::default()
            .limit(300)
            .swap(-1)
            .build()
            .unwrap();
        assert_eq!(memory_writes(&m, 200)[0].file, MEMSW_LIMIT);
    }

    #[test]
    fn other_fields() {
        let m = LinuxMemoryBuilder::default()
            .reservation(50)
            .swappiness(10u64)
            .disable_oom_killer(true)
            .build()
            .unwrap();
        assert_eq!(
            files(&memory_writes(&m, u64::MAX)),
            [
                ("memory.soft_limit_in_bytes", "50"),
                ("memory.swappiness", "10"),
                ("memory.oom_control", "1")
            ]
        );
    }
}
