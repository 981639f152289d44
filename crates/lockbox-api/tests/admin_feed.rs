//! The admin API's live change feed (`GET /admin/v1/changes`, Server-Sent
//! Events) against a real OpenID provider (`tests/oidc`) and the run's store
//! backend: two people in two tenants each hear their own tenant's changes
//! and never the other's, resume with `Last-Event-ID`, are heard again when
//! added to or removed from a tenant, are bounded per person and per server,
//! and streams end on a graceful shutdown and when the session expires by
//! the engine's clock. On PostgreSQL, another instance's write on the same
//! database reaches the feed through `LISTEN lockbox_changes`.
//!
//! Outcomes are decided by what arrives, in order: "B's change did not reach
//! A" is a change in B's tenant followed by one in A's, and A's next events
//! are A's. Timeouts only bound a failure.

#![allow(clippy::unwrap_used)]

#[path = "../../../tests/oidc/sign_in.rs"]
mod sign_in;

use lockbox_api::auth::{LimiterClock, Limits};
use lockbox_api::oidc::{OidcConfig, OidcVerifier};
use lockbox_core::model::Role;
use lockbox_core::runtime::EngineHandle;
use lockbox_core::store::StoreLocation;
use lockbox_core::{ManualClock, Principal};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sign_in::{sign_in, start_idp, time_of, CLIENT_ID};
use std::sync::Arc;
use std::time::Duration;

const ANA: &str = "ana@contoso.example";
const BO: &str = "bo@fabrikam.example";
/// How long anything may take before the test fails (never an outcome).
const BOUND: Duration = Duration::from_secs(20);

