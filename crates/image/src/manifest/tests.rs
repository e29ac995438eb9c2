use super::*;
use serde_json::json;

fn hex(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn docker_manifest() -> serde_json::Value {
    json!({
        "schemaVersion": 2,
        "mediaType": media_type::DOCKER_MANIFEST,
        "config": {"mediaType": media_type::DOCKER_CONFIG, "size": 1469, "digest": hex('a')},
        "layers": [
            {"mediaType": media_type::DOCKER_LAYER_GZIP, "size": 2_000_000, "digest": hex('b')},
            {"mediaType": media_type::DOCKER_LAYER_FOREIGN_GZIP, "size": 5, "digest": hex('c'),
             "urls": ["https://example.com/layer"]}
        ]
    })
}

fn oci_index() -> serde_json::Value {
    json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_INDEX,
        "manifests": [
            {"mediaType": media_type::OCI_MANIFEST, "size": 500, "digest": hex('1'),
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": media_type::OCI_MANIFEST, "size": 500, "digest": hex('2'),
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
            {"mediaType": media_type::OCI_MANIFEST, "size": 800, "digest": hex('3'),
             "platform": {"architecture": "unknown", "os": "unknown"},
             "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}
        ]
    })
}

fn bytes(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

fn parse_err(v: &serde_json::Value, ct: Option<&str>) -> ManifestError {
    parse(&bytes(v), ct).unwrap_err()
}

#[test]
fn parses_docker_manifest() {
    let Parsed::Manifest(m) = parse(
        &bytes(&docker_manifest()),
        Some(media_type::DOCKER_MANIFEST),
    )
    .unwrap() else {
        panic!("expected a manifest");
    };
    assert_eq!(m.media_type, media_type::DOCKER_MANIFEST);
    assert_eq!(m.config.digest.to_string(), hex('a'));
    assert_eq!(m.config.size, 1469);
    assert_eq!(m.layers.len(), 2);
    assert_eq!(m.layers[1].urls, ["https://example.com/layer"]);
    let kind = media_type::layer_type(&m.layers[1].media_type).unwrap();
    assert!(kind.foreign);
}

#[test]
fn parses_index_with_platforms() {
    let Parsed::Index(index) = parse(&bytes(&oci_index()), None).unwrap() else {
        panic!("expected an index");
    };
    assert_eq!(index.manifests.len(), 3);
    let arm = select(&index, &Platform::parse("linux/arm64").unwrap()).unwrap();
    assert_eq!(arm.digest.to_string(), hex('2'));
    let amd = select(&index, &Platform::parse("linux/amd64").unwrap()).unwrap();
    assert_eq!(amd.digest.to_string(), hex('1'));
}

#[test]
fn media_type_resolution() {
    let mut m = docker_manifest();
    // Content-Type parameters and generic types are tolerated.
    let ct = format!("{}; charset=utf-8", media_type::DOCKER_MANIFEST);
    assert!(parse(&bytes(&m), Some(&ct)).is_ok());
    assert!(parse(&bytes(&m), Some("application/json")).is_ok());
    // A contradiction is refused.
    let err = parse_err(&m, Some(media_type::OCI_MANIFEST));
    assert!(
        matches!(err, ManifestError::MediaTypeMismatch { .. }),
        "{err}"
    );
    // OCI manifests and indexes may omit mediaType: detect from the shape.
    m.as_object_mut().unwrap().remove("mediaType");
    let Parsed::Manifest(parsed) = parse(&bytes(&m), None).unwrap() else {
        panic!("expected a manifest");
    };
    assert_eq!(parsed.media_type, media_type::OCI_MANIFEST);
    let mut i = oci_index();
    i.as_object_mut().unwrap().remove("mediaType");
    assert!(matches!(parse(&bytes(&i), None).unwrap(), Parsed::Index(_)));
    // Served as a list, with no mediaType.
    let served = parse(&bytes(&i), Some(media_type::DOCKER_MANIFEST_LIST)).unwrap();
    let Parsed::Index(list) = served else {
        panic!("expected an index");
    };
    assert_eq!(list.media_type, media_type::DOCKER_MANIFEST_LIST);
}

#[test]
fn refuses_schema1_and_unknown_types() {
    let s1 = json!({"schemaVersion": 1, "name": "x", "tag": "latest", "fsLayers": []});
    assert!(matches!(parse_err(&s1, None), ManifestError::Schema1));
    let ct = Some(media_type::DOCKER_SCHEMA1_SIGNED_MANIFEST);
    assert!(matches!(parse_err(&s1, ct), ManifestError::Schema1));
    let err = parse_err(&docker_manifest(), Some("application/vnd.example+json"));
    assert_eq!(
        err.to_string(),
        "unsupported manifest media type \"application/vnd.example+json\""
    );
    let mut v3 = docker_manifest();
    v3["schemaVersion"] = json!(3);
    assert!(matches!(
        parse_err(&v3, None),
        ManifestError::SchemaVersion { version: Some(3) }
    ));
}

#[test]
fn validates_descriptors() {
    let mut m = docker_manifest();
    m["layers"][0]["mediaType"] = json!("application/vnd.in-toto+json");
    let err = parse_err(&m, None);
    assert_eq!(
        err.to_string(),
        format!(
            "unsupported layer media type \"application/vnd.in-toto+json\" for layer {}",
            hex('b')
        )
    );

    let mut m = docker_manifest();
    m["layers"][1]["digest"] = json!("sha256:nothex");
    let err = parse_err(&m, None);
    assert!(err.to_string().contains("layers[1]"), "{err}");
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("sha256:nothex"), "{source}");

    let mut m = docker_manifest();
    m["layers"][0]["size"] = json!(-1);
    assert!(matches!(
        parse_err(&m, None),
        ManifestError::NegativeSize { size: -1, .. }
    ));

    let mut m = docker_manifest();
    m["config"]["size"] = json!(MAX_CONFIG_SIZE + 1);
    assert!(matches!(
        parse_err(&m, None),
        ManifestError::SizeLimit { .. }
    ));

    let mut m = docker_manifest();
    m["layers"][0]["size"] = json!(MAX_LAYER_SIZE + 1);
    assert!(matches!(
        parse_err(&m, None),
        ManifestError::SizeLimit { .. }
    ));

    let mut m = docker_manifest();
    m["config"]["mediaType"] = json!("application/vnd.cncf.helm.config.v1+json");
    assert!(matches!(
        parse_err(&m, None),
        ManifestError::UnknownConfigMediaType { .. }
    ));

    let mut m = docker_manifest();
    m.as_object_mut().unwrap().remove("layers");
    assert!(matches!(
        parse_err(&m, None),
        ManifestError::MissingField {
            field: "layers",
            ..
        }
    ));

    let mut i = oci_index();
    i["manifests"][0]["size"] = json!(MAX_MANIFEST_SIZE + 1);
    assert!(matches!(
        parse_err(&i, None),
        ManifestError::SizeLimit { .. }
    ));
}

#[test]
fn refuses_oversized_and_garbage() {
    let big = vec![b' '; (MAX_MANIFEST_SIZE + 1) as usize];
    assert!(matches!(
        parse(&big, None),
        Err(ManifestError::TooLarge { .. })
    ));
    assert!(matches!(
        parse(b"not json", None),
        Err(ManifestError::Decode { .. })
    ));
    assert!(matches!(
        parse(b"{}", None),
        Err(ManifestError::UnsupportedMediaType { .. })
    ));
}
