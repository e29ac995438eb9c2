//! berthd on TCP with mutual TLS (`--tlsverify`): the stock docker CLI with a client
//! certificate signed by the CA gets through; without one, or with a certificate from
//! another CA, the handshake fails. Plain TCP without TLS is refused at start-up.
#![allow(clippy::tests_outside_test_module)]

use std::path::Path;
use std::process::Command;

use berth_tests::berthd::TestBerthd;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA plus a cert signed by it: `<name>-key.pem`, `<name>-cert.pem`.
fn ca(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}-key.pem"),
            "-out",
            &format!("{name}-cert.pem"),
        ],
    );
}

fn signed(dir: &Path, ca: &str, name: &str, server: bool) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}-key.pem"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    let ext = if server {
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
    } else {
        "extendedKeyUsage=clientAuth\n"
    };
    std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}-cert.pem"),
            "-CAkey",
            &format!("{ca}-key.pem"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}-cert.pem"),
        ],
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn mutual_tls_on_tcp() {
    let certs = tempfile::tempdir().unwrap();
    let c = certs.path();
    ca(c, "ca");
    ca(c, "otherca");
    signed(c, "ca", "server", true);
    signed(c, "ca", "client", false);
    signed(c, "otherca", "stranger", false);
    let port = free_port();
    let p = |n: &str| c.join(n).to_str().unwrap().to_string();
    let d = TestBerthd::start_with(
        "tls",
        &[
            "-H",
            &format!("tcp://127.0.0.1:{port}"),
            "--tlsverify",
            "--tlscacert",
            &p("ca-cert.pem"),
            "--tlscert",
            &p("server-cert.pem"),
            "--tlskey",
            &p("server-key.pem"),
        ],
    );
    let docker = |cert: &str, key: &str| {
        Command::new("docker")
            .env_remove("DOCKER_HOST")
            .env("DOCKER_CONFIG", d.dir.join("cli"))
            .args([
                "--tlsverify",
                "--tlscacert",
                &p("ca-cert.pem"),
                "--tlscert",
                &p(cert),
                "--tlskey",
                &p(key),
                "-H",
                &format!("tcp://127.0.0.1:{port}"),
                "version",
                "--format",
                "{{.Server.APIVersion}}",
            ])
            .output()
            .expect("run docker")
    };
    let ok = docker("client-cert.pem", "client-key.pem");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "1.47");
    let bad = docker("stranger-cert.pem", "stranger-key.pem");
    assert!(
        !bad.status.success(),
        "a certificate from another CA was accepted"
    );
    // No client certificate at all.
    let anon = Command::new("curl")
        .args([
            "-s",
            "--cacert",
            &p("ca-cert.pem"),
            &format!("https://127.0.0.1:{port}/_ping"),
        ])
        .output()
        .unwrap();
    assert!(!anon.status.success() || !String::from_utf8_lossy(&anon.stdout).contains("OK"));
}

#[test]
fn plain_tcp_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("daemon.json");
    std::fs::write(&config, "{}").unwrap();
    let out = Command::new(TestBerthd::binary("berthd"))
        .args([
            "--data-root",
            dir.path().join("d").to_str().unwrap(),
            "--exec-root",
            dir.path().join("e").to_str().unwrap(),
            "--config-file",
            config.to_str().unwrap(),
            "-H",
            &format!("tcp://127.0.0.1:{}", free_port()),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("without TLS") || err.contains("daemon.json"),
        "{err}"
    );
}
