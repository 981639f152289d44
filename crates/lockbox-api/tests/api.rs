//! The HTTP API end to end on a temp store (in-process server on 127.0.0.1:0,
//! manual clock): the full story, the auth matrix, bad input on every
//! endpoint, and receipts fetched over HTTP and verified offline.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::model::limits;
use lockbox_core::runtime::EngineHandle;
use lockbox_core::store::StoreLocation;
use lockbox_core::Principal;
use lockbox_core::{receipts, Engine, ManualClock};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;

struct Api {
    /// Where the engine's store is (SQLite file or PostgreSQL database).
    loc: lockbox_core::store::StoreLocation,
    base: String,
    engine: EngineHandle,
    clock: ManualClock,
    token: String,
    http: Client,
}

async fn start() -> Api {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap());
    // SQLite, or PostgreSQL with LOCKBOX_TEST_BACKEND=postgres.
    let (mut engine, loc) =
        lockbox_core::testing::engine_and_location(Arc::new(clock.clone()), "root").unwrap();
    let (_, token) = engine
        .issue_token(
            "default",
            &Principal::os_user("root", 0),
            "acme-ticketing",
            None,
        )
        .unwrap();
    let engine = EngineHandle::new(engine);
    let state = lockbox_api::ApiState::new(engine.clone(), 1000, 1000);
    let cfg = lockbox_api::ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        tls: None,
    };
    let (addr, _h) = lockbox_api::bind(state, cfg).await.unwrap();
    Api {
        loc,
        base: format!("http://{addr}"),
        engine,
        clock,
        token,
        http: Client::new(),
    }
}

