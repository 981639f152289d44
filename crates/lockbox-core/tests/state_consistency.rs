//! `audit verify` checks the stored requests against the audit log, not only
//! the chain: a row edited by hand (state, deadlines, decisions, receipts, a
//! deleted or invented request) keeps the chain intact but is named — request,
//! field, stored and audited value. An untouched store with every kind of
//! history verifies clean.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::audit::VerifyOutcome;
use lockbox_core::clock::{from_millis, rfc3339, to_millis};
use lockbox_core::model::{NewRequest, Role, State};
use lockbox_core::Principal;
use lockbox_core::{Engine, ManualClock, Time};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Fixture {
    dir: tempfile::TempDir,
    path: PathBuf,
    /// When the store was left (the clock of every later open).
    now: Time,
    /// Request ids by what happened to them.
    ids: BTreeMap<&'static str, String>,
}

fn new_request(engineer: &str, duration_s: Option<i64>) -> NewRequest {
    NewRequest {
        engineer: engineer.into(),
        case: "SR-1".into(),
        workload: "Exchange Online".into(),
        resource: "Mailbox: cfo@contoso.example".into(),
        reason: "Mail flow broken".into(),
        duration_s,
    }
}

/// A store with every kind of history, in three tenants.
fn build() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lockbox.db");
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap());
    let mut e = Engine::open(&path, Arc::new(clock.clone()), "root").unwrap();
    let mut ids = BTreeMap::new();
    let d = "default";
    let tick = |c: &ManualClock| c.advance(Duration::seconds(30));
    // Left to expire: one awaiting the provider, one pending.
    let r = e.file_request(d, &new_request("eng1", None)).unwrap();
    ids.insert("expired_awaiting", r.id);
    let r = e.file_request(d, &new_request("eng2", None)).unwrap();
    e.provider_approve(d, &r.id, "mgr", Some("fine")).unwrap();
    ids.insert("expired_pending", r.id);
    clock.advance(Duration::hours(13));
    assert_eq!(e.apply_due().unwrap().len(), 2);

    e.add_user(
        d,
        &Principal::os_user("root", 0),
        "alice",
        Role::Approver,
        None,
    )
    .unwrap();
    // Approved, used, revoked.
    let r = e.file_request(d, &new_request("eng3", Some(3600))).unwrap();
    e.provider_approve(d, &r.id, "mgr", None).unwrap();
    tick(&clock);
    e.approve(
        d,
        &r.id,
        &Principal::os_user("alice", 0),
        Some("ok"),
        Some(600),
    )
    .unwrap();
    e.log_access(d, &r.id, "eng3", "Read message trace")
        .unwrap();
    tick(&clock);
    e.revoke(d, &r.id, &Principal::os_user("root", 0), Some("done"))
        .unwrap();
    ids.insert("revoked", r.id);
    // Approved for a minute, completed by the sweep.
    let r = e.file_request(d, &new_request("eng4", Some(60))).unwrap();
    e.provider_approve(d, &r.id, "mgr", None).unwrap();
    e.approve(d, &r.id, &Principal::os_user("root", 0), None, None)
        .unwrap();
    clock.advance(Duration::minutes(2));
    e.apply_due().unwrap();
    ids.insert("completed", r.id);
    // Rejected, canceled.
    let r = e.file_request(d, &new_request("eng5", None)).unwrap();
    e.provider_approve(d, &r.id, "mgr", None).unwrap();
    e.reject(d, &r.id, &Principal::os_user("alice", 0), Some("no"))
        .unwrap();
    ids.insert("rejected", r.id);
    let r = e.file_request(d, &new_request("eng6", None)).unwrap();
    e.cancel(d, &r.id, "eng6", Some("fixed")).unwrap();
    ids.insert("canceled", r.id);

    // Lockbox off: auto-approved after the provider, and at filing with no provider level.
    e.add_tenant(d, &Principal::os_user("root", 0), "auto", "Auto")
        .unwrap();
    e.set_setting("auto", &Principal::os_user("root", 0), "lockbox", "off")
        .unwrap();
    let r = e.file_request("auto", &new_request("eng7", None)).unwrap();
    let r = e.provider_approve("auto", &r.id, "mgr", None).unwrap();
    assert_eq!(r.state, State::Approved);
    ids.insert("auto_after_provider", r.id);
    e.set_setting(
        "auto",
        &Principal::os_user("root", 0),
        "provider-approvals-required",
        "0",
    )
    .unwrap();
    let r = e
        .file_request("auto", &new_request("eng8", Some(1800)))
        .unwrap();
    assert_eq!(r.state, State::Approved);
    ids.insert("auto_at_filing", r.id);

    // Quorum of two: approved by both (the shorter duration wins), rejected after one.
    e.add_tenant(d, &Principal::os_user("root", 0), "quorum", "Quorum")
        .unwrap();
    e.set_setting(
        "quorum",
        &Principal::os_user("root", 0),
        "approvals-required",
        "2",
    )
    .unwrap();
    e.add_user(
        "quorum",
        &Principal::os_user("root", 0),
        "alice",
        Role::Approver,
        None,
    )
    .unwrap();
    let r = e
        .file_request("quorum", &new_request("eng9", None))
        .unwrap();
    e.provider_approve("quorum", &r.id, "mgr", None).unwrap();
    e.approve(
        "quorum",
        &r.id,
        &Principal::os_user("alice", 0),
        None,
        Some(1800),
    )
    .unwrap();
    tick(&clock);
    let r = e
        .approve(
            "quorum",
            &r.id,
            &Principal::os_user("root", 0),
            Some("both"),
            None,
        )
        .unwrap();
    assert_eq!(r.granted_duration_s, Some(1800));
    ids.insert("quorum_approved", r.id);
    let r = e
        .file_request("quorum", &new_request("eng10", None))
        .unwrap();
    e.provider_approve("quorum", &r.id, "mgr", None).unwrap();
    e.approve("quorum", &r.id, &Principal::os_user("alice", 0), None, None)
        .unwrap();
    e.reject("quorum", &r.id, &Principal::os_user("root", 0), None)
        .unwrap();
    ids.insert("quorum_rejected", r.id);
    let r = e
        .file_request("quorum", &new_request("eng11", None))
        .unwrap();
    e.provider_approve("quorum", &r.id, "mgr", None).unwrap();
    e.approve("quorum", &r.id, &Principal::os_user("alice", 0), None, None)
        .unwrap();
    ids.insert("quorum_half", r.id);

    // Still open: pending (also with no provider level), approved, awaiting the provider.
    e.set_setting(
        d,
        &Principal::os_user("root", 0),
        "provider-approvals-required",
        "0",
    )
    .unwrap();
    let r = e.file_request(d, &new_request("eng12", None)).unwrap();
    assert_eq!(r.state, State::Pending);
    ids.insert("pending_at_filing", r.id);
    e.set_setting(
        d,
        &Principal::os_user("root", 0),
        "provider-approvals-required",
        "1",
    )
    .unwrap();
    let r = e.file_request(d, &new_request("eng13", None)).unwrap();
    e.provider_approve(d, &r.id, "mgr", None).unwrap();
    ids.insert("pending", r.id);
    let r = e.file_request(d, &new_request("eng14", None)).unwrap();
    e.provider_approve(d, &r.id, "mgr", None).unwrap();
    tick(&clock);
    e.approve(d, &r.id, &Principal::os_user("root", 0), Some("go"), None)
        .unwrap();
    ids.insert("approved", r.id);
    let r = e.file_request(d, &new_request("eng15", None)).unwrap();
    ids.insert("awaiting", r.id);
    let now = e.now();
    drop(e);
    Fixture {
        dir,
        path,
        now,
        ids,
    }
}

