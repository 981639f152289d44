//! The desktop app in connected mode, through the same IPC handler as the
//! app (Tauri's mock runtime): `connect_server` signs a person in with a real
//! OpenID provider (`tests/oidc`, oidc-provider on node; its login and
//! consent pages driven over HTTP as the person's browser would, after
//! `$BROWSER` — a script — was asked to open them), the tokens go to a real
//! OS keyring (GNOME Keyring's Secret Service on a private D-Bus session
//! bus, as `lockbox-cli`'s keyring tests run it), and the engine commands
//! then go to a real team server (`lockbox_api` with `--oidc-*`'s verifier,
//! in this process, on its own SQLite store). The app's OS notifications go
//! to a real notification daemon (dunst on an Xvfb display, on the same
//! private bus) and are read as `Notify` calls by dbus-monitor. Nothing is
//! faked.
//!
//! One test: `$BROWSER` and the bus address are this process's environment.
//!
//! Needs node with `make oidc-deps`, and dbus-daemon, dbus-send,
//! dbus-monitor, gnome-keyring-daemon, Xvfb and dunst (.ci/install-deps):
//! without them it fails, saying so; it is never skipped.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "../../tests/keyring/secret_service.rs"]
mod secret_service;
use secret_service::{start_secret_service, wait_for};
#[path = "../../tests/oidc/sign_in.rs"]
mod sign_in;
#[path = "common/team.rs"]
mod team;
use team::{new_request, real_time, record, serve, sign_in_when_asked};

use daemon::start_notification_daemon;
use lockbox_core::model::Role;
use lockbox_core::runtime::EngineHandle;
use lockbox_core::secrets::{self, SIGN_IN_SERVICE};
use lockbox_core::{Engine, Principal};
use serde_json::{json, Value};
use sign_in::{browser_script, start_idp};
use std::path::{Path, PathBuf};
use std::time::Duration;

const ANA: &str = "ana@contoso.example";
const BOB: &str = "bob@contoso.example";

