//! OS notifications through notify-rust (D-Bus on Linux), each leading
//! somewhere: a click (the freedesktop "default" action) or its "Open" button
//! shows the window on the notification's [`Target`].
//!
//! A stuck daemon can hang a D-Bus call forever (zbus has no call timeout),
//! so showing one is a future dropped after [`NOTIFY_TIMEOUT`] (its
//! connection with it); a failure is logged and recorded, never blocks
//! anything. Hearing the click needs the notification's own D-Bus connection
//! kept open until the daemon says it was acted on or closed (dunst sends
//! `ActionInvoked` to the connection that sent `Notify`). So each shown
//! notification is one waiting task holding one connection, registered in
//! [`Live`]: it ends on `ActionInvoked` (then closes the notification) or
//! `NotificationClosed` (dunst closes ours after [`SHOW_FOR_MS`]); at most [`MAX_LIVE`] wait at once, and
//! showing one more closes the oldest on the daemon (`CloseNotification`),
//! which ends its task. Nothing waits on a thread of its own, and a daemon
//! that keeps notifications forever (a notification centre) costs at most
//! `MAX_LIVE` connections.

use lockbox_core::alerts::{self, Target};
use lockbox_core::clock::Time;
use lockbox_core::duration::format_duration;
use lockbox_core::store::NoticeRow;
use lockbox_core::text;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::{AppHandle, Runtime};
use tokio::sync::Notify;

pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the daemon shows a notification (its `expire_timeout`).
pub const SHOW_FOR_MS: u32 = 10_000;
/// At most this many notifications wait for a click at once.
pub const MAX_LIVE: usize = 8;

/// Summary and body for a notice, safe to hand to a daemon that renders
/// markup and links (dunst does): provider-sent fields are flattened to one
/// line without bidi or other format characters, and the body is
/// markup-escaped, so `<a href=…>` shows as text and nothing is clickable.
/// The summary is plain text by the freedesktop spec (dunst escapes it
/// itself; escaping it here would show `&lt;` to the user).
pub fn render(n: &NoticeRow, now: Time) -> (String, String) {
    let (summary, body) = render_text(n, now);
    (
        text::one_line(&summary).into_owned(),
        text::markup_escape(&body),
    )
}

/// Summary and body of a burst of new requests ("12 new Customer Lockbox
/// requests"): the summary holds only the count; the body names up to three
/// requesters, flattened to one line and markup-escaped like any other body.
pub fn render_burst(notices: &[NoticeRow]) -> (String, String) {
    let mut who: Vec<String> = Vec::new();
    for n in notices {
        let r = text::one_line(&n.request.requester).trim().to_string();
        if !who.contains(&r) {
            who.push(r);
        }
    }
    let shown = who.len().min(3);
    let more = who.len() - shown;
    let names = who[..shown].join(", ");
    let body = match more {
        0 => format!("From {names}. Open to review the pending requests."),
        _ => format!("From {names} and {more} more. Open to review the pending requests."),
    };
    (
        format!("{} new Customer Lockbox requests", notices.len()),
        text::markup_escape(&body),
    )
}

/// Summary and body for an alert (one notice, or a burst).
pub fn render_alert(a: &alerts::Alert, now: Time) -> (String, String) {
    match a {
        alerts::Alert::One(n) => render(n, now),
        alerts::Alert::Burst(ns) => render_burst(ns),
    }
}

/// The plain text of a notice (before markup escaping).
fn render_text(n: &NoticeRow, now: Time) -> (String, String) {
    let f = |s: &str| text::one_line(s).into_owned();
    let r = &lockbox_core::model::Request {
        requester: f(&n.request.requester),
        workload: f(&n.request.workload),
        resource: f(&n.request.resource),
        case: f(&n.request.case),
        ..n.request.clone()
    };
    let left = format_duration((r.expires_at - now).num_seconds().max(0));
    let expires = r
        .expires_at
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M");
    match n.kind.as_str() {
        "pending" => (
            format!("Customer Lockbox request from {}", r.requester),
            format!(
                "{} · {}\nCase {} · expires {expires} ({left} left)",
                r.workload, r.resource, r.case
            ),
        ),
        "reminder" => (
            format!("Lockbox request expires in {left}"),
            format!(
                "{} asks for {} · {}\nCase {} · expires {expires}",
                r.requester, r.workload, r.resource, r.case
            ),
        ),
        "expired" => (
            "Lockbox request expired unanswered".to_string(),
            format!(
                "{} · {}\nCase {} from {}",
                r.workload, r.resource, r.case, r.requester
            ),
        ),
        "access_ended" => (
            "Lockbox access ended".to_string(),
            format!(
                "{}'s access to {} · {} has ended (case {})",
                r.requester, r.workload, r.resource, r.case
            ),
        ),
        other => (format!("Lockbox: {other}"), format!("Case {}", r.case)),
    }
}

/// The notifications waiting for a click: at most [`MAX_LIVE`]; entering one
/// more tells the oldest to close. Cheap to clone; clones share the list.
#[derive(Clone, Default)]
pub struct Live(Arc<Mutex<LiveInner>>);

#[derive(Default)]
struct LiveInner {
    next: u64,
    waiting: VecDeque<(u64, Arc<Notify>)>,
}

