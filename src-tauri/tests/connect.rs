//! The desktop app in connected mode, through the same IPC handler as the
//! app (Tauri's mock runtime): `connect_server` signs a person in with a real
//! OpenID provider (`tests/oidc`, oidc-provider on node; its login and
//! consent pages driven over HTTP as the person's browser would, after
//! `$BROWSER` — a script — was asked to open them), the tokens go to a real
//! OS keyring (GNOME Keyring's Secret Service on a private D-Bus session
//! bus, as `lockbox-cli`'s keyring tests run it), and the engine commands
//! then go to a real team server (`lockbox_api` with `--oidc-*`'s verifier,
//! in this process, on its own SQLite store). Nothing is faked.
//!
//! One test: `$BROWSER` and the bus address are this process's environment.
//!
//! Needs node with `make oidc-deps`, and dbus-daemon, dbus-send and
//! gnome-keyring-daemon (.ci/install-deps): without them it fails, saying
//! so; it is never skipped.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../tests/keyring/secret_service.rs"]
mod secret_service;
use secret_service::{start_secret_service, wait_for};
#[path = "../../tests/oidc/sign_in.rs"]
mod sign_in;

use lockbox_api::auth::{LimiterClock, Limits};
use lockbox_api::oidc::{OidcConfig, OidcVerifier};
use lockbox_core::model::{NewRequest, Role};
use lockbox_core::runtime::EngineHandle;
use lockbox_core::secrets::{self, SIGN_IN_SERVICE};
use lockbox_core::{Clock, Engine, Principal};
use serde_json::{json, Value};
use sign_in::{browse, browser, browser_script, start_idp, CLIENT_ID};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const ANA: &str = "ana@contoso.example";

