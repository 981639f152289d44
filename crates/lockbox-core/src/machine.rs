//! The one pure state machine that owns every request transition:
//! `(request, event, now) -> Result<(request', effects)>`. No I/O, no clock.
//! The store executes the effects (audit entries, notices) in the same
//! transaction that saves the new request.

use crate::clock::{rfc3339, Time};
use crate::model::*;
use crate::text::same_person;
use crate::{Error, ErrorCode, Result};
use chrono::Duration;
use serde_json::{json, Value};

/// Something that happens to a request. Customer events carry the actor's
/// role in the tenant (`None` = not a customer user of the tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    ProviderApprove {
        manager: String,
        comment: Option<String>,
    },
    Approve {
        approver: String,
        role: Option<Role>,
        comment: Option<String>,
        duration_s: Option<i64>,
    },
    Reject {
        approver: String,
        role: Option<Role>,
        comment: Option<String>,
    },
    Cancel {
        by: String,
        comment: Option<String>,
    },
    Revoke {
        by: String,
        role: Option<Role>,
        comment: Option<String>,
    },
    /// The decision deadline passed.
    Expire,
    /// The access window ended.
    Complete,
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::ProviderApprove { .. } => "provider-approve",
            Event::Approve { .. } => "approve",
            Event::Reject { .. } => "reject",
            Event::Cancel { .. } => "cancel",
            Event::Revoke { .. } => "revoke",
            Event::Expire => "expire",
            Event::Complete => "complete",
        }
    }
}

/// An audit entry to append, as decided by the machine.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub operation: Operation,
    pub actor: Actor,
    /// Effective time: the deadline for deadline-driven transitions, else now.
    pub at: Time,
    pub request_id: Option<String>,
    pub details: Value,
}

/// Something the outside world should hear about (email, OS notification).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The request now waits for the customer's approvers.
    Pending,
    /// Nobody answered in time.
    Expired,
    /// A granted access window ended by itself.
    AccessEnded,
}

impl Notice {
    pub fn as_str(self) -> &'static str {
        match self {
            Notice::Pending => "pending",
            Notice::Expired => "expired",
            Notice::AccessEnded => "access_ended",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Audit(AuditRecord),
    Notify(Notice),
}

/// The result of a legal transition.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub request: Request,
    pub effects: Vec<Effect>,
}

impl Transition {
    pub fn audits(&self) -> impl Iterator<Item = &AuditRecord> {
        self.effects.iter().filter_map(|e| match e {
            Effect::Audit(a) => Some(a),
            Effect::Notify(_) => None,
        })
    }
}

fn audit(req: &Request, operation: Operation, actor: Actor, at: Time, details: Value) -> Effect {
    Effect::Audit(AuditRecord {
        operation,
        actor,
        at,
        request_id: Some(req.id.clone()),
        details,
    })
}

/// File a new request under `settings`. Validates every field.
pub fn create(
    id: String,
    tenant: &str,
    new: &NewRequest,
    settings: &Settings,
    now: Time,
) -> Result<Transition> {
    let engineer = required("engineer", &new.engineer, limits::NAME)?;
    let case = required("case", &new.case, limits::CASE)?;
    let workload = required("workload", &new.workload, limits::WORKLOAD)?;
    let resource = required("resource", &new.resource, limits::RESOURCE)?;
    let reason = required_text("reason", &new.reason, limits::REASON)?;
    let duration = new.duration_s.unwrap_or(settings.max_access_duration_s);
    if duration <= 0 {
        return Err(Error::input("the requested duration must be positive"));
    }
    if duration > settings.max_access_duration_s {
        return Err(Error::new(
            ErrorCode::DurationTooLong,
            format!(
                "requested duration {} is longer than this tenant's max-access-duration {}",
                crate::duration::format_duration(duration),
                crate::duration::format_duration(settings.max_access_duration_s)
            ),
        ));
    }
    let mut req = Request {
        id,
        tenant: tenant.to_string(),
        state: State::AwaitingProvider,
        case,
        workload,
        resource,
        reason,
        requester: engineer.clone(),
        requested_duration_s: duration,
        granted_duration_s: None,
        created_at: now,
        expires_at: now + Duration::seconds(settings.request_lifetime_s),
        approved_at: None,
        access_ends_at: None,
        closed_at: None,
        approvals_required: settings.approvals_required,
        provider_approvals_required: settings.provider_approvals_required,
        lockbox_required: settings.lockbox_enabled,
        decisions: Vec::new(),
    };
    let mut effects = vec![audit(
        &req,
        Operation::RequestCreated,
        Actor::provider(engineer),
        now,
        // The policy snapshot too: `audit verify` replays a request from its
        // entries alone (see `consistency`).
        json!({
            "case": req.case, "workload": req.workload, "resource": req.resource,
            "reason": req.reason, "requested_duration_s": duration,
            "expires_at": rfc3339(req.expires_at),
            "approvals_required": req.approvals_required,
            "provider_approvals_required": req.provider_approvals_required,
            "lockbox_required": req.lockbox_required,
        }),
    )];
    if req.provider_approvals_required == 0 {
        pass_provider_level(&mut req, &mut effects, now);
    }
    Ok(Transition {
        request: req,
        effects,
    })
}

