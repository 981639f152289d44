//! Decision receipts written by the engine: one per decision, signed with the
//! store's key, naming the audit head at that point; verifiable offline.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::model::NewRequest;
use lockbox_core::Principal;
use lockbox_core::{receipts, Engine, ManualClock};
use std::sync::Arc;

fn new_request() -> NewRequest {
    NewRequest {
        engineer: "eng".into(),
        case: "SR-9".into(),
        workload: "Teams".into(),
        resource: "team".into(),
        reason: "r".into(),
        duration_s: Some(3600),
    }
}

#[test]
fn every_decision_gets_a_signed_receipt_with_the_audit_head() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap());
    let mut e = Engine::open(
        &dir.path().join("lockbox.db"),
        Arc::new(clock.clone()),
        "root",
    )
    .unwrap();
    let pk = receipts::parse_public_key(&e.public_key()).unwrap();
    let a = e.file_request("default", &new_request()).unwrap();
    e.provider_approve("default", &a.id, "mgr", None).unwrap();
    assert!(
        e.receipts("default", &a.id).unwrap().is_empty(),
        "no decision yet"
    );
    e.approve(
        "default",
        &a.id,
        &Principal::os_user("root", 0),
        Some("ok"),
        None,
    )
    .unwrap();
    let head = e.audit_head("default").unwrap();
    e.revoke("default", &a.id, &Principal::os_user("root", 0), None)
        .unwrap();
    let rs = e.receipts("default", &a.id).unwrap();
    assert_eq!(
        rs.iter()
            .map(|(r, _)| r.decision.as_str())
            .collect::<Vec<_>>(),
        ["approved", "revoked"]
    );
    let body = receipts::verify(&rs[0].1, &pk).unwrap();
    assert_eq!(body["request_id"], a.id.as_str());
    assert_eq!(body["audit_head"]["seq"], head.0);
    assert_eq!(body["audit_head"]["hash"], head.1.unwrap().as_str());
    assert_eq!(body["deciders"].as_array().unwrap().len(), 2);
    assert!(receipts::verify(&rs[1].1, &pk).is_ok());
    // Expiry and auto-approval are decisions too.
    let b = e.file_request("default", &new_request()).unwrap();
    clock.advance(Duration::hours(13));
    e.apply_due().unwrap();
    assert_eq!(
        e.receipts("default", &b.id).unwrap()[0].0.decision,
        "expired"
    );
    e.set_setting("default", &Principal::os_user("root", 0), "lockbox", "off")
        .unwrap();
    let c = e.file_request("default", &new_request()).unwrap();
    e.provider_approve("default", &c.id, "mgr", None).unwrap();
    let (_, text) = e.receipts("default", &c.id).unwrap().pop().unwrap();
    assert_eq!(
        receipts::verify(&text, &pk).unwrap()["decision"],
        "auto_approved"
    );
    // The same store reopened signs with the same key.
    drop(e);
    let e2 = Engine::open(&dir.path().join("lockbox.db"), Arc::new(clock), "root").unwrap();
    assert!(receipts::verify(
        &text,
        &receipts::parse_public_key(&e2.public_key()).unwrap()
    )
    .is_ok());
}

/// An expiry writes no receipt row (a sweep of thousands stays cheap); the
/// receipt is derived when asked for, from the expired request and its expiry
/// entry, and is the same bytes every time, across processes.
#[test]
fn expiry_receipts_are_derived_the_same_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap());
    let mut e = Engine::open(&db, Arc::new(clock.clone()), "root").unwrap();
    let pk = receipts::parse_public_key(&e.public_key()).unwrap();
    let a = e.file_request("default", &new_request()).unwrap();
    e.provider_approve("default", &a.id, "mgr", None).unwrap();
    let b = e.file_request("default", &new_request()).unwrap();
    clock.advance(Duration::hours(13));
    assert_eq!(e.apply_due().unwrap().len(), 2);
    let stored: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM receipts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 0, "the sweep writes no receipts");
    // Later entries about the request (a refused access) change nothing.
    let _ = e.log_access("default", &a.id, "eng", "read mailbox");
    let (row, text) = e.receipts("default", &a.id).unwrap().pop().unwrap();
    assert_eq!(row.decision, "expired");
    let body = receipts::verify(&text, &pk).unwrap();
    assert_eq!(body["decision"], "expired");
    assert_eq!(body["request_id"], a.id.as_str());
    assert_eq!(
        body["deciders"].as_array().unwrap().len(),
        1,
        "the provider approval"
    );
    // The chain's head right after the expiry: that expiry's own entry.
    let entry = e
        .audit_page(
            "default",
            &lockbox_core::store::AuditQuery {
                request_id: Some(a.id.clone()),
                operation: Some("expired".into()),
                ..Default::default()
            },
        )
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(body["audit_head"]["seq"], entry.seq);
    assert_eq!(body["audit_head"]["hash"], entry.hash.as_str());
    assert_eq!(
        body["issued_at"],
        lockbox_core::clock::rfc3339(entry.recorded_at)
    );
    // Same bytes on every read, after more writes, and from another process.
    e.file_request("default", &new_request()).unwrap();
    assert_eq!(e.receipts("default", &a.id).unwrap().pop().unwrap().1, text);
    drop(e);
    let mut e2 = Engine::open(&db, Arc::new(clock), "root").unwrap();
    assert_eq!(
        e2.receipts("default", &a.id).unwrap().pop().unwrap().1,
        text
    );
    let (_, tb) = e2.receipts("default", &b.id).unwrap().pop().unwrap();
    assert_ne!(tb, text);
    assert!(receipts::verify(&tb, &pk).is_ok());
}