#[test]
fn connected_the_app_works_on_the_servers_store_as_the_signed_in_person() {
    let dir = tempfile::tempdir().unwrap();
    let ss = start_secret_service(dir.path());
    // The app's keyring and browser (this process's; the only test here).
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &ss.bus);
    // The desktop's notification daemon, on the same bus, every Notify heard.
    let daemon = start_notification_daemon(dir.path(), &ss.bus);
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
    // The first look for Ana on this device knows the server's backlog (its
    // one pending request) as hers, and notifies none of it.
    let notified = local.join("notified.json");
    wait_for("Ana's record of notified requests", || {
        record(&notified, &server, ANA).is_some()
    });
    assert_eq!(
        record(&notified, &server, ANA).unwrap(),
        [("fabrikam".to_string(), request.clone())]
    );
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
    // So is the server's session (opened for the ID token at sign-in).
    let kept_json: Value = serde_json::from_str(&kept).unwrap();
    for k in ["access_token", "refresh_token"] {
        let secret = kept_json["session"][k].as_str().unwrap();
        assert_eq!(
            files_holding(dir.path(), secret.as_bytes(), &ss.home.join("data")),
            Vec::<PathBuf>::new(),
            "{k}"
        );
    }

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

    // A request filed and approved by the provider on the server while the
    // app is connected: one OS notification, rendered as the local store's
    // notices are, and the first of the tray's requests.
    let n1 = file_pending(&rt, &server_engine, "SR-N1");
    daemon.wait_for("Case SR-N1 ");
    wait_for("SR-N1 recorded as notified", || {
        record(&notified, &server, ANA).is_some_and(|r| r.iter().any(|k| k.1 == n1))
    });
    assert_eq!(daemon.count("Case SR-N1 "), 1, "{:#?}", daemon.calls());
    assert_eq!(daemon.count("Case SR-77 "), 0, "the backlog at sign-in");
    let call = daemon
        .calls()
        .into_iter()
        .find(|c| c.contains("Case SR-N1 "))
        .unwrap();
    assert!(
        call.contains("Customer Lockbox request from eng.alex")
            && call.contains("\"default\"")
            && call.contains("\"open\""),
        "{call}"
    );
    let tray = app.ok("tray_state", json!({}));
    assert_eq!(tray["pending"], 2, "{tray}");
    assert_eq!(
        tray["requests"][0]["route"],
        format!("requests?request={n1}&tenant=fabrikam"),
        "{tray}"
    );
    assert!(
        tray["requests"][0]["label"]
            .as_str()
            .unwrap()
            .starts_with("SR-N1 · eng.alex"),
        "{tray}"
    );
    assert_eq!(tray["requests"].as_array().unwrap().len(), 2, "{tray}");

    // The app closes; a request comes meanwhile; the app starts again on
    // the same files. What was filed while it was closed is notified now,
    // and nothing is notified again.
    {
        use tauri::Manager;
        let state = app.window.state::<lockbox_app::state::AppState>();
        state.connection.stop_following();
    }
    drop(app);
    let closed = file_pending(&rt, &server_engine, "SR-C1");
    let state = lockbox_app::state::AppState::new(
        Engine::open(&local.join("lockbox.db"), real_time(), "root").unwrap(),
        Principal::os_user("root", 0),
        local.join("app-prefs.json"),
    );
    let app = common::Window::new(state.clone());
    {
        use tauri::Manager;
        lockbox_app::connect::follow(app.window.app_handle().clone(), &state);
    }
    daemon.wait_for("Case SR-C1 ");
    wait_for("SR-C1 recorded as notified", || {
        record(&notified, &server, ANA).is_some_and(|r| r.iter().any(|k| k.1 == closed))
    });
    // (Shown oldest first: SR-N1 would have been shown before SR-C1.)
    for (case, times) in [("SR-N1", 1), ("SR-C1", 1), ("SR-77", 0)] {
        assert_eq!(
            daemon.count(&format!("Case {case} ")),
            times,
            "{case}: {:#?}",
            daemon.calls()
        );
    }

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

    // Another person on this device: Bob signs in to the same server and
    // gets a record of his own. His first look notifies none of what is
    // pending; a request filed then is his notification.
    std::fs::remove_file(&opened).unwrap();
    let person = std::thread::spawn({
        let opened = opened.clone();
        move || sign_in_when_asked(&opened, BOB)
    });
    let c = app.ok("connect_server", json!({"url": server, "ca": null}));
    person.join().unwrap();
    assert_eq!(c["person"], BOB, "{c}");
    wait_for("Bob's record of notified requests", || {
        record(&notified, &server, BOB).is_some()
    });
    let before = daemon.calls().len();
    let b1 = file_pending(&rt, &server_engine, "SR-B1");
    daemon.wait_for("Case SR-B1 ");
    wait_for("SR-B1 recorded as notified for Bob", || {
        record(&notified, &server, BOB).is_some_and(|r| r.iter().any(|k| k.1 == b1))
    });
    assert_eq!(daemon.calls().len(), before + 1, "{:#?}", daemon.calls());
    // Ana's record is hers: SR-B1 is new to her. Bob signs out, four more
    // requests come while nobody is signed in, and Ana signs in again: the
    // five she was not notified of are one burst notification.
    let ana = record(&notified, &server, ANA).unwrap();
    assert!(ana.iter().any(|k| k.1 == closed), "{ana:?}");
    assert!(!ana.iter().any(|k| k.1 == b1), "{ana:?}");
    app.ok("disconnect_server", json!({}));
    let mut burst: Vec<String> = (2..=5)
        .map(|i| file_pending(&rt, &server_engine, &format!("SR-B{i}")))
        .collect();
    burst.push(b1);
    std::fs::remove_file(&opened).unwrap();
    let person = std::thread::spawn({
        let opened = opened.clone();
        move || sign_in_when_asked(&opened, ANA)
    });
    let c = app.ok("connect_server", json!({"url": server, "ca": null}));
    person.join().unwrap();
    assert_eq!(c["person"], ANA, "{c}");
    daemon.wait_for("5 new Customer Lockbox requests");
    wait_for("the burst recorded as notified to Ana", || {
        record(&notified, &server, ANA)
            .is_some_and(|r| burst.iter().all(|id| r.iter().any(|k| &k.1 == id)))
    });
    assert_eq!(daemon.calls().len(), before + 2, "{:#?}", daemon.calls());
    let call = daemon.calls().pop().unwrap();
    assert!(
        call.contains("From eng.alex. Open to review the pending requests."),
        "{call}"
    );
    assert_eq!(daemon.count("Case SR-B1 "), 1, "Bob's only");
    // Bob's record: what was pending at his first look, and SR-B1.
    let bob = record(&notified, &server, BOB).unwrap();
    for (id, his) in [
        (&n1, true),
        (&closed, true),
        (&burst[4], true),
        (&burst[0], false),
    ] {
        assert_eq!(bob.iter().any(|k| &k.1 == id), his, "{id}: {bob:?}");
    }
    // No token in the record (nor in any other file of the test's).
    assert_eq!(
        files_holding(dir.path(), jwt.as_bytes(), &ss.home.join("data")),
        Vec::<PathBuf>::new()
    );
    app.ok("disconnect_server", json!({}));
    drop(daemon);
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
    engine
        .add_user("fabrikam", &root, BOB, Role::Admin, Some(BOB))
        .unwrap();
    let r = engine
        .file_request("fabrikam", &new_request("SR-77"))
        .unwrap();
    engine
        .provider_approve("fabrikam", &r.id, "mgr.sam", None)
        .unwrap();
    (EngineHandle::new(engine), r.id)
}

/// A request filed on the server and approved by the provider (so that it
/// waits for the customer: a new pending request); its id.
fn file_pending(rt: &tokio::runtime::Runtime, server: &EngineHandle, case: &str) -> String {
    let case = case.to_string();
    rt.block_on(server.write(move |e| {
        let r = e.file_request("fabrikam", &new_request(&case))?;
        e.provider_approve("fabrikam", &r.id, "mgr.sam", None)?;
        Ok(r.id)
    }))
    .unwrap()
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