/// The provider level is satisfied: ask the customer, or approve by policy.
fn pass_provider_level(req: &mut Request, effects: &mut Vec<Effect>, now: Time) {
    if req.lockbox_required {
        req.state = State::Pending;
        effects.push(Effect::Notify(Notice::Pending));
    } else {
        grant(req, req.requested_duration_s, now);
        effects.push(audit(
            req,
            Operation::AutoApproved,
            Actor::system(),
            now,
            json!({
                "policy": "customer lockbox is off for this tenant",
                "granted_duration_s": req.requested_duration_s,
                "access_ends_at": req.access_ends_at.map(rfc3339),
            }),
        ));
    }
}

fn grant(req: &mut Request, duration_s: i64, now: Time) {
    req.state = State::Approved;
    req.granted_duration_s = Some(duration_s);
    req.approved_at = Some(now);
    req.access_ends_at = Some(now + Duration::seconds(duration_s));
}

fn need_customer(role: Option<Role>, who: &str, tenant: &str) -> Result<()> {
    match role {
        Some(_) => Ok(()),
        None => Err(Error::not_permitted(format!(
            "{who} is not an admin or approver of tenant '{tenant}': only customer approvers may decide"
        ))),
    }
}

fn illegal(req: &Request, ev: &Event) -> Error {
    Error::new(
        ErrorCode::InvalidTransition,
        format!(
            "cannot {} request {}: it is {}",
            ev.name(),
            req.id,
            req.state
        ),
    )
}

