//! Does the stored state agree with the audit log? Only `audit_log` is
//! append-only and hash-chained; requests, decisions and receipts are plain
//! rows that anyone with the file can edit (`UPDATE requests SET state =
//! 'approved'`). A request's lifecycle entries (every entry of the request
//! but `access_used` / `access_denied`) say everything that happened to it,
//! so replaying them gives the request as it must be stored. [`check`]
//! compares that with the stored row, its decisions and its receipts, and
//! names the first disagreement. The store streams the requests one at a
//! time, in id order (`store/consistency.rs`). Pure: no I/O, no clock.
//!
//! The replay applies what the entries recorded (a final approval's granted
//! duration, an expiry's deadline); it does not decide anything again. It also
//! refuses a history the machine could not have written (a customer approval
//! of a request that was still awaiting the provider, a decision after the
//! deadline): such entries are real, so the stored state they were decided
//! on was not.
//!
//! Entries written before the policy snapshot was audited (`request_created`
//! without `approvals_required`, `provider_approvals_required` and
//! `lockbox_required`) are read leniently: the policy is taken from the stored
//! row and checked against whatever later entries state of it (a provider
//! approval's `required`, a customer approval's `required`, whether
//! `auto_approved` followed the provider level).

use crate::clock::{from_millis, rfc3339, Time};
use crate::model::{Decision, DecisionKind, Level, Request, State};
use crate::store::ReceiptRow;
use chrono::Duration;
use serde::Deserialize;
use serde_json::Value;

/// A lifecycle entry of one request, as stored (its hash is verified by the chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub recorded_ms: i64,
    pub tenant: String,
    pub actor_kind: String,
    pub actor: String,
    pub operation: String,
    pub details: String,
    /// The chain head a receipt signed right after this entry names:
    /// `(position, hash)` (see `store/consistency.rs`).
    pub head: (i64, String),
}

/// The first place where the stored state and the audit log disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub request_id: String,
    /// The stored field (`state`, `access_ends_at`, `decisions[1]`,
    /// `receipts[0].decision`, ...), `request` for a missing or unaudited
    /// row, `history` when the entries themselves are not a history the
    /// engine could have written.
    pub field: String,
    pub stored: String,
    pub audited: String,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field == "history" {
            return write!(
                f,
                "request {}: audit {} contradicts the entries before it ({}): it was decided on an edited stored state",
                self.request_id, self.stored, self.audited
            );
        }
        write!(
            f,
            "request {}: {} is {} in the store, but the audit log says {}",
            self.request_id, self.field, self.stored, self.audited
        )
    }
}

/// The fields of a lifecycle entry's details that the replay reads (others are ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Details {
    case: Option<String>,
    workload: Option<String>,
    resource: Option<String>,
    reason: Option<String>,
    requested_duration_s: Option<i64>,
    expires_at: Option<String>,
    approvals_required: Option<u32>,
    provider_approvals_required: Option<u32>,
    lockbox_required: Option<bool>,
    comment: Option<String>,
    duration_s: Option<i64>,
    approvals: Option<u32>,
    required: Option<u32>,
    #[serde(rename = "final")]
    is_final: Option<bool>,
    granted_duration_s: Option<i64>,
    access_ends_at: Option<String>,
    unanswered_in: Option<String>,
}

/// A point of the history where the engine signs a receipt: the request
/// right after the decision, and the entry that ends it (the chain's head).
struct ReceiptPoint {
    seq: i64,
    hash: String,
    recorded_ms: i64,
    auto: bool,
    request: Request,
}

/// The request the entries describe, and what they pin of its policy.
struct Replay {
    req: Request,
    /// Policy as stated by the entries (`None`: no entry states it).
    approvals_required: Option<u32>,
    provider_approvals_required: Option<u32>,
    lockbox_required: Option<bool>,
    /// The provider level just passed: the next entry is `auto_approved`
    /// exactly when lockbox is off.
    awaiting_auto: bool,
    points: Vec<ReceiptPoint>,
}

fn ms(t: Time) -> i64 {
    crate::clock::to_millis(t)
}

fn time(t: Option<Time>) -> String {
    t.map_or_else(|| "null".to_string(), rfc3339)
}

fn num<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "null".to_string(), |v| v.to_string())
}

