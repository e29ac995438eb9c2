//! The JSON request bodies of `POST /containers/create` and `POST /containers/{id}/exec`
//! through berthd's own parsing and validation (the code every request runs before any
//! side effect): split, decode, validate, merge with image defaults, derive cgroup
//! resources and capabilities. Must never panic; errors are fine.
#![no_main]

use berth_api::routes::containers::parse_create_body;
use berth_api::version::{ApiVersion, MAX};
use berth_engine::{spec, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for v in [MAX, ApiVersion(24)] {
        if let Ok((config, host, _net)) = parse_create_body(data, v) {
            let _ = validate::validate_create(&config, &host);
            let merged = spec::merge_config(&Default::default(), &config);
            let _ = spec::check_command(&merged);
            let _ = spec::linux_resources(&host);
            let all = spec::all_capabilities(Some(40));
            let _ = spec::capability_set(
                host.cap_add.as_deref().unwrap_or_default(),
                host.cap_drop.as_deref().unwrap_or_default(),
                host.privileged.unwrap_or(false),
                &all,
            );
            let _ = spec::parse_security_opts(host.security_opt.as_deref().unwrap_or_default());
        }
    }
    if let Ok(exec) = serde_json::from_slice::<bollard_stubs::models::ExecConfig>(data) {
        let _ = exec.cmd.as_ref().map(|c| c.join(" "));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = validate::parse_signal(s);
        let _ = validate::parse_cpuset(s);
    }
});
