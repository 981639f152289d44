//! `GET /admin/v1/changes`: the admin API's live change feed, as Server-Sent
//! Events, for a person signed in like every admin call (the [`Person`]
//! extractor: a Lockbox session's access token, checked at connect).
//!
//! What is said, and to whom, is the engine's ([`lockbox_core::feed`]): a
//! [`Follower`] per connection reads what the audit log gained since its
//! last look, narrowed to the tenants the person is a user of, read again at
//! every look. This module only waits, bounds and writes:
//!
//! - **Events.** `event: scope`, data `{"tenants": [...]}`: first, and again
//!   whenever someone adds the person to a tenant or removes them. Then one
//!   unnamed event (`message`) per [`LockboxEvent`] (`{kind, tenant}`, the
//!   tenant always one of theirs). The last event of each look carries
//!   `id:` = the audit log's position it read at; a client that reconnects
//!   with `Last-Event-ID` gets first what was appended after it (a dropped
//!   connection mid-look repeats that look: events are "look again" hints,
//!   a repeat is harmless). `event: end`, data `{code, message}`, closes the
//!   stream when the token has expired by the engine's clock or a look failed.
//!   Keep-alive comments every 15 s.
//! - **Wake-ups.** [`EngineHandle::watch`](lockbox_core::runtime::EngineHandle::watch):
//!   every write through the engine handle, every background pass that
//!   changed the store, and on PostgreSQL every other instance's commit
//!   (`lockbox serve`'s `LISTEN lockbox_changes`). Coalesced: one look per
//!   wake-up whatever the number of writes, at most one per [`GAP`] per
//!   connection, and a look every [`SAFETY_LOOK`] anyway (writers this
//!   process does not hear of: another process on a SQLite store).
//! - **Bounds.** Each look reads at most 10 000 audit positions (more says
//!   "everything changed"); at most [`READS_AT_ONCE`] looks run at once, so
//!   feeds never take every engine of the pool from the commands; at most
//!   `max` feeds per server (503 past it) and [`FEEDS_PER_PERSON`] per
//!   person (429), both `{code, message}` with `Retry-After`.
//! - **Shutdown.** [`Feeds::stop`] ends every stream (a graceful shutdown
//!   waits for open responses: `bind_with_shutdown` calls it first).

use crate::admin::Person;
use crate::error::{ApiError, ApiResult};
use crate::ApiState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use lockbox_core::dto::LockboxEvent;
use lockbox_core::feed::{Follower, Look};
use lockbox_core::{ErrorCode, Time};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};

/// Feeds a server keeps open at once unless told otherwise (`lockbox serve
/// --feed-connections`).
pub const DEFAULT_MAX_FEEDS: usize = 64;
/// Feeds one person may keep open at once (a few windows, a CLI).
pub const FEEDS_PER_PERSON: usize = 4;
/// Looks of one feed are at least this far apart: a burst of writes is one look.
pub const GAP: Duration = Duration::from_millis(250);
/// A feed looks this often even without news.
pub const SAFETY_LOOK: Duration = Duration::from_secs(30);
/// Looks of all feeds running at once (each holds an engine while it reads).
pub const READS_AT_ONCE: usize = 2;
const KEEP_ALIVE: Duration = Duration::from_secs(15);
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// The open feeds of a server: how many (in all, per person), the looks
/// running, and the stop signal.
pub struct Feeds {
    max: usize,
    per_person: usize,
    open: Mutex<HashMap<String, usize>>,
    reads: Semaphore,
    stop: watch::Sender<bool>,
}

impl Feeds {
    /// At most `max` feeds at once, `per_person` of them one person's.
    pub fn new(max: usize, per_person: usize) -> Feeds {
        Feeds {
            max,
            per_person: per_person.max(1),
            open: Mutex::default(),
            reads: Semaphore::new(READS_AT_ONCE),
            stop: watch::Sender::new(false),
        }
    }

    /// How many feeds are open.
    pub fn count(&self) -> usize {
        self.counts().values().sum()
    }

    /// End every feed (each stream ends after the event it is writing) and
    /// refuse new ones: for a graceful shutdown, which waits for them.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for one more feed of `person`, or why not.
    fn admit(self: &Arc<Self>, person: &str) -> ApiResult<Slot> {
        let unavailable = |m: String| {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::RateLimited, m)
                .retry_after(RETRY_AFTER)
        };
        if *self.stop.borrow() {
            return Err(unavailable("this server is shutting down".into()));
        }
        let mut counts = self.counts();
        let total: usize = counts.values().sum();
        if total >= self.max {
            return Err(unavailable(format!(
                "this server has {total} live change feeds open, as many as it serves; try again later"
            )));
        }
        let mine = counts.entry(person.to_string()).or_default();
        if *mine >= self.per_person {
            return Err(crate::auth::too_many(
                &format!(
                    "you have {mine} live change feeds open on this server already, the most one person may; close one"
                ),
                RETRY_AFTER,
            ));
        }
        *mine += 1;
        Ok(Slot {
            feeds: self.clone(),
            person: person.to_string(),
        })
    }
}

