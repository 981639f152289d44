//! Replaying a request's lifecycle entries into the request they describe.

use super::*;

type Step<T> = std::result::Result<T, (i64, String)>;

/// Replay `entries` (chain order) into the request they describe. `stored`
/// lends the policy that old entries do not state. Receipt points are kept
/// only when `want_points` (the request has stored receipts).
pub(super) fn replay(
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
