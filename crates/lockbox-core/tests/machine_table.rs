//! Table-driven tests of the pure state machine: every (state, event) pair,
//! before and after the request's deadline.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::machine::{self, Effect, Event, Notice};
use lockbox_core::model::*;
use lockbox_core::{ErrorCode, Time};

fn t0() -> Time {
    Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap()
}

fn settings() -> Settings {
    Settings {
        approvals_required: 1,
        provider_approvals_required: 1,
        ..Settings::default()
    }
}

fn new_request() -> NewRequest {
    NewRequest {
        engineer: "eng".into(),
        case: "SR-1".into(),
        workload: "Exchange".into(),
        resource: "mbx".into(),
        reason: "fix".into(),
        duration_s: Some(3600),
    }
}

/// A request in `state`, filed at t0 (expires t0+12h); approved ones at t0+1h (ends t0+2h).
fn request_in(state: State) -> Request {
    let mut r = machine::create("r1".into(), "default", &new_request(), &settings(), t0())
        .unwrap()
        .request;
    let at = t0() + Duration::hours(1);
    match state {
        State::AwaitingProvider => {}
        State::Pending => r.state = State::Pending,
        State::Approved => {
            r.state = State::Approved;
            r.approved_at = Some(at);
            r.granted_duration_s = Some(3600);
            r.access_ends_at = Some(at + Duration::hours(1));
        }
        terminal => {
            r.state = terminal;
            r.closed_at = Some(at);
        }
    }
    r
}

fn events() -> Vec<Event> {
    vec![
        Event::ProviderApprove {
            manager: "mgr".into(),
            comment: None,
        },
        Event::Approve {
            approver: "alice".into(),
            role: Some(Role::Approver),
            comment: None,
            duration_s: None,
        },
        Event::Reject {
            approver: "alice".into(),
            role: Some(Role::Approver),
            comment: Some("no".into()),
        },
        Event::Cancel {
            by: "eng".into(),
            comment: None,
        },
        Event::Revoke {
            by: "alice".into(),
            role: Some(Role::Admin),
            comment: None,
        },
        Event::Expire,
        Event::Complete,
    ]
}

type Expect = Result<State, ErrorCode>;

fn expected_before_deadline(state: State, ev: &str) -> Expect {
    use ErrorCode::*;
    use State::*;
    match (state, ev) {
        (AwaitingProvider, "provider-approve") => Ok(Pending),
        (AwaitingProvider | Pending, "cancel") => Ok(Canceled),
        (Pending, "approve") => Ok(Approved),
        (Pending, "reject") => Ok(Rejected),
        (Approved, "revoke") => Ok(Revoked),
        // Deadline events before the deadline are refused.
        (AwaitingProvider | Pending, "expire") => Err(InvalidTransition),
        (Approved, "complete") => Err(InvalidTransition),
        _ => Err(InvalidTransition),
    }
}

fn expected_after_deadline(state: State, ev: &str) -> Expect {
    use ErrorCode::*;
    use State::*;
    match (state, ev) {
        (AwaitingProvider | Pending, "expire") => Ok(Expired),
        (AwaitingProvider | Pending, _) => Err(RequestExpired),
        (Approved, "complete") => Ok(Completed),
        _ => Err(InvalidTransition),
    }
}

fn run_table(
    now_for: impl Fn(&Request) -> Time,
    expected: impl Fn(State, &str) -> Expect,
) -> usize {
    let mut checked = 0;
    for &state in State::ALL {
        let req = request_in(state);
        for ev in events() {
            let got = machine::step(&req, &ev, now_for(&req));
            let want = expected(state, ev.name());
            match (&got, &want) {
                (Ok(t), Ok(s)) => {
                    assert_eq!(t.request.state, *s, "{state} + {}", ev.name());
                    assert!(
                        t.effects.iter().any(|e| matches!(e, Effect::Audit(_))),
                        "{state} + {} audits",
                        ev.name()
                    );
                    assert_eq!(t.request.id, req.id);
                }
                (Err(e), Err(code)) => {
                    assert_eq!(e.code, *code, "{state} + {}: {}", ev.name(), e.message)
                }
                _ => panic!("{state} + {}: got {got:?}, want {want:?}", ev.name()),
            }
            checked += 1;
        }
    }
    checked
}

