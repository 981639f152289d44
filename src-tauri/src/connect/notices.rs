//! Connected mode's OS notifications and tray list (see `super`): the
//! server's pending requests, looked at when the feed hears a change, become
//! notifications through the same rendering, burst rule and click targets as
//! the local store's notices (`runtime::Notices`, `lockbox_core::alerts`).
//!
//! - What is looked at: the session's tenants, and in each the pending
//!   requests newest first (`list_requests`, state pending, at most
//!   [`LOOK_LIMIT`] per tenant; a tenant with more is "incomplete": what is
//!   beyond the page is neither notified nor forgotten). The tray's count is
//!   the pages' totals, its items the newest [`alerts::TRAY_REQUESTS`].
//! - Once per person and device: `notified.json` beside `connection.json`
//!   records, per server address and person (as the server names them in
//!   `session`: the ID token's verified email, lower-cased; never a token),
//!   the requests (tenant, id) already notified. A request is recorded when
//!   its notification was handed to the daemon (or not shown because
//!   notifications are off), so a restart does not notify it again, and one
//!   that was still held by the burst rule when the app stopped is notified
//!   at the next start. A request leaves the record once it is no longer
//!   pending (it never becomes pending again); the record holds at most
//!   [`MAX_NOTIFIED`] requests per person (never dropping one still pending
//!   to make room, which would notify it again: with that many pending
//!   known, new ones are counted in the tray but not notified) and
//!   [`MAX_PEOPLE`] people, and is written whole or not at all (temp file +
//!   rename).
//! - The first look for a person on this device (no record for them, or an
//!   unreadable file) notifies nothing: the pending requests it finds are
//!   recorded as known. The person has just signed in and sees them in the
//!   window and the tray; popping up a backlog they may have handled
//!   elsewhere for days would be noise. From then on every request that
//!   turns up pending is notified, including those filed while the app was
//!   closed (at the next start; more than 3 at once are one burst).
//!   Another person signing in on this device starts their own record.

use super::*;
use crate::runtime::Notices;
use lockbox_core::alerts;
use lockbox_core::dto::{RequestDto, RequestPage};
use lockbox_core::model::Request;
use lockbox_core::store::NoticeRow;
use std::collections::HashSet;

/// At most this many pending requests are read per tenant and look.
pub const LOOK_LIMIT: u32 = 1000;
/// At most this many requests are recorded per person.
pub const MAX_NOTIFIED: usize = 5000;
/// At most this many people are recorded (the most recently looked at).
pub const MAX_PEOPLE: usize = 16;

/// A request as the record names it: (tenant, id).
pub type Key = (String, String);

/// One tenant's pending requests as one look found them, newest first.
#[derive(Debug, Clone)]
pub struct TenantPending {
    pub tenant: String,
    pub requests: Vec<Request>,
    /// How many are pending (the page's total).
    pub total: u64,
    /// Whether `requests` are all of them.
    pub complete: bool,
}

/// One look at the server: who the person is there, and their tenants'
/// pending requests.
#[derive(Debug, Clone)]
pub struct Pending {
    pub person: String,
    pub tenants: Vec<TenantPending>,
}

impl Pending {
    /// Pending requests in all the person's tenants.
    pub fn count(&self) -> u64 {
        self.tenants.iter().map(|t| t.total).sum()
    }

    /// The newest `n` pending requests across tenants (as
    /// `Engine::newest_pending_all` orders them).
    pub fn newest(&self, n: u32) -> Vec<Request> {
        let mut all: Vec<Request> = self
            .tenants
            .iter()
            .flat_map(|t| t.requests.iter().cloned())
            .collect();
        all.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        all.truncate(n as usize);
        all
    }

    /// The tray's state from this look.
    pub fn tray(&self, enabled: bool) -> TrayStateDto {
        crate::tray::tray_state(self.count(), enabled, &self.newest(alerts::TRAY_REQUESTS))
    }
}

/// What one look means for one person: the requests to notify now (oldest
/// first) and the record to keep. `known`: their record (`None`: the first
/// look for them on this device: nothing is notified, everything pending is
/// known); `held`: requests already waiting in the burst rule.
pub fn news(
    known: Option<&[Key]>,
    held: &HashSet<Key>,
    look: &[TenantPending],
) -> (Vec<Request>, Vec<Key>) {
    news_within(known, held, look, MAX_NOTIFIED)
}

