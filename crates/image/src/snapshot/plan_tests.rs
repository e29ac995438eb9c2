//! Unit tests for the pure mount planner.

use super::*;

const NEW: KernelCaps = KernelCaps {
    lowerdir_append: true,
};
const OLD: KernelCaps = KernelCaps {
    lowerdir_append: false,
};

/// `n` Docker-style short links under `root/l/`, each `name_len` characters long.
fn links(root: &str, n: usize, name_len: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| PathBuf::from(format!("{root}/l/{i:0name_len$}")))
        .collect()
}

fn rw<'a>(lowers: &'a [PathBuf], upper: &'a Path, work: &'a Path) -> Layout<'a> {
    Layout {
        lowers,
        upper_work: Some((upper, work)),
        volatile: false,
    }
}

fn data_of(plan: &MountPlan) -> String {
    match plan {
        MountPlan::Classic { data, .. } => data.to_str().unwrap().to_owned(),
        other => panic!("expected a classic plan, got {other:?}"),
    }
}

#[test]
fn classic_data_lists_lowers_top_first_then_upper_work_and_options() {
    let lowers = vec![PathBuf::from("/l/top"), PathBuf::from("/l/bottom")];
    let plan = mount_plan(
        &rw(&lowers, Path::new("/c/upper"), Path::new("/c/work")),
        NEW,
    )
    .unwrap();
    assert_eq!(plan.strategy(), MountStrategy::Classic);
    assert_eq!(
        data_of(&plan),
        "lowerdir=/l/top:/l/bottom,upperdir=/c/upper,workdir=/c/work,\
         index=off,redirect_dir=nofollow,metacopy=off"
    );
}

#[test]
fn escapes_colon_comma_and_backslash() {
    assert_eq!(escaped(Path::new("/a:b,c\\d")), b"/a\\:b\\,c\\\\d".to_vec());
    let lowers = vec![PathBuf::from("/x:y"), PathBuf::from("/p,q")];
    let plan = mount_plan(&rw(&lowers, Path::new("/u\\"), Path::new("/w")), NEW).unwrap();
    assert!(data_of(&plan).starts_with("lowerdir=/x\\:y:/p\\,q,upperdir=/u\\\\,workdir=/w,"));
}

#[test]
fn fifty_short_links_fit_in_one_classic_mount() {
    let lowers = links("/var/lib/berth/image/overlay", 50, 26);
    let upper = Path::new("/var/lib/berth/containers/0123456789abcdef/upper");
    let work = Path::new("/var/lib/berth/containers/0123456789abcdef/work");
    let plan = mount_plan(&rw(&lowers, upper, work), NEW).unwrap();
    assert_eq!(plan.strategy(), MountStrategy::Classic);
}

#[test]
fn long_data_uses_new_api_with_one_lowerdir_append_per_layer() {
    let lowers = links("/var/lib/berth/image/overlay", 150, 26);
    let layout = rw(&lowers, Path::new("/c/up,per"), Path::new("/c/work"));
    let plan = mount_plan(&layout, NEW).unwrap();
    let MountPlan::NewApi { params, read_only } = plan else {
        panic!("expected the new API, got {plan:?}");
    };
    assert!(!read_only);
    assert_eq!(params.len(), 150 + 2 + HARDENING_OPTIONS.len());
    assert_eq!(params[0].key, c"lowerdir+");
    assert_eq!(params[0].value.as_bytes(), lowers[0].as_os_str().as_bytes());
    assert_eq!(
        params[149].value.as_bytes(),
        lowers[149].as_os_str().as_bytes()
    );
    assert_eq!(params[150].key, c"upperdir");
    assert_eq!(params[150].value.as_bytes(), b"/c/up\\,per");
    assert_eq!(params[151].key, c"workdir");
}

#[test]
fn lowerdir_append_values_are_not_escaped() {
    let lowers = vec![PathBuf::from("/a:b"), PathBuf::from("/c\\d")];
    let MountPlan::NewApi { params, .. } =
        new_api_plan(&rw(&lowers, Path::new("/u"), Path::new("/w")))
    else {
        panic!("new_api_plan must return NewApi");
    };
    assert_eq!(params[0].value.as_bytes(), b"/a:b");
    assert_eq!(params[1].value.as_bytes(), b"/c\\d");
}

