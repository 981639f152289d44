//! The client (`lockbox_client`) against this server's sessions, with a
//! real OpenID provider (`tests/oidc`) and a real OS keyring (a private
//! D-Bus session bus with GNOME Keyring, `tests/keyring`): the device
//! sign-in opens a session; a session the server's clock has expired is
//! answered 401, renewed with its refresh token, and the call succeeds; a
//! session whose refresh token was used twice (ended by the server) is
//! replaced by a new sign-in with the issuer's refresh token; sign-out ends
//! the session on the server. The server's clock is a `ManualClock`; the
//! client's clock is given to each call (it never thinks the session has
//! expired: the server says so).
//!
//! Needs node with `make oidc-deps`, and dbus-daemon and
//! gnome-keyring-daemon (.ci/install-deps): never skipped.

#![allow(clippy::unwrap_used)]

#[path = "../../../tests/keyring/secret_service.rs"]
mod secret_service;
#[path = "../../../tests/oidc/sign_in.rs"]
mod sign_in;

use chrono::Duration;
use lockbox_api::auth::{LimiterClock, Limits};
use lockbox_api::oidc::{OidcConfig, OidcVerifier};
use lockbox_core::runtime::EngineHandle;
use lockbox_core::{ManualClock, Principal};
use reqwest::StatusCode;
use serde_json::json;
use sign_in::{confirm_device, sign_in, start_idp, time_of, CLIENT_ID};
use std::sync::Arc;