/// [`news`] for a record of at most `max` requests. What is known and still
/// pending is never dropped for room (it would be notified again at the
/// next look): over `max`, what this look did not list goes first; and no
/// more are notified than there is room to record (beyond that, new
/// requests are counted in the tray but not notified).
fn news_within(
    known: Option<&[Key]>,
    held: &HashSet<Key>,
    look: &[TenantPending],
    max: usize,
) -> (Vec<Request>, Vec<Key>) {
    let key = |r: &Request| (r.tenant.clone(), r.id.clone());
    let listed: Vec<&Request> = look.iter().flat_map(|t| t.requests.iter()).collect();
    let Some(known) = known else {
        let mut keep: Vec<Key> = listed.iter().map(|r| key(r)).collect();
        keep.sort();
        keep.dedup();
        keep.truncate(max);
        return (Vec::new(), keep);
    };
    let pending: HashSet<Key> = listed.iter().map(|r| key(r)).collect();
    let complete: HashSet<&str> = look
        .iter()
        .filter(|t| t.complete)
        .map(|t| t.tenant.as_str())
        .collect();
    // No longer pending (in a tenant read whole): never pending again.
    let mut keep: Vec<Key> = known
        .iter()
        .filter(|k| !complete.contains(k.0.as_str()) || pending.contains(*k))
        .cloned()
        .collect();
    let mut over = keep.len().saturating_sub(max);
    keep.retain(|k| {
        let drop = over > 0 && !pending.contains(k);
        over -= usize::from(drop);
        !drop
    });
    keep.drain(..over);
    let seen: HashSet<&Key> = known.iter().chain(held.iter()).collect();
    let mut fresh: Vec<Request> = listed
        .into_iter()
        .filter(|r| !seen.contains(&key(r)))
        .cloned()
        .collect();
    fresh.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    fresh.dedup_by(|a, b| a.tenant == b.tenant && a.id == b.id);
    fresh.truncate(max.saturating_sub(keep.len() + held.len()));
    (fresh, keep)
}

/// The newest [`MAX_NOTIFIED`] of a record (the oldest entries go first).
fn cap(mut keys: Vec<Key>) -> Vec<Key> {
    let over = keys.len().saturating_sub(MAX_NOTIFIED);
    keys.drain(..over);
    keys
}

/// `notified.json`: the requests notified, per server and person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The most recently looked at first.
    people: Vec<PersonRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonRecord {
    server: String,
    person: String,
    notified: Vec<Key>,
}

impl Record {
    /// The record at `path`; none, or an unreadable one (said in the log),
    /// is empty: every person's next look is their first.
    pub fn load(path: &Path) -> Record {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), "ignoring the notified requests' record: {e}");
                Record::default()
            }),
            Err(_) => Record::default(),
        }
    }

    /// Write it whole or not at all.
    pub fn save(&self, path: &Path) -> Result<()> {
        lockbox_core::files::write_atomically(path, |f| {
            serde_json::to_writer(&mut *f, self)
                .map_err(|e| Error::internal(format!("cannot write the record: {e}")))
        })
    }

    /// What `person` on `server` was notified of; `None` if never looked at.
    pub fn known(&self, server: &str, person: &str) -> Option<&[Key]> {
        self.people
            .iter()
            .find(|p| p.server == server && p.person == person)
            .map(|p| p.notified.as_slice())
    }

    /// Set what `person` on `server` was notified of (the most recent
    /// person first; at most [`MAX_PEOPLE`] kept).
    pub fn set(&mut self, server: &str, person: &str, notified: Vec<Key>) {
        self.people
            .retain(|p| !(p.server == server && p.person == person));
        self.people.insert(
            0,
            PersonRecord {
                server: server.to_string(),
                person: person.to_string(),
                notified: cap(notified),
            },
        );
        self.people.truncate(MAX_PEOPLE);
    }
}

impl Connection {
    /// `notified.json`, beside `connection.json`.
    pub fn notified_path(&self) -> PathBuf {
        self.path.with_file_name("notified.json")
    }
}