#[test]
fn old_kernel_falls_back_to_relative_names_when_they_fit() {
    let lowers = links("/var/lib/berth/image/overlay", 150, 20);
    let plan = mount_plan(
        &rw(&lowers, Path::new("/c/upper"), Path::new("/c/work")),
        OLD,
    )
    .unwrap();
    let MountPlan::Classic { cwd, data, .. } = &plan else {
        panic!("expected classic, got {plan:?}");
    };
    assert_eq!(
        cwd.as_deref(),
        Some(Path::new("/var/lib/berth/image/overlay/l"))
    );
    assert!(data
        .to_bytes()
        .starts_with(b"lowerdir=00000000000000000000:00000000000000000001:"));
    assert!(data.to_bytes().len() < CLASSIC_DATA_MAX);
    assert_eq!(plan.strategy(), MountStrategy::ClassicRelative);
}

#[test]
fn old_kernel_and_too_long_even_relative_is_an_error() {
    let lowers = links("/r", 150, 26);
    let err = mount_plan(
        &rw(&lowers, Path::new("/c/upper"), Path::new("/c/work")),
        OLD,
    )
    .unwrap_err();
    assert!(matches!(err, PlanError::DataTooLong { len } if len > CLASSIC_DATA_MAX));
}

#[test]
fn data_limit_boundary_is_one_page_including_nul() {
    let fixed =
        "lowerdir=,upperdir=/u,workdir=/w,index=off,redirect_dir=nofollow,metacopy=off".len();
    for (name_len, expect) in [
        (CLASSIC_DATA_MAX - 1 - fixed - 1, MountStrategy::Classic),
        (CLASSIC_DATA_MAX - fixed - 1, MountStrategy::NewApi),
    ] {
        let lowers = vec![PathBuf::from(format!("/{}", "x".repeat(name_len)))];
        let plan = mount_plan(&rw(&lowers, Path::new("/u"), Path::new("/w")), NEW).unwrap();
        assert_eq!(plan.strategy(), expect, "lower name of {name_len} bytes");
    }
}

#[test]
fn read_only_views_have_no_upper_and_single_layer_is_a_bind() {
    let one = vec![PathBuf::from("/l/a")];
    let view = Layout {
        lowers: &one,
        upper_work: None,
        volatile: false,
    };
    assert_eq!(
        mount_plan(&view, NEW).unwrap(),
        MountPlan::Bind {
            source: PathBuf::from("/l/a")
        }
    );
    let two = vec![PathBuf::from("/l/a"), PathBuf::from("/l/b")];
    let view = Layout {
        lowers: &two,
        upper_work: None,
        volatile: false,
    };
    let plan = mount_plan(&view, NEW).unwrap();
    let MountPlan::Classic {
        data, read_only, ..
    } = &plan
    else {
        panic!("expected classic, got {plan:?}");
    };
    assert!(read_only);
    assert!(!data.to_str().unwrap().contains("upperdir"));
}

#[test]
fn rejects_bad_inputs() {
    let (u, w) = (Path::new("/u"), Path::new("/w"));
    assert_eq!(mount_plan(&rw(&[], u, w), NEW), Err(PlanError::NoLowers));
    let many = links("/r", MAX_LOWERS + 1, 3);
    assert_eq!(
        mount_plan(&rw(&many, u, w), NEW),
        Err(PlanError::TooManyLayers {
            count: MAX_LOWERS + 1
        })
    );
    let relative = vec![PathBuf::from("l/abc")];
    assert!(matches!(
        mount_plan(&rw(&relative, u, w), NEW),
        Err(PlanError::RelativePath { .. })
    ));
    let upper_rel = vec![PathBuf::from("/l/abc")];
    assert!(matches!(
        mount_plan(&rw(&upper_rel, Path::new("upper"), w), NEW),
        Err(PlanError::RelativePath { .. })
    ));
    use std::os::unix::ffi::OsStringExt;
    let nul = vec![PathBuf::from(std::ffi::OsString::from_vec(
        b"/a\0b".to_vec(),
    ))];
    assert!(matches!(
        mount_plan(&rw(&nul, u, w), NEW),
        Err(PlanError::NulInPath { .. })
    ));
}

#[test]
fn common_parent_keeps_relative_names_non_empty() {
    let p = |s: &str| PathBuf::from(s);
    assert_eq!(common_parent(&[p("/r/l/A"), p("/r/l/B")]), p("/r/l"));
    assert_eq!(common_parent(&[p("/r/l/A"), p("/r/m/B")]), p("/r"));
    assert_eq!(common_parent(&[p("/r/l/A"), p("/r/l/A/sub")]), p("/r/l"));
    assert_eq!(common_parent(&[p("/A"), p("/B")]), p("/"));
    assert_eq!(common_parent(&[p("/only/one")]), p("/only"));
    let plan = relative_plan(&rw(
        &[p("/r/l/A"), p("/r/l/A/sub")],
        Path::new("/u"),
        Path::new("/w"),
    ));
    assert!(data_of(&plan).starts_with("lowerdir=A:A/sub,"));
}