/// Apply one event at `now`. Errors leave the request untouched.
pub fn step(req: &Request, ev: &Event, now: Time) -> Result<Transition> {
    if req.state.is_terminal() {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            format!(
                "cannot {} request {}: it is {}, and a {} request never changes again",
                ev.name(),
                req.id,
                req.state,
                req.state
            ),
        ));
    }
    // Deadlines are decided from stored times, whether or not a timer fired.
    if req.state.is_undecided() && now >= req.expires_at && *ev != Event::Expire {
        return Err(Error::new(
            ErrorCode::RequestExpired,
            format!(
                "request {} expired at {} without a decision",
                req.id,
                rfc3339(req.expires_at)
            ),
        ));
    }
    if req.state == State::Approved && *ev != Event::Complete {
        if let Some(end) = req.access_ends_at.filter(|end| now >= *end) {
            return Err(Error::new(
                ErrorCode::InvalidTransition,
                format!(
                    "cannot {} request {}: its access window ended at {}",
                    ev.name(),
                    req.id,
                    rfc3339(end)
                ),
            ));
        }
    }

    let mut r = req.clone();
    let mut fx = Vec::new();
    match (req.state, ev) {
        (State::AwaitingProvider, Event::ProviderApprove { manager, comment }) => {
            let manager = required("manager", manager, limits::NAME)?;
            if same_person(&manager, &req.requester) {
                return Err(Error::new(
                    ErrorCode::SelfApproval,
                    format!("{manager} filed request {} and cannot approve it", req.id),
                ));
            }
            if req.has_decided(Level::Provider, &manager) {
                return Err(Error::new(
                    ErrorCode::AlreadyDecided,
                    format!(
                        "{manager} has already approved request {} for the provider",
                        req.id
                    ),
                ));
            }
            let comment = optional_text("comment", comment.as_deref(), limits::COMMENT)?;
            r.decisions.push(Decision {
                level: Level::Provider,
                actor: manager.clone(),
                kind: DecisionKind::Approve,
                comment: comment.clone(),
                duration_s: None,
                at: now,
            });
            let have = r.approvals(Level::Provider).count() as u32;
            fx.push(audit(
                &r,
                Operation::ProviderApproved,
                Actor::provider(manager),
                now,
                json!({ "comment": comment, "approvals": have, "required": r.provider_approvals_required }),
            ));
            if have >= r.provider_approvals_required {
                pass_provider_level(&mut r, &mut fx, now);
            }
        }
        (
            State::Pending,
            Event::Approve {
                approver,
                role,
                comment,
                duration_s,
            },
        ) => {
            let approver = required("approver", approver, limits::NAME)?;
            need_customer(*role, &approver, &req.tenant)?;
            if same_person(&approver, &req.requester) {
                return Err(Error::new(
                    ErrorCode::SelfApproval,
                    format!("{approver} filed request {} and cannot approve it", req.id),
                ));
            }
            if req.has_decided(Level::Customer, &approver) {
                return Err(Error::new(
                    ErrorCode::AlreadyDecided,
                    format!("{approver} has already decided request {}", req.id),
                ));
            }
            if let Some(d) = duration_s {
                if *d <= 0 || *d > req.requested_duration_s {
                    return Err(Error::input(format!(
                        "the granted duration must be positive and at most the requested {}",
                        crate::duration::format_duration(req.requested_duration_s)
                    )));
                }
            }
            let comment = optional_text("comment", comment.as_deref(), limits::COMMENT)?;
            r.decisions.push(Decision {
                level: Level::Customer,
                actor: approver.clone(),
                kind: DecisionKind::Approve,
                comment: comment.clone(),
                duration_s: *duration_s,
                at: now,
            });
            let have = r.approvals(Level::Customer).count() as u32;
            let final_approval = have >= r.approvals_required;
            if final_approval {
                // The shortest duration any approver granted wins.
                let granted = r
                    .approvals(Level::Customer)
                    .filter_map(|d| d.duration_s)
                    .chain(std::iter::once(r.requested_duration_s))
                    .min()
                    .unwrap_or(r.requested_duration_s);
                grant(&mut r, granted, now);
            }
            fx.push(audit(
                &r,
                Operation::Approved,
                Actor::customer(approver),
                now,
                json!({
                    "comment": comment, "duration_s": duration_s,
                    "approvals": have, "required": r.approvals_required,
                    "final": final_approval,
                    "granted_duration_s": r.granted_duration_s,
                    "access_ends_at": r.access_ends_at.map(rfc3339),
                }),
            ));
        }
        (
            State::Pending,
            Event::Reject {
                approver,
                role,
                comment,
            },
        ) => {
            let approver = required("approver", approver, limits::NAME)?;
            need_customer(*role, &approver, &req.tenant)?;
            if req.has_decided(Level::Customer, &approver) {
                return Err(Error::new(
                    ErrorCode::AlreadyDecided,
                    format!("{approver} has already decided request {}", req.id),
                ));
            }
            let comment = optional_text("comment", comment.as_deref(), limits::COMMENT)?;
            r.decisions.push(Decision {
                level: Level::Customer,
                actor: approver.clone(),
                kind: DecisionKind::Reject,
                comment: comment.clone(),
                duration_s: None,
                at: now,
            });
            r.state = State::Rejected;
            r.closed_at = Some(now);
            fx.push(audit(
                &r,
                Operation::Rejected,
                Actor::customer(approver),
                now,
                json!({ "comment": comment }),
            ));
        }
        (State::AwaitingProvider | State::Pending, Event::Cancel { by, comment }) => {
            let by = required("engineer", by, limits::NAME)?;
            if !same_person(&by, &req.requester) {
                return Err(Error::not_permitted(format!(
                    "only the requester ({}) may cancel request {}, not {by}",
                    req.requester, req.id
                )));
            }
            let comment = optional_text("comment", comment.as_deref(), limits::COMMENT)?;
            r.decisions.push(Decision {
                level: Level::Provider,
                actor: by.clone(),
                kind: DecisionKind::Cancel,
                comment: comment.clone(),
                duration_s: None,
                at: now,
            });
            r.state = State::Canceled;
            r.closed_at = Some(now);
            fx.push(audit(
                &r,
                Operation::Canceled,
                Actor::provider(by),
                now,
                json!({ "comment": comment }),
            ));
        }
        (State::Approved, Event::Revoke { by, role, comment }) => {
            let by = required("approver", by, limits::NAME)?;
            need_customer(*role, &by, &req.tenant)?;
            let comment = optional_text("comment", comment.as_deref(), limits::COMMENT)?;
            r.decisions.push(Decision {
                level: Level::Customer,
                actor: by.clone(),
                kind: DecisionKind::Revoke,
                comment: comment.clone(),
                duration_s: None,
                at: now,
            });
            r.state = State::Revoked;
            r.closed_at = Some(now);
            fx.push(audit(
                &r,
                Operation::Revoked,
                Actor::customer(by),
                now,
                json!({ "comment": comment, "access_was_to_end_at": req.access_ends_at.map(rfc3339) }),
            ));
        }
        (State::AwaitingProvider | State::Pending, Event::Expire) => {
            if now < req.expires_at {
                return Err(Error::new(
                    ErrorCode::InvalidTransition,
                    format!(
                        "request {} does not expire until {}",
                        req.id,
                        rfc3339(req.expires_at)
                    ),
                ));
            }
            r.state = State::Expired;
            r.closed_at = Some(req.expires_at);
            fx.push(audit(
                &r,
                Operation::Expired,
                Actor::system(),
                req.expires_at,
                json!({ "deadline": rfc3339(req.expires_at), "unanswered_in": req.state.as_str() }),
            ));
            fx.push(Effect::Notify(Notice::Expired));
        }
        (State::Approved, Event::Complete) => {
            let Some(end) = req.access_ends_at.filter(|end| now >= *end) else {
                return Err(Error::new(
                    ErrorCode::InvalidTransition,
                    format!("request {}'s access window has not ended", req.id),
                ));
            };
            r.state = State::Completed;
            r.closed_at = Some(end);
            fx.push(audit(
                &r,
                Operation::Completed,
                Actor::system(),
                end,
                json!({ "deadline": rfc3339(end) }),
            ));
            fx.push(Effect::Notify(Notice::AccessEnded));
        }
        _ => return Err(illegal(req, ev)),
    }
    Ok(Transition {
        request: r,
        effects: fx,
    })
}