#[test]
fn connected_the_app_works_on_the_servers_store_as_the_signed_in_person() {
    let dir = tempfile::tempdir().unwrap();
    let ss = start_secret_service(dir.path());
    // The app's keyring and browser (this process's; the only test here).
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &ss.bus);
    let opened = dir.path().join("opened");
    std::env::set_var("BROWSER", browser_script(dir.path(), &opened));

    let idp = start_idp();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The server runs on a runtime of its own: shutting it down stops it
    // whole (its listener and every connection), as a server going away.
    let (server_engine, request) = server_store(dir.path());
    let server_rt = tokio::runtime::Runtime::new().unwrap();
    let server = server_rt.block_on(serve(&server_engine, &idp.issuer, "127.0.0.1:0"));

    // The local store: the default tenant only, three requests.
    let local = dir.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    let mut engine = Engine::open(&local.join("lockbox.db"), real_time(), "root").unwrap();
    common::three_requests(&mut engine);
    let state = lockbox_app::state::AppState::new(
        engine,
        Principal::os_user("root", 0),
        local.join("app-prefs.json"),
    );
    let app = common::Window::new(state);
    let connection_file = local.join("connection.json");

    let c = app.ok("get_connection", json!({}));
    assert_eq!(c["state"], "local", "{c}");
    assert_eq!(tenant_ids(&app.ok("session", json!({}))), ["default"]);

    // Not a server address: a clear error, nothing changed.
    for (url, code, says) in [
        (
            "ftp://lockbox.example",
            "invalid_input",
            "must be an https URL",
        ),
        ("lockbox.example", "invalid_input", "not a URL"),
        (
            "https://lockbox.example/admin",
            "invalid_input",
            "give the server's address only",
        ),
    ] {
        let msg = app.err("connect_server", json!({"url": url, "ca": null}), code);
        assert!(
            msg.contains(says) && !msg.contains("--server"),
            "{url}: {msg}"
        );
    }
    // A server that does not answer: said, nothing changed, no browser opened.
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let msg = app.err(
        "connect_server",
        json!({"url": nobody, "ca": null}),
        "store_unavailable",
    );
    assert!(msg.contains("cannot reach"), "{msg}");
    let msg = app.err(
        "connect_server",
        json!({"url": server, "ca": "relative/ca.pem"}),
        "invalid_input",
    );
    assert!(msg.contains("full path"), "{msg}");
    assert_eq!(app.ok("get_connection", json!({}))["state"], "local");
    assert!(!connection_file.exists());
    assert!(!opened.exists(), "a browser was opened for a bad address");

    // Sign in: the browser (the script) is asked to open the provider's
    // page; the person signs in there and is sent back to the app.
    let person = std::thread::spawn({
        let opened = opened.clone();
        move || sign_in_when_asked(&opened, ANA)
    });
    let c = app.ok("connect_server", json!({"url": server, "ca": null}));
    person.join().unwrap();
    assert_eq!(c["state"], "connected", "{c}");
    assert_eq!(c["server"], server.as_str());
    assert_eq!(c["person"], ANA);
    // (`replica_at` is set once the first pull, started now, is done.)
    let now = app.ok("get_connection", json!({}));
    for field in ["state", "server", "ca", "person"] {
        assert_eq!(now[field], c[field], "{now} {c}");
    }
    let saved: Value = serde_json::from_slice(&std::fs::read(&connection_file).unwrap()).unwrap();
    assert_eq!(saved, json!({"server": server, "ca": null}));
    // The tokens are in the keyring, and in no file of the test's.
    let kept = secrets::secret_get(SIGN_IN_SERVICE, &server)
        .unwrap()
        .unwrap();
    // How the provider's JWTs start: their header `{"alg":"`, base64url (not
    // just "eyJ": the replica's base64 signatures hold that by chance).
    let jwt = "eyJhbGciOi";
    assert!(kept.contains(jwt));
    assert_eq!(
        files_holding(dir.path(), jwt.as_bytes(), &ss.home.join("data")),
        Vec::<PathBuf>::new()
    );

    // The engine commands now answer from the server: a tenant the local
    // store does not have, and its pending request.
    let session = app.ok("session", json!({}));
    assert_eq!(session["user"], ANA, "{session}");
    assert_eq!(tenant_ids(&session), ["fabrikam"]);
    let page = app.ok(
        "list_requests",
        json!({"tenant": "fabrikam", "query": {"states": ["pending"]}}),
    );
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [request.as_str()], "{page}");
    // The server's changes reach the window as the local feed's do. (A
    // request filed by the provider on the server; filed again until the
    // feed, joined when the sign-in ended, hears one: a bound on a failure.)
    let (tx, heard) = std::sync::mpsc::channel::<Value>();
    {
        use tauri::{Listener, Manager};
        app.window
            .app_handle()
            .listen_any("lockbox://changed", move |e| {
                let _ = tx.send(serde_json::from_str(e.payload()).unwrap());
            });
    }
    let mut filed = Vec::new();
    let event = (0..15).find_map(|i| {
        let id = rt
            .block_on(server_engine.write(move |e| {
                Ok(
                    e.file_request("fabrikam", &new_request(&format!("SR-9{i}")))?
                        .id,
                )
            }))
            .unwrap();
        filed.push(id);
        heard.recv_timeout(Duration::from_secs(2)).ok()
    });
    let event = event.expect("no lockbox://changed from the server's feed in 30 s");
    assert_eq!(event["tenant"], "fabrikam", "{event}");
    // The server's rules: the local tenant is not the person's there.
    app.err("list_users", json!({"tenant": "default"}), "not_permitted");
    // The tray counts the server's pending requests.
    assert_eq!(app.ok("tray_state", json!({}))["pending"], 1);

    // A decision through the desktop is the server's, by the signed-in person.
    let r = app.ok(
        "approve_request",
        json!({"tenant": "fabrikam", "id": request, "comment": "from the desktop", "durationS": 1800}),
    );
    assert_eq!(r["state"], "approved", "{r}");
    let audit = rt
        .block_on(server_engine.run(|e| e.audit_page("fabrikam", &Default::default())))
        .unwrap();
    let approval = audit.iter().find(|a| {
        a.operation.contains("approv")
            && a.request_id.as_deref() == Some(request.as_str())
            && a.actor == ANA
    });
    assert!(
        approval.is_some(),
        "no approval by {ANA} in the server's audit: {audit:#?}"
    );
    // ... and not the local store's.
    let local_tenants = app_state_tenants(&app);
    assert_eq!(local_tenants, ["default"]);

    // The audit replica beside connection.json, pulled after the feed's
    // changes: it verifies, and holds the server's tenant and the approval.
    let replica_files: Vec<PathBuf> = std::fs::read_dir(&local)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("replica-") && name.ends_with(".db")
        })
        .collect();
    assert_eq!(replica_files.len(), 1, "{replica_files:?}");
    let replica = replica_files[0].clone();
    let name = replica.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
        "{name}"
    );
    wait_for("the replica holding the approval", || {
        let Ok(mut e) = Engine::open_read_only(&replica, real_time()) else {
            return false;
        };
        e.audit_page("fabrikam", &Default::default())
            .map(|a| {
                a.iter().any(|x| {
                    x.operation.contains("approv")
                        && x.request_id.as_deref() == Some(request.as_str())
                        && x.actor == ANA
                })
            })
            .unwrap_or(false)
    });
    let mut copy = Engine::open_read_only(&replica, real_time()).unwrap();
    let v = copy.verify_audit().unwrap();
    assert!(
        v.first_bad.is_none() && v.first_disagreement.is_none(),
        "{v:?}"
    );
    assert!(v.heads.contains_key("fabrikam"), "{v:?}");
    let tenants: Vec<String> = copy.tenants().unwrap().into_iter().map(|t| t.id).collect();
    assert!(tenants.contains(&"fabrikam".to_string()), "{tenants:?}");
    drop(copy);
    let pulled_at = app.ok("get_connection", json!({}))["replica_at"].clone();
    assert!(pulled_at.is_string(), "{pulled_at}");

    // The server goes away: offline, the reads answer from the replica
    // (read-only, the session naming it), decisions are refused; the window
    // is told (by the feed failing, or the state asked for).
    let (tx, told) = std::sync::mpsc::channel::<()>();
    {
        use tauri::{Listener, Manager};
        app.window
            .app_handle()
            .listen_any("lockbox://connection", move |_| {
                let _ = tx.send(());
            });
    }
    server_rt.shutdown_timeout(Duration::from_secs(5));
    let off = app.ok("get_connection", json!({}));
    told.recv_timeout(Duration::from_secs(5))
        .expect("no lockbox://connection when the server went away");
    assert_eq!(off["state"], "offline", "{off}");
    assert_eq!(off["server"], server.as_str());
    assert_eq!(off["person"], ANA);
    assert!(off["replica_at"].is_string(), "{off}");
    let session = app.ok("session", json!({}));
    assert_eq!(tenant_ids(&session), ["fabrikam"], "{session}");
    assert_eq!(
        session["archive"]["path"],
        std::fs::canonicalize(&replica)
            .unwrap()
            .display()
            .to_string(),
        "{session}"
    );
    let page = app.ok("list_requests", json!({"tenant": "fabrikam", "query": {}}));
    let offline_request = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == request.as_str())
        .cloned();
    let offline_request = offline_request.unwrap_or_else(|| panic!("{page}"));
    assert_eq!(offline_request["state"], "approved", "{offline_request}");
    let audit = app.ok("query_audit", json!({"tenant": "fabrikam", "query": {}}));
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["actor"] == ANA
                && x["request_id"] == request.as_str()
                && x["operation"].as_str().unwrap().contains("approv")),
        "{audit}"
    );
    // (A request of the server's that the provider approved: one the
    // person could decide.)
    let pending = filed[0].clone();
    let p = pending.clone();
    rt.block_on(server_engine.write(move |e| {
        e.provider_approve("fabrikam", &p, "mgr.sam", None)?;
        Ok(())
    }))
    .unwrap();
    let msg = app.err(
        "approve_request",
        json!({"tenant": "fabrikam", "id": pending, "comment": "offline", "durationS": 1800}),
        "store_unavailable",
    );
    assert!(
        msg.contains("the server cannot be reached: decisions are off until it is back"),
        "{msg}"
    );
    // Nothing changed: not the server's store, not the replica.
    let p = pending.clone();
    let still = rt
        .block_on(server_engine.run(move |e| e.request("fabrikam", &p)))
        .unwrap();
    assert_eq!(
        still.state,
        lockbox_core::model::State::Pending,
        "{still:?}"
    );
    let mut copy = Engine::open_read_only(&replica, real_time()).unwrap();
    assert!(copy.verify_audit().unwrap().first_bad.is_none());
    drop(copy);

    // The server back on the same address: connected again, the commands
    // go to it (no archive in the session).
    let server_rt = tokio::runtime::Runtime::new().unwrap();
    let bind = server.trim_start_matches("http://").to_string();
    while told.try_recv().is_ok() {}
    let again = server_rt.block_on(serve(&server_engine, &idp.issuer, &bind));
    assert_eq!(again, server);
    let back = app.ok("get_connection", json!({}));
    assert_eq!(back["state"], "connected", "{back}");
    told.recv_timeout(Duration::from_secs(5))
        .expect("no lockbox://connection when the server came back");
    let session = app.ok("session", json!({}));
    assert_eq!(session["archive"], Value::Null, "{session}");
    assert_eq!(session["user"], ANA, "{session}");
    let r = app.ok(
        "approve_request",
        json!({"tenant": "fabrikam", "id": pending, "comment": "back", "durationS": 1800}),
    );
    assert_eq!(r["state"], "approved", "{r}");

    // What needs this machine's store is refused, saying why.
    let msg = app.err(
        "set_smtp",
        json!({"tenant": "fabrikam", "smtp": null}),
        "invalid_input",
    );
    assert!(
        msg.contains("connected to") && msg.contains(&server),
        "{msg}"
    );
    let msg = app.err(
        "export_audit",
        json!({"tenant": "fabrikam", "query": {}, "format": "csv", "path": "/tmp/x.csv"}),
        "invalid_input",
    );
    assert!(msg.contains("connected to"), "{msg}");

    // A bad address while connected changes nothing either.
    app.err(
        "connect_server",
        json!({"url": "ftp://x", "ca": null}),
        "invalid_input",
    );
    let now = app.ok("get_connection", json!({}));
    for field in ["state", "server", "ca", "person"] {
        assert_eq!(now[field], c[field], "{now} {c}");
    }
    assert_eq!(tenant_ids(&app.ok("session", json!({}))), ["fabrikam"]);

    // The sign-in gone from the keyring (removed, or `lockbox logout`):
    // signed out, saying how to sign in from the desktop; nothing runs locally.
    secrets::secret_delete(SIGN_IN_SERVICE, &server).unwrap();
    let gone = app.ok("get_connection", json!({}));
    assert_eq!(gone["state"], "signed_out", "{gone}");
    assert_eq!(gone["person"], Value::Null);
    let msg = app.err("session", json!({}), "unauthorized");
    assert!(
        msg.contains(&format!("Sign in to {server} again in Settings"))
            && !msg.contains("lockbox login"),
        "{msg}"
    );

    // Signed out: back to the local store; the sign-in and the file are gone.
    let c = app.ok("disconnect_server", json!({}));
    assert_eq!(
        c,
        json!({"state": "local", "server": null, "ca": null, "person": null, "replica_at": null})
    );
    assert!(!replica.exists(), "the replica is removed with the sign-in");
    assert_eq!(tenant_ids(&app.ok("session", json!({}))), ["default"]);
    assert!(!connection_file.exists());
    assert_eq!(secrets::secret_get(SIGN_IN_SERVICE, &server).unwrap(), None);
    assert_eq!(
        app.ok("tray_state", json!({}))["pending"],
        2,
        "the local store's two pending requests"
    );
    drop(idp);
}