/// One open feed, counted until dropped (when its stream ends or its client
/// goes away).
struct Slot {
    feeds: Arc<Feeds>,
    person: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.feeds.counts();
        if let Some(n) = counts.get_mut(&self.person) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.person);
            }
        }
    }
}

/// `Last-Event-ID`: an audit log position, or none.
fn last_event_id(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(v) = headers.get("last-event-id") else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidInput,
                "Last-Event-ID must be an id this feed sent (an audit log position)",
            )
        })
}

/// `GET /admin/v1/changes`: the person's live change feed (see the module).
pub async fn changes(
    State(s): State<ApiState>,
    person: Person,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let after = last_event_id(&headers)?;
    let slot = s.feeds.admit(person.principal.name())?;
    // Subscribed before the first look: a write after it wakes the next one.
    let wake = s.engine.watch();
    let mut feed = Feed {
        follower: Follower::new(person.principal, after),
        expires_at: person.expires_at,
        wake,
        stop: s.feeds.stop.subscribe(),
        pending: VecDeque::new(),
        ended: false,
        last_look: Instant::now(),
        until_expiry: SAFETY_LOOK,
        s,
        _slot: slot,
    };
    // The first look before the answer: a store that cannot be read is an
    // error status, not a stream that ends at once.
    let look = feed.read().await?;
    feed.take(look);
    let stream = futures_util::stream::unfold(feed, Feed::step);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// One connection's feed: its follower and the events not yet written.
struct Feed {
    s: ApiState,
    follower: Follower,
    expires_at: Time,
    wake: watch::Receiver<u64>,
    stop: watch::Receiver<bool>,
    pending: VecDeque<Event>,
    ended: bool,
    last_look: Instant,
    /// From the last look: how long until the token expires (at most a
    /// [`SAFETY_LOOK`]), in the engine clock's terms.
    until_expiry: Duration,
    _slot: Slot,
}

impl Feed {
    /// The next event to write, waiting for news when there is none; `None`
    /// ends the stream.
    async fn step(mut self) -> Option<(Result<Event, Infallible>, Feed)> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some((Ok(e), self));
            }
            if self.ended || *self.stop.borrow() {
                return None;
            }
            tokio::select! {
                _ = self.stop.wait_for(|s| *s) => return None,
                r = self.wake.changed() => if r.is_err() { return None },
                _ = tokio::time::sleep(self.until_expiry.min(SAFETY_LOOK)) => {}
            }
            let gap = (self.last_look + GAP).saturating_duration_since(Instant::now());
            if !gap.is_zero() {
                tokio::select! {
                    _ = self.stop.wait_for(|s| *s) => return None,
                    _ = tokio::time::sleep(gap) => {}
                }
            }
            match self.read().await {
                Ok(look) => self.take(look),
                Err(e) => self.end(e.error.code, &e.error.message),
            }
        }
    }

    /// One look, one read transaction (with at most [`READS_AT_ONCE`] others).
    async fn read(&mut self) -> ApiResult<Look> {
        // What woke us, and whatever comes until the read, is this look.
        self.wake.borrow_and_update();
        let _turn = self.s.feeds.reads.acquire().await.map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal,
                "the change feed is closed",
            )
        })?;
        let mut f = self.follower.clone();
        let (f, look) = self
            .s
            .engine
            .run(move |e| f.next(e).map(|look| (f, look)))
            .await?;
        self.follower = f;
        self.last_look = Instant::now();
        Ok(look)
    }

    /// Queue what `look` found; end the stream if the token has expired.
    fn take(&mut self, look: Look) {
        let left = self.expires_at - look.now;
        if left <= chrono::Duration::zero() {
            return self.end(
                ErrorCode::Unauthorized,
                "the session has expired: renew it and connect again",
            );
        }
        self.until_expiry = left.to_std().unwrap_or(SAFETY_LOOK);
        let mut batch: Vec<Event> = Vec::new();
        if let Some(tenants) = look.scope {
            batch.push(json_event(
                Some("scope"),
                &serde_json::json!({ "tenants": tenants }),
            ));
        }
        batch.extend(look.events.iter().map(|e| json_event(None, e)));
        if let Some(last) = batch.pop() {
            batch.push(last.id(look.head.to_string()));
        }
        self.pending.extend(batch);
    }

    /// Say why the stream ends (`event: end`, `{code, message}`), then end it.
    fn end(&mut self, code: ErrorCode, message: &str) {
        let e = lockbox_core::Error::new(code, message);
        self.pending.push_back(json_event(Some("end"), &e));
        self.ended = true;
    }
}

