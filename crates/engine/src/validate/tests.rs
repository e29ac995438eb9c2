//! Unit tests of the create-request checks.

use super::*;
use bollard_stubs::models::{PortBinding, ResourcesUlimits, RestartPolicy};
use std::collections::HashMap;

fn err(config: &ContainerConfig, host: &HostConfig) -> String {
    validate_with_cpus(config, host, 4).unwrap_err().message
}

fn host_err(host: HostConfig) -> String {
    err(&ContainerConfig::default(), &host)
}

#[test]
fn defaults_pass() {
    assert_eq!(
        validate_create(&ContainerConfig::default(), &HostConfig::default()).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn signals() {
    assert_eq!(parse_signal("SIGTERM"), Some(15));
    assert_eq!(parse_signal("TERM"), Some(15));
    assert_eq!(parse_signal("term"), Some(15));
    assert_eq!(parse_signal("15"), Some(15));
    assert_eq!(parse_signal("SIGKILL"), Some(9));
    assert_eq!(parse_signal("SIGRTMIN+3"), Some(37));
    assert_eq!(parse_signal("RTMAX-1"), Some(63));
    assert_eq!(parse_signal("0"), None);
    assert_eq!(parse_signal("SIGFOO"), None);
    assert_eq!(parse_signal(""), None);
}

#[test]
fn config_messages() {
    let h = HostConfig::default();
    let c = ContainerConfig {
        stop_signal: Some("SIGFOO".into()),
        ..Default::default()
    };
    assert_eq!(err(&c, &h), "Invalid signal: SIGFOO");
    let c = ContainerConfig {
        working_dir: Some("rel".into()),
        ..Default::default()
    };
    assert_eq!(
        err(&c, &h),
        "the working directory 'rel' is invalid, it needs to be an absolute path"
    );
    let c = ContainerConfig {
        env: Some(vec!["=x".into()]),
        ..Default::default()
    };
    assert_eq!(err(&c, &h), "invalid environment variable: =x");
    let c = ContainerConfig {
        healthcheck: Some(bollard_stubs::models::HealthConfig {
            interval: Some(10),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        err(&c, &h),
        "Interval in Healthcheck cannot be less than 1ms"
    );
    let c = ContainerConfig {
        healthcheck: Some(bollard_stubs::models::HealthConfig {
            retries: Some(-1),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(err(&c, &h), "Retries in Healthcheck cannot be negative");
}

fn restart(name: RestartPolicyNameEnum, count: i64) -> HostConfig {
    HostConfig {
        restart_policy: Some(RestartPolicy {
            name: Some(name),
            maximum_retry_count: Some(count),
        }),
        ..Default::default()
    }
}

#[test]
fn restart_policies() {
    use RestartPolicyNameEnum as P;
    for ok in [
        restart(P::EMPTY, -5),
        restart(P::ON_FAILURE, 3),
        restart(P::ALWAYS, 0),
    ] {
        assert!(validate_with_cpus(&ContainerConfig::default(), &ok, 4).is_ok());
    }
    assert_eq!(
        host_err(restart(P::ALWAYS, 2)),
        "invalid restart policy: maximum retry count can only be used with 'on-failure'"
    );
    assert_eq!(
        host_err(restart(P::NO, -2)),
        "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative"
    );
    assert_eq!(
        host_err(restart(P::ON_FAILURE, -1)),
        "invalid restart policy: maximum retry count cannot be negative"
    );
    let mut h = restart(P::ALWAYS, 0);
    h.auto_remove = Some(true);
    assert_eq!(
        host_err(h),
        "can't create 'AutoRemove' container with restart policy"
    );
    let mut h = restart(P::NO, 0);
    h.auto_remove = Some(true);
    assert!(validate_with_cpus(&ContainerConfig::default(), &h, 4).is_ok());
    assert_eq!(
        parse_restart_policy_name("x").unwrap_err().message,
        "invalid restart policy: unknown policy 'x'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
    );
    assert_eq!(
        parse_restart_policy_name("on-failure").unwrap(),
        P::ON_FAILURE
    );
}

fn ports(key: &str, host_port: &str) -> HostConfig {
    HostConfig {
        port_bindings: Some(HashMap::from([(
            key.to_string(),
            Some(vec![PortBinding {
                host_ip: None,
                host_port: Some(host_port.to_string()),
            }]),
        )])),
        ..Default::default()
    }
}

#[test]
fn port_specs() {
    for (k, hp) in [
        ("80/tcp", "8080"),
        ("53/udp", ""),
        ("80", "8000-8010"),
        ("80/tcp", "0"),
    ] {
        assert!(validate_with_cpus(&ContainerConfig::default(), &ports(k, hp), 4).is_ok());
    }
    assert_eq!(
        host_err(ports("99999/tcp", "80")),
        "invalid port specification: \"99999\""
    );
    assert_eq!(
        host_err(ports("abc/tcp", "80")),
        "invalid port specification: \"abc\""
    );
    assert_eq!(
        host_err(ports("80/tcp", "70000")),
        "invalid port specification: \"70000\""
    );
    assert_eq!(
        host_err(ports("80/tcp", "9-1")),
        "invalid port specification: \"9-1\""
    );
}

#[test]
fn extra_hosts() {
    let h = |e: &str| HostConfig {
        extra_hosts: Some(vec![e.to_string()]),
        ..Default::default()
    };
    for ok in ["a:1.2.3.4", "a:::1", "a=[::1]", "gw:host-gateway"] {
        assert!(
            validate_with_cpus(&ContainerConfig::default(), &h(ok), 4).is_ok(),
            "{ok}"
        );
    }
    assert_eq!(
        host_err(h("nocolon")),
        "bad format for add-host: \"nocolon\""
    );
    assert_eq!(
        host_err(h("a:notip")),
        "invalid IP address in add-host: \"notip\""
    );
}

#[test]
fn platform_messages() {
    let h = |f: fn(&mut HostConfig)| {
        let mut h = HostConfig::default();
        f(&mut h);
        host_err(h)
    };
    assert_eq!(
        h(|h| h.shm_size = Some(-1)),
        "SHM size can not be less than 0"
    );
    assert_eq!(
        h(|h| h.oom_score_adj = Some(-1001)),
        "Invalid value -1001, range for oom score adj is [-1000, 1000]"
    );
    assert_eq!(
        h(|h| h.ipc_mode = Some("bogus".into())),
        "invalid IPC mode: bogus"
    );
    assert_eq!(
        h(|h| h.pid_mode = Some("bogus".into())),
        "invalid PID mode: bogus"
    );
    assert_eq!(
        h(|h| h.uts_mode = Some("bogus".into())),
        "invalid UTS mode: bogus"
    );
    assert_eq!(
        h(|h| h.ulimits = Some(vec![ResourcesUlimits {
            name: Some("bogus".into()),
            soft: Some(1),
            hard: Some(1)
        }])),
        "invalid ulimit name bogus"
    );
    assert_eq!(
        h(|h| h.ulimits = Some(vec![ResourcesUlimits {
            name: Some("nofile".into()),
            soft: Some(10),
            hard: Some(5)
        }])),
        "ulimit soft limit must be less than or equal to hard limit: 10 > 5"
    );
}

#[test]
fn memory_messages() {
    let h = |f: fn(&mut HostConfig)| {
        let mut h = HostConfig::default();
        f(&mut h);
        host_err(h)
    };
    assert_eq!(
        h(|h| h.memory = Some(1024)),
        "Minimum memory limit allowed is 6MB"
    );
    assert_eq!(
        h(|h| h.memory = Some(-1)),
        "Minimum memory limit allowed is 6MB"
    );
    assert_eq!(
        h(|h| {
            h.memory = Some(64 << 20);
            h.memory_swap = Some(32 << 20);
        }),
        "Minimum memoryswap limit should be larger than memory limit, see usage"
    );
    assert_eq!(
        h(|h| h.memory_swap = Some(64 << 20)),
        "You should always set the Memory limit when using Memoryswap limit, see usage"
    );
    assert_eq!(
        h(|h| h.memory_swappiness = Some(101)),
        "Invalid value: 101, valid memory swappiness range is 0-100"
    );
    assert_eq!(
        h(|h| h.memory_reservation = Some(1024)),
        "Minimum memory reservation allowed is 6MB"
    );
    assert_eq!(
        h(|h| {
            h.memory = Some(64 << 20);
            h.memory_reservation = Some(128 << 20);
        }),
        "Minimum memory limit can not be less than memory reservation limit, see usage"
    );
    let host = HostConfig {
        oom_kill_disable: Some(true),
        memory_swappiness: Some(-1),
        ..Default::default()
    };
    let warnings = validate_with_cpus(&ContainerConfig::default(), &host, 4).unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("OOM killer is disabled"));
}

#[test]
fn cpu_messages() {
    let h = |f: fn(&mut HostConfig)| {
        let mut h = HostConfig::default();
        f(&mut h);
        host_err(h)
    };
    assert_eq!(
        h(|h| {
            h.nano_cpus = Some(1_000_000_000);
            h.cpu_period = Some(100_000);
        }),
        "Conflicting options: Nano CPUs and CPU Period cannot both be set"
    );
    assert_eq!(
        h(|h| {
            h.nano_cpus = Some(1_000_000_000);
            h.cpu_quota = Some(50_000);
        }),
        "Conflicting options: Nano CPUs and CPU Quota cannot both be set"
    );
    assert_eq!(
        h(|h| h.nano_cpus = Some(5_000_000_000)),
        "Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"
    );
    assert_eq!(
        h(|h| h.nano_cpus = Some(-1)),
        "Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"
    );
    assert_eq!(
        h(|h| h.cpu_period = Some(999)),
        "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
    );
    assert_eq!(
        h(|h| h.cpu_quota = Some(999)),
        "CPU cfs quota can not be less than 1ms (i.e. 1000)"
    );
    assert_eq!(
        h(|h| h.cpuset_cpus = Some("1-a".into())),
        "Invalid value 1-a for cpuset cpus: invalid format: 1-a"
    );
    assert_eq!(
        h(|h| h.cpuset_cpus = Some("100000".into())),
        "Requested CPUs are not available - requested 100000, available: ".to_string()
            + &first_readable(&[
                "/sys/fs/cgroup/cpuset.cpus.effective",
                "/sys/devices/system/cpu/online"
            ])
            .unwrap()
    );
    assert_eq!(
        h(|h| h.blkio_weight = Some(5)),
        "Range of blkio weight is from 10 to 1000"
    );
    assert_eq!(
        h(|h| h.io_maximum_bandwidth = Some(1)),
        "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps"
    );
    assert_eq!(parse_cpuset("0-2,5").unwrap(), vec![0, 1, 2, 5]);
    assert!(parse_cpuset("3-1").is_err());
    assert!(num_cpus() >= 1);
}
