//! `lockbox serve --oidc-issuer … --oidc-client-id … --bootstrap-admin …`
//! end to end, against the real OpenID provider of `tests/oidc` (node): the
//! bootstrap admin signs in and is an admin; a verified person who is no
//! user sees nothing; the bootstrap is audited once, however often the
//! server starts. The sign-in tests proper (audiences, expiry by the
//! engine's clock, quorum, key rotation) are `lockbox-api`'s `admin_oidc.rs`.
//!
//! `lockbox serve` runs on the real clock (it refuses LOCKBOX_NOW) and so does
//! the provider that issues the tokens: a token is good for its hour on both.
//! Nothing here moves time or depends on the date.

#![allow(clippy::unwrap_used)]

#[path = "../../../tests/oidc/sign_in.rs"]
mod sign_in;

use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sign_in::{sign_in, start_idp, CLIENT_ID};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn lockbox(db: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("lockbox"));
    c.env("LOCKBOX_DB", db)
        .env_remove("LOCKBOX_NOW")
        .env_remove("LOCKBOX_TENANT")
        .env_remove("LOCKBOX_API_BIND")
        .env_remove("LOCKBOX_OIDC_ISSUER")
        .env_remove("LOCKBOX_OIDC_CLIENT_ID")
        .env_remove("LOCKBOX_OIDC_CA")
        .env_remove("LOCKBOX_BOOTSTRAP_ADMIN")
        .env_remove("LOCKBOX_LOG_FORMAT");
    c
}

/// A running `lockbox serve`, killed when dropped; its base URL.
struct Serve {
    child: Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &Path, issuer: &str) -> Serve {
    let mut child = lockbox(db)
        .args(["serve", "--bind", "127.0.0.1:0", "--oidc-issuer", issuer])
        .args(["--oidc-client-id", CLIENT_ID])
        // The env spelling of --bootstrap-admin.
        .env("LOCKBOX_BOOTSTRAP_ADMIN", "Ana@Contoso.example")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    if out.read_line(&mut first).unwrap() == 0 {
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        panic!("lockbox serve did not start: {err}");
    }
    let mut second = String::new();
    out.read_line(&mut second).unwrap();
    assert!(second.starts_with("Admin API on http://"), "{second:?}");
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    Serve {
        child,
        base: format!("http://{addr}"),
    }
}

fn admin(s: &Serve, token: Option<&str>, name: &str, args: Value) -> (StatusCode, Value) {
    let mut req = Client::new()
        .post(format!("{}/admin/v1/commands/{name}", s.base))
        .json(&args);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().unwrap();
    (r.status(), r.json().unwrap())
}

/// The audit entries of the default tenant that bootstrapped an admin.
fn bootstraps(db: &Path) -> Vec<Value> {
    let out = lockbox(db)
        .args(["audit", "list", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    all.into_iter()
        .filter(|e| e["operation"] == "user_added" && e["details"]["bootstrap"] == true)
        .collect()
}

#[test]
fn the_bootstrap_admin_signs_in_to_lockbox_serve() {
    let idp = start_idp();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ana = rt.block_on(sign_in(&idp.issuer, CLIENT_ID, "ana@contoso.example"));
    let eve = rt.block_on(sign_in(&idp.issuer, CLIENT_ID, "eve@contoso.example"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");

    let server = serve(&db, &idp.issuer);
    let (s, v) = admin(&server, Some(&ana), "session", json!({}));
    assert_eq!(
        (s, v["user"].as_str(), v["role"].as_str()),
        (StatusCode::OK, Some("ana@contoso.example"), Some("admin")),
        "{v}"
    );
    let (s, v) = admin(
        &server,
        Some(&ana),
        "list_users",
        json!({"tenant": "default"}),
    );
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = admin(
        &server,
        Some(&eve),
        "list_requests",
        json!({"tenant": "default", "query": {}}),
    );
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_permitted")),
        "{v}"
    );
    let (s, v) = admin(&server, None, "session", json!({}));
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized")),
        "{v}"
    );
    drop(server);

    // The bootstrap is one audited user_added, by the OS user running the server.
    let entries = bootstraps(&db);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["details"]["user"], "ana@contoso.example");
    assert_eq!(entries[0]["details"]["role"], "admin");
    assert_eq!(entries[0]["details"]["authn"]["method"], "os_user");
    // Started again with the same option: the user exists, nothing is written.
    let server = serve(&db, &idp.issuer);
    let (s, _) = admin(&server, Some(&ana), "session", json!({}));
    assert_eq!(s, StatusCode::OK);
    drop(server);
    assert_eq!(bootstraps(&db).len(), 1);
}

#[test]
fn bootstrap_admin_and_the_client_id_need_an_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");
    for args in [
        &["serve", "--bootstrap-admin", "ana@contoso.example"][..],
        &["serve", "--oidc-client-id", CLIENT_ID][..],
        &["serve", "--oidc-issuer", "https://id.example"][..],
    ] {
        let out = lockbox(&db).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
    // An http issuer that is not on loopback is refused before serving.
    let out = lockbox(&db)
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--oidc-issuer",
            "http://id.example",
        ])
        .args(["--oidc-client-id", CLIENT_ID])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("https"),
        "{out:?}"
    );
}