#[test]
fn every_state_event_pair_before_deadlines() {
    let n = run_table(|_| t0() + Duration::minutes(90), expected_before_deadline);
    assert_eq!(n, State::ALL.len() * 7);
}

#[test]
fn every_state_event_pair_after_deadlines() {
    // Past both the request's expiry (t0+12h) and any access end (t0+2h).
    let n = run_table(|_| t0() + Duration::hours(13), expected_after_deadline);
    assert_eq!(n, State::ALL.len() * 7);
}

#[test]
fn terminal_states_never_change() {
    for &s in State::ALL.iter().filter(|s| s.is_terminal()) {
        let req = request_in(s);
        for ev in events() {
            for now in [t0(), t0() + Duration::days(2)] {
                let e = machine::step(&req, &ev, now).unwrap_err();
                assert_eq!(e.code, ErrorCode::InvalidTransition, "{s} + {}", ev.name());
                assert!(e.message.contains("never changes"), "{}", e.message);
            }
        }
    }
}

#[test]
fn self_approval_is_refused_at_both_levels() {
    let req = request_in(State::AwaitingProvider);
    let e = machine::step(
        &req,
        &Event::ProviderApprove {
            manager: "eng".into(),
            comment: None,
        },
        t0(),
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::SelfApproval);
    let req = request_in(State::Pending);
    let ev = Event::Approve {
        approver: "eng".into(),
        role: Some(Role::Admin),
        comment: None,
        duration_s: None,
    };
    assert_eq!(
        machine::step(&req, &ev, t0()).unwrap_err().code,
        ErrorCode::SelfApproval
    );
}

#[test]
fn only_customer_users_decide() {
    let req = request_in(State::Pending);
    for ev in [
        Event::Approve {
            approver: "mallory".into(),
            role: None,
            comment: None,
            duration_s: None,
        },
        Event::Reject {
            approver: "mallory".into(),
            role: None,
            comment: None,
        },
    ] {
        assert_eq!(
            machine::step(&req, &ev, t0()).unwrap_err().code,
            ErrorCode::NotPermitted
        );
    }
    let approved = request_in(State::Approved);
    let ev = Event::Revoke {
        by: "mallory".into(),
        role: None,
        comment: None,
    };
    assert_eq!(
        machine::step(&approved, &ev, t0() + Duration::minutes(61))
            .unwrap_err()
            .code,
        ErrorCode::NotPermitted
    );
}

#[test]
fn only_the_requester_cancels() {
    let req = request_in(State::Pending);
    let e = machine::step(
        &req,
        &Event::Cancel {
            by: "other".into(),
            comment: None,
        },
        t0(),
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotPermitted);
}

#[test]
fn quorum_of_two_needs_two_distinct_approvers_and_grants_the_shortest() {
    let s = Settings {
        approvals_required: 2,
        ..settings()
    };
    let mut req = machine::create("q".into(), "default", &new_request(), &s, t0())
        .unwrap()
        .request;
    req.state = State::Pending;
    let a = |who: &str, d: Option<i64>| Event::Approve {
        approver: who.into(),
        role: Some(Role::Approver),
        comment: None,
        duration_s: d,
    };
    let now = t0() + Duration::minutes(5);
    let one = machine::step(&req, &a("alice", Some(1800)), now).unwrap();
    assert_eq!(
        one.request.state,
        State::Pending,
        "one of two approvals is not enough"
    );
    assert_eq!(
        machine::step(&one.request, &a("alice", None), now)
            .unwrap_err()
            .code,
        ErrorCode::AlreadyDecided
    );
    let two = machine::step(&one.request, &a("bob", None), now).unwrap();
    assert_eq!(two.request.state, State::Approved);
    assert_eq!(two.request.granted_duration_s, Some(1800));
    assert_eq!(two.request.approved_at, Some(now));
    assert_eq!(
        two.request.access_ends_at,
        Some(now + Duration::seconds(1800))
    );
}

