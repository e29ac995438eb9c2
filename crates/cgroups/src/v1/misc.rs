//! v1 pids, hugetlb, net_cls and net_prio writes.
//!
//! Pure planning for the runtime process (cgroup-v1 pids.rst, hugetlb.rst, net_cls.rst,
//! net_prio.rst). RDMA limits are not supported.

use oci_spec::runtime::LinuxResources;

use crate::plan::{check_page_size, max_or, Write};
use crate::CgroupError;

/// `pids.max`: a limit ≤ 0 means no limit.
pub fn pids_writes(r: &LinuxResources) -> Vec<Write> {
    r.pids()
        .map(|p| {
            Write::new(
                "pids",
                "pids.max",
                max_or(if p.limit() <= 0 { -1 } else { p.limit() }),
            )
        })
        .into_iter()
        .collect()
}

/// `hugetlb.<size>.limit_in_bytes` per page size.
pub fn hugetlb_writes(r: &LinuxResources) -> Result<Vec<Write>, CgroupError> {
    let mut w = Vec::new();
    for h in r.hugepage_limits().iter().flatten() {
        check_page_size(h.page_size())?;
        let file = format!("hugetlb.{}.limit_in_bytes", h.page_size());
        w.push(Write::new("hugetlb", file, h.limit()));
    }
    Ok(w)
}

/// `net_cls.classid` and one `net_prio.ifpriomap` line per interface.
pub fn net_writes(r: &LinuxResources) -> Vec<Write> {
    let mut w = Vec::new();
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            w.push(Write::new("net_cls", "net_cls.classid", id));
        }
        for p in n.priorities().iter().flatten() {
            w.push(Write::new(
                "net_prio",
                "net_prio.ifpriomap",
                format!("{} {}", p.name(), p.priority()),
            ));
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use oci_spec::runtime::{LinuxHugepageLimitBuilder, LinuxPidsBuilder, LinuxResourcesBuilder};

    use super::*;

    #[test]
    fn pids_zero_is_max() {
        let r = LinuxResourcesBuilder::default()
            .pids(LinuxPidsBuilder::default().limit(0).build().unwrap())
            .build()
            .unwrap();
        assert_eq!(pids_writes(&r)[0].value, "max");
        let r = LinuxResourcesBuilder::default()
            .pids(LinuxPidsBuilder::default().limit(32).build().unwrap())
            .build()
            .unwrap();
        assert_eq!(pids_writes(&r)[0].value, "32");
    }

    #[test]
    fn hugetlb_file_names() {
        let h = LinuxHugepageLimitBuilder::default()
            .page_size("2MB")
            .limit(4096)
            .build()
            .unwrap();
        let r = LinuxResourcesBuilder::default()
            .hugepage_limits(vec![h])
            .build()
            .unwrap();
        assert_eq!(
            hugetlb_writes(&r).unwrap()[0].file,
            "hugetlb.2MB.limit_in_bytes"
        );
        let h = LinuxHugepageLimitBuilder::default()
            .page_size("../x")
            .limit(1)
            .build()
            .unwrap();
        let r = LinuxResourcesBuilder::default()
            .hugepage_limits(vec![h])
            .build()
            .unwrap();
        assert!(hugetlb_writes(&r).is_err());
    }
}
