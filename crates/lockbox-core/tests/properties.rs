//! Property test: random operation sequences against a real (in-memory)
//! store with a controllable clock. After every step the safety rules hold.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::model::*;
use lockbox_core::store::RequestQuery;
use lockbox_core::Principal;
use lockbox_core::{Engine, ErrorCode, ManualClock};
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

/// Provider people (eng1 is also a manager; eng0 is also a customer approver).
const ENGINEERS: [&str; 2] = ["eng0", "eng1"];
const MANAGERS: [&str; 2] = ["mgr", "eng1"];
/// Customer side: admin, two approvers, the engineer eng0 (approver), and a stranger.
const DECIDERS: [&str; 5] = ["admin", "alice", "bob", "eng0", "mallory"];

#[derive(Debug, Clone)]
enum Op {
    File {
        engineer: usize,
        duration_min: i64,
    },
    ProviderApprove {
        req: usize,
        manager: usize,
    },
    Approve {
        req: usize,
        who: usize,
        duration_min: Option<i64>,
    },
    Reject {
        req: usize,
        who: usize,
    },
    Cancel {
        req: usize,
        engineer: usize,
    },
    Revoke {
        req: usize,
        who: usize,
    },
    LogAccess {
        req: usize,
        engineer: usize,
    },
    Advance {
        minutes: i64,
    },
    SetLockbox(bool),
    SetApprovals(u32),
    SetProviderApprovals(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, 1..300i64).prop_map(|(engineer, duration_min)| Op::File { engineer, duration_min }),
        3 => (0..8usize, 0..2usize).prop_map(|(req, manager)| Op::ProviderApprove { req, manager }),
        4 => (0..8usize, 0..5usize, proptest::option::of(1..240i64)).prop_map(|(req, who, duration_min)| Op::Approve { req, who, duration_min }),
        1 => (0..8usize, 0..5usize).prop_map(|(req, who)| Op::Reject { req, who }),
        1 => (0..8usize, 0..2usize).prop_map(|(req, engineer)| Op::Cancel { req, engineer }),
        1 => (0..8usize, 0..5usize).prop_map(|(req, who)| Op::Revoke { req, who }),
        2 => (0..8usize, 0..2usize).prop_map(|(req, engineer)| Op::LogAccess { req, engineer }),
        3 => (1..400i64).prop_map(|minutes| Op::Advance { minutes }),
        1 => any::<bool>().prop_map(Op::SetLockbox),
        1 => (1..3u32).prop_map(Op::SetApprovals),
        1 => (0..3u32).prop_map(Op::SetProviderApprovals),
    ]
}

fn setup() -> (Engine, ManualClock) {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap());
    let mut e = lockbox_core::testing::engine(Arc::new(clock.clone()), "admin").unwrap();
    for (u, r) in [
        ("alice", Role::Approver),
        ("bob", Role::Approver),
        ("eng0", Role::Approver),
    ] {
        e.add_user("default", &Principal::os_user("admin", 0), u, r, None)
            .unwrap();
    }
    (e, clock)
}

