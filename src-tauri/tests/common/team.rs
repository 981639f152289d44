//! A team server for the connected-mode tests (`connect.rs`,
//! `connect_latency.rs`): the admin API in this process, a person signing in
//! at the real OpenID provider's pages, and the app's record of notified
//! requests. Included by `#[path]`; the including test declares `sign_in`.

#![allow(clippy::unwrap_used, dead_code)]

use crate::sign_in::{browse, browser, CLIENT_ID};
use lockbox_api::auth::{LimiterClock, Limits};
use lockbox_api::oidc::{OidcConfig, OidcVerifier};
use lockbox_core::model::NewRequest;
use lockbox_core::runtime::EngineHandle;
use lockbox_core::Clock;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The requests `notified.json` records as notified to `person` on
/// `server`, as (tenant, id); `None` if it has no record of them.
pub fn record(path: &Path, server: &str, person: &str) -> Option<Vec<(String, String)>> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let p = v["people"]
        .as_array()?
        .iter()
        .find(|p| p["server"] == server && p["person"] == person)?;
    serde_json::from_value(p["notified"].clone()).ok()
}

/// The admin API on `engine`, taking the provider's ID tokens, bound to
/// `bind` (on the runtime that runs this): its address.
pub async fn serve(engine: &EngineHandle, issuer: &str, bind: &str) -> String {
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
pub fn real_time() -> Arc<dyn Clock> {
    // wall-clock: the provider signs ID tokens by the real time (iat, exp) and the app renews them by it; no outcome here depends on a date.
    Arc::new(lockbox_core::SystemClock)
}

pub fn new_request(case: &str) -> NewRequest {
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
pub fn sign_in_when_asked(opened: &Path, login: &str) {
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
