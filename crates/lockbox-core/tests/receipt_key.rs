//! The receipt signing key's life: its creation is audited (with its id, in
//! every tenant), a missing key of a store that has signed is not silently
//! replaced, a swapped or group/other-readable key is refused, and a rotation
//! is explicit (an admin) and audited with the old and new key ids.

#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use lockbox_core::model::{NewRequest, Role};
use lockbox_core::store::AuditQuery;
use lockbox_core::Principal;
use lockbox_core::{receipts, Engine, ErrorCode, ManualClock};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap())
}

fn open(db: &Path) -> lockbox_core::Result<Engine> {
    Engine::open(db, Arc::new(clock()), "root")
}

/// The error of an open that must fail (`Engine` is not `Debug`).
fn refused<T>(r: lockbox_core::Result<T>) -> lockbox_core::Error {
    match r {
        Ok(_) => panic!("the store was opened"),
        Err(e) => e,
    }
}

fn ops(e: &mut Engine, tenant: &str, op: &str) -> Vec<serde_json::Value> {
    let q = AuditQuery {
        operation: Some(op.into()),
        ..Default::default()
    };
    e.audit_page(tenant, &q)
        .unwrap()
        .iter()
        .map(|a| serde_json::from_str(&a.details).unwrap())
        .collect()
}

/// A store with one approved request (so one signed receipt); returns (dir, db, key file).
fn signed_store() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");
    let mut e = open(&db).unwrap();
    let r = e
        .file_request(
            "default",
            &NewRequest {
                engineer: "eng".into(),
                case: "SR-1".into(),
                workload: "Teams".into(),
                resource: "team".into(),
                reason: "r".into(),
                duration_s: Some(3600),
            },
        )
        .unwrap();
    e.provider_approve("default", &r.id, "mgr", None).unwrap();
    e.approve("default", &r.id, &Principal::os_user("root", 0), None, None)
        .unwrap();
    assert_eq!(e.receipts("default", &r.id).unwrap().len(), 1);
    let key = receipts::key_path_for(&db);
    (dir, db, key)
}

#[test]
fn a_new_key_is_audited_once_with_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lockbox.db");
    let mut e = open(&db).unwrap();
    let created = ops(&mut e, "default", "receipt_key_created");
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["key_id"], e.key_id().as_str());
    assert_eq!(created[0]["public_key"], e.public_key().as_str());
    assert_eq!(created[0]["existing"], false);
    drop(e);
    let mut e = open(&db).unwrap();
    assert_eq!(
        ops(&mut e, "default", "receipt_key_created").len(),
        1,
        "reopening records nothing new"
    );
    assert!(e.verify_audit().unwrap().ok());
}

#[test]
fn a_missing_key_of_a_store_that_signed_is_refused_not_recreated() {
    let (_dir, db, key) = signed_store();
    std::fs::remove_file(&key).unwrap();
    let err = refused(open(&db));
    assert_eq!(err.code, ErrorCode::StoreUnavailable);
    assert!(
        err.message.contains(&key.display().to_string())
            && err.message.contains("missing")
            && err.message.contains("lockbox receipt rotate-key"),
        "{}",
        err.message
    );
    assert!(!key.exists(), "no new key was written");
}

#[test]
fn an_older_store_with_receipts_but_no_recorded_key_is_refused_too() {
    // Stores from before keys were recorded: the receipts table is the evidence.
    let (_dir, db, key) = signed_store();
    std::fs::remove_file(&key).unwrap();
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute("DELETE FROM app_settings WHERE key = 'receipts.key_id'", [])
        .unwrap();
    drop(c);
    let err = refused(open(&db));
    assert!(err.message.contains("1 signed receipt"), "{}", err.message);
    assert!(!key.exists());
}

#[test]
fn an_existing_unrecorded_key_is_recorded_and_a_swapped_key_refused() {
    let (_dir, db, key) = signed_store();
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute("DELETE FROM app_settings WHERE key = 'receipts.key_id'", [])
        .unwrap();
    drop(c);
    // First seen: recorded as an existing key.
    let mut e = open(&db).unwrap();
    let created = ops(&mut e, "default", "receipt_key_created");
    assert_eq!(created.len(), 2);
    assert_eq!(created[0]["existing"], true, "{created:?}");
    let id = e.key_id();
    drop(e);
    // Someone replaces the key file with another key: refused, named.
    std::fs::remove_file(&key).unwrap();
    let other = receipts::Signer::create(&key).unwrap().0;
    let err = refused(open(&db));
    assert_eq!(err.code, ErrorCode::StoreUnavailable);
    assert!(
        err.message.contains(&other.key_id())
            && err.message.contains(&id)
            && err.message.contains(&key.display().to_string()),
        "{}",
        err.message
    );
}

#[cfg(unix)]
#[test]
fn a_key_file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, db, key) = signed_store();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = refused(open(&db));
    assert_eq!(err.code, ErrorCode::StoreUnavailable);
    assert!(
        err.message.contains("mode 644") && err.message.contains("chmod 600"),
        "{}",
        err.message
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    open(&db).unwrap();
}

#[test]
fn rotation_is_explicit_by_an_admin_and_audited_in_every_tenant() {
    let (_dir, db, key) = signed_store();
    let mut e = open(&db).unwrap();
    let old_id = e.key_id();
    e.add_tenant(
        "default",
        &Principal::os_user("root", 0),
        "fabrikam",
        "Fabrikam",
    )
    .unwrap();
    e.add_user(
        "default",
        &Principal::os_user("root", 0),
        "alice",
        Role::Approver,
        None,
    )
    .unwrap();
    drop(e);
    std::fs::remove_file(&key).unwrap();
    // An approver may not.
    let err = refused(Engine::open_rotating_receipt_key(
        &db,
        Arc::new(clock()),
        "default",
        &Principal::os_user("alice", 0),
    ));
    assert_eq!(err.code, ErrorCode::NotPermitted);
    assert!(!key.exists());
    let (mut e, previous) = Engine::open_rotating_receipt_key(
        &db,
        Arc::new(clock()),
        "default",
        &Principal::os_user("root", 0),
    )
    .unwrap();
    assert_eq!(previous.as_deref(), Some(old_id.as_str()));
    let new_id = e.key_id();
    assert_ne!(new_id, old_id);
    for tenant in ["default", "fabrikam"] {
        let rotated = ops(&mut e, tenant, "receipt_key_rotated");
        assert_eq!(rotated.len(), 1, "{tenant}");
        assert_eq!(rotated[0]["key_id"], new_id.as_str());
        assert_eq!(rotated[0]["previous_key_id"], old_id.as_str());
        assert_eq!(rotated[0]["public_key"], e.public_key().as_str());
    }
    assert!(e.verify_audit().unwrap().ok());
    drop(e);
    // From now on the new key opens normally.
    assert_eq!(open(&db).unwrap().key_id(), new_id);
}