fn decision_text(d: Option<&Decision>) -> String {
    let Some(d) = d else {
        return "(none)".into();
    };
    let mut s = format!("{} {} by {} at {}", d.level, d.kind, d.actor, rfc3339(d.at));
    if let Some(c) = &d.comment {
        s.push_str(&format!(" (comment {c:?})"));
    }
    if let Some(n) = d.duration_s {
        s.push_str(&format!(" (duration {n}s)"));
    }
    s
}

/// Check one request: its stored row (`None`: no row), its stored decisions,
/// its lifecycle entries in chain order and its stored receipts in order.
pub fn check(
    id: &str,
    row: Option<&(Request, Option<Time>)>,
    decisions: &[Decision],
    entries: &[LifecycleEntry],
    receipts: &[ReceiptRow],
) -> Option<Disagreement> {
    let dis = |field: &str, stored: String, audited: String| {
        Some(Disagreement {
            request_id: id.to_string(),
            field: field.to_string(),
            stored,
            audited,
        })
    };
    if entries.is_empty() {
        return match row {
            Some((r, _)) => dis(
                "request",
                format!("{} (filed by {})", r.state, r.requester),
                "never filed (no entries)".into(),
            ),
            None if !decisions.is_empty() => dis(
                "decisions",
                format!("{} decisions of no request", decisions.len()),
                "no such request".into(),
            ),
            None => dis(
                "receipts",
                format!("{} receipts of no request", receipts.len()),
                "no such request".into(),
            ),
        };
    }
    let fallback = row.map(|(r, _)| r);
    let replay = match replay(id, entries, fallback, !receipts.is_empty()) {
        Ok(r) => r,
        Err((seq, why)) => {
            let e = entries.iter().find(|e| e.seq == seq);
            return dis(
                "history",
                format!("entry #{seq} ({})", e.map_or("?", |e| e.operation.as_str())),
                why,
            );
        }
    };
    let want = &replay.req;
    let Some((have, deadline_at)) = row else {
        return dis(
            "request",
            "missing".into(),
            format!(
                "{} (filed at #{} by {})",
                want.state, entries[0].seq, want.requester
            ),
        );
    };
    macro_rules! same {
        ($field:ident, $fmt:expr) => {
            if have.$field != want.$field {
                return dis(stringify!($field), $fmt(&have.$field), $fmt(&want.$field));
            }
        };
    }
    let text = |s: &String| format!("{s:?}");
    let t = |t: &Time| rfc3339(*t);
    let ot = |t: &Option<Time>| time(*t);
    let on = |n: &Option<i64>| num(*n);
    let n = |n: &i64| n.to_string();
    same!(tenant, text);
    same!(state, |s: &State| s.to_string());
    same!(expires_at, t);
    same!(access_ends_at, ot);
    same!(granted_duration_s, on);
    same!(approved_at, ot);
    same!(closed_at, ot);
    if *deadline_at != want.deadline() {
        return dis("deadline_at", time(*deadline_at), time(want.deadline()));
    }
    same!(requester, text);
    same!(case, text);
    same!(workload, text);
    same!(resource, text);
    same!(reason, text);
    same!(requested_duration_s, n);
    same!(created_at, t);
    let pinned = [
        (
            "approvals_required",
            replay.approvals_required.map(|v| v.to_string()),
            have.approvals_required.to_string(),
        ),
        (
            "provider_approvals_required",
            replay.provider_approvals_required.map(|v| v.to_string()),
            have.provider_approvals_required.to_string(),
        ),
        (
            "lockbox_required",
            replay.lockbox_required.map(|v| v.to_string()),
            have.lockbox_required.to_string(),
        ),
    ];
    for (field, audited, stored) in pinned {
        if let Some(a) = audited.filter(|a| *a != stored) {
            return dis(field, stored, a);
        }
    }
    for i in 0..decisions.len().max(want.decisions.len()) {
        let (s, a) = (decisions.get(i), want.decisions.get(i));
        if s != a {
            return dis(
                &format!("decisions[{i}]"),
                decision_text(s),
                decision_text(a),
            );
        }
    }
    check_receipts(id, want, &replay.points, receipts)
}

mod history;
mod receipts;
use history::*;
use receipts::check_receipts;
