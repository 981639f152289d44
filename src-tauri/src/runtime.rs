//! The app's two background tasks (never one per request):
//! - the **scheduler**: tick the engine (apply due deadlines and reminders),
//!   sleep until the next wake time or until woken by a change;
//! - the **change feed**: notice commits by any process (`PRAGMA data_version`,
//!   looked at when inotify says the store was written — `watch.rs` — or at
//!   once when our own command wrote), then tell the UI, refresh the tray and
//!   deliver new notices as OS notifications, new requests coalesced into
//!   bursts (`lockbox_core::alerts::Coalescer`, fed the engine's clock; while
//!   some are held the feed looks again every 250 ms until they are shown).
//!   Idle, it does not wake up.

use crate::state::AppState;
use crate::{notify, tray};
use lockbox_core::alerts::{self, Alert, Coalescer};
use lockbox_core::dto::LockboxEvent;
use lockbox_core::feed::{events_for, ExpiryHold, EXPIRY_HOLD};
use lockbox_core::model::AuditChanges;
use lockbox_core::scheduler;
use std::sync::Arc;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Runtime};
use tokio::sync::Notify;

/// How often the feed looks for other processes' commits where the store's
/// folder cannot be watched (inotify); with the watch, every `watch::FALLBACK`.
pub const FEED_TICK: Duration = Duration::from_millis(500);
pub const CHANNEL: &str = "desktop";

pub fn spawn<R: Runtime>(app: AppHandle<R>, state: AppState) {
    let wake = Arc::new(Notify::new());
    // Deadlines, reminders and approver email: the loop `lockbox serve` runs too.
    let h = state.engine.clone();
    tauri::async_runtime::spawn(lockbox_core::runtime::background_loop(h, wake.clone()));
    tauri::async_runtime::spawn(feed_loop(app, state, wake));
}