#[test]
fn one_reject_rejects_even_after_an_approval() {
    let s = Settings {
        approvals_required: 2,
        ..settings()
    };
    let mut req = machine::create("q".into(), "default", &new_request(), &s, t0())
        .unwrap()
        .request;
    req.state = State::Pending;
    let one = machine::step(
        &req,
        &Event::Approve {
            approver: "alice".into(),
            role: Some(Role::Approver),
            comment: None,
            duration_s: None,
        },
        t0(),
    )
    .unwrap();
    let rej = machine::step(
        &one.request,
        &Event::Reject {
            approver: "bob".into(),
            role: Some(Role::Approver),
            comment: None,
        },
        t0(),
    )
    .unwrap();
    assert_eq!(rej.request.state, State::Rejected);
}

#[test]
fn granted_duration_cannot_exceed_requested() {
    let req = request_in(State::Pending);
    let ev = Event::Approve {
        approver: "alice".into(),
        role: Some(Role::Approver),
        comment: None,
        duration_s: Some(7200),
    };
    assert_eq!(
        machine::step(&req, &ev, t0()).unwrap_err().code,
        ErrorCode::InvalidInput
    );
}

#[test]
fn filing_checks_duration_and_fields() {
    let long = NewRequest {
        duration_s: Some(5 * 3600),
        ..new_request()
    };
    assert_eq!(
        machine::create("x".into(), "d", &long, &settings(), t0())
            .unwrap_err()
            .code,
        ErrorCode::DurationTooLong
    );
    let empty = NewRequest {
        case: "  ".into(),
        ..new_request()
    };
    assert_eq!(
        machine::create("x".into(), "d", &empty, &settings(), t0())
            .unwrap_err()
            .code,
        ErrorCode::InvalidInput
    );
    let default = NewRequest {
        duration_s: None,
        ..new_request()
    };
    let t = machine::create("x".into(), "d", &default, &settings(), t0()).unwrap();
    assert_eq!(
        t.request.requested_duration_s,
        4 * 3600,
        "defaults to the maximum"
    );
    assert_eq!(t.request.expires_at, t0() + Duration::hours(12));
}

#[test]
fn lockbox_off_auto_approves_after_the_provider_level() {
    let s = Settings {
        lockbox_enabled: false,
        ..settings()
    };
    let req = machine::create("x".into(), "d", &new_request(), &s, t0())
        .unwrap()
        .request;
    assert_eq!(req.state, State::AwaitingProvider);
    let t = machine::step(
        &req,
        &Event::ProviderApprove {
            manager: "mgr".into(),
            comment: None,
        },
        t0(),
    )
    .unwrap();
    assert_eq!(t.request.state, State::Approved);
    let ops: Vec<_> = t.audits().map(|a| a.operation).collect();
    assert_eq!(
        ops,
        vec![Operation::ProviderApproved, Operation::AutoApproved]
    );
    // With no provider level either, filing alone approves.
    let s0 = Settings {
        provider_approvals_required: 0,
        ..s
    };
    let t = machine::create("y".into(), "d", &new_request(), &s0, t0()).unwrap();
    assert_eq!(t.request.state, State::Approved);
}

#[test]
fn deadline_transitions_carry_the_deadline_as_effective_time_and_notify() {
    let req = request_in(State::Pending);
    let late = t0() + Duration::hours(20);
    let t = machine::step(&req, &Event::Expire, late).unwrap();
    let a = t.audits().next().unwrap();
    assert_eq!(a.at, req.expires_at);
    assert_eq!(t.request.closed_at, Some(req.expires_at));
    assert!(t.effects.contains(&Effect::Notify(Notice::Expired)));
    let appr = request_in(State::Approved);
    let t = machine::step(&appr, &Event::Complete, late).unwrap();
    assert_eq!(t.audits().next().unwrap().at, appr.access_ends_at.unwrap());
    assert!(t.effects.contains(&Effect::Notify(Notice::AccessEnded)));
}

#[test]
fn access_is_computed_from_stored_deadlines() {
    let r = request_in(State::Approved);
    let end = r.access_ends_at.unwrap();
    assert!(machine::access(&r, end - Duration::milliseconds(1)).allowed);
    assert!(
        !machine::access(&r, end).allowed,
        "access ends exactly at access_ends_at"
    );
    for &s in State::ALL.iter().filter(|s| **s != State::Approved) {
        assert!(
            !machine::access(&request_in(s), t0() + Duration::minutes(61)).allowed,
            "{s}"
        );
    }
}
