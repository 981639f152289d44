//! When the engine signs checkpoints: at every decision receipt, and at
//! least hourly while entries arrive (at open and on scheduler ticks), never
//! for a chain that did not grow; and a checkpoint verifies with nothing but
//! the public key.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::model::NewRequest;
use lockbox_core::store::CheckpointRow;
use lockbox_core::{checkpoint, receipts, scheduler::Scheduler, Engine, ManualClock, Principal};
use std::sync::Arc;

fn req(case: &str) -> NewRequest {
    NewRequest {
        engineer: "eng".into(),
        case: case.into(),
        workload: "Teams".into(),
        resource: "team".into(),
        reason: "r".into(),
        duration_s: Some(3600),
    }
}

fn checkpoints(e: &mut Engine) -> Vec<CheckpointRow> {
    e.store()
        .read(|tx| tx.checkpoints(Some("default"), 1000))
        .unwrap()
}

#[test]
fn checkpoints_at_decisions_and_hourly_while_entries_arrive() {
    let mut ticker = Scheduler::default();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap());
    // The test run's backend (LOCKBOX_TEST_BACKEND: SQLite, or PostgreSQL).
    let mut e = lockbox_core::testing::engine(Arc::new(clock.clone()), "root").unwrap();
    // Opening a store with entries signs the first checkpoint of its chain.
    let first = checkpoints(&mut e);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].entries, e.audit_head("default").unwrap().0);

    // Entries arrive; within the hour a tick signs nothing.
    let r = e.file_request("default", &req("SR-1")).unwrap();
    clock.advance(Duration::minutes(30));
    ticker.tick(&mut e).unwrap();
    assert_eq!(checkpoints(&mut e).len(), 1);
    // An hour after the last one, it does — once.
    clock.advance(Duration::minutes(31));
    ticker.tick(&mut e).unwrap();
    ticker.tick(&mut e).unwrap();
    let cps = checkpoints(&mut e);
    assert_eq!(cps.len(), 2);
    assert_eq!(cps[0].entries, e.audit_head("default").unwrap().0);
    // A chain that did not grow gets none, however long it waits.
    clock.advance(Duration::hours(5));
    ticker.tick(&mut e).unwrap();
    assert_eq!(checkpoints(&mut e).len(), 2);

    // A decision signs one in its own transaction, at the receipt's head.
    e.provider_approve("default", &r.id, "mgr", None).unwrap();
    e.approve("default", &r.id, &Principal::os_user("root", 0), None, None)
        .unwrap();
    let cps = checkpoints(&mut e);
    assert_eq!(cps.len(), 3);
    let receipt: serde_json::Value =
        serde_json::from_str(&e.receipts("default", &r.id).unwrap()[0].0.body).unwrap();
    assert_eq!(receipt["audit_head"]["seq"], cps[0].entries);
    assert_eq!(receipt["audit_head"]["hash"], cps[0].head_hash.as_str());

    // The file text verifies with the public key alone; another key fails.
    let text = checkpoint::text(&cps[0].body, &cps[0].signature);
    let claims = checkpoint::parse(&text).unwrap();
    let pk = receipts::parse_public_key(&e.public_key()).unwrap();
    assert!(claims[0].signed_by(&pk));
    let other = receipts::Signer::ephemeral().unwrap();
    let other = receipts::parse_public_key(&other.public_key()).unwrap();
    assert!(!claims[0].signed_by(&other));
    let body: serde_json::Value = serde_json::from_str(&cps[0].body).unwrap();
    for key in ["at", "entries", "head_hash", "key_id", "store_id", "tenant"] {
        assert!(!body[key].is_null(), "{key} in {body}");
    }
    let checks = e.check_claims(&text, Some(&pk)).unwrap();
    assert_eq!(checks[0].problem, None);
    let checks = e.check_claims(&text, Some(&other)).unwrap();
    assert!(checks[0]
        .problem
        .as_deref()
        .unwrap()
        .contains("does not verify"));
}