/// Starts the store watch; returns how long the feed may sleep without news.
async fn watch_store(state: &AppState, disk: Arc<Notify>) -> Duration {
    let path = state
        .run(|e, _| Ok(e.store().path().map(|p| p.to_path_buf())))
        .await;
    #[cfg(target_os = "linux")]
    if let Ok(Some(db)) = path {
        match crate::watch::spawn(&db, disk) {
            Ok(()) => return crate::watch::FALLBACK,
            Err(e) => tracing::warn!("cannot watch the store's folder, polling instead: {e}"),
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (path, disk);
    FEED_TICK
}

async fn feed_loop<R: Runtime>(app: AppHandle<R>, state: AppState, wake: Arc<Notify>) {
    let disk = Arc::new(Notify::new());
    let idle_look = watch_store(&state, disk.clone()).await;
    let mut last_version: Option<i64> = None;
    let mut last_audit: Option<i64> = None;
    let mut forced = true; // refresh once at start: tray, pending notices
    let mut notices = Notices::default();
    let mut told = Told::default();
    let mut gap = Gap::default();
    loop {
        match state.run(|e, _| e.store().data_version()).await {
            Ok(v) => {
                if forced || last_version != Some(v) {
                    last_version = Some(v);
                    let requests_may_differ = refresh(
                        &app,
                        &state,
                        forced,
                        &mut last_audit,
                        &mut notices,
                        &mut told,
                    )
                    .await;
                    // The background loop plans from requests and settings:
                    // a commit that only claimed or recorded notices (this
                    // feed's own, each delivery) changes nothing it plans.
                    if requests_may_differ {
                        wake.notify_one();
                    }
                } else {
                    if notices.coalescer.held() > 0 {
                        // New requests held back for their burst: show them once due.
                        notices.deliver(&app, &state, Vec::new()).await;
                    }
                    if told.rule.due().is_some() {
                        // Expiries held back from the window: tell it once due.
                        if let Ok(now) = state.run(|e, _| Ok(e.now())).await {
                            emit(&app, told.due(now));
                        }
                    }
                }
            }
            Err(e) => tracing::warn!("change feed: {e}"),
        }
        // New requests held back for their burst are shown when due, and
        // expiries held back from the window are told when due.
        let look = [notices.held_wait(&state).await, told.wait(&state).await]
            .into_iter()
            .flatten()
            .fold(idle_look, Duration::min);
        forced = tokio::select! {
            _ = tokio::time::sleep(look) => false,
            _ = disk.notified() => false,
            _ = state.changed.notified() => true,
        };
        // A change right after a refresh waits for the rest of FEED_GAP, and
        // whatever else changes meanwhile is the same refresh: one audit read,
        // pending count, tray update and notice claim for a burst of writes.
        let wait = gap.wait(std::time::Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
            forced |= take(&state.changed).await;
            take(&disk).await;
        }
        gap.refreshed(std::time::Instant::now());
    }
}

/// Whether `n` was notified (consuming the stored permit), without waiting.
async fn take(n: &Notify) -> bool {
    tokio::select! {
        biased;
        _ = n.notified() => true,
        _ = std::future::ready(()) => false,
    }
}

/// The feed's refreshes are at least [`FEED_GAP`] apart.
pub const FEED_GAP: Duration = Duration::from_millis(250);

/// When the feed last looked, and how long a change must wait for the next look.
#[derive(Debug, Default)]
struct Gap {
    last: Option<std::time::Instant>,
}

impl Gap {
    /// How long to wait at `now` before looking again.
    fn wait(&self, now: std::time::Instant) -> Duration {
        self.last.map_or(Duration::ZERO, |l| {
            (l + FEED_GAP).saturating_duration_since(now)
        })
    }

    fn refreshed(&mut self, now: std::time::Instant) {
        self.last = Some(now);
    }
}

/// The window's change events, and those held back from it by the expiry
/// rule ([`ExpiryHold`]: expiries alone reach the window on the next whole minute).
#[derive(Default)]
struct Told {
    rule: ExpiryHold,
    held: Option<AuditChanges>,
}

impl Told {
    /// The events to send for a change seen at `now` (`audit`: what the log
    /// gained; `None` on the first look or when it could not be read), with
    /// any held ones; none while the rule holds it.
    fn change(
        &mut self,
        audit: Option<AuditChanges>,
        now: lockbox_core::Time,
    ) -> Vec<LockboxEvent> {
        let quiet = audit.as_ref().is_some_and(|c| c.expiries_only);
        let merged = match (self.held.take(), audit) {
            (Some(h), Some(a)) => Some(h.then(a)),
            (h, a) => a.or(h),
        };
        if self.rule.change(quiet, now) {
            events_for(merged.as_ref())
        } else {
            self.held = merged;
            Vec::new()
        }
    }

    /// The held events, if they are due at `now`.
    fn due(&mut self, now: lockbox_core::Time) -> Vec<LockboxEvent> {
        if self.rule.take_due(now) {
            events_for(self.held.take().as_ref())
        } else {
            Vec::new()
        }
    }

    /// How long until the held events are due; `None` when none are held.
    async fn wait(&self, state: &AppState) -> Option<Duration> {
        let due = self.rule.due()?;
        let now = state.run(|e, _| Ok(e.now())).await.ok()?;
        Some(
            (due - now)
                .clamp(chrono::Duration::zero(), EXPIRY_HOLD)
                .to_std()
                .unwrap_or(Duration::ZERO),
        )
    }
}

fn emit<R: Runtime>(app: &AppHandle<R>, events: Vec<LockboxEvent>) {
    for ev in events {
        let _ = app.emit("lockbox://changed", ev);
    }
}

/// One look at the store: events to the window, the tray, notices to the
/// screen. Returns whether requests or settings may have changed (an audit
/// entry appended, our own command wrote, or the log could not be read).
async fn refresh<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    forced: bool,
    last_audit: &mut Option<i64>,
    notices: &mut Notices,
    told: &mut Told,
) -> bool {
    let after = *last_audit;
    let look =
        move |e: &mut lockbox_core::Engine, _: &_| Ok((e.audit_changes_since(after)?, e.now()));
    let (audit, now) = match state.run(look).await {
        Ok((c, now)) => {
            *last_audit = Some(c.head);
            // The first look only finds where the log is.
            (after.map(|_| c), Some(now))
        }
        Err(e) => {
            tracing::warn!("change feed: cannot read the audit log: {e}");
            (None, None)
        }
    };
    // No request changes without an audit entry: a commit that appended none
    // (a notice claimed or its delivery recorded) leaves the tray as it is,
    // unless our own command wrote (it may have changed a preference).
    let requests_may_differ = audit
        .as_ref()
        .is_none_or(|c| c.truncated || !c.tenants.is_empty());
    match now {
        Some(now) => emit(app, told.change(audit, now)),
        None => emit(app, events_for(None)),
    }
    let enabled = state.prefs().notifications_enabled;
    let tray_rows = |e: &mut lockbox_core::Engine, _: &_| {
        Ok((
            e.pending_count_all()?,
            e.newest_pending_all(alerts::TRAY_REQUESTS)?,
        ))
    };
    // Connected, the tray counts the server's requests (`connect::follow`).
    if state.connection.remote().is_none() && (forced || requests_may_differ) {
        match state.run(tray_rows).await {
            Ok((pending, newest)) => {
                if let Some(t) = tray::get(app) {
                    t.update(&tray::tray_state(pending, enabled, &newest));
                }
            }
            Err(e) => tracing::warn!("cannot count pending requests: {e}"),
        }
    }
    let claimed = match state.run(|e, _| scheduler::claim_notices(e, CHANNEL)).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("cannot claim notices: {e}");
            return true;
        }
    };
    if !claimed.is_empty() || notices.coalescer.held() > 0 {
        notices.deliver(app, state, claimed).await;
    }
    forced || requests_may_differ
}