impl Fixture {
    fn id(&self, what: &str) -> &str {
        &self.ids[what]
    }

    fn open(&self, path: &Path) -> Engine {
        Engine::open(path, Arc::new(ManualClock::new(self.now)), "root").unwrap()
    }

    fn verify(&self, path: &Path) -> VerifyOutcome {
        self.open(path).verify_audit().unwrap()
    }

    /// A copy of the store with `sql` run on it (as anyone with the file could).
    fn tampered(&self, sql: &str) -> VerifyOutcome {
        let copy = self.dir.path().join(format!("t{}.db", fastrand_name()));
        std::fs::copy(&self.path, &copy).unwrap();
        let c = rusqlite::Connection::open(&copy).unwrap();
        c.execute_batch(sql).unwrap();
        drop(c);
        self.verify(&copy)
    }
}

fn fastrand_name() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The chain is intact (what `audit verify` reported before) yet verify fails
/// and names `id`'s `field`.
fn assert_named(v: &VerifyOutcome, id: &str, field: &str) -> (String, String) {
    assert!(!v.ok(), "tampering went unnoticed: {v:?}");
    assert_eq!(v.first_bad, None, "the chain itself is intact");
    let d = v.first_disagreement.clone().unwrap();
    eprintln!("named: {d}");
    assert_eq!(
        (d.request_id.as_str(), d.field.as_str()),
        (id, field),
        "{d}"
    );
    (d.stored, d.audited)
}