struct Server {
    base: String,
    http: Client,
    clock: ManualClock,
    engine: EngineHandle,
    location: StoreLocation,
    /// The provider API's tokens: of `default` (Ana's) and of `fabrikam` (Bo's).
    contoso: String,
    fabrikam: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

/// The API with the admin routes on, on an engine of the run's backend:
/// Ana admin of `default`, Bo admin of `fabrikam`; at most `feeds` change
/// feeds, `per_person` of them one person's.
async fn start(issuer: &str, now: chrono::DateTime<chrono::Utc>, feeds: (usize, usize)) -> Server {
    let clock = ManualClock::new(now);
    let (mut engine, location) =
        lockbox_core::testing::engine_and_location(Arc::new(clock.clone()), "root").unwrap();
    let root = Principal::os_user("root", 0);
    engine.bootstrap_admin(&root, ANA).unwrap();
    engine
        .add_tenant("default", &root, "fabrikam", "Fabrikam")
        .unwrap();
    engine
        .add_user("fabrikam", &root, BO, Role::Admin, Some(BO))
        .unwrap();
    let (_, contoso) = engine
        .issue_token("default", &root, "contoso-ticketing", None)
        .unwrap();
    let (_, fabrikam) = engine
        .issue_token("fabrikam", &root, "fabrikam-ticketing", None)
        .unwrap();
    let engine = EngineHandle::new(engine);
    let (base, stop, task) = serve(engine.clone(), issuer, &clock, feeds).await;
    Server {
        base,
        http: Client::new(),
        clock,
        engine,
        location,
        contoso,
        fabrikam,
        stop: Some(stop),
        task,
    }
}

/// Serve `engine`'s API with the admin routes, until the sender is used.
async fn serve(
    engine: EngineHandle,
    issuer: &str,
    clock: &ManualClock,
    (feeds, per_person): (usize, usize),
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let verifier = OidcVerifier::new(
        &OidcConfig {
            issuer: issuer.to_string(),
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
    let state = lockbox_api::ApiState::with_limits(engine, limits, LimiterClock::monotonic())
        .with_oidc(verifier)
        .with_feed_limits(feeds, per_person);
    let cfg = lockbox_api::ServeConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        tls: None,
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr, task) = lockbox_api::bind_with_shutdown(state, cfg, async move {
        let _ = rx.await;
    })
    .await
    .unwrap();
    (format!("http://{addr}"), tx, task)
}

/// A new request in the tenant of the provider token `token` (a write
/// through the server's engine: it wakes the feeds).
async fn file(http: &Client, base: &str, token: &str) {
    let r = http
        .post(format!("{base}/v1/requests"))
        .bearer_auth(token)
        .json(&json!({"engineer": "eng.alex", "case": "SR-1",
            "workload": "Exchange Online", "resource": "Mailbox: cfo@contoso.example",
            "reason": "Calendar sync broken", "duration": "2h"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
}

impl Server {
    /// The feed as `bearer`, from `last` (`Last-Event-ID`).
    async fn connect(&self, bearer: Option<&str>, last: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .get(format!("{}/admin/v1/changes", self.base))
            .header("accept", "text/event-stream");
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(id) = last {
            req = req.header("last-event-id", id);
        }
        req.send().await.unwrap()
    }

    async fn feed(&self, bearer: &str, last: Option<&str>) -> Feed {
        let r = self.connect(Some(bearer), last).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/event-stream");
        Feed {
            resp: r,
            buf: String::new(),
        }
    }

    /// The audit log's position now.
    async fn head(&self) -> String {
        self.engine
            .run(|e| e.audit_len())
            .await
            .unwrap()
            .to_string()
    }

    /// A session's access token for ID token `id_token`
    /// (`POST /admin/v1/sessions`): the feed's bearer.
    async fn session(&self, id_token: &str) -> String {
        let r = self
            .http
            .post(format!("{}/admin/v1/sessions", self.base))
            .bearer_auth(id_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    /// Admin command `name` as `bearer`.
    async fn admin(&self, bearer: &str, name: &str, args: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/admin/v1/commands/{name}", self.base))
            .bearer_auth(bearer)
            .json(&args)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
}

/// One event as sent: its name (`message` when unnamed), id, data.
#[derive(Debug, Clone, PartialEq)]
struct Sse {
    event: String,
    id: Option<String>,
    data: Value,
}

impl Sse {
    /// `kind tenant` of a change event, `scope [tenants]`, `end code`.
    fn short(&self) -> String {
        match self.event.as_str() {
            "message" => format!(
                "{} {}",
                self.data["kind"].as_str().unwrap(),
                self.data["tenant"]
            ),
            "scope" => format!("scope {}", self.data["tenants"]),
            other => format!("{other} {}", self.data["code"]),
        }
    }
}

/// A client's side of one feed: the response, read as it arrives.
struct Feed {
    resp: reqwest::Response,
    buf: String,
}

impl Feed {
    /// The next event (keep-alive comments skipped); `None` when the stream
    /// ended. Fails the test if nothing comes within [`BOUND`].
    async fn next(&mut self) -> Option<Sse> {
        tokio::time::timeout(BOUND, self.next_unbounded())
            .await
            .expect("no event within the bound")
    }

    async fn next_unbounded(&mut self) -> Option<Sse> {
        loop {
            if let Some(at) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..at + 2).collect();
                let mut e = Sse {
                    event: "message".into(),
                    id: None,
                    data: Value::Null,
                };
                let mut any = false;
                for line in block.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "event" => e.event = value.to_string(),
                        "id" => e.id = Some(value.to_string()),
                        "data" => e.data = serde_json::from_str(value).unwrap(),
                        _ => continue, // a comment (keep-alive)
                    }
                    any = true;
                }
                if any {
                    return Some(e);
                }
                continue;
            }
            match self.resp.chunk().await.unwrap() {
                Some(bytes) => self.buf.push_str(std::str::from_utf8(&bytes).unwrap()),
                None => return None,
            }
        }
    }

    /// Events up to and including the next one with an id (one look's).
    async fn look(&mut self) -> Vec<Sse> {
        let mut out = Vec::new();
        loop {
            let e = self.next().await.expect("the stream ended");
            let done = e.id.is_some();
            out.push(e);
            if done {
                return out;
            }
        }
    }
}

fn shorts(v: &[Sse]) -> Vec<String> {
    v.iter().map(Sse::short).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_person_hears_their_own_tenants_changes_and_resumes_where_they_left() {
    let idp = start_idp();
    let ana = sign_in(&idp.issuer, CLIENT_ID, ANA).await;
    let bo = sign_in(&idp.issuer, CLIENT_ID, BO).await;
    let server = start(&idp.issuer, time_of(&ana, "iat"), (64, 4)).await;
    let ana = server.session(&ana).await;
    let bo = server.session(&bo).await;

    // Who they hear, first, with the position it was read at.
    let mut a = server.feed(&ana, None).await;
    let first = a.look().await;
    assert_eq!(shorts(&first), [r#"scope ["default"]"#]);
    assert_eq!(first[0].id, Some(server.head().await));
    let mut b = server.feed(&bo, None).await;
    assert_eq!(shorts(&b.look().await), [r#"scope ["fabrikam"]"#]);

    // A change in Bo's tenant, then one in Ana's: Ana hears only hers, Bo
    // only his (then one more of his, to be sure nothing of Ana's came first).
    file(&server.http, &server.base, &server.fabrikam).await;
    file(&server.http, &server.base, &server.contoso).await;
    let seen = a.look().await;
    assert_eq!(
        shorts(&seen),
        [
            r#"requests_changed "default""#,
            r#"audit_appended "default""#
        ]
    );
    let at = seen[1].id.clone().unwrap();
    assert_eq!(at, server.head().await, "the id is the position read at");
    let seen = b.look().await;
    assert_eq!(
        shorts(&seen),
        [
            r#"requests_changed "fabrikam""#,
            r#"audit_appended "fabrikam""#
        ]
    );
    file(&server.http, &server.base, &server.fabrikam).await;
    assert_eq!(
        shorts(&b.look().await),
        [
            r#"requests_changed "fabrikam""#,
            r#"audit_appended "fabrikam""#
        ]
    );

    // Ana goes away; meanwhile both tenants change. Back with the last id,
    // she hears first what she missed, of her tenant only.
    drop(a);
    file(&server.http, &server.base, &server.contoso).await;
    file(&server.http, &server.base, &server.fabrikam).await;
    let mut a = server.feed(&ana, Some(&at)).await;
    let seen = a.look().await;
    assert_eq!(
        shorts(&seen),
        [
            r#"scope ["default"]"#,
            r#"requests_changed "default""#,
            r#"audit_appended "default""#
        ]
    );
    assert_eq!(seen[2].id, Some(server.head().await));
    // Without an id, a client starts from now: nothing old.
    let mut fresh = server.feed(&ana, None).await;
    assert_eq!(shorts(&fresh.look().await), [r#"scope ["default"]"#]);

    // Nobody unverified: no token, a provider token, a bad Last-Event-ID.
    for bearer in [None, Some(server.contoso.as_str())] {
        let r = server.connect(bearer, None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "unauthorized", "{v}");
        assert!(v["message"].is_string(), "{v}");
    }
    let r = server.connect(Some(&ana), Some("-1")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "invalid_input", "{v}");

    // Documented with the admin API: tag, sign-in scheme, the event's schema.
    let doc: Value = server
        .http
        .get(format!("{}/v1/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = &doc["paths"]["/admin/v1/changes"]["get"];
    assert_eq!(op["tags"], json!(["admin"]), "{op}");
    assert_eq!(op["security"], json!([{"session": []}]), "{op}");
    assert_eq!(
        op["responses"]["200"]["content"]["text/event-stream"]["schema"]["$ref"],
        "#/components/schemas/LockboxEvent"
    );
    assert_eq!(op["parameters"][0]["name"], "Last-Event-ID", "{op}");
    for name in ["LockboxEvent", "LockboxEventKind"] {
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_is_read_again_at_every_look() {
    let idp = start_idp();
    let ana = sign_in(&idp.issuer, CLIENT_ID, ANA).await;
    let bo = sign_in(&idp.issuer, CLIENT_ID, BO).await;
    let server = start(&idp.issuer, time_of(&ana, "iat"), (64, 4)).await;
    let ana = server.session(&ana).await;
    let bo = server.session(&bo).await;
    let mut a = server.feed(&ana, None).await;
    assert_eq!(shorts(&a.look().await), [r#"scope ["default"]"#]);

    // Bo adds Ana to his tenant: she hears that, and its changes from then on.
    server
        .admin(
            &bo,
            "add_user",
            json!({"tenant": "fabrikam", "name": ANA, "role": "approver"}),
        )
        .await;
    assert_eq!(
        shorts(&a.look().await),
        [
            r#"scope ["default","fabrikam"]"#,
            r#"requests_changed "fabrikam""#,
            r#"audit_appended "fabrikam""#,
            r#"settings_changed "fabrikam""#
        ]
    );
    file(&server.http, &server.base, &server.fabrikam).await;
    assert_eq!(
        shorts(&a.look().await),
        [
            r#"requests_changed "fabrikam""#,
            r#"audit_appended "fabrikam""#
        ]
    );

    // Removed, she hears that she is, and nothing of that tenant after.
    server
        .admin(
            &bo,
            "remove_user",
            json!({"tenant": "fabrikam", "name": ANA}),
        )
        .await;
    assert_eq!(shorts(&a.look().await), [r#"scope ["default"]"#]);
    file(&server.http, &server.base, &server.fabrikam).await;
    file(&server.http, &server.base, &server.contoso).await;
    assert_eq!(
        shorts(&a.look().await),
        [
            r#"requests_changed "default""#,
            r#"audit_appended "default""#
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_are_bounded_and_end_on_a_graceful_shutdown() {
    let idp = start_idp();
    let ana = sign_in(&idp.issuer, CLIENT_ID, ANA).await;
    let bo = sign_in(&idp.issuer, CLIENT_ID, BO).await;
    let cy = sign_in(&idp.issuer, CLIENT_ID, "cy@contoso.example").await;
    let dan = sign_in(&idp.issuer, CLIENT_ID, "dan@contoso.example").await;
    let mut server = start(&idp.issuer, time_of(&ana, "iat"), (3, 1)).await;
    let ana = server.session(&ana).await;
    let bo = server.session(&bo).await;
    let cy = server.session(&cy).await;
    let dan = server.session(&dan).await;

    let mut a = server.feed(&ana, None).await;
    a.look().await;
    // One per person here: Ana's second is refused, 429 {code, message}.
    let r = server.connect(Some(&ana), None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "rate_limited", "{v}");
    // Three per server: the fourth person is refused, 503.
    let mut b = server.feed(&bo, None).await;
    b.look().await;
    // Cy is a user of no tenant: she hears that, and nothing else.
    let mut c = server.feed(&cy, None).await;
    assert_eq!(shorts(&c.look().await), ["scope []"]);
    let r = server.connect(Some(&dan), None).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "rate_limited", "{v}");
    assert!(v["message"].as_str().unwrap().contains("feeds"), "{v}");

    // A graceful shutdown ends the open streams, so it does not hang on them.
    server.stop.take().unwrap().send(()).unwrap();
    for f in [&mut a, &mut b, &mut c] {
        assert_eq!(f.next().await, None, "the stream ends");
    }
    tokio::time::timeout(BOUND, &mut server.task)
        .await
        .expect("the server stops with feeds open")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_ends_when_its_token_expires_by_the_engines_clock() {
    let idp = start_idp();
    let ana = sign_in(&idp.issuer, CLIENT_ID, ANA).await;
    let server = start(&idp.issuer, time_of(&ana, "iat"), (64, 4)).await;
    let ana_id = ana.clone();
    let ana = server.session(&ana).await;
    let mut a = server.feed(&ana, None).await;
    a.look().await;
    // The session's access token lasts 15 minutes from its opening, by the
    // engine's clock (the ID token's own `exp` no longer counts).
    let exp = time_of(&ana_id, "iat") + chrono::Duration::minutes(15);
    // Just before it she still hears changes.
    server.clock.set(exp - chrono::Duration::seconds(1));
    file(&server.http, &server.base, &server.contoso).await;
    assert_eq!(a.look().await.len(), 2);
    // At its expiry, the next look says why it ends, and ends.
    server.clock.set(exp);
    file(&server.http, &server.base, &server.fabrikam).await;
    let end = a.next().await.unwrap();
    assert_eq!((end.event.as_str(), end.id.as_deref()), ("end", None));
    assert_eq!(end.data["code"], "unauthorized", "{end:?}");
    assert!(end.data["message"].as_str().unwrap().contains("expired"));
    assert_eq!(a.next().await, None, "the stream ends");
    let r = server.connect(Some(&ana), None).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "and a new one is refused"
    );
}

/// Two instances on one PostgreSQL database: a write through the other one
/// reaches this one's feeds by `LISTEN lockbox_changes`, as `lockbox serve`
/// wires it. (SQLite has no such listener: nothing to test there.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instances_write_reaches_the_feed_on_postgres() {
    let idp = start_idp();
    let ana = sign_in(&idp.issuer, CLIENT_ID, ANA).await;
    let server = start(&idp.issuer, time_of(&ana, "iat"), (64, 4)).await;
    let ana = server.session(&ana).await;
    let StoreLocation::Postgres(url) = server.location.clone() else {
        return;
    };
    let h = server.engine.clone();
    let listener = tokio::spawn(lockbox_core::store::pg::listen_for_changes(
        url,
        move || h.notify_change(),
    ));
    let other =
        lockbox_core::testing::open(&server.location, Arc::new(server.clock.clone()), "root")
            .unwrap();
    let (other, _stop, _task) =
        serve(EngineHandle::new(other), &idp.issuer, &server.clock, (1, 1)).await;
    let mut a = server.feed(&ana, None).await;
    a.look().await;
    // The listener says nothing when it starts listening: a write made
    // before it did is not heard, so write until one is (the bound fails it).
    let heard = tokio::time::timeout(BOUND, async {
        loop {
            file(&server.http, &other, &server.contoso).await;
            if let Ok(look) = tokio::time::timeout(Duration::from_secs(2), a.look()).await {
                return look;
            }
        }
    })
    .await
    .expect("no write of the other instance reached the feed");
    assert_eq!(
        shorts(&heard),
        [
            r#"requests_changed "default""#,
            r#"audit_appended "default""#
        ]
    );
    listener.abort();
}
