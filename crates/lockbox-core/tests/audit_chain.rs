//! Audit log: the chain verifies; edits, deletions, swaps and forged appends
//! (with the triggers dropped, as an attacker with the file would) are
//! detected and the first bad sequence number is named.

#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use lockbox_core::model::NewRequest;
use lockbox_core::Principal;
use lockbox_core::{Engine, ManualClock};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The instant every store here is written and verified at: fixed, so that
/// nothing expires between writing and verifying, whatever the real date.
fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap()
}

fn build_store(dir: &Path) -> PathBuf {
    let path = dir.join("lockbox.db");
    let mut e = Engine::open(&path, Arc::new(ManualClock::new(t0())), "root").unwrap();
    for i in 0..4 {
        let r = e
            .file_request(
                "default",
                &NewRequest {
                    engineer: format!("eng{i}"),
                    case: format!("SR-{i}"),
                    workload: "Teams".into(),
                    resource: "team".into(),
                    reason: "r".into(),
                    duration_s: None,
                },
            )
            .unwrap();
        e.provider_approve("default", &r.id, "mgr", None).unwrap();
    }
    // tenant_added, user_added, receipt_key_created, then 2 per request.
    assert_eq!(e.audit_head("default").unwrap().0, 11);
    path
}

fn verify(path: &Path) -> lockbox_core::audit::VerifyOutcome {
    let mut e = Engine::open(path, Arc::new(ManualClock::new(t0())), "root").unwrap();
    e.verify_audit().unwrap()
}

fn tamper(sql: &str) -> Option<(i64, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = build_store(dir.path());
    assert!(verify(&path).ok());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .unwrap();
    c.execute_batch(sql).unwrap();
    drop(c);
    verify(&path).first_bad
}

#[test]
fn an_intact_chain_verifies_with_its_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = build_store(dir.path());
    let v = verify(&path);
    assert!(v.ok());
    assert_eq!(v.entries, 11);
    let head: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT hash FROM audit_log WHERE seq = 11", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(v.head_of("default").map(|h| &h.hash), Some(&head));
}

#[test]
fn triggers_refuse_update_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let path = build_store(dir.path());
    let c = rusqlite::Connection::open(&path).unwrap();
    let e = c
        .execute("UPDATE audit_log SET actor = 'x' WHERE seq = 3", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = c
        .execute("DELETE FROM audit_log WHERE seq = 3", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    drop(c);
    assert!(verify(&path).ok());
}

#[test]
fn editing_details_is_detected_at_that_entry() {
    let bad =
        tamper("UPDATE audit_log SET details = '{\"comment\":\"nothing to see\"}' WHERE seq = 5")
            .unwrap();
    assert_eq!(bad.0, 5, "{bad:?}");
    assert!(bad.1.contains("edited"), "{}", bad.1);
}

#[test]
fn editing_a_time_or_actor_is_detected() {
    assert_eq!(
        tamper("UPDATE audit_log SET at = at - 1000 WHERE seq = 7")
            .unwrap()
            .0,
        7
    );
    assert_eq!(
        tamper("UPDATE audit_log SET actor = 'mallory' WHERE seq = 4")
            .unwrap()
            .0,
        4
    );
}

#[test]
fn deleting_an_entry_is_detected_at_its_place() {
    let bad = tamper("DELETE FROM audit_log WHERE seq = 6").unwrap();
    assert_eq!(bad.0, 6, "{bad:?}");
}

#[test]
fn swapping_two_entries_is_detected_at_the_first() {
    // Swap every column but the sequence number between entries 4 and 5.
    let cols = "at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash";
    let sql = format!(
        "CREATE TEMP TABLE a AS SELECT {cols} FROM audit_log WHERE seq = 4;
         CREATE TEMP TABLE b AS SELECT {cols} FROM audit_log WHERE seq = 5;
         DELETE FROM audit_log WHERE seq IN (4, 5);
         INSERT INTO audit_log (seq, {cols}) SELECT 4, * FROM b;
         INSERT INTO audit_log (seq, {cols}) SELECT 5, * FROM a;"
    );
    assert_eq!(tamper(&sql).unwrap().0, 4);
}

#[test]
fn a_forged_append_is_detected() {
    let sql = "INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash)
               SELECT 12, at, recorded_at, tenant, actor_kind, 'mallory', 'approved', request_id, '{}', hash, 'f00d'
               FROM audit_log WHERE seq = 11";
    let bad = tamper(sql).unwrap();
    assert_eq!(bad.0, 12);
}

/// The change feed learns from the log which tenants changed and whether a
/// settings change was among it (it tells the admin center's pages so).
#[test]
fn audit_changes_name_the_tenants_and_settings_changes() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap(),
    ));
    let mut e = lockbox_core::testing::engine(clock.clone(), "root").unwrap();
    let start = e.audit_changes_since(None).unwrap();
    assert!(start.tenants.is_empty() && !start.truncated);
    let now = e.audit_changes_since(Some(start.head)).unwrap();
    assert_eq!(now, start, "nothing new");
    let new = NewRequest {
        engineer: "eng".into(),
        case: "SR-1".into(),
        workload: "Teams".into(),
        resource: "team".into(),
        reason: "r".into(),
        duration_s: None,
    };
    e.file_request("default", &new).unwrap();
    let c = e.audit_changes_since(Some(start.head)).unwrap();
    assert_eq!(c.head, start.head + 1);
    assert_eq!(c.tenants, ["default".to_string()].into());
    assert!(
        c.settings_tenants.is_empty(),
        "a request is not a settings change"
    );
    assert!(!c.expiries_only, "a filed request is someone's change");
    e.set_setting("default", &Principal::os_user("root", 0), "lockbox", "off")
        .unwrap();
    let c2 = e.audit_changes_since(Some(c.head)).unwrap();
    assert_eq!(c2.settings_tenants, ["default".to_string()].into());
    assert!(!c2.expiries_only);
    let nothing = e.audit_changes_since(Some(c2.head)).unwrap();
    assert!(nothing.tenants.is_empty());
    assert!(nothing.expiries_only, "no entries: nobody's change");
    // The request, unanswered, reaches its deadline: a change nobody made.
    clock.advance(chrono::Duration::hours(13));
    assert_eq!(e.apply_due().unwrap().len(), 1);
    let c3 = e.audit_changes_since(Some(c2.head)).unwrap();
    assert_eq!(c3.head, c2.head + 1);
    assert_eq!(c3.tenants, ["default".to_string()].into());
    assert!(c3.expiries_only);
    // With someone's change among them, no longer.
    e.file_request("default", &new).unwrap();
    assert!(!e.audit_changes_since(Some(c2.head)).unwrap().expiries_only);
}

