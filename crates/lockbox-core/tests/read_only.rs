//! Opening a store read-only (`Store::open_read_only`, `Engine::open_read_only`):
//! reads work on a copy without writing a byte or creating a file (no
//! `-wal`, `-shm`, receipt key), every use case that writes is refused with
//! `read_only`, a request whose deadline passed reads as it effectively is,
//! a copy of a live store is read with its WAL, and a store of another schema
//! version is refused with both versions named.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::engine::ApiSettings;
use lockbox_core::model::*;
use lockbox_core::store::{AuditQuery, RequestQuery, SmtpRow, Store, SCHEMA_VERSION};
use lockbox_core::{
    mail,
    scheduler::{self, Scheduler},
    Engine, ErrorCode, ManualClock, Principal, Result, Time,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn t0() -> Time {
    Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap()
}

fn root() -> Principal {
    Principal::os_user("root", 0)
}

fn new_request(case: &str, hours: i64) -> NewRequest {
    NewRequest {
        engineer: "eng".into(),
        case: case.into(),
        workload: "SharePoint".into(),
        resource: "/sites/x".into(),
        reason: "repair".into(),
        duration_s: Some(hours * 3600),
    }
}

/// The error of a call that must fail (`Engine` is not `Debug`).
fn refused<T>(r: Result<T>) -> lockbox_core::Error {
    match r {
        Ok(_) => panic!("it was not refused"),
        Err(e) => e,
    }
}

/// Ids by case number of the requests `built_store` made.
type Ids = BTreeMap<&'static str, String>;

/// When `built_store` reads its copy: after F's expiry and G's end of
/// access (t0+14h), before A's expiry (t0+25h) and B's end (t0+17h).
fn read_time() -> Time {
    t0() + Duration::hours(15)
}

/// A store (closed again, so its WAL is folded in and gone) with requests in
/// every state, written up to t0+13h:
/// E expired (swept), F pending until t0+14h, G approved until t0+14h,
/// A and I pending, P awaiting the provider, B approved until t0+17h,
/// C rejected, D canceled, H revoked.
fn built_store(dir: &Path) -> (PathBuf, Ids) {
    let db = dir.join("lockbox.db");
    let clock = Arc::new(ManualClock::new(t0()));
    let mut e = Engine::open(&db, clock.clone(), "root").unwrap();
    let mut ids = Ids::new();
    let pending = |e: &mut Engine, case: &'static str, ids: &mut Ids| {
        let r = e.file_request("default", &new_request(case, 4)).unwrap();
        e.provider_approve("default", &r.id, "mgr", None).unwrap();
        ids.insert(case, r.id.clone());
        r.id
    };
    pending(&mut e, "E", &mut ids);
    clock.set(t0() + Duration::hours(2));
    pending(&mut e, "F", &mut ids);
    clock.set(t0() + Duration::hours(13));
    assert_eq!(e.apply_due().unwrap().len(), 1, "E expires");
    pending(&mut e, "A", &mut ids);
    pending(&mut e, "I", &mut ids);
    let b = pending(&mut e, "B", &mut ids);
    e.approve("default", &b, &root(), Some("ok"), Some(4 * 3600))
        .unwrap();
    let g = pending(&mut e, "G", &mut ids);
    e.approve("default", &g, &root(), None, Some(3600)).unwrap();
    let c = pending(&mut e, "C", &mut ids);
    e.reject("default", &c, &root(), Some("no")).unwrap();
    let d = e.file_request("default", &new_request("D", 1)).unwrap();
    e.cancel("default", &d.id, "eng", None).unwrap();
    ids.insert("D", d.id);
    let p = e.file_request("default", &new_request("P", 4)).unwrap();
    ids.insert("P", p.id);
    let h = pending(&mut e, "H", &mut ids);
    e.approve("default", &h, &root(), None, None).unwrap();
    e.revoke("default", &h, &root(), Some("done")).unwrap();
    e.log_access("default", &b, "eng", "read a file").unwrap();
    e.issue_token("default", &root(), "provider", None).unwrap();
    drop(e);
    (db, ids)
}

