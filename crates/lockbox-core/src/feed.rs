//! What a change of the store tells its watchers, written once: the desktop
//! app's `lockbox://changed` events ([`events_for`], every tenant of the
//! local store) and a team server's live change feed (`GET /admin/v1/changes`:
//! a [`Follower`] per connection, [`scoped_events`], only the tenants the
//! signed-in person is a user of). Both come from
//! [`Engine::audit_changes_since`]: what the audit log gained since the last
//! look, by tenant.
//!
//! Pure but for [`Follower::next`] (one engine read); no tokio, no HTTP.

use crate::dto::{LockboxEvent, LockboxEventKind};
use crate::engine::{AuditChanges, ScopedChanges};
use crate::{Engine, Principal, Result, Time};
use std::collections::BTreeSet;

fn ev(kind: LockboxEventKind, tenant: Option<&String>) -> LockboxEvent {
    LockboxEvent {
        kind,
        tenant: tenant.cloned(),
    }
}

/// The desktop's events for one store change: requests always (any process
/// may have changed one, or its notices); per tenant, the audit entries
/// appended and the settings changed since the last look. `None` (the first
/// look) says only that requests may have changed; a truncated look (more
/// entries than were read) says everything changed, naming no tenant.
pub fn events_for(audit: Option<&AuditChanges>) -> Vec<LockboxEvent> {
    let mut out = vec![ev(LockboxEventKind::RequestsChanged, None)];
    let Some(a) = audit else {
        return out;
    };
    if a.truncated {
        out.push(ev(LockboxEventKind::AuditAppended, None));
        out.push(ev(LockboxEventKind::SettingsChanged, None));
        return out;
    }
    out.extend(
        a.tenants
            .iter()
            .map(|t| ev(LockboxEventKind::AuditAppended, Some(t))),
    );
    out.extend(
        a.settings_tenants
            .iter()
            .map(|t| ev(LockboxEventKind::SettingsChanged, Some(t))),
    );
    out
}

/// The events one person hears for a change ([`Engine::audit_changes_for`]):
/// every event names one of their tenants, never `None` (an event for "every
/// tenant" would be one about tenants that are not theirs). For each of
/// their tenants that got entries: `requests_changed` and `audit_appended`,
/// and `settings_changed` when a setting, user or token changed. A truncated
/// look (more entries than one read takes) is all three for *each* of their
/// tenants: reload everything you show.
pub fn scoped_events(c: &ScopedChanges) -> Vec<LockboxEvent> {
    use LockboxEventKind::*;
    let (changed, settings) = if c.changes.truncated {
        (&c.tenants, &c.tenants)
    } else {
        (&c.changes.tenants, &c.changes.settings_tenants)
    };
    let mut out = Vec::new();
    for t in changed {
        out.push(ev(RequestsChanged, Some(t)));
        out.push(ev(AuditAppended, Some(t)));
        if settings.contains(t) {
            out.push(ev(SettingsChanged, Some(t)));
        }
    }
    out
}

/// One person following the store: where they are in the audit log (its
/// store position, `audit_max_seq`, as last read) and which tenants they
/// were last told they hear.
#[derive(Debug, Clone)]
pub struct Follower {
    who: Principal,
    after: Option<i64>,
    scope: Option<BTreeSet<String>>,
}

/// What one look found for a [`Follower`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    /// The audit log's position this look read at: the next look starts
    /// after it, and a client resuming from it misses nothing.
    pub head: i64,
    /// The person's tenants, when they differ from the last look's (always
    /// on the first look): someone added or removed them meanwhile.
    pub scope: Option<BTreeSet<String>>,
    /// The events for what was appended to their tenants since the last
    /// look ([`scoped_events`]); none on a first look without a position.
    pub events: Vec<LockboxEvent>,
    /// The engine's clock at the look (whoever checks a token's expiry asks it).
    pub now: Time,
}

impl Follower {
    /// `who`, from position `after` (a client's `Last-Event-ID`: the first
    /// look reports what was appended after it), or from now (`None`).
    pub fn new(who: Principal, after: Option<i64>) -> Follower {
        Follower {
            who,
            after,
            scope: None,
        }
    }

    /// Who follows.
    pub fn who(&self) -> &Principal {
        &self.who
    }

    /// One read: what was appended since the last look, the person's
    /// tenants read again with it (a removed person stops hearing a tenant
    /// from the look that sees the removal on).
    pub fn next(&mut self, e: &mut Engine) -> Result<Look> {
        let c = e.audit_changes_for(&self.who, self.after)?;
        let events = match self.after {
            Some(_) => scoped_events(&c),
            None => Vec::new(),
        };
        self.after = Some(c.changes.head);
        let scope = (self.scope.as_ref() != Some(&c.tenants)).then(|| c.tenants.clone());
        self.scope = Some(c.tenants);
        Ok(Look {
            head: c.changes.head,
            scope,
            events,
            now: e.now(),
        })
    }
}

/// The longest a desktop window goes without hearing of expiries alone.
pub const EXPIRY_HOLD: chrono::Duration = chrono::Duration::seconds(60);

/// When the desktop tells its window of a change. A change someone made (a
/// request filed, a decision, a setting) is told at once, with anything held.
/// A change of expiries alone (unanswered requests reaching their deadline:
/// nobody made it, [`AuditChanges::expiries_only`]) is held until the clock's
/// next whole minute ([`next_whole_minute`]), the instant the window's
/// "N minutes ago" texts change too (`ui/src/lib/time.ts`, `relativeTimeDue`):
/// a stream of expiries while nobody works costs the window at most one
/// refetch a minute, painted in the frame that repaints those texts anyway,
/// not one repaint each. What the window shows of them is the list's count
/// and the Audit page; a request on screen refetches at its own deadline,
/// and every read applies due deadlines, so nothing shown is judged on a
/// stale state. The engine's clock, as the burst rule's.
#[derive(Debug, Clone, Default)]
pub struct ExpiryHold {
    due: Option<Time>,
}

