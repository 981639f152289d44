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

/// Each stored receipt must be the one the engine signed at a decision of
/// the history (the decision its `audit_head` names), field for field; the
/// signature and key id are not checked here (any change to the body shows).
fn check_receipts(
    id: &str,
    want: &Request,
    points: &[ReceiptPoint],
    receipts: &[ReceiptRow],
) -> Option<Disagreement> {
    let dis = |field: String, stored: String, audited: String| {
        Some(Disagreement {
            request_id: id.to_string(),
            field,
            stored,
            audited,
        })
    };
    let expected = |p: &ReceiptPoint, key_id: &str| {
        crate::receipts::body(
            &p.request,
            p.auto,
            (p.seq, Some(&p.hash)),
            from_millis(p.recorded_ms),
            key_id,
        )
    };
    let mut used = vec![false; points.len()];
    for (i, r) in receipts.iter().enumerate() {
        let field = |f: &str| format!("receipts[{i}].{f}");
        // Usually the body is byte for byte the one rebuilt at the decision
        // it names; otherwise compare it as JSON to name the first field.
        let fast = head_seq_of(&r.body).and_then(|seq| {
            let k = points.iter().position(|p| p.seq == seq)?;
            let (decision, body) = expected(&points[k], key_id_of(&r.body)?);
            (body == r.body).then_some((k, decision))
        });
        let (k, decision) = match fast {
            Some(found) => found,
            None => {
                let Ok(body) = serde_json::from_str::<Value>(&r.body) else {
                    return dis(
                        format!("receipts[{i}]"),
                        "a body that is not JSON".into(),
                        "a signed decision receipt".into(),
                    );
                };
                let head_seq = body["audit_head"]["seq"].as_i64();
                let Some(k) = points.iter().position(|p| Some(p.seq) == head_seq) else {
                    let decided: Vec<String> =
                        points.iter().map(|p| format!("#{}", p.seq)).collect();
                    return dis(
                        field("audit_head.seq"),
                        body["audit_head"]["seq"].to_string(),
                        if decided.is_empty() {
                            format!("no decision of this request ({})", want.state)
                        } else {
                            format!("a decision entry: {}", decided.join(", "))
                        },
                    );
                };
                let (decision, text) =
                    expected(&points[k], body["key_id"].as_str().unwrap_or_default());
                let want_body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let (Value::Object(have), Value::Object(want)) = (&body, &want_body) else {
                    return dis(
                        format!("receipts[{i}]"),
                        "a body that is not a JSON object".into(),
                        "a signed decision receipt".into(),
                    );
                };
                for (key, w) in want {
                    match have.get(key) {
                        Some(h) if h == w => {}
                        h => {
                            let h = h.map_or_else(|| "absent".to_string(), Value::to_string);
                            return dis(field(key), h, w.to_string());
                        }
                    }
                }
                if let Some(extra) = have.keys().find(|k| !want.contains_key(*k)) {
                    return dis(field(extra), have[extra].to_string(), "absent".into());
                }
                (k, decision)
            }
        };
        if std::mem::replace(&mut used[k], true) {
            return dis(
                format!("receipts[{i}]"),
                format!("a second receipt of the decision at #{}", points[k].seq),
                "one receipt per decision".into(),
            );
        }
        let p = &points[k];
        if r.decision != decision {
            return dis(field("decision (row)"), r.decision.clone(), decision.into());
        }
        if r.tenant != p.request.tenant {
            return dis(
                field("tenant (row)"),
                r.tenant.clone(),
                p.request.tenant.clone(),
            );
        }
        if ms(r.created_at) != p.recorded_ms {
            return dis(
                field("created_at (row)"),
                rfc3339(r.created_at),
                rfc3339(from_millis(p.recorded_ms)),
            );
        }
    }
    None
}