fn check_invariants(e: &mut Engine, seen_terminal: &mut HashMap<String, State>) {
    let now = e.now();
    let page = e
        .list_requests(
            "default",
            &RequestQuery {
                limit: 1000,
                ..Default::default()
            },
        )
        .unwrap();
    for r in &page.items {
        // Terminal states never change.
        if let Some(prev) = seen_terminal.get(&r.id) {
            assert_eq!(*prev, r.state, "terminal request {} changed", r.id);
        }
        if r.state.is_terminal() {
            seen_terminal.insert(r.id.clone(), r.state);
        }
        // No request is past its deadline once the engine has looked at it.
        if let Some(d) = r.deadline() {
            assert!(now < d, "request {} is {} past its deadline", r.id, r.state);
        }
        let access = e.check_access("default", &r.id).unwrap();
        if access.allowed {
            assert_eq!(r.state, State::Approved);
            let approved_at = r.approved_at.unwrap();
            let end = r.access_ends_at.unwrap();
            assert!(now < end, "access after access_ends_at");
            assert!(approved_at < r.expires_at, "approved after expires_at");
            assert!(
                (end - approved_at).num_seconds() <= r.requested_duration_s,
                "grant longer than requested"
            );
            // Every required approval is there, by distinct people other than the requester.
            let prov: Vec<_> = r
                .approvals(Level::Provider)
                .map(|d| d.actor.clone())
                .collect();
            assert!(prov.len() as u32 >= r.provider_approvals_required);
            assert!(!prov.contains(&r.requester), "provider self-approval");
            if r.lockbox_required {
                let cust: Vec<_> = r
                    .approvals(Level::Customer)
                    .map(|d| d.actor.clone())
                    .collect();
                assert!(
                    cust.len() as u32 >= r.approvals_required,
                    "access without quorum"
                );
                assert!(!cust.contains(&r.requester), "customer self-approval");
                let mut dedup = cust.clone();
                dedup.sort();
                dedup.dedup();
                assert_eq!(dedup.len(), cust.len(), "an approver counted twice");
                assert!(cust.iter().all(|c| c != "mallory"), "a non-user approved");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_keep_the_rules(ops in proptest::collection::vec(op(), 1..60)) {
        let (mut e, clock) = setup();
        let mut ids: Vec<String> = Vec::new();
        let mut seen_terminal = HashMap::new();
        let pick = |ids: &Vec<String>, i: usize| ids.get(i % ids.len().max(1)).cloned();
        for op in &ops {
            match op {
                Op::File { engineer, duration_min } => {
                    let new = NewRequest {
                        engineer: ENGINEERS[*engineer].into(),
                        case: format!("SR-{}", ids.len()),
                        workload: "Exchange".into(),
                        resource: "mbx".into(),
                        reason: "debug".into(),
                        duration_s: Some(duration_min * 60),
                    };
                    match e.file_request("default", &new) {
                        Ok(r) => ids.push(r.id),
                        Err(err) => prop_assert_eq!(err.code, ErrorCode::DurationTooLong),
                    }
                }
                Op::ProviderApprove { req, manager } => {
                    let Some(id) = pick(&ids, *req) else { continue };
                    let before = e.request("default", &id).unwrap();
                    let res = e.provider_approve("default", &id, MANAGERS[*manager], None);
                    if MANAGERS[*manager] == before.requester {
                        prop_assert!(res.is_err(), "provider self-approval worked");
                    }
                }
                Op::Approve { req, who, duration_min } => {
                    let Some(id) = pick(&ids, *req) else { continue };
                    let before = e.request("default", &id).unwrap();
                    let res = e.approve("default", &id, &Principal::os_user(DECIDERS[*who], 0), None, duration_min.map(|m| m * 60));
                    if DECIDERS[*who] == before.requester && before.state == State::Pending {
                        prop_assert_eq!(res.unwrap_err().code, ErrorCode::SelfApproval);
                    } else if DECIDERS[*who] == "mallory" {
                        prop_assert!(res.is_err(), "a stranger approved");
                    }
                }
                Op::Reject { req, who } => {
                    if let Some(id) = pick(&ids, *req) { let _ = e.reject("default", &id, &Principal::os_user(DECIDERS[*who], 0), Some("no")); }
                }
                Op::Cancel { req, engineer } => {
                    if let Some(id) = pick(&ids, *req) { let _ = e.cancel("default", &id, ENGINEERS[*engineer], None); }
                }
                Op::Revoke { req, who } => {
                    if let Some(id) = pick(&ids, *req) { let _ = e.revoke("default", &id, &Principal::os_user(DECIDERS[*who], 0), None); }
                }
                Op::LogAccess { req, engineer } => {
                    let Some(id) = pick(&ids, *req) else { continue };
                    let allowed_before = e.check_access("default", &id).unwrap().allowed;
                    let res = e.log_access("default", &id, ENGINEERS[*engineer], "read");
                    if res.is_ok() {
                        prop_assert!(allowed_before, "an action was allowed without a valid grant");
                    } else {
                        prop_assert_eq!(res.unwrap_err().code, ErrorCode::AccessDenied);
                    }
                }
                Op::Advance { minutes } => clock.advance(Duration::minutes(*minutes)),
                Op::SetLockbox(on) => { e.set_setting("default", &Principal::os_user("admin", 0), "lockbox", if *on { "on" } else { "off" }).unwrap(); }
                Op::SetApprovals(n) => { e.set_setting("default", &Principal::os_user("admin", 0), "approvals-required", &n.to_string()).unwrap(); }
                Op::SetProviderApprovals(n) => { e.set_setting("default", &Principal::os_user("admin", 0), "provider-approvals-required", &n.to_string()).unwrap(); }
            }
            check_invariants(&mut e, &mut seen_terminal);
        }
        prop_assert!(e.verify_audit().unwrap().ok());
    }
}