/// Names, sizes, modes and modification times of the files in `dir`.
fn listing(dir: &Path) -> BTreeMap<String, (u64, u32, std::time::SystemTime)> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::read_dir(dir)
        .unwrap()
        .map(|f| {
            let f = f.unwrap();
            let m = f.metadata().unwrap();
            (
                f.file_name().to_string_lossy().into_owned(),
                (m.len(), m.permissions().mode(), m.modified().unwrap()),
            )
        })
        .collect()
}

/// A copy of `db` alone (an auditor's copy: no key file), mode 0444.
fn copy_of(db: &Path, dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let copy = dir.join("archive.db");
    std::fs::copy(db, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o444)).unwrap();
    copy
}

fn open_ro(db: &Path, at: Time) -> Engine {
    Engine::open_read_only(db, Arc::new(ManualClock::new(at))).unwrap()
}

#[test]
fn reading_a_copy_writes_nothing_and_creates_no_file() {
    let (src, copies) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (db, ids) = built_store(src.path());
    let copy = copy_of(&db, copies.path());
    let (bytes, files) = (std::fs::read(&copy).unwrap(), listing(copies.path()));
    assert_eq!(files.len(), 1, "{files:?}");

    let mut e = open_ro(&copy, read_time());
    assert!(e.is_read_only());
    assert!(e.store().is_read_only());
    let page = e
        .list_requests(
            "default",
            &RequestQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(page.items.len(), 10);
    let b = e.request("default", &ids["B"]).unwrap();
    assert_eq!(b.state, State::Approved);
    assert!(e.check_access("default", &ids["B"]).unwrap().allowed);
    assert!(!e.check_access("default", &ids["G"]).unwrap().allowed);
    let entries = e.audit_page("default", &AuditQuery::default()).unwrap();
    assert!(entries.len() > 20, "{}", entries.len());
    let mut n = 0;
    e.for_each_audit("default", &AuditQuery::default(), |_| {
        n += 1;
        Ok(())
    })
    .unwrap();
    assert!(n >= entries.len() as u64);
    // The chain in one pass and in worker ranges (each on its own connection).
    let one = e.verify_audit().unwrap();
    let four = e.store().verify_audit_in(4).unwrap();
    assert!(one.ok() && four.ok(), "{one:?} {four:?}");
    assert_eq!((one.entries, &one.heads), (four.entries, &four.heads));
    assert_eq!(one.requests, 10);
    assert_eq!(e.tenants().unwrap().len(), 1);
    assert_eq!(e.users("default").unwrap().len(), 1);
    assert_eq!(e.tokens("default").unwrap().len(), 1);
    e.settings("default").unwrap();
    e.home_stats("default").unwrap();
    e.count_by_state("default").unwrap();
    e.api_settings().unwrap();
    e.smtp("default").unwrap();
    e.email_deliveries("default", 10).unwrap();
    assert_eq!(e.receipts("default", &ids["B"]).unwrap().len(), 1);
    // The scheduler's tick sweeps and reminds nothing.
    let tick = Scheduler::default().tick(&mut e).unwrap();
    assert!(tick.swept.is_empty() && tick.reminders == 0);
    assert!(e.apply_due().unwrap().is_empty());

    // While it is open, and after: the same bytes, modes and files (no -wal,
    // -shm or receipt key appeared; no chmod, although 0444 is "too open").
    assert_eq!(listing(copies.path()), files);
    drop(e);
    assert_eq!(std::fs::read(&copy).unwrap(), bytes);
    assert_eq!(listing(copies.path()), files);
}

#[test]
fn every_use_case_that_writes_is_refused_and_changes_nothing() {
    let (src, copies) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (db, ids) = built_store(src.path());
    let copy = copy_of(&db, copies.path());
    let (bytes, files) = (std::fs::read(&copy).unwrap(), listing(copies.path()));
    let mut e = open_ro(&copy, read_time());
    let (a, b, f, i, p) = (&*ids["A"], &*ids["B"], &*ids["F"], &*ids["I"], &*ids["P"]);
    let smtp = SmtpRow {
        host: "smtp.example.com".into(),
        port: 587,
        security: "starttls".into(),
        username: None,
        password: None,
        from_address: "lockbox@example.com".into(),
    };
    type UseCase<'a> = Box<dyn Fn(&mut Engine) -> Result<()> + 'a>;
    // Every use case of the engine that writes, with arguments that a
    // writable store would accept (see `a_writable_store_accepts_them`).
    let cases: Vec<(&str, &str, UseCase)> = vec![
        (
            "file a request",
            "file_request",
            Box::new(|e| e.file_request("default", &new_request("N", 1)).map(drop)),
        ),
        (
            "approve a request as the provider",
            "provider_approve",
            Box::new(|e| e.provider_approve("default", p, "mgr", None).map(drop)),
        ),
        (
            "approve a request",
            "approve",
            Box::new(|e| e.approve("default", a, &root(), None, None).map(drop)),
        ),
        (
            "reject a request",
            "reject",
            Box::new(|e| e.reject("default", f, &root(), None).map(drop)),
        ),
        (
            "cancel a request",
            "cancel",
            Box::new(|e| e.cancel("default", i, "eng", None).map(drop)),
        ),
        (
            "record an action under a grant",
            "log_access",
            Box::new(|e| e.log_access("default", b, "eng", "read").map(drop)),
        ),
        (
            "revoke a request",
            "revoke",
            Box::new(|e| e.revoke("default", b, &root(), None).map(drop)),
        ),
        (
            "change settings",
            "set_setting",
            Box::new(|e| {
                e.set_setting("default", &root(), "approvals-required", "2")
                    .map(drop)
            }),
        ),
        (
            "change settings",
            "update_settings",
            Box::new(|e| {
                let s = Settings {
                    approvals_required: 2,
                    ..e.settings("default")?
                };
                e.update_settings("default", &root(), &s).map(drop)
            }),
        ),
        (
            "add a user",
            "add_user",
            Box::new(|e| {
                e.add_user("default", &root(), "ann", Role::Approver, None)
                    .map(drop)
            }),
        ),
        (
            "remove a user",
            "remove_user",
            Box::new(|e| e.remove_user("default", &root(), "root")),
        ),
        (
            "add a tenant",
            "add_tenant",
            Box::new(|e| e.add_tenant("default", &root(), "t2", "T2").map(drop)),
        ),
        (
            "issue a provider token",
            "issue_token",
            Box::new(|e| e.issue_token("default", &root(), "p2", None).map(drop)),
        ),
        (
            "revoke a provider token",
            "revoke_token",
            Box::new(|e| e.revoke_token("default", &root(), "provider").map(drop)),
        ),
        (
            "change the SMTP server",
            "set_smtp",
            Box::new(|e| e.set_smtp("default", &root(), Some(smtp.clone()))),
        ),
        (
            "change the SMTP server",
            "prepare_smtp",
            Box::new(|e| e.prepare_smtp("default", &root(), None).map(drop)),
        ),
        (
            "change the SMTP server",
            "save_smtp",
            Box::new(|e| e.save_smtp("default", &root(), None)),
        ),
        (
            "change the API settings",
            "set_api_settings",
            Box::new(|e| {
                let s = ApiSettings {
                    enabled: false,
                    ..e.api_settings()?
                };
                e.set_api_settings("default", &root(), &s).map(drop)
            }),
        ),
        (
            "record reminders",
            "add_due_reminders",
            Box::new(|e| e.add_due_reminders(t0() + Duration::hours(24)).map(drop)),
        ),
        (
            "claim notices",
            "claim_notices",
            Box::new(|e| scheduler::claim_notices(e, "os").map(drop)),
        ),
        (
            "claim notices",
            "mail::claim",
            Box::new(|e| mail::claim(e).map(drop)),
        ),
        (
            "record a notice's delivery",
            "finish_delivery",
            Box::new(|e| e.finish_delivery(1, "os", true, None)),
        ),
        (
            "remove a stored SMTP password",
            "scrub_smtp_password",
            Box::new(|e| e.store().scrub_smtp_password("default")),
        ),
        (
            "change it",
            "Store::write",
            Box::new(|e| e.store().write(|_| Ok(()))),
        ),
    ];
    let path = copy.display().to_string();
    for (what, name, case) in &cases {
        let err = refused(case(&mut e));
        assert_eq!(err.code, ErrorCode::ReadOnly, "{name}: {}", err.message);
        assert_eq!(
            err.message,
            format!("this store is open read-only ({path}): cannot {what}"),
            "{name}"
        );
    }
    // The demo seeds requests: refused too.
    assert_eq!(
        refused(lockbox_core::demo::seed(&mut e, "default")).code,
        ErrorCode::ReadOnly
    );
    drop(e);
    assert_eq!(std::fs::read(&copy).unwrap(), bytes);
    assert_eq!(listing(copies.path()), files);

    // The same calls succeed on a writable copy: the refusals above are the
    // read-only opening's, not bad arguments.
    let writable = copies.path().join("writable.db");
    std::fs::copy(&db, &writable).unwrap();
    std::fs::copy(
        lockbox_core::receipts::key_path_for(&db),
        lockbox_core::receipts::key_path_for(&writable),
    )
    .unwrap();
    let clock = Arc::new(ManualClock::new(t0() + Duration::hours(13)));
    let mut w = Engine::open(&writable, clock, "root").unwrap();
    for (_, name, case) in cases {
        // The keyring is not reachable here; the rest must pass.
        if matches!(
            name,
            "set_smtp" | "mail::claim" | "finish_delivery" | "remove_user"
        ) {
            continue;
        }
        case(&mut w).unwrap_or_else(|e| panic!("{name} on a writable store: {}", e.message));
    }
}

#[test]
fn a_request_past_its_deadline_reads_as_it_effectively_is() {
    let (src, copies) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (db, ids) = built_store(src.path());
    let copy = copy_of(&db, copies.path());
    let bytes = std::fs::read(&copy).unwrap();
    let mut e = open_ro(&copy, read_time());
    let f = e.request("default", &ids["F"]).unwrap();
    assert_eq!(f.state, State::Expired, "F expired at t0+14h");
    assert_eq!(f.closed_at, Some(f.expires_at));
    let g = e.request("default", &ids["G"]).unwrap();
    assert_eq!(g.state, State::Completed, "G's access ended at t0+14h");
    assert_eq!(g.closed_at, g.access_ends_at);
    assert_eq!(
        e.request("default", &ids["A"]).unwrap().state,
        State::Pending
    );
    assert_eq!(
        e.request("default", &ids["B"]).unwrap().state,
        State::Approved
    );
    let states: BTreeMap<String, State> = e
        .list_requests(
            "default",
            &RequestQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .unwrap()
        .items
        .into_iter()
        .map(|r| (r.case, r.state))
        .collect();
    let expect: BTreeMap<String, State> = [
        ("A", State::Pending),
        ("B", State::Approved),
        ("C", State::Rejected),
        ("D", State::Canceled),
        ("E", State::Expired),
        ("F", State::Expired),
        ("G", State::Completed),
        ("H", State::Revoked),
        ("I", State::Pending),
        ("P", State::AwaitingProvider),
    ]
    .into_iter()
    .map(|(c, s)| (c.to_string(), s))
    .collect();
    assert_eq!(states, expect);
    // A state filter: F and G are stored pending/approved but no longer are.
    let q = |states: Vec<State>| RequestQuery {
        states,
        limit: 100,
        ..Default::default()
    };
    let cases = |e: &mut Engine, states| -> Vec<String> {
        let mut v: Vec<String> = e
            .list_requests("default", &q(states))
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.case)
            .collect();
        v.sort();
        v
    };
    assert_eq!(cases(&mut e, vec![State::Pending]), ["A", "I"]);
    assert_eq!(cases(&mut e, vec![State::Approved]), ["B"]);
    // A decision on F is judged by its stored deadline, before any write.
    let err = refused(e.approve("default", &ids["F"], &root(), None, None));
    assert_eq!(err.code, ErrorCode::ReadOnly);
    drop(e);
    assert_eq!(std::fs::read(&copy).unwrap(), bytes, "nothing was swept");
    // Stored as it was: a writable opening sweeps F and G now.
    let clock = Arc::new(ManualClock::new(read_time()));
    let mut w = Engine::open(&db, clock, "root").unwrap();
    assert_eq!(w.apply_due().unwrap().len(), 0, "swept on opening");
    assert_eq!(
        w.request("default", &ids["F"]).unwrap().state,
        State::Expired
    );
}

#[test]
fn receipts_without_the_key_file_name_the_recorded_key_and_refuse_to_sign() {
    let (src, copies) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (db, ids) = built_store(src.path());
    let clock = Arc::new(ManualClock::new(t0() + Duration::hours(13)));
    let mut w = Engine::open(&db, clock, "root").unwrap();
    let (public_key, key_id) = (w.public_key(), w.key_id());
    let expired = w.receipts("default", &ids["E"]).unwrap();
    let approved = w.receipts("default", &ids["B"]).unwrap();
    drop(w);
    assert_eq!(expired.len(), 1, "E's receipt is derived");

    // The copy alone: the key is the one its audit log records; stored
    // receipts are read, a derived one cannot be signed.
    let copy = copy_of(&db, copies.path());
    let mut e = open_ro(&copy, read_time());
    assert_eq!(
        (e.public_key(), e.key_id()),
        (public_key.clone(), key_id.clone())
    );
    assert_eq!(e.receipts("default", &ids["B"]).unwrap(), approved);
    let err = refused(e.receipts("default", &ids["E"]));
    assert_eq!(err.code, ErrorCode::ReadOnly);
    assert!(
        err.message.contains("receipt signing key"),
        "{}",
        err.message
    );
    drop(e);
    assert!(!copies.path().join("lockbox-receipts.key").exists());

    // With the key file beside it: the same receipt, byte for byte.
    let key = lockbox_core::receipts::key_path_for(&copy);
    std::fs::copy(lockbox_core::receipts::key_path_for(&db), &key).unwrap();
    let mut e = open_ro(&copy, read_time());
    assert_eq!(e.key_id(), key_id);
    assert_eq!(e.receipts("default", &ids["E"]).unwrap(), expired);
}

#[test]
fn a_copy_of_a_live_store_is_read_with_its_wal_and_no_shm_is_made() {
    let (src, copies) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let db = src.path().join("lockbox.db");
    let mut live = Engine::open(&db, Arc::new(ManualClock::new(t0())), "root").unwrap();
    for i in 0..5 {
        live.file_request("default", &new_request(&format!("W{i}"), 1))
            .unwrap();
    }
    let [_, wal, shm] = lockbox_core::store::store_files(&db);
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the live store has a WAL"
    );
    let count = |e: &mut Engine| {
        e.list_requests(
            "default",
            &RequestQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .unwrap()
        .items
        .len()
    };

    // The database file and its WAL, without the index (-shm).
    let dir = copies.path().join("wal-only");
    std::fs::create_dir(&dir).unwrap();
    let copy = dir.join("lockbox.db");
    std::fs::copy(&db, &copy).unwrap();
    std::fs::copy(&wal, dir.join("lockbox.db-wal")).unwrap();
    // Without the WAL the file alone lacks recent commits: the WAL matters.
    let alone: i64 =
        rusqlite::Connection::open(format!("file:{}?mode=ro&immutable=1", copy.display()))
            .and_then(|c| c.query_row("SELECT count(*) FROM requests", [], |r| r.get(0)))
            .unwrap_or(-1);
    assert!(alone < 5, "{alone}");
    let files = listing(&dir);
    let bytes = (
        std::fs::read(&copy).unwrap(),
        std::fs::read(dir.join("lockbox.db-wal")).unwrap(),
    );
    let mut e = open_ro(&copy, t0());
    assert_eq!(count(&mut e), 5);
    assert!(e.verify_audit().unwrap().ok());
    assert!(e.store().verify_audit_in(2).unwrap().ok());
    assert_eq!(listing(&dir), files, "no -shm was created");
    drop(e);
    assert_eq!(listing(&dir), files);
    assert_eq!(
        (
            std::fs::read(&copy).unwrap(),
            std::fs::read(dir.join("lockbox.db-wal")).unwrap()
        ),
        bytes
    );

    // All three files: an ordinary reader of the WAL.
    let dir = copies.path().join("all-three");
    std::fs::create_dir(&dir).unwrap();
    let copy = dir.join("lockbox.db");
    std::fs::copy(&db, &copy).unwrap();
    std::fs::copy(&wal, dir.join("lockbox.db-wal")).unwrap();
    std::fs::copy(&shm, dir.join("lockbox.db-shm")).unwrap();
    let names = listing(&dir).into_keys().collect::<Vec<_>>();
    let db_bytes = std::fs::read(&copy).unwrap();
    let mut e = open_ro(&copy, t0());
    assert_eq!(count(&mut e), 5);
    drop(e);
    assert_eq!(listing(&dir).into_keys().collect::<Vec<_>>(), names);
    assert_eq!(std::fs::read(&copy).unwrap(), db_bytes);

    // The live store itself, read-only beside its writer: it sees new commits.
    let mut e = open_ro(&db, t0());
    assert_eq!(count(&mut e), 5);
    live.file_request("default", &new_request("W5", 1)).unwrap();
    assert_eq!(count(&mut e), 6);
}

#[test]
fn a_store_of_another_schema_version_is_refused_naming_both() {
    let (src, copies) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (db, _) = built_store(src.path());
    for (v, code) in [
        (SCHEMA_VERSION - 1, ErrorCode::ReadOnly),
        (SCHEMA_VERSION + 1, ErrorCode::SchemaTooNew),
    ] {
        let copy = copies.path().join(format!("v{v}.db"));
        std::fs::copy(&db, &copy).unwrap();
        let c = rusqlite::Connection::open(&copy).unwrap();
        c.execute_batch(&format!("PRAGMA user_version = {v}"))
            .unwrap();
        drop(c);
        let bytes = std::fs::read(&copy).unwrap();
        let files = listing(copies.path());
        let err = refused(Engine::open_read_only(
            &copy,
            Arc::new(ManualClock::new(t0())),
        ));
        assert_eq!(err.code, code, "{}", err.message);
        assert!(
            err.message.contains(&format!("version {v}")),
            "{}",
            err.message
        );
        assert!(
            err.message.contains(&format!("version {SCHEMA_VERSION}")),
            "{}",
            err.message
        );
        if v < SCHEMA_VERSION {
            assert!(err.message.contains("writable copy"), "{}", err.message);
        }
        assert_eq!(std::fs::read(&copy).unwrap(), bytes);
        assert_eq!(listing(copies.path()), files);
    }
}

#[test]
fn a_missing_store_is_not_created_and_a_non_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.db");
    let err = refused(Store::open_read_only(&missing));
    assert_eq!(err.code, ErrorCode::StoreUnavailable);
    assert!(err.message.contains("no store at"), "{}", err.message);
    assert!(!missing.exists());
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x42u8; 8192]).unwrap();
    let err = refused(Store::open_read_only(&junk));
    assert_eq!(err.code, ErrorCode::StoreUnavailable, "{}", err.message);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_path_with_uri_characters_opens() {
    let (src, copies) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (db, _) = built_store(src.path());
    let dir = copies.path().join("a?b#c%d e");
    std::fs::create_dir(&dir).unwrap();
    let copy = copy_of(&db, &dir);
    let mut e = open_ro(&copy, read_time());
    assert_eq!(e.tenants().unwrap().len(), 1);
}

#[test]
fn after_a_key_rotation_the_copy_names_the_new_key() {
    let (src, copies) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (db, _) = built_store(src.path());
    let clock = Arc::new(ManualClock::new(t0() + Duration::hours(13)));
    let (w, old) = Engine::open_rotating_receipt_key(&db, clock, "default", &root()).unwrap();
    let (public_key, key_id) = (w.public_key(), w.key_id());
    assert_ne!(old.as_deref(), Some(key_id.as_str()));
    drop(w);
    let copy = copy_of(&db, copies.path());
    let e = open_ro(&copy, read_time());
    assert_eq!((e.public_key(), e.key_id()), (public_key, key_id));
}
