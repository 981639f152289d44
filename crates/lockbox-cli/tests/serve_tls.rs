//! `lockbox serve --tls-cert --tls-key --bind 0.0.0.0:PORT` starts and answers
//! over TLS (a client that trusts only the test CA, through 127.0.0.1). It
//! used to panic at start: two rustls crypto providers were linked and none
//! was installed.

#![allow(clippy::unwrap_used)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const T0: &str = "2026-11-29T09:00:00Z";

/// (CA certificate PEM, server certificate PEM, server key PEM).
fn test_pki() -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Lockbox test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    (ca_cert.pem(), server_cert.pem(), server_key.serialize_pem())
}

fn lockbox(db: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("lockbox"));
    c.env("LOCKBOX_DB", db)
        .env("LOCKBOX_NOW", T0)
        .env("USER", "root")
        .env_remove("LOCKBOX_TENANT")
        .env_remove("LOCKBOX_API_BIND");
    c
}

/// Kills the server when the test ends, however it ends.
struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_with_tls_on_a_non_loopback_bind_answers_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");
    let (ca_pem, cert_pem, key_pem) = test_pki();
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();

    let issued = lockbox(&db)
        .args(["token", "issue", "--name", "acme", "--json"])
        .output()
        .unwrap();
    assert!(issued.status.success(), "{issued:?}");
    let token = serde_json::from_slice::<serde_json::Value>(&issued.stdout).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("0.0.0.0:{port}");
    let mut server = Server(
        lockbox(&db)
            // `serve` runs on the real clock (it refuses LOCKBOX_NOW); what is
            // checked here does not depend on the time.
            .env_remove("LOCKBOX_NOW")
            .args(["serve", "--bind", &bind, "--tls-cert"])
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );

    let client = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .https_only(true)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{port}/v1/public-key");
    // Wait (bounded) until it answers; a server that died fails at once with its stderr.
    let mut answer = None;
    for _ in 0..100 {
        if let Some(status) = server.0.try_wait().unwrap() {
            let mut err = String::new();
            server
                .0
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("lockbox serve exited ({status}) instead of serving:\n{err}");
        }
        match client.get(&url).bearer_auth(&token).send() {
            Ok(r) => {
                answer = Some(r);
                break;
            }
            Err(e) if e.is_connect() => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("{e:?}"),
        }
    }
    let resp = answer.expect("lockbox serve did not answer within 10 s");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().unwrap();
    let key_out = lockbox(&db)
        .args(["receipt", "public-key"])
        .output()
        .unwrap();
    assert_eq!(
        body["public_key"].as_str().unwrap(),
        String::from_utf8(key_out.stdout).unwrap().trim(),
        "{body}"
    );
    assert_eq!(body["algorithm"], "Ed25519");
}
