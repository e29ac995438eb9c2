//! UTS namespace names.

use std::io;

/// setdomainname(2): set the NIS domain name of the current UTS namespace.
pub fn set_domainname(name: &str) -> io::Result<()> {
    // SAFETY: the pointer and length describe the live bytes of `name`; the kernel copies
    // at most `len` bytes and does not keep the pointer.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
