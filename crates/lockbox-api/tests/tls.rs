//! The API over TLS, as a provider would call it on a non-loopback bind: a
//! test CA (rcgen) signs a server certificate for 127.0.0.1/localhost, the
//! server listens on 0.0.0.0:0 (all traffic goes through 127.0.0.1), and a
//! real rustls client that trusts only the test CA verifies the chain and
//! gets a real answer. Before one crypto provider was installed this panicked
//! ("Could not automatically determine the process-level CryptoProvider").

#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use lockbox_core::Principal;
use lockbox_core::{Engine, ManualClock};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::sync::Arc;

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
    server
        .distinguished_name
        .push(DnType::CommonName, "lockbox test server");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    (ca_cert.pem(), server_cert.pem(), server_key.serialize_pem())
}

#[tokio::test]
async fn api_over_tls_on_a_non_loopback_bind_answers_a_verifying_client() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, cert_pem, key_pem) = test_pki();
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, &key_pem).unwrap();

    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap());
    let mut engine = Engine::open(
        &dir.path().join("lockbox.db"),
        Arc::new(clock.clone()),
        "root",
    )
    .unwrap();
    let (_, token) = engine
        .issue_token(
            "default",
            &Principal::os_user("root", 0),
            "acme-ticketing",
            None,
        )
        .unwrap();
    let public_key = engine.public_key();
    let state =
        lockbox_api::ApiState::new(lockbox_core::runtime::EngineHandle::new(engine), 1000, 1000);
    let cfg = lockbox_api::ServeConfig {
        bind: "0.0.0.0:0".parse().unwrap(),
        tls: Some((cert, key)),
    };
    let (addr, server) = lockbox_api::bind(state, cfg).await.unwrap();
    assert!(addr.ip().is_unspecified(), "bound to {addr}");

    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .https_only(true)
        .build()
        .unwrap();
    let base = format!("https://127.0.0.1:{}", addr.port());
    let resp = client
        .get(format!("{base}/v1/public-key"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["public_key"], public_key.as_str(), "{body}");

    // Same server, no token: the API's own refusal, over the verified channel.
    let resp = client
        .get(format!("{base}/v1/public-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // A client that does not trust the test CA cannot talk to it: the chain is really checked.
    let stranger = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(test_pki().0.as_bytes()).unwrap())
        .build()
        .unwrap();
    let err = stranger
        .get(format!("{base}/v1/public-key"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    server.abort();
}
