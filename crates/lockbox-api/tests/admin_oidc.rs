//! The team server's admin API against a real OpenID provider: oidc-provider
//! (`tests/oidc/server.mjs`, node) on a free port. People sign in the way
//! the desktop app will: the authorization-code flow with PKCE over plain
//! HTTP (the provider's own login and consent pages, a cookie jar, the code
//! taken from the redirect to a loopback address), then the ID token is
//! exchanged for a Lockbox session (`POST /admin/v1/sessions`), whose access
//! token is the bearer of every admin call. The engine's clock (a
//! `ManualClock`, set from the first token's `iat`) decides whether a token
//! or a session has expired.
//!
//! Needs node and `npm ci` in tests/oidc (`make oidc-deps`): without them
//! these tests fail, saying so; they are never skipped.

#![allow(clippy::unwrap_used)]

#[path = "../../../tests/oidc/sign_in.rs"]
mod sign_in;

use base64::Engine as _;
use chrono::{Duration, TimeZone, Utc};
use lockbox_api::auth::{LimiterClock, Limits};
use lockbox_api::oidc::{OidcConfig, OidcVerifier};
use lockbox_core::model::Role;
use lockbox_core::runtime::EngineHandle;
use lockbox_core::{ManualClock, Principal};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sign_in::{
    claim, private_pki, sign_in, sign_in_trusting, start_idp, start_idp_on, start_idp_tls, time_of,
};
use std::sync::Arc;

use sign_in::CLIENT_ID;
const ADMIN: &str = "Ana@Contoso.example";
const APPROVER_1: &str = "ben@contoso.example";
const APPROVER_2: &str = "cy@contoso.example";

struct Server {
    base: String,
    oidc: Arc<OidcVerifier>,
    http: Client,
    clock: ManualClock,
    provider_token: String,
    loc: lockbox_core::store::StoreLocation,
}

/// The API with the admin routes on, on an engine of the run's backend
/// whose clock starts at `now`: Ana (bootstrap admin), Ben and Cy approvers.
async fn start_server(issuer: &str, now: chrono::DateTime<Utc>) -> Server {
    start_server_trusting(issuer, now, None).await
}

/// [`start_server`] trusting `ca_pem` for the issuer's TLS (`--oidc-ca`).
async fn start_server_trusting(
    issuer: &str,
    now: chrono::DateTime<Utc>,
    ca_pem: Option<Vec<u8>>,
) -> Server {
    let clock = ManualClock::new(now);
    let (mut engine, loc) =
        lockbox_core::testing::engine_and_location(Arc::new(clock.clone()), "root").unwrap();
    let root = Principal::os_user("root", 0);
    let added = engine.bootstrap_admin(&root, ADMIN).unwrap();
    assert_eq!(added.unwrap().name, ADMIN.to_lowercase());
    // Bootstrapping again changes nothing: the user exists.
    assert!(engine.bootstrap_admin(&root, ADMIN).unwrap().is_none());
    for who in [APPROVER_1, APPROVER_2] {
        engine
            .add_user("default", &root, who, Role::Approver, Some(who))
            .unwrap();
    }
    let (_, provider_token) = engine
        .issue_token("default", &root, "acme-ticketing", None)
        .unwrap();
    let engine = EngineHandle::new(engine);
    let verifier = OidcVerifier::new(
        &OidcConfig {
            issuer: issuer.to_string(),
            client_id: CLIENT_ID.to_string(),
            ca_pem,
        },
        Arc::new(clock.clone()),
    )
    .unwrap();
    // Enough failed sign-ins for the test's refusals (the budget has its own tests).
    let limits = Limits {
        failures_per_min: 1000,
        failures_burst: 1000,
        ..Limits::per_token(1000, 1000)
    };
    let state =
        lockbox_api::ApiState::with_limits(engine.clone(), limits, LimiterClock::monotonic())
            .with_oidc(verifier);
    let oidc = state.oidc.clone().unwrap();
    let cfg = lockbox_api::ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        tls: None,
    };
    let (addr, _h) = lockbox_api::bind(state, cfg).await.unwrap();
    Server {
        base: format!("http://{addr}"),
        oidc,
        http: Client::new(),
        clock,
        provider_token,
        loc,
    }
}