impl Api {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
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
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", path, Some(&self.token.clone()), Some(body))
            .await
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call("GET", path, Some(&self.token.clone()), None)
            .await
    }
    fn with<T>(&self, f: impl FnOnce(&mut Engine) -> T) -> T {
        f(&mut self.engine.lock().unwrap())
    }
    async fn file(&self) -> String {
        let (s, v) = self
            .post("/v1/requests", json!({"engineer": "eng.alex", "case": "SR-77", "workload": "Exchange Online",
                "resource": "Mailbox: cfo@contoso.example", "reason": "Calendar sync broken", "duration": "2h"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_string()
    }
}

#[tokio::test]
async fn the_full_story_over_http() {
    let api = start().await;
    let id = api.file().await;
    let (_, v) = api.get(&format!("/v1/requests/{id}")).await;
    assert_eq!(v["state"], "awaiting_provider");
    // No receipt before a decision: 409, as documented.
    let (s, v) = api.get(&format!("/v1/requests/{id}/receipt")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition"))
    );
    let (s, v) = api
        .post(
            &format!("/v1/requests/{id}/provider-approval"),
            json!({"manager": "eng.alex"}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("self_approval"))
    );
    let (s, v) = api
        .post(
            &format!("/v1/requests/{id}/provider-approval"),
            json!({"manager": "mgr.sam", "comment": "ok"}),
        )
        .await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("pending")));
    let (_, v) = api.get(&format!("/v1/requests/{id}/access")).await;
    assert_eq!(v["allowed"], false);
    // An action before approval is refused with 403 and audited.
    let (s, v) = api
        .post(
            &format!("/v1/requests/{id}/actions"),
            json!({"engineer": "eng.alex", "action": "peek"}),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("access_denied"))
    );
    // The customer approves (the decision is not available over the API).
    api.clock.advance(Duration::minutes(5));
    api.with(|e| {
        e.approve(
            "default",
            &id,
            &Principal::os_user("root", 0),
            Some("go"),
            Some(3600),
        )
        .unwrap()
    });
    let (_, v) = api.get(&format!("/v1/requests/{id}/access")).await;
    assert_eq!(v["allowed"], true);
    assert_eq!(v["ends_at"], "2026-11-29T10:05:00Z");
    let (s, v) = api
        .post(
            &format!("/v1/requests/{id}/actions"),
            json!({"engineer": "eng.alex", "action": "Read calendar items"}),
        )
        .await;
    assert_eq!(
        (s, v["allowed"].as_bool()),
        (StatusCode::CREATED, Some(true))
    );
    // The window ends by itself.
    api.clock.advance(Duration::hours(1));
    let (_, v) = api.get(&format!("/v1/requests/{id}/access")).await;
    assert_eq!(v["allowed"], false);
    let (s, _) = api
        .post(
            &format!("/v1/requests/{id}/actions"),
            json!({"engineer": "eng.alex", "action": "one more"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let ops: Vec<String> = api.with(|e| {
        let q = lockbox_core::store::AuditQuery {
            request_id: Some(id.clone()),
            limit: Some(100),
            ..Default::default()
        };
        e.audit_page("default", &q)
            .unwrap()
            .into_iter()
            .rev()
            .map(|a| a.operation)
            .collect()
    });
    assert_eq!(
        ops,
        [
            "request_created",
            "provider_approved",
            "access_denied",
            "approved",
            "access_used",
            "completed",
            "access_denied"
        ]
    );
    // Receipt over HTTP, verified offline with the published key.
    let resp = api
        .http
        .get(format!("{}/v1/requests/{id}/receipt", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    let (_, key) = api.get("/v1/public-key").await;
    let pk = receipts::parse_public_key(key["public_key"].as_str().unwrap()).unwrap();
    let body = receipts::verify(&text, &pk).unwrap();
    assert_eq!(
        body["decision"], "approved",
        "latest receipt is the approval (completion is not a decision)"
    );
    assert_eq!(body["granted_window"]["to"], "2026-11-29T10:05:00Z");
    let mut bad = text.clone().into_bytes();
    let i = bad.len() / 2;
    bad[i] = if bad[i] == b'a' { b'b' } else { b'a' };
    assert!(receipts::verify(&String::from_utf8(bad).unwrap(), &pk).is_err());
}

#[tokio::test]
async fn the_auth_matrix() {
    let api = start().await;
    let id = api.file().await;
    let path = format!("/v1/requests/{id}");
    let (s, v) = api.call("GET", &path, None, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (s, _) = api
        .call("GET", &path, Some("lbx_not-a-real-token"), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let resp = api
        .http
        .get(format!("{}{path}", api.base))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // A revoked token stops working at once.
    let (_, second) = api.with(|e| {
        e.issue_token("default", &Principal::os_user("root", 0), "second", None)
            .unwrap()
    });
    assert_eq!(
        api.call("GET", &path, Some(&second), None).await.0,
        StatusCode::OK
    );
    api.with(|e| {
        e.revoke_token("default", &Principal::os_user("root", 0), "second")
            .unwrap()
    });
    assert_eq!(
        api.call("GET", &path, Some(&second), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // An expired token too.
    let (_, short) = api.with(|e| {
        e.issue_token("default", &Principal::os_user("root", 0), "short", Some(60))
            .unwrap()
    });
    assert_eq!(
        api.call("GET", &path, Some(&short), None).await.0,
        StatusCode::OK
    );
    api.clock.advance(Duration::seconds(61));
    assert_eq!(
        api.call("GET", &path, Some(&short), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Another tenant's token cannot see or act on this tenant's request, nor
    // tell it from an id that exists nowhere: the same status, code and
    // message shape (a 403 here would say "it exists, elsewhere").
    let (_, other) = api.with(|e| {
        e.add_tenant(
            "default",
            &Principal::os_user("root", 0),
            "fabrikam",
            "Fabrikam",
        )
        .unwrap();
        e.issue_token("fabrikam", &Principal::os_user("root", 0), "fab", None)
            .unwrap()
    });
    // An unknown id of the same shape.
    let unknown = format!("{}0000", &id[..id.len() - 4]);
    assert_ne!(unknown, id);
    let head = api.with(|e| e.audit_head("default").unwrap());
    for (m, tail, b) in [
        ("GET", "", None),
        ("GET", "/access", None),
        ("GET", "/receipt", None),
        ("POST", "/provider-approval", Some(json!({"manager": "m"}))),
        ("POST", "/cancel", Some(json!({"engineer": "eng.alex"}))),
        (
            "POST",
            "/actions",
            Some(json!({"engineer": "eng.alex", "action": "peek"})),
        ),
    ] {
        let (s, v) = api
            .call(
                m,
                &format!("/v1/requests/{id}{tail}"),
                Some(&other),
                b.clone(),
            )
            .await;
        let (s2, v2) = api
            .call(m, &format!("/v1/requests/{unknown}{tail}"), Some(&other), b)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {tail}: {v}");
        assert_eq!(v["code"], "not_found", "{m} {tail}: {v}");
        assert_eq!(s2, s, "{m} {tail}");
        assert_eq!(v2["code"], v["code"], "{m} {tail}");
        assert_eq!(
            v["message"].as_str().unwrap().replace(&id, "ID"),
            v2["message"].as_str().unwrap().replace(&unknown, "ID"),
            "{m} {tail}: the same message, but for the id"
        );
    }
    assert_eq!(
        api.with(|e| e.audit_head("default").unwrap()),
        head,
        "nothing was written for the other tenant's calls"
    );
    // Customer decisions are not routes of this API.
    for p in ["approve", "reject", "revoke", "decision"] {
        let (s, v) = api.post(&format!("{path}/{p}"), json!({})).await;
        assert!(
            s == StatusCode::NOT_FOUND || s == StatusCode::METHOD_NOT_ALLOWED,
            "{p}: {s}"
        );
        assert!(v["code"].is_string(), "{v}");
    }
    let (s, _) = api
        .call("DELETE", &path, Some(&api.token.clone()), None)
        .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _) = api
        .call(
            "PUT",
            "/v1/settings",
            Some(&api.token.clone()),
            Some(json!({"lockbox": "off"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(api.with(|e| e.settings("default").unwrap().lockbox_enabled));
}

#[tokio::test]
async fn bad_input_on_every_endpoint_changes_nothing() {
    let api = start().await;
    let id = api.file().await;
    let head = api.with(|e| e.audit_head("default").unwrap());
    let big = "x".repeat(70 * 1024);
    let cases: Vec<(String, String, &str)> = vec![
        // (path, raw body, why)
        ("/v1/requests".into(), "{not json".into(), "malformed JSON"),
        ("/v1/requests".into(), r#"{"engineer": 5, "case": "c", "workload": "w", "resource": "r", "reason": "x"}"#.into(), "wrong type"),
        ("/v1/requests".into(), r#"{"engineer": "e", "case": "c", "workload": "w", "resource": "r", "reason": "x", "admin": true}"#.into(), "unknown field"),
        ("/v1/requests".into(), r#"{"engineer": "e", "case": "c"}"#.into(), "missing fields"),
        ("/v1/requests".into(), format!(r#"{{"engineer": "e", "case": "{}", "workload": "w", "resource": "r", "reason": "x"}}"#, "c".repeat(65)), "over-long case"),
        ("/v1/requests".into(), r#"{"engineer": "", "case": "c", "workload": "w", "resource": "r", "reason": "x"}"#.into(), "empty engineer"),
        ("/v1/requests".into(), r#"{"engineer": "e", "case": "c", "workload": "w", "resource": "r", "reason": "x", "duration": "5 parsecs"}"#.into(), "bad duration"),
        ("/v1/requests".into(), r#"{"engineer": "e", "case": "c", "workload": "w", "resource": "r", "reason": "x", "duration": "9h"}"#.into(), "too long a duration"),
        ("/v1/requests".into(), format!(r#"{{"engineer": "e", "case": "c", "workload": "w", "resource": "r", "reason": "{big}"}}"#), "body over 64 KiB"),
        (format!("/v1/requests/{id}/provider-approval"), r#"{"manager": ["m"]}"#.into(), "wrong type"),
        (format!("/v1/requests/{id}/provider-approval"), r#"{}"#.into(), "missing manager"),
        // The length limit counts what was sent, surrounding blanks included (schemathesis found it).
        (format!("/v1/requests/{id}/provider-approval"), format!(r#"{{"manager": "\t{}"}}"#, "m".repeat(limits::NAME)), "over-long manager, padded"),
        (format!("/v1/requests/{id}/provider-approval"), format!(r#"{{"manager": "m", "comment": "{}"}}"#, "c".repeat(2001)), "over-long comment"),
        (format!("/v1/requests/{id}/cancel"), r#"{"engineer": "eng.alex", "x": 1}"#.into(), "unknown field"),
        (format!("/v1/requests/{id}/cancel"), "[]".into(), "not an object"),
        (format!("/v1/requests/{id}/actions"), r#"{"engineer": "eng.alex"}"#.into(), "missing action"),
        (format!("/v1/requests/{id}/actions"), format!(r#"{{"engineer": "eng.alex", "action": "{}"}}"#, "a".repeat(2001)), "over-long action"),
    ];
    for (path, body, why) in &cases {
        let resp = api
            .http
            .post(format!("{}{path}", api.base))
            .bearer_auth(&api.token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let v: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null);
        assert!(status.is_client_error(), "{why} on {path}: {status}");
        assert!(
            v["code"].is_string() && v["message"].is_string(),
            "{why} on {path}: body {v}"
        );
        if *why == "body over 64 KiB" {
            assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        }
    }
    // No content type.
    let resp = api
        .http
        .post(format!("{}/v1/requests", api.base))
        .bearer_auth(&api.token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        api.with(|e| e.audit_head("default").unwrap()),
        head,
        "nothing audited"
    );
    let total = api.with(|e| {
        e.list_requests("default", &Default::default())
            .unwrap()
            .total
    });
    assert_eq!(total, 1, "nothing stored");
    assert_eq!(
        api.with(|e| e
            .request("default", &id)
            .unwrap()
            .state
            .as_str()
            .to_string()),
        "awaiting_provider"
    );
}

/// A server whose rate limiters run on a manual clock.
async fn start_limited(
    limits: lockbox_api::auth::Limits,
) -> (
    String,
    lockbox_api::ApiState,
    governor::clock::FakeRelativeClock,
    Vec<String>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap());
    let mut engine = Engine::open(&dir.path().join("l.db"), Arc::new(clock), "root").unwrap();
    let tokens = ["a", "b"]
        .map(|n| {
            engine
                .issue_token("default", &Principal::os_user("root", 0), n, None)
                .unwrap()
                .1
        })
        .to_vec();
    let limiter_clock = governor::clock::FakeRelativeClock::default();
    let state = lockbox_api::ApiState::with_limits(
        EngineHandle::new(engine),
        limits,
        lockbox_api::auth::LimiterClock::Manual(limiter_clock.clone()),
    );
    let (addr, _h) = lockbox_api::bind(
        state.clone(),
        lockbox_api::ServeConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            tls: None,
        },
    )
    .await
    .unwrap();
    (format!("http://{addr}"), state, limiter_clock, tokens, dir)
}

async fn status_of(http: &Client, url: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = http.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let retry = resp.headers().get("retry-after").cloned();
    let mut v: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or(Value::Null);
    if let Some(r) = retry {
        v["retry-after"] = json!(r.to_str().unwrap());
    }
    (status, v)
}

#[tokio::test]
async fn rate_limit_per_token() {
    let (base, _state, clock, tokens, _dir) =
        start_limited(lockbox_api::auth::Limits::per_token(1, 5)).await;
    let http = Client::new();
    let url = format!("{base}/v1/public-key");
    let mut codes = Vec::new();
    for _ in 0..8 {
        codes.push(status_of(&http, &url, Some(&tokens[0])).await.0);
    }
    // The limiter's clock does not move: exactly the burst gets through.
    assert_eq!(
        codes,
        [
            [StatusCode::OK; 5].as_slice(),
            &[StatusCode::TOO_MANY_REQUESTS; 3]
        ]
        .concat()
    );
    let (s, v) = status_of(&http, &url, Some(&tokens[0])).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    assert_eq!(v["retry-after"], "1");
    assert_eq!(
        status_of(&http, &url, Some(&tokens[1])).await.0,
        StatusCode::OK,
        "buckets are per token"
    );
    // One second refills one call.
    clock.advance(std::time::Duration::from_secs(1));
    assert_eq!(
        status_of(&http, &url, Some(&tokens[0])).await.0,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&http, &url, Some(&tokens[0])).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
// The engine's mutex is held across a call on purpose: the throttled answer must not need it.
#[allow(clippy::await_holding_lock)]
async fn calls_without_a_valid_token_are_throttled_per_client_before_the_store() {
    let limits = lockbox_api::auth::Limits {
        failures_per_min: 6,
        failures_burst: 4,
        ..lockbox_api::auth::Limits::per_token(1000, 1000)
    };
    let (base, state, clock, tokens, _dir) = start_limited(limits).await;
    let http = Client::new();
    let url = format!("{base}/v1/public-key");
    let lookups = || state.limiter.token_lookups();
    // The burst: each bad token is looked up and refused.
    for i in 0..4 {
        let (s, v) = status_of(&http, &url, Some(&format!("lbx_guess{i}"))).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "#{i}"
        );
    }
    assert_eq!(lookups(), 4);
    // Then 429 without looking anything up: bad tokens, no header, even a good token.
    for token in [Some("lbx_guess9"), None, Some(tokens[0].as_str())] {
        let (s, v) = status_of(&http, &url, token).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
            "{token:?}: {v}"
        );
        assert!(v["message"].is_string(), "{v}");
        assert_eq!(v["retry-after"], "10", "one failure refills in 60/6 s");
    }
    assert_eq!(
        lookups(),
        4,
        "the store was not read for the throttled calls"
    );
    // While the engine is locked (as if busy), a throttled call still answers at once.
    {
        let _busy = state.engine.lock().unwrap();
        let (s, _) = status_of(&http, &url, Some("lbx_guess10")).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    }
    // One failure refills after 10 s: one more lookup, refused, and throttled again.
    clock.advance(std::time::Duration::from_secs(10));
    assert_eq!(
        status_of(&http, &url, Some("lbx_guess11")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of(&http, &url, Some("lbx_guess12")).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(lookups(), 5);
    // After the wait a good token works again, and its calls cost no failure budget.
    clock.advance(std::time::Duration::from_secs(10));
    for _ in 0..10 {
        assert_eq!(
            status_of(&http, &url, Some(&tokens[0])).await.0,
            StatusCode::OK
        );
    }
}

#[test]
fn non_loopback_without_tls_is_refused() {
    let cfg = lockbox_api::ServeConfig {
        bind: "0.0.0.0:8787".parse().unwrap(),
        tls: None,
    };
    let e = cfg.check().unwrap_err();
    assert!(e.message.contains("TLS"), "{}", e.message);
    assert!(lockbox_api::ServeConfig {
        bind: "127.0.0.1:8787".parse().unwrap(),
        tls: None
    }
    .check()
    .is_ok());
}

#[tokio::test]
async fn openapi_document_lists_every_endpoint() {
    let api = start().await;
    let (s, doc) = api.call("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/healthz",
        "/readyz",
        "/v1/requests",
        "/v1/requests/{id}",
        "/v1/requests/{id}/provider-approval",
        "/v1/requests/{id}/cancel",
        "/v1/requests/{id}/access",
        "/v1/requests/{id}/actions",
        "/v1/requests/{id}/receipt",
        "/v1/public-key",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    assert!(
        !paths
            .keys()
            .any(|p| p.contains("approve") && !p.contains("provider")),
        "no customer decision routes"
    );
    assert!(doc["components"]["schemas"]["ErrorDto"].is_object());
}

/// The statuses each operation documents (the routes share error sets; a set
/// dropped or added by mistake shows here), every error with the `{code, message}` body.
#[tokio::test]
async fn openapi_documents_each_operations_statuses() {
    let api = start().await;
    let (_, doc) = api.call("GET", "/v1/openapi.json", None, None).await;
    let body = ["400", "413", "415", "422"];
    let cases: [(&str, &str, &str, &[&str]); 8] = [
        ("post", "/v1/requests", "201", &["409"]),
        // A request of another tenant is 404 like an unknown one: no 403 for it.
        ("get", "/v1/requests/{id}", "200", &["404"]),
        (
            "post",
            "/v1/requests/{id}/provider-approval",
            "200",
            &["403", "404", "409"],
        ),
        (
            "post",
            "/v1/requests/{id}/cancel",
            "200",
            &["403", "404", "409"],
        ),
        ("get", "/v1/requests/{id}/access", "200", &["404"]),
        ("post", "/v1/requests/{id}/actions", "201", &["403", "404"]),
        ("get", "/v1/requests/{id}/receipt", "200", &["404", "409"]),
        ("get", "/v1/public-key", "200", &[]),
    ];
    for (method, path, ok, own) in cases {
        let op = &doc["paths"][path][method];
        let mut want: Vec<&str> = vec![ok, "401", "429"];
        want.extend(own);
        if method == "post" {
            want.extend(body);
        }
        want.sort_unstable();
        let responses = op["responses"].as_object().unwrap();
        let got: Vec<&str> = responses.keys().map(String::as_str).collect();
        assert_eq!(got, want, "{method} {path}");
        for (status, r) in responses {
            if status.as_str() != ok {
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorDto",
                    "{method} {path} {status}"
                );
            }
        }
    }
    let actions = &doc["paths"]["/v1/requests/{id}/actions"]["post"]["responses"];
    assert_eq!(
        actions["403"]["description"],
        "No valid grant (audited as access_denied)"
    );
    assert_eq!(actions["400"]["description"], "Malformed JSON");
    let approval = &doc["paths"]["/v1/requests/{id}/provider-approval"]["post"]["responses"];
    assert_eq!(
        approval["403"]["description"],
        "The manager filed the request (self_approval)"
    );
}

/// The probes are documented as what they are: no token (no `security`), no
/// 401 or 429 (outside the rate limits), and `/readyz`'s 503 is `{code, message}`.
#[tokio::test]
async fn openapi_documents_the_probes_unauthenticated() {
    let api = start().await;
    let (_, doc) = api.call("GET", "/v1/openapi.json", None, None).await;
    for (path, want) in [("/healthz", vec!["200"]), ("/readyz", vec!["200", "503"])] {
        let op = &doc["paths"][path]["get"];
        assert!(op.get("security").is_none(), "{path}: {op}");
        let got: Vec<&str> = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(got, want, "{path}");
        assert_eq!(
            op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Health"
        );
    }
    assert_eq!(
        doc["paths"]["/readyz"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/ErrorDto"
    );
}

/// `/healthz` and `/readyz` answer without a token; `/readyz` reads the store
/// at each call: a store whose audit table another process renamed away is
/// not ready (503 `store_unavailable`, `{code, message}`) while the process is
/// still healthy, and is ready again as soon as the table is back.
#[tokio::test]
async fn health_and_readiness_without_a_token() {
    let api = start().await;
    let (s, v) = api.call("GET", "/healthz", None, None).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"status": "ok"})));
    let (s, v) = api.call("GET", "/readyz", None, None).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"status": "ok"})));

    // Another connection renames the table away (and back, below).
    let rename = |from: &str, to: &str| {
        let sql = format!("ALTER TABLE {from} RENAME TO {to}");
        match &api.loc {
            StoreLocation::File(db) => rusqlite::Connection::open(db)
                .unwrap()
                .execute_batch(&sql)
                .unwrap(),
            StoreLocation::Postgres(url) => {
                let url = url.clone();
                // The blocking client, off the test's async thread.
                std::thread::spawn(move || {
                    postgres::Client::connect(&url, postgres::NoTls)
                        .unwrap()
                        .batch_execute(&sql)
                        .unwrap()
                })
                .join()
                .unwrap()
            }
        }
    };
    rename("audit_log", "audit_log_away");
    let (s, v) = api.call("GET", "/readyz", None, None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["code"], "store_unavailable", "{v}");
    assert!(
        v["message"].as_str().unwrap().starts_with("not ready"),
        "{v}"
    );
    let (s, _) = api.call("GET", "/healthz", None, None).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "alive even when the store is not readable"
    );

    rename("audit_log_away", "audit_log");
    let (s, v) = api.call("GET", "/readyz", None, None).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"status": "ok"})));
}

/// The probes never spend a client's failed-authentication budget, and are
/// answered after it is spent: a balancer probing from the address of a
/// misbehaving client still sees the instance as healthy and ready.
#[tokio::test]
async fn probes_are_outside_the_rate_limits() {
    let api = start().await;
    for _ in 0..10 {
        let (s, _) = api.call("GET", "/healthz", None, None).await;
        assert_eq!(s, StatusCode::OK);
        let (s, _) = api.call("GET", "/readyz", None, None).await;
        assert_eq!(s, StatusCode::OK);
    }
    // The default budget (10 a minute) of calls without a valid token, spent.
    let mut limited = false;
    for _ in 0..12 {
        let (s, _) = api
            .call("GET", "/v1/public-key", Some("lbx_wrong"), None)
            .await;
        limited |= s == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(limited, "the client's failure budget was not spent");
    assert_eq!(
        api.call("GET", "/healthz", None, None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        api.call("GET", "/readyz", None, None).await.0,
        StatusCode::OK
    );
}

/// The documented text patterns say exactly what the engine accepts: every
/// character of the Basic Multilingual Plane is allowed by a field's pattern
/// if and only if the engine's check lets it through (one-line fields refuse
/// line breaks, tabs and bidi/format characters; `reason` and comments allow
/// line breaks and tabs). A fuzzer trusting the document then never sends
/// "valid" text that is refused, nor finds refused text documented as valid.
#[test]
fn documented_text_patterns_match_the_engine() {
    use utoipa::OpenApi;
    let doc = serde_json::to_value(lockbox_api::ApiDoc::openapi()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let ecma_escape = regex::Regex::new(r"\\u([0-9a-fA-F]{4})").unwrap();
    let mut checked = 0;
    for (name, schema) in schemas {
        let Some(props) = schema["properties"].as_object() else {
            continue;
        };
        for (field, p) in props {
            let Some(pattern) = p["pattern"].as_str() else {
                continue;
            };
            if field == "duration" {
                continue;
            }
            // ECMA `\uXXXX` -> Rust regex `\x{XXXX}`.
            let rust = ecma_escape.replace_all(pattern, r"\x{$1}").into_owned();
            let re = regex::Regex::new(&rust).unwrap();
            let multiline = matches!(field.as_str(), "reason" | "comment");
            for cp in (0u32..0x1_0000).filter(|c| !(0xD800..0xE000).contains(c)) {
                let c = char::from_u32(cp).unwrap();
                let text = format!("a{c}b");
                let documented = re.is_match(&text);
                let engine = lockbox_core::text::refused_char(&text, multiline).is_none();
                assert_eq!(
                    documented, engine,
                    "{name}.{field}: U+{cp:04X} documented {documented}, engine {engine}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} text fields have a pattern");
}
