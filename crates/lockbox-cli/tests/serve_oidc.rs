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

mod common;
#[path = "../../../tests/oidc/sign_in.rs"]
mod sign_in;

use common::serve::{serve_oidc, without_lockbox_env, Serve};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sign_in::{sign_in, start_idp, CLIENT_ID};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn lockbox(db: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("lockbox"));
    without_lockbox_env(c.env("LOCKBOX_DB", db));
    c
}

fn serve(db: &Path, issuer: &str) -> Serve {
    let (server, mut out) = serve_oidc(
        lockbox(db)
            // The env spelling of --bootstrap-admin.
            .env("LOCKBOX_BOOTSTRAP_ADMIN", "Ana@Contoso.example")
            .stderr(Stdio::piped()),
        "127.0.0.1:0",
        issuer,
        CLIENT_ID,
        &[],
    );
    let mut second = String::new();
    out.read_line(&mut second).unwrap();
    assert!(second.starts_with("Admin API on http://"), "{second:?}");
    server
}

/// A session's access token for ID token `id_token` (`POST /admin/v1/sessions`).
fn session(s: &Serve, id_token: &str) -> String {
    let r = Client::new()
        .post(format!("{}/admin/v1/sessions", s.base))
        .bearer_auth(id_token)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().unwrap();
    v["access_token"].as_str().unwrap().to_string()
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
        s,
        StatusCode::UNAUTHORIZED,
        "an ID token is no session: {v}"
    );
    let (ana, eve) = (session(&server, &ana), session(&server, &eve));
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
    // Started again with the same option: the user exists, nothing is
    // written; the session is in the store, so it still works.
    let server = serve(&db, &idp.issuer);
    let (s, _) = admin(&server, Some(&ana), "session", json!({}));
    assert_eq!(s, StatusCode::OK);
    drop(server);
    assert_eq!(bootstraps(&db).len(), 1);
}

/// The live change feed of `lockbox serve`: a write through the admin API
/// reaches it, and SIGTERM ends it rather than waiting for it forever (a
/// graceful shutdown waits for responses in flight, and an event stream
/// never finishes by itself).
#[test]
fn a_live_feed_hears_a_write_and_does_not_hold_up_sigterm() {
    let idp = start_idp();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ana = rt.block_on(sign_in(&idp.issuer, CLIENT_ID, "ana@contoso.example"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");
    let mut server = serve(&db, &idp.issuer);
    let ana = session(&server, &ana);
    let feed = Client::new()
        .get(format!("{}/admin/v1/changes", server.base))
        .bearer_auth(&ana)
        .send()
        .unwrap();
    assert_eq!(feed.status(), StatusCode::OK);
    // The feed's lines, read on a thread of their own; `None` when it ends.
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(feed).lines() {
            if tx.send(line.ok()).is_err() {
                return;
            }
        }
        let _ = tx.send(None);
    });
    let bound = std::time::Duration::from_secs(30);
    let until = |what: &str| loop {
        let line = lines
            .recv_timeout(bound)
            .expect("nothing from the feed in 30 s");
        let line = line.expect("the feed ended");
        if line.contains(what) {
            return;
        }
    };
    until(r#"{"tenants":["default"]}"#);
    let (s, v) = admin(
        &server,
        Some(&ana),
        "add_user",
        json!({"tenant": "default", "name": "ben@contoso.example", "role": "approver"}),
    );
    assert_eq!(s, StatusCode::OK, "{v}");
    until(r#"{"kind":"settings_changed","tenant":"default"}"#);

    server.signal("TERM");
    let status = server
        .exit_within(bound)
        .expect("lockbox serve did not stop within 30 s with a feed open");
    assert!(status.success(), "{status:?}");
    // What the feed said after the write, then its end (the server is gone).
    while let Ok(Some(_)) = lines.recv_timeout(bound) {}
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