/// Notices on their way to the screen: the burst rule's state and the
/// notifications that wait for a click. The local store's feed and connected
/// mode's (`connect/notices.rs`) each have one.
#[derive(Default)]
pub(crate) struct Notices {
    pub(crate) coalescer: Coalescer,
    live: notify::Live,
}

/// The longest a loop holding new requests for their burst sleeps before
/// looking at them again (the engine's clock may be a test's, moved by hand).
pub(crate) const HELD_TICK: Duration = Duration::from_millis(250);

impl Notices {
    /// How long to sleep before the held new requests are due (at most
    /// [`HELD_TICK`]); `None` when none are held.
    pub(crate) async fn held_wait(&self, state: &AppState) -> Option<Duration> {
        if self.coalescer.held() == 0 {
            return None;
        }
        let now = match state.run(|e, _| Ok(e.now())).await {
            Ok(now) => now,
            Err(_) => return Some(HELD_TICK),
        };
        self.coalescer.wait(now, HELD_TICK)
    }

    /// Take newly claimed notices (each claimed exactly once) and show what
    /// the burst rule says is due now; record each notice's outcome.
    async fn deliver<R: Runtime>(
        &mut self,
        app: &AppHandle<R>,
        state: &AppState,
        claimed: Vec<lockbox_core::store::NoticeRow>,
    ) {
        // One clock read for the batch (not an engine round-trip per notice).
        let now = match state.run(|e, _| Ok(e.now())).await {
            Ok(now) => now,
            Err(e) => return tracing::warn!("cannot read the clock: {e}"),
        };
        let enabled = state.prefs().notifications_enabled;
        for (alert, outcome) in self.show_due(app, claimed, now, enabled).await {
            let ids: Vec<i64> = alert.notices().iter().map(|n| n.id).collect();
            let (sent, detail) = (outcome.is_ok(), outcome.err());
            let record = move |e: &mut lockbox_core::Engine, _: &_| {
                ids.iter()
                    .try_for_each(|id| e.finish_delivery(*id, CHANNEL, sent, detail.as_deref()))
            };
            if let Err(e) = state.run(record).await {
                tracing::warn!("cannot record notification outcome: {e}");
            }
        }
    }

