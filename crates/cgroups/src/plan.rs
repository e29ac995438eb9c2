//! The write plan: which cgroupfs file gets which value, decided without touching the kernel.
//!
//! Pure data shared by the v1 and v2 resource modules; `v1::apply` / `v2::apply` carry it
//! out in a short loop. Owns nothing.

/// One cgroupfs write: `value` into `file` of the cgroup directory of `controller`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Controller whose hierarchy (v1) or which must be enabled in the parent (v2);
    /// `""` for v2 core files such as `cgroup.freeze`.
    pub controller: &'static str,
    /// File name inside the cgroup directory.
    pub file: String,
    /// Exactly what is written.
    pub value: String,
}

impl Write {
    /// A write of `value` to `file` of `controller`.
    pub fn new(controller: &'static str, file: impl Into<String>, value: impl ToString) -> Self {
        Self {
            controller,
            file: file.into(),
            value: value.to_string(),
        }
    }
}

/// Render `-1` (or any negative) as `max`, otherwise the number.
pub fn max_or(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

/// Check that a hugetlb page size such as `2MB` or `1GB` is a plain file-name token.
pub fn check_page_size(size: &str) -> Result<(), crate::CgroupError> {
    let ok = !size.is_empty() && size.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(crate::CgroupError::InvalidValue {
            field: "hugepageLimits.pageSize",
            value: size.to_string(),
            reason: "expected a size like 2MB",
        })
    }
}