/// A team server's feed (`feed::Follower`): one person hears only the
/// tenants they are a user of, read again at every look, so being added to
/// or removed from one is heard at the entry that did it.
#[test]
fn a_follower_hears_only_its_persons_tenants_read_again_at_every_look() {
    use lockbox_core::dto::LockboxEventKind::*;
    use lockbox_core::feed::Follower;
    use lockbox_core::model::Role;
    let clock = Arc::new(ManualClock::new(t0()));
    let mut e = lockbox_core::testing::engine(clock, "root").unwrap();
    let root = Principal::os_user("root", 0);
    e.add_tenant("default", &root, "t2", "Tenant 2").unwrap();
    e.add_user("default", &root, "ana@x.example", Role::Approver, None)
        .unwrap();
    let ana = Principal::verified_oidc("https://id.example", "s1", "ana@x.example").unwrap();
    let new = NewRequest {
        engineer: "eng".into(),
        case: "SR-1".into(),
        workload: "Teams".into(),
        resource: "team".into(),
        reason: "r".into(),
        duration_s: None,
    };
    let mut f = Follower::new(ana, None);
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    let kinds = |l: &lockbox_core::feed::Look| {
        l.events
            .iter()
            .map(|e| (e.kind, e.tenant.clone().unwrap()))
            .collect::<Vec<_>>()
    };
    let first = f.next(&mut e).unwrap();
    assert_eq!(first.scope, Some(set(&["default"])));
    assert!(
        first.events.is_empty(),
        "a first look without a position finds where the log is"
    );
    assert_eq!(first.head, e.audit_len().unwrap());

    e.file_request("t2", &new).unwrap();
    let l = f.next(&mut e).unwrap();
    assert_eq!((l.scope.clone(), kinds(&l)), (None, vec![]), "not hers");
    assert_eq!(l.head, first.head + 1, "but the position moves on");
    e.file_request("default", &new).unwrap();
    let l = f.next(&mut e).unwrap();
    assert_eq!(
        kinds(&l),
        [
            (RequestsChanged, "default".into()),
            (AuditAppended, "default".into())
        ]
    );

    e.add_user("t2", &root, "ana@x.example", Role::Approver, None)
        .unwrap();
    let l = f.next(&mut e).unwrap();
    assert_eq!(l.scope, Some(set(&["default", "t2"])));
    assert_eq!(
        kinds(&l),
        [
            (RequestsChanged, "t2".into()),
            (AuditAppended, "t2".into()),
            (SettingsChanged, "t2".into())
        ]
    );
    e.remove_user("t2", &root, "ana@x.example").unwrap();
    e.file_request("t2", &new).unwrap();
    let l = f.next(&mut e).unwrap();
    assert_eq!(
        (l.scope.clone(), kinds(&l)),
        (Some(set(&["default"])), vec![])
    );

    // Resuming from a position reports what came after it.
    let mut again = Follower::new(f.who().clone(), Some(first.head));
    let l = again.next(&mut e).unwrap();
    assert_eq!(l.scope, Some(set(&["default"])));
    assert_eq!(
        kinds(&l),
        [
            (RequestsChanged, "default".into()),
            (AuditAppended, "default".into())
        ]
    );
}