impl Live {
    /// Register one more waiter: its number and the signal that tells it to
    /// close (given at once to the oldest waiters beyond [`MAX_LIVE`]).
    pub fn enter(&self) -> (u64, Arc<Notify>) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.next += 1;
        let (seq, close) = (g.next, Arc::new(Notify::new()));
        g.waiting.push_back((seq, close.clone()));
        while g.waiting.len() > MAX_LIVE {
            if let Some((_, oldest)) = g.waiting.pop_front() {
                // A stored permit: the oldest closes even if not yet waiting.
                oldest.notify_one();
            }
        }
        (seq, close)
    }

    pub fn leave(&self, seq: u64) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.waiting.retain(|(s, _)| *s != seq);
    }

    /// How many notifications wait for a click.
    pub fn len(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .waiting
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Show one notification that opens `target` when clicked (or its "Open"
/// button is); returns its daemon id. The wait for the click runs as a task
/// registered in `live`.
pub async fn show<R: Runtime>(
    app: &AppHandle<R>,
    live: &Live,
    summary: &str,
    body: &str,
    target: Target,
) -> Result<u32, String> {
    let mut n = notify_rust::Notification::new();
    n.appname("Lockbox")
        .summary(summary)
        .body(body)
        .icon("dialog-password")
        .action("default", "Open")
        .action(alerts::ACTION_OPEN, "Open")
        .timeout(notify_rust::Timeout::Milliseconds(SHOW_FOR_MS));
    let handle = match tokio::time::timeout(NOTIFY_TIMEOUT, n.show_async()).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => {
            return Err(format!(
                "the notification daemon did not answer within {}s",
                NOTIFY_TIMEOUT.as_secs()
            ))
        }
    };
    let id = handle.id();
    let (seq, close) = live.enter();
    let (app, live) = (app.clone(), live.clone());
    tauri::async_runtime::spawn(async move {
        let mut action: Option<String> = None;
        tokio::select! {
            _ = handle.wait_for_action_async(|r| action = action_key(r)) => {}
            _ = close.notified() => {
                tracing::debug!(id, "closing a notification: {MAX_LIVE} newer ones wait");
                let _ = tokio::time::timeout(NOTIFY_TIMEOUT, handle.close_async()).await;
            }
        }
        if action.is_some() {
            // Acted on: it has done its job (dunst would keep showing it).
            let _ = tokio::time::timeout(NOTIFY_TIMEOUT, handle.close_async()).await;
        }
        live.leave(seq);
        match action {
            Some(a) if alerts::opens(&a) => {
                let route = target.route();
                tracing::info!(id, action = %a, %route, "notification clicked");
                crate::open_route(&app, &route);
            }
            Some(a) => tracing::debug!(id, action = %a, "notification action ignored"),
            None => {}
        }
    });
    Ok(id)
}

/// The action key of a response, None when the notification closed.
fn action_key(r: &notify_rust::NotificationResponse) -> Option<String> {
    use notify_rust::NotificationResponse as R;
    match r {
        R::Default => Some("default".to_string()),
        R::Action(a) => Some(a.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockbox_core::model::{Request, State};

    fn notice(id: i64, requester: &str) -> NoticeRow {
        let at = lockbox_core::clock::parse_time("2026-11-29T10:00:00Z").unwrap();
        NoticeRow {
            id,
            kind: alerts::NEW_REQUEST.into(),
            created_at: at,
            request: Request {
                id: format!("R{id}"),
                tenant: "default".into(),
                state: State::Pending,
                case: "SR-1".into(),
                workload: "Teams".into(),
                resource: "Team: Ops".into(),
                reason: "r".into(),
                requester: requester.into(),
                requested_duration_s: 3600,
                granted_duration_s: None,
                created_at: at,
                expires_at: at + chrono::Duration::hours(1),
                approved_at: None,
                access_ends_at: None,
                closed_at: None,
                approvals_required: 1,
                provider_approvals_required: 1,
                lockbox_required: true,
                decisions: vec![],
            },
        }
    }

    #[test]
    fn a_burst_says_how_many_and_escapes_what_the_provider_sent() {
        let mut ns: Vec<NoticeRow> = (1..=12)
            .map(|i| notice(i, &format!("eng{}", i % 5)))
            .collect();
        ns[0].request.requester = "<a href=\"https://evil.example\">x</a>\n&".into();
        let (summary, body) = render_burst(&ns);
        assert_eq!(summary, "12 new Customer Lockbox requests");
        assert_eq!(
            body,
            "From &lt;a href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt; &amp;, eng2, eng3 and 3 more. Open to review the pending requests."
        );
    }

    #[test]
    fn the_newest_waiters_stay_and_the_oldest_are_told_to_close() {
        let live = Live::default();
        let waiters: Vec<_> = (0..MAX_LIVE + 2).map(|_| live.enter()).collect();
        assert_eq!(live.len(), MAX_LIVE);
        let told = |w: &(u64, Arc<Notify>)| {
            let n = w.1.notified();
            tokio::pin!(n);
            // A stored permit makes the future ready at its first poll.
            n.as_mut().enable()
        };
        let closed: Vec<bool> = waiters.iter().map(told).collect();
        assert_eq!(&closed[..2], [true, true]);
        assert!(closed[2..].iter().all(|c| !c));
        for w in &waiters {
            live.leave(w.0);
        }
        assert!(live.is_empty());
    }
}