    /// Take notices that arrived at `now` and show what the burst rule says
    /// is due: each alert shown, with its daemon id or why it was not shown.
    pub(crate) async fn show_due<R: Runtime>(
        &mut self,
        app: &AppHandle<R>,
        arrived: Vec<lockbox_core::store::NoticeRow>,
        now: lockbox_core::Time,
        enabled: bool,
    ) -> Vec<(Alert, Result<u32, String>)> {
        let mut out = Vec::new();
        for alert in self.coalescer.push(arrived, now) {
            let outcome = self.show(app, &alert, now, enabled).await;
            out.push((alert, outcome));
        }
        out
    }

    async fn show<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        alert: &Alert,
        now: lockbox_core::Time,
        enabled: bool,
    ) -> Result<u32, String> {
        let (summary, body) = notify::render_alert(alert, now);
        let outcome = if enabled {
            notify::show(app, &self.live, &summary, &body, alert.target()).await
        } else {
            Err("notifications are turned off".to_string())
        };
        let kind = match alert {
            Alert::One(n) => n.kind.clone(),
            Alert::Burst(ns) => format!("burst of {}", ns.len()),
        };
        let first = alert
            .notices()
            .first()
            .map(|n| n.request.id.clone())
            .unwrap_or_default();
        match &outcome {
            Ok(id) => {
                tracing::info!(request = %first, %kind, id, %summary, live = self.live.len(), "notification sent")
            }
            Err(why) => {
                tracing::warn!(request = %first, %kind, "notification not shown: {why}")
            }
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_expiries_are_told_with_their_tenants_once_due_or_with_the_next_change() {
        use chrono::TimeZone;
        use lockbox_core::dto::LockboxEventKind::*;
        let t0 = chrono::Utc.with_ymd_and_hms(2026, 12, 6, 8, 0, 0).unwrap();
        let s = |n: i64| t0 + chrono::Duration::seconds(n);
        let changes = |tenant: &str, expiries_only: bool| AuditChanges {
            head: 1,
            tenants: [tenant.to_string()].into(),
            expiries_only,
            ..Default::default()
        };
        let kinds = |v: Vec<LockboxEvent>| {
            v.into_iter()
                .map(|e| (e.kind, e.tenant))
                .collect::<Vec<_>>()
        };
        let mut told = Told::default();
        assert_eq!(
            kinds(told.change(None, t0)),
            [(RequestsChanged, None)],
            "the first look"
        );
        // An expiry is held until the next whole minute, and so is one in another tenant.
        assert!(told.change(Some(changes("a", true)), s(5)).is_empty());
        assert!(told.change(Some(changes("b", true)), s(10)).is_empty());
        assert!(told.due(s(59)).is_empty());
        assert_eq!(
            kinds(told.due(s(60))),
            [
                (RequestsChanged, None),
                (AuditAppended, Some("a".into())),
                (AuditAppended, Some("b".into()))
            ]
        );
        // A held expiry goes out with the next change someone makes.
        assert!(told.change(Some(changes("a", true)), s(70)).is_empty());
        assert_eq!(
            kinds(told.change(Some(changes("b", false)), s(71))),
            [
                (RequestsChanged, None),
                (AuditAppended, Some("a".into())),
                (AuditAppended, Some("b".into()))
            ]
        );
        assert!(told.due(s(200)).is_empty(), "nothing left held");
    }

    #[test]
    fn a_change_soon_after_a_refresh_waits_for_the_gap_and_a_later_one_does_not() {
        let t0 = std::time::Instant::now();
        let mut gap = Gap::default();
        assert_eq!(
            gap.wait(t0),
            Duration::ZERO,
            "the first look waits for nothing"
        );
        gap.refreshed(t0);
        assert_eq!(gap.wait(t0), FEED_GAP);
        assert_eq!(
            gap.wait(t0 + Duration::from_millis(100)),
            FEED_GAP - Duration::from_millis(100)
        );
        assert_eq!(gap.wait(t0 + FEED_GAP), Duration::ZERO);
        assert_eq!(gap.wait(t0 + Duration::from_secs(6)), Duration::ZERO);
    }

    #[tokio::test]
    async fn take_consumes_a_stored_notification_without_waiting() {
        let n = Notify::new();
        assert!(!take(&n).await);
        n.notify_one();
        assert!(take(&n).await);
        assert!(!take(&n).await, "the permit was consumed");
    }
}