fn ms(t: Time) -> i64 {
    to_millis(t)
}

#[test]
fn an_untouched_store_with_every_kind_of_history_verifies_clean() {
    let f = build();
    let v = f.verify(&f.path);
    assert!(v.ok(), "{v:?}");
    assert_eq!(v.first_disagreement, None);
    assert_eq!(v.requests, f.ids.len() as u64);
    // The same in memory (one connection, no worker thread).
    let mut e = f.open(&f.path);
    let states: Vec<String> = f
        .ids
        .values()
        .map(|id| {
            let t = e.request_tenant(id).unwrap().unwrap();
            e.request(&t, id).unwrap().state.to_string()
        })
        .collect();
    for s in [
        "expired",
        "revoked",
        "completed",
        "rejected",
        "canceled",
        "approved",
        "pending",
        "awaiting_provider",
    ] {
        assert!(states.iter().any(|x| x == s), "no {s} request: {states:?}");
    }
}

#[test]
fn state_flipped_to_approved_is_named() {
    let f = build();
    let id = f.id("pending");
    let v = f.tampered(&format!(
        "UPDATE requests SET state = 'approved', approved_at = 1, access_ends_at = 9999999999999 WHERE id = '{id}'"
    ));
    assert_eq!(
        assert_named(&v, id, "state"),
        ("approved".into(), "pending".into())
    );
}