/// `audit_head.seq` of a receipt body as the engine writes it (its first `"seq":`).
fn head_seq_of(body: &str) -> Option<i64> {
    let rest = &body[body.find("\"seq\":")? + 6..];
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// `key_id` of a receipt body as the engine writes it.
fn key_id_of(body: &str) -> Option<&str> {
    let rest = &body[body.find("\"key_id\":\"")? + 10..];
    Some(&rest[..rest.find('"')?])
}

type Step<T> = std::result::Result<T, (i64, String)>;

/// Replay `entries` (chain order) into the request they describe. `stored`
/// lends the policy that old entries do not state. Receipt points are kept
/// only when `want_points` (the request has stored receipts).
fn replay(
    id: &str,
    entries: &[LifecycleEntry],
    stored: Option<&Request>,
    want_points: bool,
) -> Step<Replay> {
    let first = &entries[0];
    let bad = |e: &LifecycleEntry, why: String| -> Step<Replay> { Err((e.seq, why)) };
    if first.operation != "request_created" {
        return bad(
            first,
            "the request's first entry must be request_created".into(),
        );
    }
    let d = details(first)?;
    let need = |v: Option<String>, what: &str| -> Step<String> {
        v.ok_or_else(|| (first.seq, format!("request_created has no {what}")))
    };
    let expires_at = parse_time(first, d.expires_at.as_deref(), "expires_at")?;
    let mut r = Replay {
        req: Request {
            id: id.to_string(),
            tenant: first.tenant.clone(),
            state: State::AwaitingProvider,
            case: need(d.case, "case")?,
            workload: need(d.workload, "workload")?,
            resource: need(d.resource, "resource")?,
            reason: need(d.reason, "reason")?,
            requester: first.actor.clone(),
            requested_duration_s: d.requested_duration_s.ok_or_else(|| {
                (
                    first.seq,
                    "request_created has no requested_duration_s".into(),
                )
            })?,
            granted_duration_s: None,
            created_at: from_millis(first.at_ms),
            expires_at,
            approved_at: None,
            access_ends_at: None,
            closed_at: None,
            approvals_required: d
                .approvals_required
                .or(stored.map(|s| s.approvals_required))
                .unwrap_or(1),
            provider_approvals_required: d
                .provider_approvals_required
                .or(stored.map(|s| s.provider_approvals_required))
                .unwrap_or(1),
            lockbox_required: d
                .lockbox_required
                .or(stored.map(|s| s.lockbox_required))
                .unwrap_or(true),
            decisions: Vec::new(),
        },
        approvals_required: d.approvals_required,
        provider_approvals_required: d.provider_approvals_required,
        lockbox_required: d.lockbox_required,
        awaiting_auto: false,
        points: Vec::new(),
    };
    if first.actor_kind != "provider" {
        return bad(first, "a request is filed by the provider".into());
    }
    if r.req.provider_approvals_required == 0 {
        r.awaiting_auto = true;
        r.req.state = State::Pending;
    }
    for e in &entries[1..] {
        r.apply(e, want_points)?;
    }
    if r.awaiting_auto {
        r.no_auto(entries.last().map_or(0, |e| e.seq))?;
    }
    Ok(r)
}

fn details(e: &LifecycleEntry) -> Step<Details> {
    serde_json::from_str(&e.details)
        .map_err(|err| (e.seq, format!("its details cannot be read: {err}")))
}

fn parse_time(e: &LifecycleEntry, v: Option<&str>, what: &str) -> Step<Time> {
    let v = v.ok_or_else(|| (e.seq, format!("{} has no {what}", e.operation)))?;
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| (e.seq, format!("its {what} '{v}' is not a time")))
}

