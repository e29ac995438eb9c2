//! The few raw syscalls the shim needs that `nix` has no safe form for.
//!
//! Runs in the shim process. Nothing here owns an fd; callers keep them alive for the
//! duration of each call.

use std::io;

/// poll(2) over `fds`; `timeout_ms` < 0 waits forever. EINTR counts as zero events.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    let n = libc::nfds_t::try_from(fds.len()).unwrap_or(libc::nfds_t::MAX);
    // SAFETY: `fds` is a valid, exclusively borrowed slice of `n` pollfd structs that the
    // kernel only writes `revents` of; poll does not retain the pointer after returning.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), n, timeout_ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(0)
        } else {
            Err(e)
        };
    }
    Ok(usize::try_from(rc).unwrap_or(0))
}

/// Sets SIGPIPE to its default action (`true`) or to ignored (`false`).
///
/// The Rust runtime ignores SIGPIPE, and an ignored disposition survives execve: the
/// container init (forked from us without exec) must start with the default, so the
/// shim restores it around `create` and ignores it again afterwards.
pub fn sigpipe_default(default: bool) {
    let action = if default {
        libc::SIG_DFL
    } else {
        libc::SIG_IGN
    };
    // SAFETY: SIG_DFL and SIG_IGN are not handler functions, so no code of ours can run
    // in signal context; the shim is single-threaded, so no other thread races on it.
    unsafe { libc::signal(libc::SIGPIPE, action) };
}

/// Drops this process's page-table entries for clean file-backed pages (code, rodata)
/// and returns freed heap to the kernel: start-up (config parsing, the runtime's
/// create) touched far more than the idle poll loop needs, and every mapped page counts
/// towards the shim's PSS. Fault-around is switched off for those mappings
/// (MADV_RANDOM), so the loop maps back only the pages it really uses (minor faults
/// from the page cache).
pub fn release_startup_memory() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    for (start, end) in clean_file_ranges(&smaps) {
        // [start, end) is a whole read-only private file mapping of our own address
        // space with no anonymous (copied-on-write) pages, per /proc/self/smaps just
        // read; dropping its pages only unmaps file contents that the next access maps
        // again unchanged.
        // SAFETY: that mapping is ours, read-only, and the shim is single-threaded.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_RANDOM);
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
    // SAFETY: malloc_trim only returns free heap memory to the kernel; it takes the
    // allocator's lock itself and the shim is single-threaded.
    unsafe { libc::malloc_trim(0) };
}

/// Address ranges of read-only (r-xp, r--p) file mappings without anonymous pages, from
/// a /proc/pid/smaps text.
pub fn clean_file_ranges(smaps: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut f = line.split_ascii_whitespace();
        let Some(first) = f.next() else { continue };
        if let Some((a, b)) = first.split_once('-') {
            let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            else {
                continue;
            };
            let perms = f.next().unwrap_or("");
            let path = f.nth(3).unwrap_or("");
            current = (matches!(perms, "r-xp" | "r--p") && path.starts_with('/')).then_some((a, b));
        } else if first == "Anonymous:" {
            if let Some(range) = current.take() {
                if f.next() == Some("0") {
                    out.push(range);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_ranges_from_smaps() {
        let smaps = "\
55d0a0000000-55d0a0100000 r--p 00000000 08:01 123 /usr/bin/berth-shim
Rss:                 100 kB
Anonymous:             0 kB
55d0a0100000-55d0a0300000 r-xp 00100000 08:01 123 /usr/bin/berth-shim
Anonymous:             0 kB
55d0a0300000-55d0a0310000 r--p 00300000 08:01 123 /usr/bin/berth-shim
Anonymous:            64 kB
55d0a0310000-55d0a0320000 rw-p 00310000 08:01 123 /usr/bin/berth-shim
Anonymous:             0 kB
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
Anonymous:             0 kB
";
        assert_eq!(
            clean_file_ranges(smaps),
            vec![
                (0x55d0_a000_0000, 0x55d0_a010_0000),
                (0x55d0_a010_0000, 0x55d0_a030_0000)
            ]
        );
    }
}