#[test]
fn access_window_moved_later_is_named() {
    let f = build();
    let id = f.id("approved");
    let c = rusqlite::Connection::open(&f.path).unwrap();
    let end: i64 = c
        .query_row(
            "SELECT access_ends_at FROM requests WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    drop(c);
    let later = end + 24 * 3_600_000;
    let v = f.tampered(&format!(
        "UPDATE requests SET access_ends_at = {later}, deadline_at = {later} WHERE id = '{id}'"
    ));
    assert_eq!(
        assert_named(&v, id, "access_ends_at"),
        (rfc3339(from_millis(later)), rfc3339(from_millis(end)))
    );
    // Only the sweep's deadline moved: named too (the request would never be completed).
    let v = f.tampered(&format!(
        "UPDATE requests SET deadline_at = {later} WHERE id = '{id}'"
    ));
    assert_named(&v, id, "deadline_at");
    // A longer granted duration, or an expiry moved later.
    let v = f.tampered(&format!(
        "UPDATE requests SET granted_duration_s = 86400 WHERE id = '{id}'"
    ));
    assert_named(&v, id, "granted_duration_s");
    let id = f.id("pending");
    let v = f.tampered(&format!(
        "UPDATE requests SET expires_at = expires_at + 3600000, deadline_at = deadline_at + 3600000 WHERE id = '{id}'"
    ));
    assert_named(&v, id, "expires_at");
}

#[test]
fn a_decision_row_added_or_removed_is_named() {
    let f = build();
    // A forged second approval on a quorum request with one.
    let id = f.id("quorum_half");
    let v = f.tampered(&format!(
        "INSERT INTO decisions (request_id, idx, level, actor, decision, comment, duration_s, at)
         VALUES ('{id}', 2, 'customer', 'mallory', 'approve', NULL, NULL, {})",
        ms(f.now)
    ));
    let (stored, audited) = assert_named(&v, id, "decisions[2]");
    assert!(
        stored.starts_with("customer approve by mallory at "),
        "{stored}"
    );
    assert_eq!(audited, "(none)");
    // The customer's approval removed from an approved request.
    let id = f.id("approved");
    let v = f.tampered(&format!(
        "DELETE FROM decisions WHERE request_id = '{id}' AND idx = 1"
    ));
    let (stored, audited) = assert_named(&v, id, "decisions[1]");
    assert_eq!(stored, "(none)");
    assert!(
        audited.starts_with("customer approve by root at ") && audited.contains("\"go\""),
        "{audited}"
    );
    // An approver's name edited.
    let v = f.tampered(&format!(
        "UPDATE decisions SET actor = 'alice' WHERE request_id = '{id}' AND idx = 1"
    ));
    assert_named(&v, id, "decisions[1]");
}

#[test]
fn a_deleted_or_invented_request_is_named() {
    let f = build();
    let id = f.id("revoked");
    let v = f.tampered(&format!(
        "DELETE FROM receipts WHERE request_id = '{id}';
         DELETE FROM decisions WHERE request_id = '{id}';
         DELETE FROM notices WHERE request_id = '{id}';
         DELETE FROM requests WHERE id = '{id}';"
    ));
    let (stored, audited) = assert_named(&v, id, "request");
    assert_eq!(stored, "missing");
    assert!(audited.starts_with("revoked (filed at #"), "{audited}");
    // A request that was never filed, inserted as approved.
    let fake = "00000000-0000-7000-8000-000000000000";
    let v = f.tampered(&format!(
        "INSERT INTO requests SELECT '{fake}', tenant, 'approved', case_number, workload, resource, reason,
            requester, requested_duration_s, 86400, created_at, expires_at, created_at, created_at + 86400000,
            NULL, approvals_required, provider_approvals_required, lockbox_required, created_at + 86400000
         FROM requests WHERE id = '{}'",
        f.id("approved")
    ));
    let (stored, audited) = assert_named(&v, fake, "request");
    assert_eq!(
        (stored.as_str(), audited.as_str()),
        ("approved (filed by eng14)", "never filed (no entries)")
    );
}

#[test]
fn an_altered_receipt_is_named() {
    let f = build();
    let id = f.id("approved");
    // A longer granted window in the signed body.
    let v = f.tampered(&format!(
        "UPDATE receipts SET body = json_set(body, '$.granted_window.to', '2027-01-01T00:00:00Z') WHERE request_id = '{id}'"
    ));
    let (stored, audited) = assert_named(&v, id, "receipts[0].granted_window");
    assert!(
        stored.contains("2027-01-01T00:00:00Z") && !audited.contains("2027-01-01"),
        "{stored} / {audited}"
    );
    // The decision column of the row.
    let id = f.id("rejected");
    let v = f.tampered(&format!(
        "UPDATE receipts SET decision = 'approved' WHERE request_id = '{id}'"
    ));
    assert_eq!(
        assert_named(&v, id, "receipts[0].decision (row)"),
        ("approved".into(), "rejected".into())
    );
    // A receipt copied onto another request.
    let v = f.tampered(&format!(
        "INSERT INTO receipts (request_id, tenant, decision, body, signature, created_at)
         SELECT '{}', tenant, decision, body, signature, created_at FROM receipts WHERE request_id = '{id}'",
        f.id("pending")
    ));
    assert_named(&v, f.id("pending"), "receipts[0].audit_head.seq");
}

#[test]
fn a_transition_decided_on_a_tampered_state_is_named_after_the_state_is_put_back() {
    let f = build();
    let id = f.id("awaiting").to_string();
    let copy = f.dir.path().join("history.db");
    std::fs::copy(&f.path, &copy).unwrap();
    let sql = |s: &str| {
        rusqlite::Connection::open(&copy)
            .unwrap()
            .execute_batch(s)
            .unwrap()
    };
    // Skip the provider's manager, let the customer approve, then hide it:
    // every row is put back as it was, only the audit log remembers.
    sql(&format!(
        "UPDATE requests SET state = 'pending' WHERE id = '{id}'"
    ));
    {
        let mut e = f.open(&copy);
        e.approve("default", &id, &Principal::os_user("alice", 0), None, None)
            .unwrap();
    }
    sql(&format!(
        "UPDATE requests SET state = 'awaiting_provider', granted_duration_s = NULL, approved_at = NULL,
            access_ends_at = NULL, deadline_at = expires_at WHERE id = '{id}';
         DELETE FROM decisions WHERE request_id = '{id}';
         DELETE FROM receipts WHERE request_id = '{id}';"
    ));
    let v = f.verify(&copy);
    let (stored, audited) = assert_named(&v, &id, "history");
    assert!(stored.ends_with("(approved)"), "{stored}");
    assert!(audited.contains("awaiting_provider"), "{audited}");
}

#[test]
fn the_policy_snapshot_is_checked() {
    let f = build();
    let id = f.id("quorum_half");
    let v = f.tampered(&format!(
        "UPDATE requests SET approvals_required = 1 WHERE id = '{id}'"
    ));
    assert_eq!(
        assert_named(&v, id, "approvals_required"),
        ("1".into(), "2".into())
    );
    let id = f.id("pending");
    let v = f.tampered(&format!(
        "UPDATE requests SET lockbox_required = 0 WHERE id = '{id}'"
    ));
    assert_named(&v, id, "lockbox_required");
}

#[test]
fn the_first_disagreement_is_the_first_request_in_id_order() {
    let f = build();
    let (a, b) = (f.id("pending"), f.id("approved"));
    let first = a.min(b);
    let v = f.tampered(&format!(
        "UPDATE requests SET reason = 'edited' WHERE id IN ('{a}', '{b}')"
    ));
    assert_named(&v, first, "reason");
}

#[test]
fn expiry_receipts_stored_by_older_versions_verify_clean() {
    // Before expiry receipts were derived on request, the sweep stored them:
    // the very receipt `Engine::receipts` derives now.
    let f = build();
    let copy = f.dir.path().join("old.db");
    std::fs::copy(&f.path, &copy).unwrap();
    let mut e = f.open(&copy);
    let id = f.id("expired_pending");
    let (row, _) = e.receipts("default", id).unwrap().remove(0);
    assert_eq!(row.decision, "expired");
    e.store()
        .write(|tx| tx.insert_receipt(&row).map(|_| ()))
        .unwrap();
    let v = e.verify_audit().unwrap();
    assert!(v.ok(), "{v:?}");
    // Such a receipt, altered, is named like any other.
    drop(e);
    let c = rusqlite::Connection::open(&copy).unwrap();
    c.execute(
        "UPDATE receipts SET body = json_set(body, '$.closed_at', '2030-01-01T00:00:00Z') WHERE request_id = ?1",
        [id],
    )
    .unwrap();
    drop(c);
    assert_named(&f.verify(&copy), id, "receipts[0].closed_at");
}
