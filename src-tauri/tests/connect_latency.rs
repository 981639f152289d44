//! A measurement, not a check (ignored; run by hand): how long from a
//! provider filing a request through a team server's provider API
//! (`POST /v1/requests`) to the connected desktop app's `Notify` call on the
//! session bus, over requests spaced so that none is coalesced (each filed
//! after the previous one's notification). The parts are connect.rs's, all
//! real: the OpenID provider, GNOME Keyring, the server in this process,
//! dunst on Xvfb, dbus-monitor stamping each call.
//!
//! The figure includes the burst rule's wait by design: a new request is
//! shown once no other came for `alerts::BURST_QUIET` (500 ms).
//!
//! ```text
//! LOCKBOX_LATENCY_N=100 cargo test --locked -p lockbox-app --test connect_latency -- --ignored --nocapture
//! ```

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/daemon.rs"]
mod daemon;
#[path = "../../tests/keyring/secret_service.rs"]
mod secret_service;
#[path = "../../tests/oidc/sign_in.rs"]
mod sign_in;
#[path = "common/team.rs"]
mod team;

use lockbox_core::model::{Role, Settings};
use lockbox_core::runtime::EngineHandle;
use lockbox_core::{Engine, Principal};
use serde_json::json;
use std::time::Duration;
use team::{real_time, record, serve, sign_in_when_asked};

const ANA: &str = "ana@contoso.example";

#[test]
#[ignore = "a measurement of about 2.5 minutes; run by hand with --ignored --nocapture"]
fn latency_from_filing_to_the_notify_call() {
    let n: usize = std::env::var("LOCKBOX_LATENCY_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let ss = secret_service::start_secret_service(dir.path());
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &ss.bus);
    let daemon = daemon::start_notification_daemon(dir.path(), &ss.bus);
    let opened = dir.path().join("opened");
    std::env::set_var("BROWSER", sign_in::browser_script(dir.path(), &opened));
    let idp = sign_in::start_idp();

    // The server: Ana is admin of `fabrikam`, whose requests need no
    // provider approval (filed = pending), and a provider token for it.
    let path = dir.path().join("server");
    std::fs::create_dir_all(&path).unwrap();
    let mut engine = Engine::open(&path.join("lockbox.db"), real_time(), "root").unwrap();
    let root = Principal::os_user("root", 0);
    engine
        .add_tenant("default", &root, "fabrikam", "Fabrikam")
        .unwrap();
    engine
        .add_user("fabrikam", &root, ANA, Role::Admin, Some(ANA))
        .unwrap();
    let settings = Settings {
        provider_approvals_required: 0,
        ..engine.settings("fabrikam").unwrap()
    };
    engine
        .update_settings("fabrikam", &root, &settings)
        .unwrap();
    let (_, token) = engine
        .issue_token("fabrikam", &root, "latency", None)
        .unwrap();
    let server_engine = EngineHandle::new(engine);
    let server_rt = tokio::runtime::Runtime::new().unwrap();
    let server = server_rt.block_on(serve(&server_engine, &idp.issuer, "127.0.0.1:0"));

    // The app, connected as Ana.
    let local = dir.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    let state = lockbox_app::state::AppState::new(
        Engine::open(&local.join("lockbox.db"), real_time(), "root").unwrap(),
        Principal::os_user("root", 0),
        local.join("app-prefs.json"),
    );
    let app = common::Window::new(state);
    let person = std::thread::spawn({
        let opened = opened.clone();
        move || sign_in_when_asked(&opened, ANA)
    });
    let c = app.ok("connect_server", json!({"url": server, "ca": null}));
    person.join().unwrap();
    assert_eq!(c["person"], ANA, "{c}");
    let notified = local.join("notified.json");
    secret_service::wait_for("Ana's first look", || {
        record(&notified, &server, ANA).is_some()
    });

    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let mut latencies = Vec::new();
    for i in 0..n {
        let case = format!("SR-L{i}");
        let body = json!({
            "engineer": "eng.alex",
            "case": case,
            "workload": "Exchange Online",
            "resource": "Mailbox: cfo@fabrikam.example",
            "reason": "Latency measurement",
            "duration": "1h",
        });
        // wall-clock: a measurement against dbus-monitor's timestamps (the same machine's clock); no outcome depends on it.
        let filed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let status = rt.block_on(async {
            http.post(format!("{server}/v1/requests"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body).unwrap())
                .send()
                .await
                .unwrap()
                .status()
        });
        assert_eq!(status, reqwest::StatusCode::CREATED, "{case}");
        let needle = format!("Case {case} ");
        let mut at = None;
        for _ in 0..1000 {
            at = daemon
                .timed_calls()
                .into_iter()
                .find(|(_, c)| c.contains(&needle))
                .map(|(t, _)| t);
            if at.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let at = at.unwrap_or_else(|| panic!("no notification for {case} in 20 s"));
        latencies.push(at - filed);
        std::thread::sleep(Duration::from_millis(100));
    }
    let bursts = daemon
        .calls()
        .iter()
        .filter(|c| c.contains("new Customer Lockbox requests"))
        .count();
    assert_eq!(bursts, 0, "a request was coalesced");
    latencies.sort_by(f64::total_cmp);
    let pick = |q: f64| latencies[((q * n as f64).ceil() as usize).clamp(1, n) - 1] * 1000.0;
    println!(
        "filing -> Notify over {n} requests: p50 {:.0} ms, p99 {:.0} ms, min {:.0} ms, max {:.0} ms",
        pick(0.50),
        pick(0.99),
        latencies[0] * 1000.0,
        latencies[n - 1] * 1000.0
    );
    app.ok("disconnect_server", json!({}));
    drop(daemon);
    drop(idp);
}