impl Remote {
    /// The person's tenants' pending requests on the server, newest first,
    /// at most `limit` per tenant (`session`, then `list_requests` per
    /// tenant; the totals count them all).
    pub async fn pending(&self, limit: u32) -> Result<Pending> {
        let session = self.call("session", serde_json::json!({})).await?;
        let session: lockbox_core::dto::SessionDto = serde_json::from_value(session)?;
        let mut tenants = Vec::new();
        for t in session.tenants {
            let query = serde_json::json!({
                "tenant": t.id,
                "query": {"states": ["pending"], "sort": "newest", "limit": limit},
            });
            let page: RequestPage =
                serde_json::from_value(self.call("list_requests", query).await?)?;
            let requests: Vec<Request> = page.items.iter().filter_map(request_of).collect();
            tenants.push(TenantPending {
                complete: page.next_cursor.is_none() && requests.len() as u64 >= page.total,
                total: page.total,
                tenant: t.id,
                requests,
            });
        }
        Ok(Pending {
            person: session.user,
            tenants,
        })
    }
}

/// A request as the server sent it (its times RFC 3339); `None` if they do
/// not parse (said in the log). Decisions are not needed here.
fn request_of(d: &RequestDto) -> Option<Request> {
    let time = |s: &str| lockbox_core::clock::parse_time(s).ok();
    let parsed = (|| {
        Some(Request {
            id: d.id.clone(),
            tenant: d.tenant.clone(),
            state: d.state.into(),
            case: d.case.clone(),
            workload: d.workload.clone(),
            resource: d.resource.clone(),
            reason: d.reason.clone(),
            requester: d.requester.clone(),
            requested_duration_s: d.requested_duration_s,
            granted_duration_s: d.granted_duration_s,
            created_at: time(&d.created_at)?,
            expires_at: time(&d.expires_at)?,
            approved_at: None,
            access_ends_at: None,
            closed_at: None,
            approvals_required: d.approvals_required,
            provider_approvals_required: d.provider_approvals_required,
            lockbox_required: d.lockbox_required,
            decisions: Vec::new(),
        })
    })();
    if parsed.is_none() {
        tracing::warn!(request = %one_line(&d.id), "the server sent a request whose times do not parse");
    }
    parsed
}

