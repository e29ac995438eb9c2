//! Merging an image's run defaults into a create request's `Config`, as moby's
//! `daemon/commit.go` `merge` does; the result is what inspect shows as `Config`.

use std::collections::HashMap;

use berth_image::manifest::config::{ContainerConfig as ImageRunConfig, Healthcheck};
use berth_image::manifest::ImageConfig;
use bollard_stubs::models::{ContainerConfig, HealthConfig};

/// Docker's default `PATH` for Linux containers (moby `oci.DefaultPathEnv`).
pub const DEFAULT_PATH_ENV: &str =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn env_key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

fn set_map(
    map: Option<&std::collections::BTreeMap<String, serde_json::Value>>,
) -> HashMap<String, HashMap<(), ()>> {
    map.map(|m| m.keys().map(|k| (k.clone(), HashMap::new())).collect())
        .unwrap_or_default()
}

fn non_empty(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty())
}

fn merge_health(user: Option<&HealthConfig>, image: Option<&Healthcheck>) -> Option<HealthConfig> {
    let Some(image) = image else {
        return user.cloned();
    };
    let mut out = user.cloned().unwrap_or_default();
    if out.test.as_ref().is_none_or(|t| t.is_empty()) {
        out.test.clone_from(&image.test);
    }
    let fill = |mine: &mut Option<i64>, theirs: Option<i64>| {
        if mine.unwrap_or(0) == 0 {
            if let Some(v) = theirs {
                *mine = Some(v);
            }
        }
    };
    fill(&mut out.interval, image.interval);
    fill(&mut out.timeout, image.timeout);
    fill(&mut out.start_period, image.start_period);
    fill(&mut out.start_interval, image.start_interval);
    fill(&mut out.retries, image.retries);
    Some(out)
}