/// Pin a policy value stated by an entry: it must agree with what earlier entries stated.
fn pin<T: PartialEq + Copy + std::fmt::Display>(
    slot: &mut Option<T>,
    value: T,
    e: &LifecycleEntry,
    what: &str,
) -> Step<()> {
    match *slot {
        Some(v) if v != value => Err((
            e.seq,
            format!("it says {what} is {value}, earlier entries say {v}"),
        )),
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

impl Replay {
    /// The provider level passed and no `auto_approved` followed: lockbox is on.
    fn no_auto(&mut self, seq: i64) -> Step<()> {
        self.awaiting_auto = false;
        if self.lockbox_required == Some(false) {
            return Err((
                seq,
                "lockbox was off for this request, yet no auto_approved follows the provider level"
                    .into(),
            ));
        }
        self.lockbox_required = Some(true);
        self.req.lockbox_required = true;
        Ok(())
    }

    fn decide(&mut self, e: &LifecycleEntry, level: Level, kind: DecisionKind, d: &Details) {
        self.req.decisions.push(Decision {
            level,
            actor: e.actor.clone(),
            kind,
            comment: d.comment.clone(),
            duration_s: if kind == DecisionKind::Approve {
                d.duration_s
            } else {
                None
            },
            at: from_millis(e.at_ms),
        });
    }

    fn grant(&mut self, e: &LifecycleEntry, granted_s: i64, d: &Details) -> Step<()> {
        let at = from_millis(e.at_ms);
        let ends = at + Duration::seconds(granted_s);
        if let Some(stated) = d.access_ends_at.as_deref() {
            if parse_time(e, Some(stated), "access_ends_at")? != ends {
                return Err((
                    e.seq,
                    format!(
                        "its access_ends_at {stated} is not its time plus the granted {granted_s}s"
                    ),
                ));
            }
        }
        self.req.state = State::Approved;
        self.req.granted_duration_s = Some(granted_s);
        self.req.approved_at = Some(at);
        self.req.access_ends_at = Some(ends);
        Ok(())
    }

    fn close(&mut self, e: &LifecycleEntry, state: State) {
        self.req.state = state;
        self.req.closed_at = Some(from_millis(e.at_ms));
    }

    fn point(&mut self, e: &LifecycleEntry, auto: bool, want: bool) {
        if want {
            self.points.push(ReceiptPoint {
                seq: e.head.0,
                hash: e.head.1.clone(),
                recorded_ms: e.recorded_ms,
                auto,
                request: self.req.clone(),
            });
        }
    }

    fn apply(&mut self, e: &LifecycleEntry, want_points: bool) -> Step<()> {
        let op = e.operation.as_str();
        if self.awaiting_auto && op != "auto_approved" {
            self.no_auto(e.seq)?;
        }
        let state = self.req.state;
        let illegal = || -> Step<()> {
            Err((
                e.seq,
                format!("{op} is not possible: by the entries before it, the request was {state}"),
            ))
        };
        let kind = |want: &str| -> Step<()> {
            if e.actor_kind == want {
                Ok(())
            } else {
                Err((
                    e.seq,
                    format!("{op} by a {} actor, not {want}", e.actor_kind),
                ))
            }
        };
        if e.tenant != self.req.tenant {
            return Err((
                e.seq,
                format!(
                    "it is in tenant '{}', the request in '{}'",
                    e.tenant, self.req.tenant
                ),
            ));
        }
        let at = from_millis(e.at_ms);
        // The machine refuses decisions once the decision deadline has passed.
        let before_expiry = || -> Step<()> {
            if at >= self.req.expires_at {
                return Err((
                    e.seq,
                    format!(
                        "{op} at {} is not before the request's expiry at {}",
                        rfc3339(at),
                        rfc3339(self.req.expires_at)
                    ),
                ));
            }
            Ok(())
        };
        let d = details(e)?;
        match op {
            "provider_approved" => {
                if state != State::AwaitingProvider {
                    return illegal();
                }
                kind("provider")?;
                before_expiry()?;
                self.decide(e, Level::Provider, DecisionKind::Approve, &d);
                let have = self.req.approvals(Level::Provider).count() as u32;
                if d.approvals.is_some_and(|a| a != have) {
                    return Err((
                        e.seq,
                        format!(
                            "it counts {} provider approvals, the entries {have}",
                            num(d.approvals)
                        ),
                    ));
                }
                if let Some(req) = d.required {
                    pin(
                        &mut self.provider_approvals_required,
                        req,
                        e,
                        "provider_approvals_required",
                    )?;
                    self.req.provider_approvals_required = req;
                }
                if have >= self.req.provider_approvals_required {
                    self.req.state = State::Pending;
                    self.awaiting_auto = true;
                }
            }
            "auto_approved" => {
                if !self.awaiting_auto {
                    return illegal();
                }
                kind("system")?;
                self.awaiting_auto = false;
                pin(&mut self.lockbox_required, false, e, "lockbox_required")?;
                self.req.lockbox_required = false;
                let granted = d
                    .granted_duration_s
                    .unwrap_or(self.req.requested_duration_s);
                self.grant(e, granted, &d)?;
                self.point(e, true, want_points);
            }
            "approved" => {
                if state != State::Pending {
                    return illegal();
                }
                kind("customer")?;
                before_expiry()?;
                self.decide(e, Level::Customer, DecisionKind::Approve, &d);
                let have = self.req.approvals(Level::Customer).count() as u32;
                if d.approvals.is_some_and(|a| a != have) {
                    return Err((
                        e.seq,
                        format!(
                            "it counts {} customer approvals, the entries {have}",
                            num(d.approvals)
                        ),
                    ));
                }
                if let Some(req) = d.required {
                    pin(&mut self.approvals_required, req, e, "approvals_required")?;
                    self.req.approvals_required = req;
                }
                let last = d.is_final.unwrap_or(have >= self.req.approvals_required);
                if last {
                    let granted = d.granted_duration_s.ok_or_else(|| {
                        (
                            e.seq,
                            "a final approval without granted_duration_s".to_string(),
                        )
                    })?;
                    self.grant(e, granted, &d)?;
                    self.point(e, false, want_points);
                }
            }
            "rejected" => {
                if state != State::Pending {
                    return illegal();
                }
                kind("customer")?;
                before_expiry()?;
                self.decide(e, Level::Customer, DecisionKind::Reject, &d);
                self.close(e, State::Rejected);
                self.point(e, false, want_points);
            }
            "canceled" => {
                if !state.is_undecided() {
                    return illegal();
                }
                kind("provider")?;
                before_expiry()?;
                self.decide(e, Level::Provider, DecisionKind::Cancel, &d);
                self.close(e, State::Canceled);
            }
            "revoked" => {
                if state != State::Approved {
                    return illegal();
                }
                kind("customer")?;
                if self.req.access_ends_at.is_some_and(|end| at >= end) {
                    return Err((e.seq, "revoked after the access window had ended".into()));
                }
                self.decide(e, Level::Customer, DecisionKind::Revoke, &d);
                self.close(e, State::Revoked);
                self.point(e, false, want_points);
            }
            "expired" => {
                if !state.is_undecided() {
                    return illegal();
                }
                kind("system")?;
                if at != self.req.expires_at {
                    return Err((
                        e.seq,
                        format!(
                            "it expired at {}, the request's expiry is {}",
                            rfc3339(at),
                            rfc3339(self.req.expires_at)
                        ),
                    ));
                }
                if d.unanswered_in
                    .as_deref()
                    .is_some_and(|s| s != state.as_str())
                {
                    return Err((
                        e.seq,
                        format!(
                            "it says the request was {}, the entries say {state}",
                            num(d.unanswered_in)
                        ),
                    ));
                }
                self.close(e, State::Expired);
                // Stores written before expiry receipts were derived on request
                // hold a signed one.
                self.point(e, false, want_points);
            }
            "completed" => {
                if state != State::Approved {
                    return illegal();
                }
                kind("system")?;
                if Some(at) != self.req.access_ends_at {
                    return Err((
                        e.seq,
                        format!(
                            "it completed at {}, the access window ends at {}",
                            rfc3339(at),
                            time(self.req.access_ends_at)
                        ),
                    ));
                }
                self.close(e, State::Completed);
            }
            "request_created" => {
                return Err((e.seq, "the request is filed a second time".into()));
            }
            _ => {
                return Err((e.seq, format!("{op} is not a request transition")));
            }
        }
        Ok(())
    }
}