/// The event due at `now`, if time alone changes the request.
pub fn due_event(req: &Request, now: Time) -> Option<Event> {
    match req.state {
        State::AwaitingProvider | State::Pending if now >= req.expires_at => Some(Event::Expire),
        State::Approved if req.access_ends_at.is_some_and(|e| now >= e) => Some(Event::Complete),
        _ => None,
    }
}

/// "Is access allowed now?" — from stored deadlines only.
pub fn access(req: &Request, now: Time) -> AccessDecision {
    let deny = |reason: String| AccessDecision {
        allowed: false,
        ends_at: req.access_ends_at,
        reason,
    };
    match req.state {
        State::Approved => match req.access_ends_at {
            Some(end) if now < end => AccessDecision {
                allowed: true,
                ends_at: Some(end),
                reason: format!(
                    "approved; access ends at {} ({} left)",
                    rfc3339(end),
                    crate::duration::format_duration((end - now).num_seconds().max(1))
                ),
            },
            Some(end) => deny(format!("the access window ended at {}", rfc3339(end))),
            None => deny("approved without an access window".into()),
        },
        State::AwaitingProvider => deny("awaiting the provider manager's approval".into()),
        State::Pending if now >= req.expires_at => deny(format!(
            "expired at {} without a decision",
            rfc3339(req.expires_at)
        )),
        State::Pending => deny("awaiting the customer's approval".into()),
        State::Completed => deny("the access window has ended".into()),
        State::Rejected => deny("the customer rejected the request".into()),
        State::Expired => deny("the request expired without a decision".into()),
        State::Canceled => deny("the requester canceled the request".into()),
        State::Revoked => deny("the customer revoked access".into()),
    }
}