/// Merge the image's run defaults into the request's config.
///
/// Rules (moby `merge`): `User`, `WorkingDir`, `StopSignal`, `Shell` come from the image
/// when the request leaves them empty; `Env` keeps the request's entries and appends the
/// image's whose key the request lacks; `Labels`, `ExposedPorts` and `Volumes` are unions
/// (the request wins on a label clash); an empty request `Entrypoint` takes the image's
/// and, if `Cmd` is empty too, the image's `Cmd`; a request `Entrypoint` drops the
/// image's `Cmd`, and `Entrypoint: [""]` resets it to none. `Healthcheck` fields the
/// request leaves zero come from the image. A `PATH` is added when none is set.
pub fn merge_config(image: &ImageConfig, req: &ContainerConfig) -> ContainerConfig {
    let empty = ImageRunConfig::default();
    let img = image.config.as_ref().unwrap_or(&empty);
    let mut out = req.clone();

    if !non_empty(&out.user) {
        out.user.clone_from(&img.user);
    }
    if !non_empty(&out.working_dir) {
        out.working_dir.clone_from(&img.working_dir);
    }
    if !non_empty(&out.stop_signal) {
        out.stop_signal.clone_from(&img.stop_signal);
    }
    if out.shell.as_ref().is_none_or(|s| s.is_empty()) && img.shell.is_some() {
        out.shell.clone_from(&img.shell);
    }
    if out.on_build.as_ref().is_none_or(|s| s.is_empty()) && img.on_build.is_some() {
        out.on_build.clone_from(&img.on_build);
    }

    let mut env = out.env.take().unwrap_or_default();
    for entry in img.env.as_deref().unwrap_or_default() {
        if !env.iter().any(|e| env_key(e) == env_key(entry)) {
            env.push(entry.clone());
        }
    }
    if !env.iter().any(|e| env_key(e) == "PATH") {
        env.push(DEFAULT_PATH_ENV.to_string());
    }
    out.env = Some(env);

    if let Some(labels) = &img.labels {
        let merged = out.labels.get_or_insert_with(HashMap::new);
        for (k, v) in labels {
            merged.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if img.exposed_ports.is_some() {
        let merged = out.exposed_ports.get_or_insert_with(HashMap::new);
        for (k, v) in set_map(img.exposed_ports.as_ref()) {
            merged.entry(k).or_insert(v);
        }
    }
    if img.volumes.is_some() {
        let merged = out.volumes.get_or_insert_with(HashMap::new);
        for (k, v) in set_map(img.volumes.as_ref()) {
            merged.entry(k).or_insert(v);
        }
    }

    match req.entrypoint.as_deref() {
        Some([only]) if only.is_empty() => out.entrypoint = None,
        Some(ep) if !ep.is_empty() => {}
        _ => {
            if out.cmd.as_ref().is_none_or(|c| c.is_empty()) {
                out.cmd.clone_from(&img.cmd);
                if let Some(escaped) = img.extra.get("ArgsEscaped").and_then(|v| v.as_bool()) {
                    out.args_escaped = Some(escaped);
                }
            }
            out.entrypoint.clone_from(&img.entrypoint);
        }
    }

    out.healthcheck = merge_health(req.healthcheck.as_ref(), img.healthcheck.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn image(json: &str) -> ImageConfig {
        serde_json::from_str(json).unwrap()
    }

    fn busybox_like() -> ImageConfig {
        image(
            r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},
            "config":{"Env":["PATH=/bin","A=image"],"Cmd":["sh"],"WorkingDir":"/w",
            "User":"nobody","Labels":{"l1":"image","l2":"image"},"ExposedPorts":{"80/tcp":{}},
            "Volumes":{"/data":{}},"StopSignal":"SIGQUIT",
            "Healthcheck":{"Test":["CMD","true"],"Interval":5000000000,"Retries":3}}}"#,
        )
    }

    #[test]
    fn empty_request_takes_the_image_defaults() {
        let out = merge_config(&busybox_like(), &ContainerConfig::default());
        assert_eq!(out.cmd, Some(s(&["sh"])));
        assert_eq!(out.entrypoint, None);
        assert_eq!(out.env, Some(s(&["PATH=/bin", "A=image"])));
        assert_eq!(out.working_dir.as_deref(), Some("/w"));
        assert_eq!(out.user.as_deref(), Some("nobody"));
        assert_eq!(out.stop_signal.as_deref(), Some("SIGQUIT"));
        assert!(out.exposed_ports.unwrap().contains_key("80/tcp"));
        assert!(out.volumes.unwrap().contains_key("/data"));
        assert_eq!(out.healthcheck.unwrap().retries, Some(3));
    }

    #[test]
    fn request_values_win() {
        let req = ContainerConfig {
            env: Some(s(&["A=user", "B=user"])),
            cmd: Some(s(&["echo", "hi"])),
            user: Some("1000".into()),
            working_dir: Some("/u".into()),
            labels: Some(HashMap::from([("l1".to_string(), "user".to_string())])),
            healthcheck: Some(HealthConfig {
                interval: Some(1_000_000_000),
                ..Default::default()
            }),
            ..Default::default()
        };
        let out = merge_config(&busybox_like(), &req);
        assert_eq!(out.env, Some(s(&["A=user", "B=user", "PATH=/bin"])));
        assert_eq!(out.cmd, Some(s(&["echo", "hi"])));
        assert_eq!(out.user.as_deref(), Some("1000"));
        assert_eq!(out.working_dir.as_deref(), Some("/u"));
        let labels = out.labels.unwrap();
        assert_eq!(labels["l1"], "user");
        assert_eq!(labels["l2"], "image");
        let hc = out.healthcheck.unwrap();
        assert_eq!(hc.interval, Some(1_000_000_000));
        assert_eq!(hc.test, Some(s(&["CMD", "true"])));
        assert_eq!(hc.retries, Some(3));
    }

    #[test]
    fn request_entrypoint_drops_image_cmd() {
        let img = image(
            r#"{"rootfs":{"type":"layers","diff_ids":[]},
            "config":{"Entrypoint":["/ep"],"Cmd":["--flag"]}}"#,
        );
        let req = ContainerConfig {
            entrypoint: Some(s(&["/other"])),
            ..Default::default()
        };
        let out = merge_config(&img, &req);
        assert_eq!(out.entrypoint, Some(s(&["/other"])));
        assert_eq!(out.cmd, None);

        let req = ContainerConfig {
            cmd: Some(s(&["x"])),
            ..Default::default()
        };
        let out = merge_config(&img, &req);
        assert_eq!(out.entrypoint, Some(s(&["/ep"])));
        assert_eq!(out.cmd, Some(s(&["x"])));

        let req = ContainerConfig {
            entrypoint: Some(s(&[""])),
            ..Default::default()
        };
        let out = merge_config(&img, &req);
        assert_eq!(out.entrypoint, None);
        assert_eq!(out.cmd, None);

        let req = ContainerConfig {
            entrypoint: Some(s(&[""])),
            cmd: Some(s(&["ls"])),
            ..Default::default()
        };
        let out = merge_config(&img, &req);
        assert_eq!(out.entrypoint, None);
        assert_eq!(out.cmd, Some(s(&["ls"])));
    }

    #[test]
    fn default_path_when_none() {
        let img = image(r#"{"rootfs":{"type":"layers","diff_ids":[]}}"#);
        let out = merge_config(&img, &ContainerConfig::default());
        assert_eq!(out.env, Some(s(&[DEFAULT_PATH_ENV])));
    }
}
