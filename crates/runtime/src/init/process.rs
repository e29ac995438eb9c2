//! The last steps before execve: identity, capabilities, working directory, program path.
//!
//! Runs in the container init (or exec'd process) after pivot_root / setns(mnt). Order
//! matters: the bounding set is dropped while we still have CAP_SETPCAP, ids change with
//! keep-caps set so the permitted set survives setuid, then the final sets are applied.

use std::collections::HashSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxCapabilities, Process};

/// Set groups, gid and uid from `process.user`, keeping capabilities across setuid.
pub fn set_identity(process: &Process, setgroups_allowed: bool) -> Result<(), String> {
    let user = process.user();
    let uid = Uid::from_raw(user.uid());
    let gid = Gid::from_raw(user.gid());
    if setgroups_allowed {
        let groups: Vec<Gid> = user
            .additional_gids()
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|g| Gid::from_raw(*g))
            .collect();
        nix::unistd::setgroups(&groups).map_err(|e| format!("setgroups {groups:?}: {e}"))?;
    }
    nix::sys::prctl::set_keepcaps(true).map_err(|e| format!("prctl(PR_SET_KEEPCAPS): {e}"))?;
    nix::unistd::setresgid(gid, gid, gid).map_err(|e| format!("setresgid {gid}: {e}"))?;
    nix::unistd::setresuid(uid, uid, uid).map_err(|e| format!("setresuid {uid}: {e}"))?;
    nix::sys::prctl::set_keepcaps(false).map_err(|e| format!("prctl(PR_SET_KEEPCAPS): {e}"))?;
    if let Some(mask) = process.user().umask() {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
    Ok(())
}

/// The capabilities this kernel knows (probed once per process: ~40 prctl calls).
pub fn supported() -> CapsHashSet {
    caps::runtime::thread_all_supported()
}

fn to_set(
    caps: &Option<oci_spec::runtime::Capabilities>,
    supported: &CapsHashSet,
) -> Result<CapsHashSet, String> {
    let mut out = HashSet::new();
    for c in caps.iter().flatten() {
        let name = c.to_string();
        let name = if name.starts_with("CAP_") {
            name
        } else {
            format!("CAP_{name}")
        };
        let cap: Capability = name
            .parse()
            .map_err(|_| format!("unknown capability {name}"))?;
        // Capabilities this kernel does not know cannot be held; skip them like runc.
        if supported.contains(&cap) {
            out.insert(cap);
        }
    }
    Ok(out)
}

/// Drop everything outside the bounding set (needs CAP_SETPCAP; call before setuid).
pub fn drop_bounding(
    caps: Option<&LinuxCapabilities>,
    supported: &CapsHashSet,
) -> Result<(), String> {
    let Some(caps) = caps else { return Ok(()) };
    let keep = to_set(caps.bounding(), supported)?;
    for &cap in supported {
        if !keep.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(|e| format!("drop {cap} from bounding set: {e}"))?;
        }
    }
    Ok(())
}

/// Apply the effective, permitted, inheritable and ambient sets (after setuid).
pub fn apply_caps(caps: Option<&LinuxCapabilities>, supported: &CapsHashSet) -> Result<(), String> {
    let Some(caps) = caps else { return Ok(()) };
    let permitted = to_set(caps.permitted(), supported)?;
    let effective = to_set(caps.effective(), supported)?;
    let inheritable = to_set(caps.inheritable(), supported)?;
    let ambient = to_set(caps.ambient(), supported)?;
    // Order: inheritable and permitted first (effective must stay within permitted).
    caps::set(None, CapSet::Inheritable, &inheritable)
        .map_err(|e| format!("set inheritable caps: {e}"))?;
    caps::set(
        None,
        CapSet::Effective,
        &effective.intersection(&permitted).copied().collect(),
    )
    .map_err(|e| format!("set effective caps: {e}"))?;
    caps::set(None, CapSet::Permitted, &permitted)
        .map_err(|e| format!("set permitted caps: {e}"))?;
    caps::set(None, CapSet::Effective, &effective)
        .map_err(|e| format!("set effective caps: {e}"))?;
    caps::clear(None, CapSet::Ambient).map_err(|e| format!("clear ambient caps: {e}"))?;
    // The kernel only allows ambient caps that are permitted and inheritable; runc's
    // default spec lists ambient caps without inheritable ones, so skip the rest quietly.
    for cap in ambient
        .iter()
        .copied()
        .filter(|c| inheritable.contains(c) && permitted.contains(c))
    {
        caps::raise(None, CapSet::Ambient, cap).map_err(|e| format!("raise ambient {cap}: {e}"))?;
    }
    Ok(())
}

/// chdir into `process.cwd` and make sure it is inside the container's root
/// (a leaked host directory fd would show up as "(unreachable)": CVE-2024-21626).
pub fn enter_cwd(cwd: &Path) -> Result<(), String> {
    nix::unistd::chdir(cwd).map_err(|e| format!("process.cwd {}: {e}", cwd.display()))?;
    let now = nix::unistd::getcwd().map_err(|e| format!("getcwd: {e}"))?;
    if !now.is_absolute() || now.as_os_str().as_bytes().starts_with(b"(unreachable)") {
        return Err(format!(
            "process.cwd {}: resolves outside the container root",
            cwd.display()
        ));
    }
    Ok(())
}

/// Find `args[0]` on the PATH from the process's own environment (execvp semantics).
pub fn lookup(program: &str, env: &[String]) -> Result<PathBuf, String> {
    if program.contains('/') {
        // Checked here, before the start gate, so the caller can refuse the start with
        // Docker's texts instead of the process failing at execve afterwards.
        return match std::fs::metadata(program) {
            Err(_) => Err(format!(
                "exec: \"{program}\": stat {program}: no such file or directory"
            )),
            Ok(md) if md.is_dir() => Err(format!(
                "exec: \"{program}\": is a directory: permission denied"
            )),
            Ok(md) if std::os::unix::fs::PermissionsExt::mode(&md.permissions()) & 0o111 == 0 => {
                Err(format!("exec: \"{program}\": permission denied"))
            }
            Ok(_) => Ok(program.into()),
        };
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let cand = Path::new(dir).join(program);
        if let Ok(md) = std::fs::metadata(&cand) {
            if md.is_file()
                && std::os::unix::fs::PermissionsExt::mode(&md.permissions()) & 0o111 != 0
            {
                return Ok(cand);
            }
        }
    }
    Err(format!(
        "exec: \"{program}\": executable file not found in $PATH"
    ))
}

/// execve(2) the user program; returns only on failure.
pub fn exec(path: &Path, args: &[String], env: &[String]) -> String {
    let c = |s: &str| CString::new(s).unwrap_or_default();
    let Ok(p) = CString::new(path.as_os_str().as_bytes()) else {
        return "program path contains NUL".into();
    };
    let argv: Vec<CString> = args.iter().map(|a| c(a)).collect();
    let envp: Vec<CString> = env.iter().map(|e| c(e)).collect();
    match nix::unistd::execve(&p, &argv, &envp) {
        Err(e) => format!("exec {}: {e}", path.display()),
        Ok(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_on_path() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        assert!(lookup("sh", &env).is_ok());
        let e = lookup("definitely-not-a-program", &env).unwrap_err();
        assert!(e.contains("executable file not found in $PATH"), "{e}");
        assert!(lookup("/no/such", &env)
            .unwrap_err()
            .contains("no such file"));
        assert!(lookup("/etc/passwd", &env)
            .unwrap_err()
            .ends_with("permission denied"));
        assert!(lookup("/etc", &env).unwrap_err().contains("is a directory"));
    }
}
