//! OS notifications through notify-rust (D-Bus on Linux). A stuck daemon can
//! hang a D-Bus call forever, so each one runs on its own thread and we wait at
//! most NOTIFY_TIMEOUT; a failure is logged and recorded, never blocks anything.

use lockbox_core::clock::Time;
use lockbox_core::duration::format_duration;
use lockbox_core::store::NoticeRow;
use lockbox_core::text;
use std::sync::mpsc;
use std::time::Duration;

pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

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

/// Send one notification; Err(why) on failure or timeout. Blocking: call from a blocking thread.
pub fn send_blocking(summary: &str, body: &str) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let (summary, body) = (summary.to_string(), body.to_string());
    std::thread::Builder::new()
        .name("notify".into())
        .spawn(move || {
            let r = notify_rust::Notification::new()
                .appname("Lockbox")
                .summary(&summary)
                .body(&body)
                .icon("dialog-password")
                .timeout(notify_rust::Timeout::Milliseconds(10_000))
                .show()
                .map(|_| ())
                .map_err(|e| e.to_string());
            let _ = tx.send(r);
        })
        .map_err(|e| format!("cannot start the notification thread: {e}"))?;
    match rx.recv_timeout(NOTIFY_TIMEOUT) {
        Ok(r) => r,
        Err(_) => Err(format!(
            "the notification daemon did not answer within {}s",
            NOTIFY_TIMEOUT.as_secs()
        )),
    }
}