impl Server {
    async fn send(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// `POST /admin/v1/sessions` with `id_token` as the bearer.
    async fn open_session(&self, id_token: &str) -> (StatusCode, Value) {
        self.send("POST", "/admin/v1/sessions", Some(id_token), None)
            .await
    }

    /// A session's access token for `id_token` (which must be good).
    async fn session(&self, id_token: &str) -> String {
        let (s, v) = self.open_session(id_token).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["access_token"].as_str().unwrap().to_string()
    }

    /// Admin command `name` with `args`, as the bearer of `token`.
    async fn admin(&self, token: Option<&str>, name: &str, args: Value) -> (StatusCode, Value) {
        self.send(
            "POST",
            &format!("/admin/v1/commands/{name}"),
            token,
            Some(args),
        )
        .await
    }

    /// A request filed and approved on the provider side: pending.
    async fn pending_request(&self) -> String {
        let t = Some(self.provider_token.as_str());
        let (s, v) = self
            .send(
                "POST",
                "/v1/requests",
                t,
                Some(json!({"engineer": "eng.alex", "case": "SR-1",
                "workload": "Exchange Online", "resource": "Mailbox: cfo@contoso.example",
                "reason": "Calendar sync broken", "duration": "2h"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().unwrap().to_string();
        let (s, v) = self
            .send(
                "POST",
                &format!("/v1/requests/{id}/provider-approval"),
                t,
                Some(json!({"manager": "mgr.sam"})),
            )
            .await;
        assert_eq!(
            (s, v["state"].as_str()),
            (StatusCode::OK, Some("pending")),
            "{v}"
        );
        id
    }
}

fn unauthorized(r: &(StatusCode, Value)) -> bool {
    r.0 == StatusCode::UNAUTHORIZED && r.1["code"] == "unauthorized" && r.1["message"].is_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_people_use_the_admin_api_and_nobody_else_does() {
    let idp = start_idp();
    let ana_id = sign_in(&idp.issuer, CLIENT_ID, ADMIN).await;
    let ben_id = sign_in(&idp.issuer, CLIENT_ID, APPROVER_1).await;
    let cy_id = sign_in(&idp.issuer, CLIENT_ID, APPROVER_2).await;
    let ana_elsewhere = sign_in(&idp.issuer, "other-app", ADMIN).await;
    let unverified = sign_in(&idp.issuer, CLIENT_ID, "unverified-dan@contoso.example").await;
    let eve_id = sign_in(&idp.issuer, CLIENT_ID, "eve@contoso.example").await;
    // The engine's clock starts when Ana's token was issued (read from the
    // token, not from the wall clock).
    let server = start_server(&idp.issuer, time_of(&ana_id, "iat")).await;
    // Each verified ID token buys a session; its access token is the bearer.
    let ana = server.session(&ana_id).await;
    let ben = server.session(&ben_id).await;
    let cy = server.session(&cy_id).await;
    let eve = server.session(&eve_id).await;
    // The ID token itself is no bearer of the admin routes.
    let r = server.admin(Some(&ana_id), "session", json!({})).await;
    assert!(unauthorized(&r), "ID token on an admin route: {r:?}");
    assert!(
        r.1["message"]
            .as_str()
            .unwrap()
            .contains("/admin/v1/sessions"),
        "{r:?}"
    );

    // The verified admin: who they are, the requests, the settings.
    let (s, v) = server.admin(Some(&ana), "session", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["user"], "ana@contoso.example");
    assert_eq!(v["role"], "admin");
    let (s, v) = server
        .admin(
            Some(&ana),
            "list_requests",
            json!({"tenant": "default", "query": {}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["items"].is_array() && v["total"].is_number(), "{v}");
    let (s, mut settings) = server
        .admin(Some(&ana), "get_settings", json!({"tenant": "default"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{settings}");
    settings["approvals_required"] = json!(2);
    let (s, v) = server
        .admin(
            Some(&ana),
            "update_settings",
            json!({"tenant": "default", "settings": settings}),
        )
        .await;
    assert_eq!(
        (s, &v["approvals_required"]),
        (StatusCode::OK, &json!(2)),
        "{v}"
    );
    // No body at all is `{}`.
    let (s, v) = server
        .send("POST", "/admin/v1/commands/session", Some(&ben), None)
        .await;
    assert_eq!(
        (s, v["user"].as_str()),
        (StatusCode::OK, Some(APPROVER_1)),
        "{v}"
    );

    // Not a verified person of this issuer for this client: 401, {code, message}.
    assert!(unauthorized(
        &server.admin(None, "session", json!({})).await
    ));
    assert!(unauthorized(
        &server.admin(Some("garbage"), "session", json!({})).await
    ));
    let tampered = {
        let mut parts: Vec<String> = ana_id.split('.').map(str::to_string).collect();
        let mut claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&parts[1])
                .unwrap(),
        )
        .unwrap();
        claims["email"] = json!(APPROVER_1);
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&claims).unwrap());
        parts.join(".")
    };
    // Only a verified ID token of this issuer and client buys a session.
    assert!(unauthorized(&server.open_session(&tampered).await));
    assert!(unauthorized(&server.open_session("garbage").await));
    assert!(
        unauthorized(&server.open_session(&ana).await),
        "a session for a session"
    );
    let r = server.open_session(&ana_elsewhere).await;
    assert!(unauthorized(&r), "another audience: {r:?}");
    let r = server.open_session(&unverified).await;
    assert!(unauthorized(&r), "email not verified: {r:?}");
    // A provider token is no sign-in, and an ID token is no provider token.
    let r = server
        .admin(Some(&server.provider_token), "session", json!({}))
        .await;
    assert!(unauthorized(&r), "provider token on the admin API: {r:?}");
    let r = server.open_session(&server.provider_token).await;
    assert!(unauthorized(&r), "provider token for a session: {r:?}");
    let r = server
        .send("GET", "/v1/public-key", Some(&ana_id), None)
        .await;
    assert!(unauthorized(&r), "ID token on the provider API: {r:?}");
    let r = server.send("GET", "/v1/public-key", Some(&ana), None).await;
    assert!(unauthorized(&r), "session on the provider API: {r:?}");

    // Shell commands and unknown names are not served; bad JSON is 400.
    let (s, v) = server.admin(Some(&ana), "get_prefs", json!({})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{v}"
    );
    let (s, v) = server.admin(Some(&ana), "no_such_command", json!({})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{v}"
    );
    let r = server
        .http
        .post(format!("{}/admin/v1/commands/session", server.base))
        .bearer_auth(&ana)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Verified, but no user of the tenant: no tenant in the session, and
    // none of the tenant's data (the table's `Member`, enforced by the engine).
    let (s, v) = server.admin(Some(&eve), "session", json!({})).await;
    assert_eq!(
        (s, &v["user"], &v["tenants"]),
        (StatusCode::OK, &json!("eve@contoso.example"), &json!([])),
        "{v}"
    );
    for (name, args) in [
        ("list_requests", json!({"tenant": "default", "query": {}})),
        ("get_settings", json!({"tenant": "default"})),
        ("query_audit", json!({"tenant": "default", "query": {}})),
    ] {
        let (s, v) = server.admin(Some(&eve), name, args).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("not_permitted")),
            "{name}: {v}"
        );
    }
    // An approver is a user: they read.
    let (s, v) = server
        .admin(
            Some(&ben),
            "list_requests",
            json!({"tenant": "default", "query": {}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // An approver is not an admin: the engine refuses, 403.
    let (s, v) = server
        .admin(
            Some(&ben),
            "update_settings",
            json!({"tenant": "default", "settings": settings}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_permitted")),
        "{v}"
    );

    // A quorum of two verified approvers; the same person twice counts once.
    let id = server.pending_request().await;
    let approve = json!({"tenant": "default", "id": id, "comment": "ok"});
    let (s, v) = server
        .admin(Some(&ben), "approve_request", approve.clone())
        .await;
    assert_eq!(
        (s, v["state"].as_str()),
        (StatusCode::OK, Some("pending")),
        "{v}"
    );
    let (s, v) = server
        .admin(Some(&ben), "approve_request", approve.clone())
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_decided")),
        "{v}"
    );
    let (s, v) = server
        .admin(
            Some(&ana),
            "get_request",
            json!({"tenant": "default", "id": id}),
        )
        .await;
    assert_eq!(
        (s, v["state"].as_str()),
        (StatusCode::OK, Some("pending")),
        "ben's second vote counted: {v}"
    );
    let (s, v) = server
        .admin(Some(&cy), "approve_request", approve.clone())
        .await;
    assert_eq!(
        (s, v["state"].as_str()),
        (StatusCode::OK, Some("approved")),
        "{v}"
    );
    let (s, trail) = server
        .admin(
            Some(&ana),
            "request_audit",
            json!({"tenant": "default", "id": id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{trail}");
    let approvals: Vec<&Value> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_kind"] == "customer")
        .collect();
    let who: Vec<(&str, &Value)> = approvals
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), &e["details"]["authn"]))
        .collect();
    let authn =
        |token: &str| json!({"method": "oidc", "issuer": idp.issuer, "sub": claim(token, "sub")});
    assert_eq!(
        who,
        vec![(APPROVER_1, &authn(&ben_id)), (APPROVER_2, &authn(&cy_id))],
        "{trail}"
    );

    // Past the ID token's exp by the engine's clock: no session for it.
    // (The IdP's clock and the wall clock are not asked.)
    let exp = time_of(&ana_id, "exp");
    server.clock.set(exp - Duration::seconds(1));
    let (s, v) = server.open_session(&ana_id).await;
    assert_eq!(s, StatusCode::OK, "a second before exp: {v}");
    server.clock.set(exp + Duration::seconds(1));
    let r = server.open_session(&ana_id).await;
    assert!(unauthorized(&r), "expired: {r:?}");
}

/// Sessions: good on the admin routes and the feed until their access
/// token expires by the engine's clock; refresh rotates, a spent refresh
/// token used again ends the session; sign-out ends it; no token is
/// stored in clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_rotate_and_end() {
    let idp = start_idp();
    let ana_id = sign_in(&idp.issuer, CLIENT_ID, ADMIN).await;
    let t0 = time_of(&ana_id, "iat");
    let server = start_server(&idp.issuer, t0).await;
    let (s, first) = server.open_session(&ana_id).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["email"], "ana@contoso.example");
    assert_eq!(first["expires_in"], 15 * 60);
    assert_eq!(
        first["expires_at"],
        (t0 + Duration::minutes(15)).timestamp()
    );
    assert_eq!(
        first["refresh_expires_at"],
        (t0 + Duration::hours(12)).timestamp()
    );
    let access = first["access_token"].as_str().unwrap().to_string();
    let refresh = first["refresh_token"].as_str().unwrap().to_string();
    assert!(access.len() >= 4 + 32, "at least 128 bits: {access}");

    // The admin routes and the change feed take the session.
    let (s, v) = server.admin(Some(&access), "session", json!({})).await;
    assert_eq!(
        (s, v["user"].as_str()),
        (StatusCode::OK, Some("ana@contoso.example")),
        "{v}"
    );
    let feed = |token: String| {
        let r = server
            .http
            .get(format!("{}/admin/v1/changes", server.base))
            .bearer_auth(token)
            .send();
        async move {
            let r = r.await.unwrap();
            (r.status(), r.headers().get("content-type").cloned())
        }
    };
    let (s, ct) = feed(access.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ct.unwrap(), "text/event-stream");
    assert_eq!(
        feed(ana_id.clone()).await.0,
        StatusCode::UNAUTHORIZED,
        "an ID token on the feed"
    );
    // A refresh token is no access token, a provider token no session.
    assert!(unauthorized(
        &server.admin(Some(&refresh), "session", json!({})).await
    ));
    let provider = server.provider_token.clone();
    assert!(unauthorized(
        &server.admin(Some(&provider), "session", json!({})).await
    ));
    assert_eq!(feed(provider).await.0, StatusCode::UNAUTHORIZED);

    // Expired by the engine's clock: 401 on both.
    server.clock.set(t0 + Duration::minutes(15));
    let r = server.admin(Some(&access), "session", json!({})).await;
    assert!(unauthorized(&r), "expired session: {r:?}");
    assert_eq!(feed(access.clone()).await.0, StatusCode::UNAUTHORIZED);

    // Refresh: a new pair that works; the old refresh token is spent.
    let renew = |token: &str| {
        server.send(
            "POST",
            "/admin/v1/sessions/refresh",
            None,
            Some(json!({"refresh_token": token})),
        )
    };
    let (s, second) = renew(&refresh).await;
    assert_eq!(s, StatusCode::OK, "{second}");
    let access2 = second["access_token"].as_str().unwrap().to_string();
    let refresh2 = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(access2, access);
    assert_ne!(refresh2, refresh);
    assert_eq!(
        second["expires_at"],
        (t0 + Duration::minutes(30)).timestamp()
    );
    let (s, v) = server.admin(Some(&access2), "session", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The spent refresh token again: refused, and the whole session ends.
    let r = renew(&refresh).await;
    assert!(unauthorized(&r), "reuse: {r:?}");
    assert!(
        r.1["message"].as_str().unwrap().contains("used before"),
        "{r:?}"
    );
    assert!(unauthorized(
        &server.admin(Some(&access2), "session", json!({})).await
    ));
    assert!(unauthorized(&renew(&refresh2).await), "the family is ended");
    assert!(unauthorized(&renew("lbr_nope").await));
    let (s, v) = server
        .send(
            "POST",
            "/admin/v1/sessions/refresh",
            None,
            Some(json!({"nope": 1})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_input")),
        "{v}"
    );

    // Sign-out ends the session: its access and refresh tokens both.
    let (_, third) = server.open_session(&ana_id).await;
    let access3 = third["access_token"].as_str().unwrap();
    let (s, v) = server
        .send("DELETE", "/admin/v1/sessions", Some(access3), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert!(unauthorized(
        &server.admin(Some(access3), "session", json!({})).await
    ));
    assert!(unauthorized(
        &renew(third["refresh_token"].as_str().unwrap()).await
    ));
    assert!(unauthorized(
        &server
            .send("DELETE", "/admin/v1/sessions", Some("lbs_x"), None)
            .await
    ));
    assert!(unauthorized(
        &server
            .send("DELETE", "/admin/v1/sessions", None, None)
            .await
    ));

    // The store holds hashes only, with the verified identity.
    let loc = server.loc.clone();
    let rows = tokio::task::spawn_blocking(move || {
        lockbox_core::store::outside::outside_rows(
            &loc,
            "SELECT access_hash, refresh_hash, issuer, subject, email FROM admin_sessions",
        )
    })
    .await
    .unwrap();
    let all = format!("{rows:?}");
    for t in [&first, &second, &third] {
        for k in ["access_token", "refresh_token"] {
            let secret = t[k].as_str().unwrap();
            assert!(!all.contains(&secret[4..]), "{k} in clear");
        }
    }
    assert!(
        all.contains(&claim(&ana_id, "sub").as_str().unwrap().to_string()),
        "{all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_signing_key_is_fetched_once_per_unknown_key() {
    let idp = start_idp();
    let before = sign_in(&idp.issuer, CLIENT_ID, ADMIN).await;
    let server = start_server(&idp.issuer, time_of(&before, "iat")).await;
    let (s, v) = server.open_session(&before).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = server.open_session(&before).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        server.oidc.key_set_fetches().await,
        1,
        "the key set is cached"
    );
    // The issuer restarts with a new signing key (a new kid) at the same address.
    let port: u16 = idp.issuer.rsplit(':').next().unwrap().parse().unwrap();
    drop(idp);
    let idp = start_idp_on(port);
    let after = sign_in(&idp.issuer, CLIENT_ID, ADMIN).await;
    assert_ne!(
        serde_json::from_slice::<Value>(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(before.split('.').next().unwrap())
                .unwrap()
        )
        .unwrap()["kid"],
        serde_json::from_slice::<Value>(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(after.split('.').next().unwrap())
                .unwrap()
        )
        .unwrap()["kid"],
    );
    let (s, v) = server.open_session(&after).await;
    assert_eq!(
        (s, v["email"].as_str()),
        (StatusCode::OK, Some("ana@contoso.example")),
        "{v}"
    );
    assert_eq!(
        server.oidc.key_set_fetches().await,
        2,
        "fetched again for the new kid"
    );
    let (s, _) = server.open_session(&after).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(server.oidc.key_set_fetches().await, 2, "and cached again");
    // The old key is gone from the issuer's set: its token no longer signs anyone in.
    let r = server.open_session(&before).await;
    assert!(
        unauthorized(&r),
        "a token of a key the issuer dropped: {r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_behind_a_private_ca_is_trusted_only_with_oidc_ca() {
    let (ca, cert, key) = private_pki();
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (dir.path().join("idp.pem"), dir.path().join("idp.key"));
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let idp = start_idp_tls(&cert_file, &key_file);
    assert!(idp.issuer.starts_with("https://"), "{}", idp.issuer);
    let ana = sign_in_trusting(&idp.issuer, CLIENT_ID, ADMIN, Some(ca.as_bytes())).await;

    let trusting =
        start_server_trusting(&idp.issuer, time_of(&ana, "iat"), Some(ca.into_bytes())).await;
    let (s, v) = trusting.open_session(&ana).await;
    assert_eq!(
        (s, v["email"].as_str()),
        (StatusCode::OK, Some("ana@contoso.example")),
        "{v}"
    );

    // Without the CA the issuer's certificate is not trusted: its keys cannot
    // be fetched, and nobody signs in (503, not a 200 nor a silent 401).
    let not_trusting = start_server(&idp.issuer, time_of(&ana, "iat")).await;
    let (s, v) = not_trusting.open_session(&ana).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("cannot read the OpenID configuration"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_answers_401_without_a_valid_session() {
    let idp = start_idp();
    let ana_id = sign_in(&idp.issuer, CLIENT_ID, ADMIN).await;
    // The engine's clock starts when Ana's token was issued.
    let server = start_server(&idp.issuer, time_of(&ana_id, "iat")).await;
    // A session that was good and has ended.
    let ended = server.session(&ana_id).await;
    let (s, v) = server
        .send("DELETE", "/admin/v1/sessions", Some(&ended), None)
        .await;
    assert!(s.is_success(), "{s} {v}");
    // Every admin route the OpenAPI document lists, with every method it
    // lists, except the one that needs no sign-in: where to sign in.
    let (s, doc) = server.send("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/admin/") || path == "/admin/v1/sign-in" {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            routes.push((method.to_uppercase(), path.clone()));
        }
    }
    let engine_commands = lockbox_core::commands::COMMANDS
        .iter()
        .filter(|c| c.runs == lockbox_core::commands::Runs::Engine)
        .count();
    // The commands, the feed, and the sessions' three routes.
    assert_eq!(routes.len(), engine_commands + 4, "{routes:?}");
    let bearers = [
        ("no bearer", None),
        ("garbage", Some("garbage")),
        ("a provider token", Some(server.provider_token.as_str())),
        ("an ended session", Some(ended.as_str())),
        (
            "a forged session",
            Some("lbs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ),
    ];
    for (method, path) in &routes {
        for (what, bearer) in bearers {
            // The session route takes an ID token, refresh a refresh token in the body.
            let body = (method == "POST").then(|| json!({"refresh_token": "lbr_garbage"}));
            let r = server.send(method, path, bearer, body).await;
            assert!(unauthorized(&r), "{method} {path} with {what}: {r:?}");
        }
    }
    // And the one that needs none answers without a bearer.
    let (s, v) = server.send("GET", "/admin/v1/sign-in", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_engine_command_under_admin() {
    let idp = start_idp();
    let server = start_server(
        &idp.issuer,
        Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap(),
    )
    .await;
    let (s, doc) = server.send("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let engine_commands: Vec<&str> = lockbox_core::commands::COMMANDS
        .iter()
        .filter(|c| c.runs == lockbox_core::commands::Runs::Engine)
        .map(|c| c.name)
        .collect();
    let admin_paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter_map(|p| p.strip_prefix("/admin/v1/commands/"))
        .collect();
    let mut expected = engine_commands.clone();
    expected.sort_unstable();
    let mut got = admin_paths.clone();
    got.sort_unstable();
    assert_eq!(got, expected);
    let op = &doc["paths"]["/admin/v1/commands/update_settings"]["post"];
    assert_eq!(op["tags"], json!(["admin"]));
    assert_eq!(op["security"], json!([{"session": []}]));
    assert!(
        op["description"]
            .as_str()
            .unwrap()
            .contains("an admin of the tenant"),
        "{op}"
    );
    for scheme in ["oidc", "session"] {
        assert_eq!(
            doc["components"]["securitySchemes"][scheme]["scheme"],
            "bearer"
        );
    }
    // The sessions' routes: an ID token only where a session is opened.
    let sessions = &doc["paths"]["/admin/v1/sessions"];
    assert_eq!(
        sessions["post"]["security"],
        json!([{"oidc": []}]),
        "{sessions}"
    );
    assert_eq!(
        sessions["delete"]["security"],
        json!([{"session": []}]),
        "{sessions}"
    );
    let refresh = &doc["paths"]["/admin/v1/sessions/refresh"]["post"];
    assert_eq!(refresh["tags"], json!(["admin"]), "{refresh}");
    assert!(refresh.get("security").is_none(), "{refresh}");
    assert!(
        doc["components"]["schemas"]["SessionTokens"]["properties"]["refresh_token"].is_object()
    );
    // Where to sign in: documented under admin, needing no token.
    let op = &doc["paths"]["/admin/v1/sign-in"]["get"];
    assert_eq!(op["tags"], json!(["admin"]), "{op}");
    assert!(op.get("security").is_none(), "{op}");
    let (s, v) = server.send("GET", "/admin/v1/sign-in", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v,
        json!({"issuer": idp.issuer, "client_id": CLIENT_ID}),
        "what a client needs to sign in"
    );
    // The provider routes keep their own scheme.
    assert_eq!(
        doc["paths"]["/v1/requests"]["post"]["security"],
        json!([{"bearer": []}])
    );
}

#[tokio::test]
async fn without_an_issuer_there_is_no_admin_api() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap());
    let engine = lockbox_core::testing::engine(Arc::new(clock), "root").unwrap();
    let state = lockbox_api::ApiState::new(EngineHandle::new(engine), 100, 100);
    let cfg = lockbox_api::ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        tls: None,
    };
    let (addr, _h) = lockbox_api::bind(state, cfg).await.unwrap();
    let http = Client::new();
    let r = http
        .post(format!("http://{addr}/admin/v1/commands/session"))
        .bearer_auth("anything")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = http
        .get(format!("http://{addr}/admin/v1/sign-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "not_found", "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("--oidc-issuer"),
        "{v}"
    );
    let doc: Value = http
        .get(format!("http://{addr}/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .any(|p| p.starts_with("/admin")),
        "admin paths documented but not served"
    );
}

#[test]
fn an_issuer_must_be_https_except_on_loopback() {
    let clock: Arc<dyn lockbox_core::Clock> = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap(),
    ));
    let cfg = |issuer: &str| OidcConfig {
        issuer: issuer.to_string(),
        client_id: CLIENT_ID.to_string(),
        ca_pem: None,
    };
    assert!(OidcVerifier::new(&cfg("http://id.example"), clock.clone()).is_err());
    assert!(OidcVerifier::new(&cfg("https://id.example"), clock.clone()).is_ok());
    assert!(OidcVerifier::new(&cfg("http://127.0.0.1:5556"), clock.clone()).is_ok());
    // The issuer is compared with `iss` exactly: a trailing slash is kept.
    let slash = OidcVerifier::new(&cfg("https://id.example/tenant/"), clock.clone()).unwrap();
    assert_eq!(slash.issuer(), "https://id.example/tenant/");
    let no_pem = OidcConfig {
        ca_pem: Some(b"not a certificate".to_vec()),
        ..cfg("https://id.example")
    };
    assert!(OidcVerifier::new(&no_pem, clock).is_err());
}