fn json_event(name: Option<&str>, data: &impl serde::Serialize) -> Event {
    let e = match name {
        Some(n) => Event::default().event(n),
        None => Event::default(),
    };
    // Our own types serialize; were one not to, an empty event is sent.
    e.json_data(data).unwrap_or_default()
}

/// For the OpenAPI document (`admin::AdminPaths`): the feed's path.
pub(crate) fn openapi_path(
    error: impl Fn() -> utoipa::openapi::ResponseBuilder,
) -> utoipa::openapi::path::PathItem {
    use utoipa::openapi::path::{
        HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
    };
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, ResponseBuilder, ResponsesBuilder};
    let op = OperationBuilder::new()
        .operation_id(Some("admin_changes"))
        .tag("admin")
        .summary(Some("Live change feed (Server-Sent Events)"))
        .description(Some(
            "What changes in the tenants the signed-in person is a user of (any role), as \
             Server-Sent Events. First `event: scope` with `{\"tenants\": [...]}` (again whenever \
             the person is added to or removed from a tenant; membership is read again at every \
             look). Then one event per change, data a `LockboxEvent` (`{kind, tenant}`: \
             `requests_changed`, `audit_appended`, `settings_changed`; the tenant is always one \
             of the person's, never null: when more changed than one look reads, every tenant \
             of theirs is named). The last event of each look carries `id:`, the audit log's \
             position it read at: reconnect with `Last-Event-ID` to get first what was appended \
             after it. `event: end` with `{code, message}` ends the stream (the session expired \
             by the server's clock, or the store could not be read). Keep-alive comments every \
             15 s. The token is checked at connect.",
        ))
        .parameter(
            ParameterBuilder::new()
                .name("Last-Event-ID")
                .parameter_in(ParameterIn::Header)
                .description(Some("Resume after this position (an `id:` this feed sent)"))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::Integer)
                        .minimum(Some(0)),
                )),
        )
        .responses(
            ResponsesBuilder::new()
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description("The event stream; each change's data is a LockboxEvent")
                        .content(
                            "text/event-stream",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("LockboxEvent")))
                                .build(),
                        ),
                )
                .response(
                    "400",
                    error().description("Last-Event-ID is not a position"),
                )
                .response(
                    "401",
                    error().description(
                        "No, unknown, expired or ended session (an ID token is refused here)",
                    ),
                )
                .response(
                    "429",
                    error().description(
                        "The person has as many feeds open as one may, or too many calls \
                         without a valid sign-in from this client",
                    ),
                )
                .response(
                    "503",
                    error().description("The server has as many feeds open as it serves"),
                )
                .build(),
        )
        .security(SecurityRequirement::new("session", Vec::<String>::new()))
        .build();
    PathItem::new(HttpMethod::Get, op)
}

/// `LockboxEvent` and its kind, for the document's components.
pub(crate) fn schemas() -> Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)> {
    use utoipa::PartialSchema;
    vec![
        ("LockboxEvent".to_string(), LockboxEvent::schema()),
        (
            "LockboxEventKind".to_string(),
            lockbox_core::dto::LockboxEventKind::schema(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(r: ApiResult<Slot>) -> StatusCode {
        match r {
            Ok(_) => panic!("admitted"),
            Err(e) => e.status,
        }
    }

    #[test]
    fn a_feed_is_counted_until_it_ends_and_none_opens_after_stop() {
        let feeds = Arc::new(Feeds::new(2, 1));
        let a = feeds.admit("a").ok().unwrap();
        assert_eq!(refused(feeds.admit("a")), StatusCode::TOO_MANY_REQUESTS);
        let b = feeds.admit("b").ok().unwrap();
        assert_eq!(refused(feeds.admit("c")), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(feeds.count(), 2);
        drop(a);
        assert_eq!(feeds.count(), 1);
        let _a = feeds.admit("a").ok().unwrap();
        drop(b);
        feeds.stop();
        assert_eq!(refused(feeds.admit("b")), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn last_event_id_is_a_position_or_refused() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("last-event-id", v.parse().unwrap());
            last_event_id(&h).map_err(|e| e.error.code)
        };
        assert_eq!(last_event_id(&HeaderMap::new()).ok(), Some(None));
        assert_eq!(with("42"), Ok(Some(42)));
        for bad in ["", "-1", "4x", "99999999999999999999"] {
            assert_eq!(with(bad), Err(ErrorCode::InvalidInput), "{bad:?}");
        }
    }
}