/// The first whole minute (UTC, since the epoch) after `now`.
pub fn next_whole_minute(now: Time) -> Time {
    let ms = now.timestamp_millis();
    let next = ms - ms.rem_euclid(60_000) + 60_000;
    chrono::DateTime::from_timestamp_millis(next).unwrap_or(now + EXPIRY_HOLD)
}

impl ExpiryHold {
    /// A change seen at `now`: whether to tell the window now (otherwise it
    /// is held, and [`due`](Self::due) says until when).
    pub fn change(&mut self, expiries_only: bool, now: Time) -> bool {
        if expiries_only {
            self.due.get_or_insert_with(|| next_whole_minute(now));
            return false;
        }
        self.due = None;
        true
    }

    /// When the held change must be told; `None` when nothing is held.
    pub fn due(&self) -> Option<Time> {
        self.due
    }

    /// Whether a held change is due at `now` (then it counts as told). A
    /// clock moved back never holds one for longer than [`EXPIRY_HOLD`].
    pub fn take_due(&mut self, now: Time) -> bool {
        let due = self.due.is_some_and(|d| now >= d || d - now > EXPIRY_HOLD);
        if due {
            self.due = None;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(v: Vec<LockboxEvent>) -> Vec<(LockboxEventKind, Option<String>)> {
        v.into_iter().map(|e| (e.kind, e.tenant)).collect()
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_change_tells_the_ui_which_tenants_got_audit_entries_and_settings_changes() {
        use LockboxEventKind::*;
        assert_eq!(kinds(events_for(None)), [(RequestsChanged, None)]);
        let c = AuditChanges {
            head: 9,
            tenants: set(&["a", "b"]),
            settings_tenants: set(&["b"]),
            truncated: false,
            expiries_only: false,
        };
        assert_eq!(
            kinds(events_for(Some(&c))),
            [
                (RequestsChanged, None),
                (AuditAppended, Some("a".into())),
                (AuditAppended, Some("b".into())),
                (SettingsChanged, Some("b".into())),
            ]
        );
        let all = AuditChanges {
            truncated: true,
            ..c
        };
        assert_eq!(
            kinds(events_for(Some(&all))),
            [
                (RequestsChanged, None),
                (AuditAppended, None),
                (SettingsChanged, None)
            ]
        );
    }

    #[test]
    fn a_person_hears_of_their_tenants_by_name_and_never_of_every_tenant() {
        use LockboxEventKind::*;
        let c = ScopedChanges {
            changes: AuditChanges {
                head: 9,
                tenants: set(&["a", "b"]),
                settings_tenants: set(&["b"]),
                truncated: false,
                expiries_only: false,
            },
            tenants: set(&["a", "b", "c"]),
        };
        assert_eq!(
            kinds(scoped_events(&c)),
            [
                (RequestsChanged, Some("a".into())),
                (AuditAppended, Some("a".into())),
                (RequestsChanged, Some("b".into())),
                (AuditAppended, Some("b".into())),
                (SettingsChanged, Some("b".into())),
            ]
        );
        // Too much to read: every tenant of theirs, named, and no other.
        let mut all = c.clone();
        all.changes.truncated = true;
        all.changes.tenants = set(&["a"]);
        let got = kinds(scoped_events(&all));
        assert_eq!(got.len(), 9, "{got:?}");
        assert!(got.iter().all(|(_, t)| t.is_some()), "{got:?}");
        assert!(
            got.contains(&(SettingsChanged, Some("c".into()))),
            "{got:?}"
        );
        let none = ScopedChanges {
            tenants: BTreeSet::new(),
            ..all
        };
        assert!(
            scoped_events(&none).is_empty(),
            "a user of no tenant hears nothing"
        );
    }

    #[test]
    fn expiries_alone_wait_for_the_next_whole_minute_and_anything_else_goes_at_once() {
        use chrono::{Duration, TimeZone, Utc};
        let t0 = Utc.with_ymd_and_hms(2026, 12, 6, 8, 0, 0).unwrap();
        let s = |n: i64| t0 + Duration::seconds(n);
        let ms = |n: i64| t0 + Duration::milliseconds(n);
        assert_eq!(
            next_whole_minute(t0),
            s(60),
            "a whole minute is not after itself"
        );
        assert_eq!(next_whole_minute(ms(59_999)), s(60));
        assert_eq!(next_whole_minute(ms(60_001)), s(120));
        let mut h = ExpiryHold::default();
        // Expiries, 6 s apart, wait for the next whole minute.
        assert!(!h.change(true, s(6)));
        assert!(!h.change(true, s(12)));
        assert_eq!(h.due(), Some(s(60)));
        assert!(!h.take_due(ms(59_999)));
        assert!(h.take_due(s(60)));
        assert!(!h.take_due(s(61)), "told once");
        assert_eq!(h.due(), None);
        // One late in a minute still waits only for that minute's end.
        assert!(!h.change(true, s(119)));
        assert_eq!(h.due(), Some(s(120)));
        assert!(h.take_due(s(120)));
        // A change someone made is told at once, and takes the held one with it.
        assert!(!h.change(true, s(125)));
        assert!(h.change(false, s(126)));
        assert_eq!(h.due(), None, "nothing left held");
        assert!(h.change(false, s(127)), "and the next one too");
        // A clock moved back does not hold changes for longer than a minute.
        assert!(!h.change(true, s(130)));
        assert_eq!(h.due(), Some(s(180)));
        assert!(!h.take_due(s(121)));
        assert!(h.take_due(s(10)));
    }
}
