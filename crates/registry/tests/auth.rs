//! Authentication against a `docker-registry` with htpasswd (basic) auth: anonymous
//! access fails, credentials from a Docker config file work, `login`/`logout` edit it.
#![allow(clippy::tests_outside_test_module)]

mod fixture;

use berth_registry::media_type::ALL_MANIFESTS;
use berth_registry::{
    login, logout, Client, ClientConfig, Credentials, DockerConfig, RegistryError,
};
use fixture::{layout, TestRegistry};

#[tokio::test]
async fn basic_auth_config_login_logout() {
    let reg = TestRegistry::start(Some(("user", "pass"))).await;
    let oci = reg.path("layout");
    let img = layout::single(&oci, "v1");
    reg.seed(&oci, "v1", "private/app", false, Some("user:pass"));

    let anonymous = Client::new(&reg.host, &ClientConfig::default()).unwrap();
    assert!(matches!(
        anonymous.resolve("private/app", "v1", ALL_MANIFESTS).await,
        Err(RegistryError::Unauthorized { .. })
    ));

    // Credentials from a hand-written Docker config file.
    let cfg_path = reg.path("docker/config.json");
    std::fs::create_dir_all(cfg_path.parent().unwrap()).unwrap();
    std::fs::write(
        &cfg_path,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"dXNlcjpwYXNz"}}}}}}"#,
            reg.host
        ),
    )
    .unwrap();
    let with_config = ClientConfig {
        docker_config: Some(DockerConfig::at(&cfg_path)),
        ..ClientConfig::default()
    };
    let client = Client::new(&reg.host, &with_config).unwrap();
    let m = client
        .resolve("private/app", "v1", ALL_MANIFESTS)
        .await
        .unwrap();
    assert_eq!(m.digest, img.manifest.digest);

    // Wrong explicit credentials are rejected.
    let wrong = ClientConfig {
        credentials: Some(Credentials::Basic {
            username: "user".into(),
            password: "nope".into(),
        }),
        ..ClientConfig::default()
    };
    let client = Client::new(&reg.host, &wrong).unwrap();
    assert!(matches!(
        client.ping().await,
        Err(RegistryError::Unauthorized { .. })
    ));

    // login verifies, then writes auths.<host>.auth; logout erases it.
    let fresh = DockerConfig::at(reg.path("fresh/config.json"));
    let bad = login(&reg.host, "user", "nope", &ClientConfig::default(), &fresh).await;
    assert!(matches!(bad, Err(RegistryError::Unauthorized { .. })));
    assert!(!fresh.path().exists());
    login(&reg.host, "user", "pass", &ClientConfig::default(), &fresh)
        .await
        .unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fresh.path()).unwrap()).unwrap();
    assert_eq!(doc["auths"][&reg.host]["auth"], "dXNlcjpwYXNz");
    let client = Client::new(
        &reg.host,
        &ClientConfig {
            docker_config: Some(fresh.clone()),
            ..ClientConfig::default()
        },
    )
    .unwrap();
    client.ping().await.unwrap();
    assert!(logout(&reg.host, &fresh).await.unwrap());
    assert_eq!(fresh.get(&reg.host).await.unwrap(), None);
    assert!(!logout(&reg.host, &fresh).await.unwrap());
}

#[tokio::test]
async fn credential_helper_get_store_erase() {
    let reg = TestRegistry::start(Some(("user", "pass"))).await;
    let bin = reg.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let store = reg.path("helper-store.json");
    // A helper that keeps one credential in a file, as docker-credential-pass would.
    let script = format!(
        r#"#!/bin/sh
case "$1" in
  get) cat >/dev/null; if [ -f {s} ]; then cat {s}; else echo "credentials not found in native keychain"; exit 1; fi ;;
  store) cat > {s} ;;
  erase) cat >/dev/null; if [ -f {s} ]; then rm {s}; else echo "credentials not found in native keychain"; exit 1; fi ;;
esac
"#,
        s = store.display()
    );
    let helper = bin.join("docker-credential-test");
    std::fs::write(&helper, script).unwrap();
    let mut perms = std::fs::metadata(&helper).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&helper, perms).unwrap();
    let cfg_path = reg.path("docker/config.json");
    std::fs::create_dir_all(cfg_path.parent().unwrap()).unwrap();
    std::fs::write(&cfg_path, r#"{"credsStore":"test"}"#).unwrap();
    let cfg = DockerConfig::at(&cfg_path).with_helper_dir(&bin);

    assert_eq!(cfg.get(&reg.host).await.unwrap(), None);
    login(&reg.host, "user", "pass", &ClientConfig::default(), &cfg)
        .await
        .unwrap();
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&store).unwrap()).unwrap();
    assert_eq!(stored["Username"], "user");
    assert_eq!(stored["Secret"], "pass");
    let client = Client::new(
        &reg.host,
        &ClientConfig {
            docker_config: Some(cfg.clone()),
            ..ClientConfig::default()
        },
    )
    .unwrap();
    client.ping().await.unwrap();
    assert!(logout(&reg.host, &cfg).await.unwrap());
    assert!(!store.exists());
}