const ANA: &str = "ana@contoso.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_renewed_after_a_401_and_an_ended_one_signs_in_again() {
    let dir = tempfile::tempdir().unwrap();
    let ss = secret_service::start_secret_service(dir.path());
    // This test binary's one test: the keyring's bus for the client.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &ss.bus);
    let idp = start_idp();
    // The server's clock starts when the provider issues tokens (read from
    // one, not from the wall clock).
    let t0 = time_of(&sign_in(&idp.issuer, CLIENT_ID, ANA).await, "iat");
    let clock = ManualClock::new(t0);
    let mut engine = lockbox_core::testing::engine(Arc::new(clock.clone()), "root").unwrap();
    engine
        .bootstrap_admin(&Principal::os_user("root", 0), ANA)
        .unwrap();
    let verifier = OidcVerifier::new(
        &OidcConfig {
            issuer: idp.issuer.clone(),
            client_id: CLIENT_ID.to_string(),
            ca_pem: None,
        },
        Arc::new(clock.clone()),
    )
    .unwrap();
    let limits = Limits {
        failures_per_min: 1000,
        failures_burst: 1000,
        ..Limits::per_token(1000, 1000)
    };
    let state = lockbox_api::ApiState::with_limits(
        EngineHandle::new(engine),
        limits,
        LimiterClock::monotonic(),
    )
    .with_oidc(verifier);
    let cfg = lockbox_api::ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        tls: None,
    };
    let (addr, _h) = lockbox_api::bind(state, cfg).await.unwrap();
    let server = format!("http://{addr}");
    let http = lockbox_client::http_client(None).unwrap();

    // The device sign-in, confirmed at the provider's pages: it ends with a
    // session, kept in the keyring with the ID and the issuer's refresh token.
    let (code_tx, code_rx) = tokio::sync::oneshot::channel::<String>();
    let flow = {
        let (http, server) = (http.clone(), server.clone());
        tokio::spawn(async move {
            lockbox_client::device_flow(&http, &server, move |prompt| {
                let code = regex::Regex::new(r"enter the code (\S+)")
                    .unwrap()
                    .captures(prompt)
                    .unwrap()[1]
                    .to_string();
                code_tx.send(code).unwrap();
            })
            .await
        })
    };
    let code = code_rx.await.unwrap();
    confirm_device(&idp.issuer, &code, ANA, true).await;
    let tokens = flow.await.unwrap().unwrap();
    let first = tokens.session.clone().expect("a session after sign-in");
    assert!(first.access_token.starts_with("lbs_"));
    assert!(tokens.refresh_token.is_some(), "the issuer's refresh token");
    lockbox_client::keep(&server, &tokens).unwrap();
    let now = t0.timestamp();
    let session = json!({});
    let called = lockbox_client::call(
        &http,
        &server,
        "session",
        &session,
        lockbox_client::kept(&server).unwrap(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        (called.value["user"].as_str(), called.renewed),
        (Some(ANA), false)
    );

    // The server's clock passes the access token's expiry: the call is
    // answered 401, the session renewed with its refresh token (rotated,
    // kept), and the call made again, successfully.
    clock.set(t0 + Duration::minutes(15));
    let called = lockbox_client::call(
        &http,
        &server,
        "session",
        &session,
        lockbox_client::kept(&server).unwrap(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        (called.value["user"].as_str(), called.renewed),
        (Some(ANA), true)
    );
    let second = lockbox_client::kept(&server).unwrap().session.unwrap();
    assert_ne!(second.access_token, first.access_token);
    assert_ne!(second.refresh_token, first.refresh_token);
    // The next call uses the kept session as it is.
    let called = lockbox_client::call(
        &http,
        &server,
        "session",
        &session,
        lockbox_client::kept(&server).unwrap(),
        now,
    )
    .await
    .unwrap();
    assert!(!called.renewed);

    // The live change feed outlives its sessions: when the server's clock
    // passes the access token's expiry, the next look ends the stream
    // (`unauthorized`); the client renews (taking the renewal a call kept
    // meanwhile) and joins again from its last id, missing nothing.
    let (news_tx, mut news) = tokio::sync::mpsc::unbounded_channel();
    let feed = {
        let (server, tokens) = (server.clone(), lockbox_client::kept(&server).unwrap());
        let http = lockbox_client::changes::stream_client(None).unwrap();
        tokio::spawn(async move {
            lockbox_client::changes::follow(&http, &server, tokens, now, move |n| {
                let _ = news_tx.send(n);
            })
            .await
        })
    };
    async fn next<T>(news: &mut tokio::sync::mpsc::UnboundedReceiver<T>) -> T {
        tokio::time::timeout(std::time::Duration::from_secs(30), news.recv())
            .await
            .expect("the feed said nothing in 30 s")
            .unwrap()
    }
    use lockbox_client::changes::FeedNews;
    let is_scope = |n: &FeedNews| matches!(n, FeedNews::Event(e) if e.event == "scope");
    assert!(is_scope(&next(&mut news).await));
    for round in 1..=2 {
        clock.advance(Duration::minutes(15));
        let args = json!({"tenant": "default", "name": format!("user{round}@contoso.example"), "role": "approver"});
        let called = lockbox_client::call(
            &http,
            &server,
            "add_user",
            &args,
            lockbox_client::kept(&server).unwrap(),
            now,
        )
        .await
        .unwrap();
        assert!(called.renewed, "round {round}");
        let mut seen = Vec::new();
        loop {
            let n = next(&mut news).await;
            let done = matches!(&n, FeedNews::Event(e) if e.data["kind"] == "settings_changed");
            seen.push(n);
            if done {
                break;
            }
        }
        assert!(
            matches!(&seen[0], FeedNews::Ended(why) if why["code"] == "unauthorized"),
            "round {round}: {seen:?}"
        );
        assert_eq!(seen[1], FeedNews::Renewed, "round {round}: {seen:?}");
    }
    feed.abort();
    let second = lockbox_client::kept(&server).unwrap().session.unwrap();

    // Someone replays the first, spent, refresh token: the server ends the
    // session. The client's next call is refused, its refresh refused too,
    // and it signs in again with the issuer's refresh token: a new session.
    let r = http
        .post(format!("{server}/admin/v1/sessions/refresh"))
        .json(&json!({"refresh_token": first.refresh_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let called = lockbox_client::call(
        &http,
        &server,
        "session",
        &session,
        lockbox_client::kept(&server).unwrap(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        (called.value["user"].as_str(), called.renewed),
        (Some(ANA), true)
    );
    let third = lockbox_client::kept(&server).unwrap();
    let third_session = third.session.clone().unwrap();
    assert_ne!(third_session.refresh_token, second.refresh_token);

    // Sign-out ends it on the server: its access token is refused there.
    assert!(lockbox_client::sign_out(&http, &server, &third).await);
    let r = http
        .post(format!("{server}/admin/v1/commands/session"))
        .bearer_auth(&third_session.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    drop(ss);
}