/// The local store's tenants, read from the app's own engine (not the IPC).
fn app_state_tenants(app: &common::Window) -> Vec<String> {
    use tauri::Manager;
    let state = app
        .window
        .state::<lockbox_app::state::AppState>()
        .inner()
        .clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(state.run(|e, _| e.tenants()))
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect()
}

fn tenant_ids(session: &Value) -> Vec<String> {
    session["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// The team server's store: Ana is admin of tenant `fabrikam` (which the
/// local store does not have) with one pending request. Its engine and the
/// request's id.
fn server_store(dir: &Path) -> (EngineHandle, String) {
    let path = dir.join("server");
    std::fs::create_dir_all(&path).unwrap();
    let mut engine = Engine::open(&path.join("lockbox.db"), real_time(), "root").unwrap();
    let root = Principal::os_user("root", 0);
    engine
        .add_tenant("default", &root, "fabrikam", "Fabrikam")
        .unwrap();
    engine
        .add_user("fabrikam", &root, ANA, Role::Admin, Some(ANA))
        .unwrap();
    let r = engine
        .file_request("fabrikam", &new_request("SR-77"))
        .unwrap();
    engine
        .provider_approve("fabrikam", &r.id, "mgr.sam", None)
        .unwrap();
    (EngineHandle::new(engine), r.id)
}

/// The admin API on `engine`, taking the provider's ID tokens, bound to
/// `bind` (on the runtime that runs this): its address.
async fn serve(engine: &EngineHandle, issuer: &str, bind: &str) -> String {
    let verifier = OidcVerifier::new(
        &OidcConfig {
            issuer: issuer.to_string(),
            client_id: CLIENT_ID.to_string(),
            ca_pem: None,
        },
        real_time(),
    )
    .unwrap();
    let state = lockbox_api::ApiState::with_limits(
        engine.clone(),
        Limits::per_token(1000, 1000),
        LimiterClock::monotonic(),
    )
    .with_oidc(verifier);
    let cfg = lockbox_api::ServeConfig {
        bind: bind.parse().unwrap(),
        tls: None,
    };
    let (addr, _h) = lockbox_api::bind(state, cfg).await.unwrap();
    format!("http://{addr}")
}

/// The engines' and the server's clock.
fn real_time() -> Arc<dyn Clock> {
    // wall-clock: the provider signs ID tokens by the real time (iat, exp) and the app renews them by it; no outcome here depends on a date.
    Arc::new(lockbox_core::SystemClock)
}

fn new_request(case: &str) -> NewRequest {
    NewRequest {
        engineer: "eng.alex".into(),
        case: case.into(),
        workload: "Exchange Online".into(),
        resource: "Mailbox: cfo@fabrikam.example".into(),
        reason: "Calendar sync broken".into(),
        duration_s: Some(3600),
    }
}

/// The person at the browser: once the app asked for the provider's page,
/// sign in as `login` and consent; the browser follows the redirect back to
/// the app's loopback port.
fn sign_in_when_asked(opened: &Path, login: &str) {
    // A bound on a failure only: the address is there as soon as it is opened.
    let mut url = None;
    for _ in 0..600 {
        if let Ok(s) = std::fs::read_to_string(opened) {
            if s.ends_with('\n') {
                url = Some(reqwest::Url::parse(s.trim()).unwrap());
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let authorize = url.expect("the app opened no browser in 30 s");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = browser();
        let back = browse(&http, authorize, login).await;
        assert!(back.as_str().starts_with("http://127.0.0.1:"), "{back}");
        let page = http.get(back).send().await.unwrap();
        assert_eq!(page.status(), reqwest::StatusCode::OK);
        assert!(page.text().await.unwrap().contains("Signed in."));
    });
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Files under `root` (but `skip`: the keyring's own, encrypted) holding `needle`.
fn files_holding(root: &Path, needle: &[u8], skip: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = e.path();
            if path.starts_with(skip) {
                continue;
            }
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(path);
            } else if t.is_file() {
                let b = std::fs::read(&path).unwrap_or_default();
                if b.windows(needle.len()).any(|w| w == needle) {
                    found.push(path);
                }
            }
        }
    }
    found
}
