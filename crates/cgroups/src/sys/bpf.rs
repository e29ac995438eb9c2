//! bpf(2) for cgroup device programs: load, attach, query, detach.
//!
//! Runs in the runtime process. Program fds are `OwnedFd`s owned by the caller; once a
//! program is attached the cgroup holds its own reference, so the fd may be dropped. Needs
//! Linux 4.15 (BPF_PROG_TYPE_CGROUP_DEVICE) and CAP_SYS_ADMIN/CAP_BPF; without them the
//! calls fail with the kernel's errno (EPERM/EINVAL), which callers report as is. The
//! `bpf_attr` layouts below are the prefixes of the kernel's union for each command
//! (include/uapi/linux/bpf.h); the kernel zero-extends shorter attrs.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u8,
    /// `dst_reg` in the low nibble, `src_reg` in the high nibble.
    pub regs: u8,
    /// Signed offset (jumps, memory).
    pub off: i16,
    /// Immediate.
    pub imm: i32,
}

impl Insn {
    /// Build an instruction.
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Self {
            code,
            regs: (src << 4) | (dst & 0x0f),
            off,
            imm,
        }
    }
    /// Destination register.
    #[cfg(test)]
    pub const fn dst(&self) -> u8 {
        self.regs & 0x0f
    }
    /// Source register.
    #[cfg(test)]
    pub const fn src(&self) -> u8 {
        self.regs >> 4
    }
}

#[repr(C)]
#[derive(Default)]
struct LoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// Raw bpf(2) on a `#[repr(C)]` attr struct.
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    let size = libc::c_uint::try_from(size_of::<T>()).expect("bpf attr is a few dozen bytes");
    // Callers in this module pick the `union bpf_attr` prefix struct matching `cmd` and
    // point any buffers inside it at memory that outlives this call.
    // SAFETY: `attr` is a live, exclusively borrowed #[repr(C)] struct of `size` bytes;
    // the kernel reads/writes at most `size` bytes of it and keeps no pointer.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, std::ptr::from_mut(attr), size) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Take ownership of an fd the kernel just returned.
fn owned(fd: libc::c_long) -> OwnedFd {
    let fd = i32::try_from(fd).expect("fds fit in an int");
    // SAFETY: `fd` was just returned by a successful bpf() call that creates a new fd;
    // nothing else in this process knows it, so this `OwnedFd` is its only owner.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn fd_u32(fd: BorrowedFd<'_>) -> u32 {
    u32::try_from(fd.as_raw_fd()).expect("a borrowed fd is non-negative")
}

/// BPF_PROG_LOAD of a BPF_PROG_TYPE_CGROUP_DEVICE program. On failure the verifier log
/// (from a second, logged attempt) is returned with the error.
pub fn load_device_program(insns: &[Insn]) -> Result<OwnedFd, (io::Error, String)> {
    let license = c"Apache-2.0";
    let mut attr = LoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(insns.len())
            .map_err(|_| (io::Error::from(io::ErrorKind::InvalidInput), String::new()))?,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..LoadAttr::default()
    };
    match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => Ok(owned(fd)),
        Err(first) => {
            let mut log = vec![0u8; 64 * 1024];
            attr.log_level = 1;
            attr.log_size = u32::try_from(log.len()).expect("64 KiB fits u32");
            attr.log_buf = log.as_mut_ptr() as u64;
            match bpf(BPF_PROG_LOAD, &mut attr) {
                Ok(fd) => Ok(owned(fd)),
                Err(_) => {
                    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                    Err((
                        first,
                        String::from_utf8_lossy(&log[..end]).trim().to_string(),
                    ))
                }
            }
        }
    }
}

/// BPF_PROG_ATTACH `prog` to the cgroup directory fd with BPF_F_ALLOW_MULTI.
pub fn attach_device_program(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: fd_u32(cgroup),
        attach_bpf_fd: fd_u32(prog),
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(drop)
}

/// BPF_PROG_DETACH `prog` from the cgroup directory fd.
pub fn detach_device_program(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: fd_u32(cgroup),
        attach_bpf_fd: fd_u32(prog),
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: 0,
    };
    bpf(BPF_PROG_DETACH, &mut attr).map(drop)
}

/// BPF_PROG_QUERY: ids of the device programs attached directly to the cgroup.
pub fn query_device_programs(cgroup: BorrowedFd<'_>) -> io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    loop {
        let mut attr = QueryAttr {
            target_fd: fd_u32(cgroup),
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: u32::try_from(ids.len()).expect("small"),
            ..QueryAttr::default()
        };
        match bpf(BPF_PROG_QUERY, &mut attr) {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            Err(e)
                if e.raw_os_error() == Some(libc::ENOSPC)
                    && (attr.prog_cnt as usize) > ids.len() =>
            {
                ids = vec![0; attr.prog_cnt as usize];
            }
            Err(e) => return Err(e),
        }
    }
}

/// BPF_PROG_GET_FD_BY_ID.
pub fn program_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = GetFdAttr {
        prog_id: id,
        ..GetFdAttr::default()
    };
    bpf(BPF_PROG_GET_FD_BY_ID, &mut attr).map(owned)
}