/// The tray and the notifications from the server, while following: a look
/// when the feed heard a change (at most one per 250 ms,
/// `runtime::FEED_GAP`), and the burst rule's held requests shown when due.
pub(super) async fn notify_loop<R: Runtime>(
    app: AppHandle<R>,
    state: crate::state::AppState,
    r: Remote,
    looks: Arc<Notify>,
) {
    let path = state.connection.notified_path();
    let mut record = Record::load(&path);
    let mut notices = Notices::default();
    // Waiting in the burst rule (not yet recorded), and for whom.
    let mut held: HashSet<Key> = HashSet::new();
    let mut person: Option<String> = None;
    loop {
        // Held new requests are shown when due; else a look waits for news.
        let look = match notices.held_wait(&state).await {
            Some(wait) => tokio::select! {
                _ = looks.notified() => true,
                _ = tokio::time::sleep(wait) => false,
            },
            None => {
                looks.notified().await;
                true
            }
        };
        let enabled = state.prefs().notifications_enabled;
        let mut fresh = Vec::new();
        if look {
            match r.pending(LOOK_LIMIT).await {
                Ok(p) => {
                    if let Some(t) = crate::tray::get(&app) {
                        t.update(&p.tray(enabled));
                    }
                    if person.as_deref() != Some(p.person.as_str()) {
                        // Another person on the same sign-in entry (`lockbox
                        // login`): what was held for the last one is theirs,
                        // unrecorded, notified when they are back.
                        held.clear();
                        notices.coalescer = Default::default();
                    }
                    let (new, keep) = news(record.known(&r.server, &p.person), &held, &p.tenants);
                    let changed = record.known(&r.server, &p.person) != Some(keep.as_slice());
                    if changed {
                        record.set(&r.server, &p.person, keep);
                        if let Err(e) = record.save(&path) {
                            tracing::warn!("cannot record the notified requests: {}", e.message);
                        }
                    }
                    held.extend(new.iter().map(|r| (r.tenant.clone(), r.id.clone())));
                    fresh = new;
                    person = Some(p.person);
                }
                Err(e) => {
                    tracing::warn!("cannot read the server's pending requests: {}", e.message)
                }
            }
        }
        // The local engine's clock, as the local notices' (tests set it).
        let now = match state.run(|e, _| Ok(e.now())).await {
            Ok(now) => now,
            Err(e) => {
                tracing::warn!("cannot read the clock: {e}");
                continue;
            }
        };
        let arrived = fresh
            .into_iter()
            .map(|request| NoticeRow {
                id: 0,
                kind: alerts::NEW_REQUEST.to_string(),
                created_at: now,
                request,
            })
            .collect();
        let shown = notices.show_due(&app, arrived, now, enabled).await;
        if let (false, Some(who)) = (shown.is_empty(), person.as_deref()) {
            let mut keys: Vec<Key> = record.known(&r.server, who).unwrap_or_default().to_vec();
            for (alert, _) in &shown {
                for n in alert.notices() {
                    let k = (n.request.tenant.clone(), n.request.id.clone());
                    held.remove(&k);
                    keys.push(k);
                }
            }
            record.set(&r.server, who, keys);
            if let Err(e) = record.save(&path) {
                tracing::warn!("cannot record the notified requests: {}", e.message);
            }
        }
        if look {
            tokio::time::sleep(crate::runtime::FEED_GAP).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockbox_core::model::State;

    fn at(s: i64) -> lockbox_core::Time {
        lockbox_core::clock::parse_time("2026-11-29T10:00:00Z").unwrap()
            + chrono::Duration::seconds(s)
    }

    fn req(tenant: &str, id: &str, filed: i64) -> Request {
        Request {
            id: id.into(),
            tenant: tenant.into(),
            state: State::Pending,
            case: format!("SR-{id}"),
            workload: "Teams".into(),
            resource: "Team: Ops".into(),
            reason: "r".into(),
            requester: "eng".into(),
            requested_duration_s: 3600,
            granted_duration_s: None,
            created_at: at(filed),
            expires_at: at(filed + 3600),
            approved_at: None,
            access_ends_at: None,
            closed_at: None,
            approvals_required: 1,
            provider_approvals_required: 1,
            lockbox_required: true,
            decisions: vec![],
        }
    }

    fn tenant(id: &str, requests: Vec<Request>) -> TenantPending {
        TenantPending {
            tenant: id.into(),
            total: requests.len() as u64,
            complete: true,
            requests,
        }
    }

    fn k(t: &str, id: &str) -> Key {
        (t.into(), id.into())
    }

    fn ids(rs: &[Request]) -> Vec<&str> {
        rs.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn the_first_look_notifies_nothing_and_knows_the_backlog() {
        let look = [tenant("a", vec![req("a", "2", 2), req("a", "1", 1)])];
        let (fresh, keep) = news(None, &HashSet::new(), &look);
        assert!(fresh.is_empty());
        assert_eq!(keep, [k("a", "1"), k("a", "2")]);
    }

    #[test]
    fn requests_not_known_nor_held_are_new_oldest_first() {
        let look = [
            tenant("a", vec![req("a", "5", 5), req("a", "1", 1)]),
            tenant("b", vec![req("b", "4", 4), req("b", "3", 3)]),
        ];
        let known = [k("a", "1")];
        let held = HashSet::from([k("b", "4")]);
        let (fresh, keep) = news(Some(&known), &held, &look);
        assert_eq!(ids(&fresh), ["3", "5"]);
        assert_eq!(keep, [k("a", "1")], "held ones are recorded once shown");
        // The same id in another tenant is another request.
        let (fresh, _) = news(Some(&[k("b", "1")]), &HashSet::new(), &look[..1]);
        assert_eq!(ids(&fresh), ["1", "5"]);
    }

    #[test]
    fn decided_requests_leave_the_record_only_where_the_look_was_whole() {
        let mut partial = tenant("b", vec![req("b", "9", 9)]);
        partial.complete = false;
        partial.total = 1001;
        let look = [tenant("a", vec![req("a", "2", 2)]), partial];
        let known = [k("a", "1"), k("a", "2"), k("b", "8"), k("c", "7")];
        let (fresh, keep) = news(Some(&known), &HashSet::new(), &look);
        assert_eq!(ids(&fresh), ["9"]);
        // a/1 is no longer pending; b was not read whole; c is not looked at.
        assert_eq!(keep, [k("a", "2"), k("b", "8"), k("c", "7")]);
    }

    #[test]
    fn a_full_record_keeps_what_is_pending_and_notifies_only_what_it_can_hold() {
        let look = [tenant(
            "a",
            (1..=4).map(|i| req("a", &i.to_string(), i)).collect(),
        )];
        let none = HashSet::new();
        // Room for one more: the oldest new one.
        let known = [k("a", "1"), k("x", "9"), k("a", "2")];
        let (fresh, keep) = news_within(Some(&known), &none, &look, 4);
        assert_eq!(ids(&fresh), ["3"]);
        assert_eq!(keep, known);
        // No room: nothing notified (held ones count too), nothing dropped.
        let held = HashSet::from([k("a", "3")]);
        let (fresh, keep) = news_within(Some(&known), &held, &look, 4);
        assert!(fresh.is_empty());
        assert_eq!(keep, known);
        // Over the bound: what the look did not list goes first.
        let known = [k("x", "8"), k("a", "1"), k("x", "9"), k("a", "2")];
        let (fresh, keep) = news_within(Some(&known), &none, &look, 3);
        assert!(fresh.is_empty());
        assert_eq!(keep, [k("a", "1"), k("x", "9"), k("a", "2")]);
        let (_, keep) = news_within(Some(&known), &none, &look, 1);
        assert_eq!(keep, [k("a", "2")], "then the oldest still pending");
        // A first look keeps at most the bound.
        let (fresh, keep) = news_within(None, &none, &look, 2);
        assert!(fresh.is_empty());
        assert_eq!(keep.len(), 2);
    }

    #[test]
    fn an_empty_record_is_not_a_first_look() {
        let look = [tenant("a", vec![req("a", "1", 1)])];
        let (fresh, keep) = news(Some(&[]), &HashSet::new(), &look);
        assert_eq!(ids(&fresh), ["1"]);
        assert!(keep.is_empty());
    }

    #[test]
    fn the_record_is_per_server_and_person_and_bounded() {
        let mut r = Record::default();
        r.set("https://x", "ana@x", vec![k("a", "1")]);
        assert_eq!(r.known("https://x", "ana@x"), Some(&[k("a", "1")][..]));
        assert_eq!(r.known("https://x", "bob@x"), None);
        assert_eq!(r.known("https://y", "ana@x"), None);
        r.set("https://x", "bob@x", vec![]);
        assert_eq!(r.known("https://x", "bob@x"), Some(&[][..]));
        assert_eq!(r.known("https://x", "ana@x"), Some(&[k("a", "1")][..]));
        let many: Vec<Key> = (0..MAX_NOTIFIED + 10)
            .map(|i| k("a", &i.to_string()))
            .collect();
        r.set("https://x", "ana@x", many);
        let kept = r.known("https://x", "ana@x").unwrap();
        assert_eq!(kept.len(), MAX_NOTIFIED);
        assert_eq!(kept[0], k("a", "10"), "the oldest go first");
        for i in 0..MAX_PEOPLE + 3 {
            r.set("https://z", &format!("p{i}"), vec![]);
        }
        assert_eq!(r.people.len(), MAX_PEOPLE);
        assert_eq!(r.known("https://x", "ana@x"), None, "the least recent went");
    }

    #[test]
    fn the_record_is_written_whole_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notified.json");
        assert_eq!(Record::load(&path), Record::default());
        let mut r = Record::default();
        r.set("https://x", "ana@x", vec![k("a", "1")]);
        r.save(&path).unwrap();
        assert_eq!(Record::load(&path), r);
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(Record::load(&path), Record::default());
    }

    #[test]
    fn the_tray_lists_the_newest_across_tenants() {
        let p = Pending {
            person: "ana@x".into(),
            tenants: vec![
                tenant("a", vec![req("a", "6", 6), req("a", "2", 2)]),
                tenant(
                    "b",
                    (1..=5)
                        .rev()
                        .map(|i| req("b", &format!("b{i}"), i * 2 - 1))
                        .collect(),
                ),
            ],
        };
        assert_eq!(p.count(), 7);
        let newest: Vec<String> = p.newest(5).into_iter().map(|r| r.id).collect();
        assert_eq!(newest, ["b5", "b4", "6", "b3", "b2"]);
        let t = p.tray(true);
        assert_eq!(t.pending, 7);
        assert_eq!(t.requests.len(), 5);
        assert_eq!(t.requests[0].route, "requests?request=b5&tenant=b");
    }
}
