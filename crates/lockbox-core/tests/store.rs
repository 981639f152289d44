//! Store: migrations, the schema guard, all-or-nothing writes, and racing
//! connections on one store. All-or-nothing writes and the races run on the
//! test run's backend (`LOCKBOX_TEST_BACKEND`); the migration and file tests
//! are SQLite's own (PostgreSQL's: `tests/postgres.rs`).

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::model::*;
use lockbox_core::store::{Read, Store, SCHEMA_VERSION};
use lockbox_core::testing;
use lockbox_core::Principal;
use lockbox_core::{Engine, ErrorCode, ManualClock, Time};
use std::sync::{Arc, Barrier};

fn t0() -> Time {
    Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap()
}

fn new_request(engineer: &str) -> NewRequest {
    NewRequest {
        engineer: engineer.into(),
        case: "SR-9".into(),
        workload: "SharePoint".into(),
        resource: "/sites/x".into(),
        reason: "repair".into(),
        duration_s: Some(4 * 3600),
    }
}

fn raw(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn fresh_store_is_migrated_and_reopening_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/lockbox.db");
    let clock = Arc::new(ManualClock::new(t0()));
    drop(Engine::open(&path, clock.clone(), "root").unwrap());
    let c = raw(&path);
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    for t in [
        "tenants",
        "settings",
        "users",
        "requests",
        "decisions",
        "audit_log",
        "notices",
    ] {
        let n: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name=?1",
                [t],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "table {t}");
    }
    // The creator is the first admin, audited; a second open adds nothing.
    let mut e = Engine::open(&path, clock, "someone-else").unwrap();
    let users = e.users("default").unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(
        (users[0].name.as_str(), users[0].role),
        ("root", Role::Admin)
    );
    assert_eq!(
        e.audit_head("default").unwrap().0,
        3,
        "tenant_added + user_added + receipt_key_created, once"
    );
}

#[test]
fn a_newer_store_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lockbox.db");
    drop(Store::open(&path).unwrap());
    raw(&path)
        .execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Engine::open(&path, Arc::new(ManualClock::new(t0())), "root")
        .err()
        .unwrap();
    assert_eq!(err.code, ErrorCode::SchemaTooNew);
    assert!(err.message.contains("newer Lockbox"), "{}", err.message);
    let v: i64 = raw(&path)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION + 1);
    assert_eq!(before, std::fs::read(&path).unwrap());
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_store_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lockbox.db");
    std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
    let err = Engine::open(&path, Arc::new(ManualClock::new(t0())), "root")
        .err()
        .unwrap();
    assert_eq!(err.code, ErrorCode::StoreUnavailable, "{}", err.message);
}

#[test]
fn a_failed_write_changes_nothing() {
    let clock = Arc::new(ManualClock::new(t0()));
    let (mut e, loc) = testing::engine_and_location(clock, "root").unwrap();
    let req = e.file_request("default", &new_request("eng")).unwrap();
    let req = e.provider_approve("default", &req.id, "mgr", None).unwrap();
    assert_eq!(req.state, State::Pending);
    // Make the audit insert of an approval fail: the state change must roll back with it.
    testing::outside_execute(
        &loc,
        "CREATE TRIGGER fail_approved BEFORE INSERT ON audit_log WHEN NEW.operation = 'approved'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        "CREATE FUNCTION fail_approved() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.operation = 'approved' THEN RAISE EXCEPTION 'injected failure'; END IF;
         RETURN NEW; END $$;
         CREATE TRIGGER fail_approved BEFORE INSERT ON audit_log
         FOR EACH ROW EXECUTE FUNCTION fail_approved();",
    );
    let head = e.audit_head("default").unwrap();
    let err = e
        .approve(
            "default",
            &req.id,
            &Principal::os_user("root", 0),
            Some("ok"),
            None,
        )
        .unwrap_err();
    assert!(err.message.contains("injected failure"), "{}", err.message);
    let after = e.request("default", &req.id).unwrap();
    assert_eq!(after, req, "request row and decisions unchanged");
    assert_eq!(
        e.audit_head("default").unwrap(),
        head,
        "no audit entry appended"
    );
    // A bad input is refused before anything is written.
    assert_eq!(
        e.set_setting(
            "default",
            &Principal::os_user("root", 0),
            "request-lifetime",
            "31d"
        )
        .unwrap_err()
        .code,
        ErrorCode::InvalidInput
    );
    assert_eq!(e.audit_head("default").unwrap(), head);
    assert!(e.verify_audit().unwrap().ok());
}

/// Statements nobody waits for (on PostgreSQL sent with the write's next
/// statement or its commit, pipelined) still fail their write: an update of a
/// request that is not there fails it, what the write did before is rolled
/// back, and the connection goes on to the next write.
#[test]
fn a_write_fails_whole_when_a_statement_sent_without_waiting_fails() {
    let clock = Arc::new(ManualClock::new(t0()));
    let (mut e, _loc) = testing::engine_and_location(clock, "root").unwrap();
    let filed = e.file_request("default", &new_request("eng")).unwrap();
    let head = e.audit_head("default").unwrap();
    let mut copy = e.request("default", &filed.id).unwrap();
    copy.id = format!("{}-copy", filed.id);
    let mut ghost = copy.clone();
    ghost.id = "no-such-request".into();
    let (c, g) = (copy.clone(), ghost.clone());
    let err = e
        .store()
        .write_tenant("default", move |tx| {
            tx.insert_request(&c)?;
            tx.update_request(&g, 0)
        })
        .unwrap_err();
    assert!(err.message.contains("vanished"), "{}", err.message);
    assert_eq!(
        e.request("default", &copy.id).unwrap_err().code,
        ErrorCode::NotFound,
        "the insert before the failed update was rolled back"
    );
    assert_eq!(e.audit_head("default").unwrap(), head);
    // The same connection, next write: it lands.
    let c = copy.clone();
    e.store()
        .write_tenant("default", move |tx| tx.insert_request(&c))
        .unwrap();
    assert_eq!(e.request("default", &copy.id).unwrap().id, copy.id);
}

/// Reads named before a write ([`Store::reads_first`]; on PostgreSQL sent
/// with BEGIN) answer the use case's first identical reads, and only until
/// it changes something: a read after a change sees the change.
#[test]
fn reads_named_before_a_write_answer_only_until_it_changes_something() {
    let clock = Arc::new(ManualClock::new(t0()));
    let (mut e, _loc) = testing::engine_and_location(clock, "root").unwrap();
    let filed = e.file_request("default", &new_request("eng")).unwrap();
    let id = filed.id.clone();
    let reads = [
        Read::Request {
            tenant: "default",
            id: &id,
        },
        Read::User {
            tenant: "default",
            name: "root",
        },
        Read::Settings { tenant: "default" },
    ];
    let seen = e.request("default", &id).unwrap();
    assert_eq!(seen.state, State::AwaitingProvider);
    let (after, role, settings) = e
        .store()
        .reads_first(&reads)
        .write_tenant("default", |tx| {
            let mut changed = seen.clone();
            changed.state = State::Canceled;
            changed.closed_at = Some(t0());
            tx.update_request(&changed, seen.decisions.len())?;
            // Named, but first read after a change: read after it.
            let after = tx.request("default", &id)?.unwrap();
            Ok((after, tx.role("default", "root")?, tx.settings("default")?))
        })
        .unwrap();
    assert_eq!(
        after.state,
        State::Canceled,
        "a read after a change sees it"
    );
    assert_eq!(role, Some(Role::Admin));
    assert!(settings.is_some());
    // Read twice, unchanged: the same answer (the second from the store).
    let (a, b) = e
        .store()
        .reads_first(&reads)
        .write_tenant("default", |tx| {
            Ok((tx.request("default", &id)?, tx.request("default", &id)?))
        })
        .unwrap();
    assert_eq!(a.unwrap().state, State::Canceled);
    assert_eq!(b.unwrap().state, State::Canceled);
    // A named read of another request than the one read: not mixed up.
    let other = e.file_request("default", &new_request("eng2")).unwrap();
    let got = e
        .store()
        .reads_first(&[Read::Request {
            tenant: "default",
            id: &other.id,
        }])
        .write_tenant("default", |tx| tx.request("default", &id))
        .unwrap()
        .unwrap();
    assert_eq!(got.id, id);
    assert_eq!(got.state, State::Canceled);
}

#[test]
fn racing_approve_expire_and_revoke_have_exactly_one_winner() {
    // Request i is filed at t0+i min with a 1h lifetime, so it expires at t0+60+i min:
    // the sweeper below expires them one by one while the others decide them.
    let before_expiry = Arc::new(ManualClock::new(t0()));
    let (mut setup, loc) = testing::engine_and_location(before_expiry.clone(), "root").unwrap();
    let mut ids = Vec::new();
    setup
        .set_setting(
            "default",
            &Principal::os_user("root", 0),
            "request-lifetime",
            "1h",
        )
        .unwrap();
    for i in 0..40 {
        before_expiry.set(t0() + Duration::minutes(i));
        let r = setup
            .file_request("default", &new_request(&format!("eng{i}")))
            .unwrap();
        setup
            .provider_approve("default", &r.id, "mgr", None)
            .unwrap();
        ids.push(r.id);
    }
    before_expiry.set(t0() + Duration::minutes(45));
    let ids = Arc::new(ids);
    let barrier = Arc::new(Barrier::new(3));
    let spawn = |role: &'static str| {
        let (loc, ids, barrier) = (loc.clone(), ids.clone(), barrier.clone());
        let clock = before_expiry.clone();
        std::thread::spawn(move || {
            let mut e = testing::open(&loc, clock, "root").unwrap();
            barrier.wait();
            let mut wins = 0;
            let n = ids.len();
            for i in 0..n {
                // Different orders so that the three meet on different requests.
                let id = match role {
                    "approve" => &ids[n - 1 - i],
                    "revoke" => &ids[(i * 7) % n],
                    _ => &ids[i],
                };
                let res = match role {
                    "approve" => e
                        .approve("default", id, &Principal::os_user("root", 0), None, None)
                        .map(|_| 1),
                    "revoke" => e
                        .revoke("default", id, &Principal::os_user("root", 0), None)
                        .map(|_| 1),
                    // The sweeper's clock is past every request's expiry.
                    _ => e
                        .apply_due_at(t0() + Duration::minutes(61 + i as i64))
                        .map(|v| v.len()),
                };
                match res {
                    Ok(n) => wins += n,
                    Err(err) => assert!(
                        matches!(
                            err.code,
                            ErrorCode::InvalidTransition | ErrorCode::RequestExpired
                        ),
                        "{role}: unexpected error surfaced: {err:?}"
                    ),
                }
            }
            wins
        })
    };
    let handles = [spawn("approve"), spawn("revoke"), spawn("expire")];
    let wins: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut e = testing::open(&loc, before_expiry, "root").unwrap();
    let mut count = std::collections::HashMap::new();
    for id in ids.iter() {
        let r = e.request("default", id).unwrap();
        *count.entry(r.state).or_insert(0) += 1;
        let q = lockbox_core::store::AuditQuery {
            request_id: Some(id.clone()),
            limit: Some(100),
            ..Default::default()
        };
        let ops: Vec<String> = e
            .audit_page("default", &q)
            .unwrap()
            .into_iter()
            .map(|a| a.operation)
            .collect();
        let n = |op: &str| ops.iter().filter(|o| *o == op).count();
        match r.state {
            State::Expired => assert_eq!(
                (n("expired"), n("approved"), n("revoked")),
                (1, 0, 0),
                "{ops:?}"
            ),
            State::Approved => assert_eq!(
                (n("expired"), n("approved"), n("revoked")),
                (0, 1, 0),
                "{ops:?}"
            ),
            State::Revoked => assert_eq!(
                (n("expired"), n("approved"), n("revoked")),
                (0, 1, 1),
                "{ops:?}"
            ),
            other => panic!("unexpected state {other}"),
        }
    }
    eprintln!("race outcome: {count:?}");
    assert_eq!(
        wins[0],
        count.get(&State::Approved).unwrap_or(&0) + count.get(&State::Revoked).unwrap_or(&0)
    );
    assert_eq!(wins[1], *count.get(&State::Revoked).unwrap_or(&0));
    assert_eq!(wins[2], *count.get(&State::Expired).unwrap_or(&0));
    assert!(e.verify_audit().unwrap().ok());
}

/// Security finding (low): the clock was read before `BEGIN IMMEDIATE`, so an
/// access action that waited for another writer's lock while the window
/// closed was judged at the time it started waiting (accepted 6 s late).
/// Now the clock is read under the write lock.
#[test]
fn an_action_that_waits_for_the_write_lock_is_judged_when_it_is_written() {
    let clock = ManualClock::new(t0());
    let root = Principal::os_user("root", 0);
    let (mut e, loc) = testing::engine_and_location(Arc::new(clock.clone()), "root").unwrap();
    let r = e.file_request("default", &new_request("eng")).unwrap();
    e.provider_approve("default", &r.id, "mgr", None).unwrap();
    let granted = e.approve("default", &r.id, &root, None, Some(600)).unwrap();
    let end = granted.access_ends_at.unwrap();
    clock.set(end - Duration::seconds(1));

    // Another writer holds the store's write lock.
    let blocker = testing::WriteLockHeld::take(&loc);
    let id = r.id.clone();
    let acting = std::thread::spawn(move || e.log_access("default", &id, "eng", "Read mail"));
    // Let the action start and wait on the lock (thread sequencing, not a deadline),
    // then the window closes while it waits, then the lock is released.
    std::thread::sleep(std::time::Duration::from_millis(500));
    clock.set(end + Duration::seconds(5));
    blocker.release();
    let err = acting.join().unwrap().unwrap_err();
    assert_eq!(err.code, ErrorCode::AccessDenied, "{err:?}");
    let used = testing::outside_count(
        &loc,
        "SELECT count(*) FROM audit_log WHERE operation = 'access_used'",
    );
    assert_eq!(used, 0, "no action was accepted after the window ended");
}

/// A write applies its tenant's due transitions first, read under the
/// tenant's lock (on PostgreSQL the earliest deadline comes in the same
/// message as the lock: it must be read after the lock is held). Here the
/// deadline is stored by another writer while this one waits for the lock.
#[test]
fn a_deadline_stored_while_a_write_waits_for_the_lock_is_applied_first() {
    let clock = Arc::new(ManualClock::new(t0()));
    let root = Principal::os_user("root", 0);
    let (mut e, loc) = testing::engine_and_location(clock.clone(), "root").unwrap();
    // Filed at t0 with the default lifetime (12 h): not due at t0 + 2 h.
    let r = e.file_request("default", &new_request("eng")).unwrap();
    let pending = e.provider_approve("default", &r.id, "mgr", None).unwrap();
    // Its copy, due one hour after t0, is stored by another writer that
    // holds the tenant's lock while the approval below waits for it.
    let mut copy = pending.clone();
    copy.id = format!("{}-copy", r.id);
    copy.expires_at = t0() + Duration::hours(1);
    let mut other = testing::open(&loc, clock.clone(), "root").unwrap();
    let (held, holding) = std::sync::mpsc::channel();
    let c = copy.clone();
    let writer = std::thread::spawn(move || {
        other
            .store()
            .write_tenant("default", move |tx| {
                tx.insert_request(&c)?;
                held.send(()).unwrap();
                // Thread sequencing, not a deadline: the approval starts
                // and waits for the lock meanwhile.
                std::thread::sleep(std::time::Duration::from_millis(500));
                Ok(())
            })
            .unwrap();
    });
    holding.recv().unwrap();
    clock.set(t0() + Duration::hours(2));
    let id = copy.id.clone();
    let approving = std::thread::spawn(move || e.approve("default", &id, &root, None, None));
    writer.join().unwrap();
    let err = approving.join().unwrap().unwrap_err();
    assert!(
        matches!(
            err.code,
            ErrorCode::RequestExpired | ErrorCode::InvalidTransition
        ),
        "{err:?}"
    );
    // The expiry was written by the approval's own write, not left to a
    // later sweep.
    let expired = testing::outside_count(
        &loc,
        &format!(
            "SELECT count(*) FROM audit_log WHERE operation = 'expired' AND request_id = '{}'",
            copy.id
        ),
    );
    assert_eq!(
        expired, 1,
        "the copy's expiry was applied by the waiting write"
    );
    let state = testing::outside_rows(
        &loc,
        &format!("SELECT state FROM requests WHERE id = '{}'", copy.id),
    );
    assert_eq!(state[0][0].text(), "expired");
}

/// On PostgreSQL a connection remembers the chain heads it wrote, and trusts
/// them only while nobody else has appended since. Two connections taking
/// turns on one chain, and on two chains, must each follow the newest head.
#[test]
fn appends_by_connections_taking_turns_follow_the_newest_head() {
    let clock = Arc::new(ManualClock::new(t0()));
    let root = Principal::os_user("root", 0);
    let (mut a, loc) = testing::engine_and_location(clock.clone(), "root").unwrap();
    a.add_tenant("default", &root, "other", "Other").unwrap();
    let mut b = testing::open(&loc, clock.clone(), "root").unwrap();
    let turns = [
        ("a", "default"),
        ("a", "default"),
        ("b", "default"),
        ("a", "default"),
        ("b", "other"),
        ("a", "default"),
        ("a", "other"),
        ("b", "other"),
        ("b", "default"),
        ("a", "other"),
        ("a", "default"),
    ];
    for (i, (who, tenant)) in turns.iter().enumerate() {
        clock.set(t0() + Duration::seconds(i as i64));
        let e = if *who == "a" { &mut a } else { &mut b };
        let before = e.audit_head(tenant).unwrap().0;
        e.file_request(tenant, &new_request(&format!("eng{i}")))
            .unwrap_or_else(|err| panic!("turn {i} ({who} on {tenant}): {err:?}"));
        let after = e.audit_head(tenant).unwrap().0;
        assert_eq!(after, before + 1, "turn {i}: one entry after the newest");
    }
    assert!(a.verify_audit().unwrap().ok());
    assert!(b.verify_audit().unwrap().ok());
}

/// Team-server sessions, on the run's backend: issued for a verified
/// person, good until the access token's expiry by the engine's clock,
/// rotated on refresh (a spent refresh token revokes the family), ended by
/// sign-out, and stored as hashes only.
#[test]
fn sessions_rotate_expire_end_and_are_stored_hashed() {
    use lockbox_core::sessions::{SignedInAt, ACCESS_LIFETIME, REFRESH_LIFETIME};
    use lockbox_core::store::outside::outside_rows;
    let clock = Arc::new(ManualClock::new(t0()));
    let (mut e, loc) = testing::engine_and_location(clock.clone(), "root").unwrap();
    let ana = Principal::verified_oidc("https://id.example", "sub-ana", "Ana@Example.com").unwrap();
    let at = SignedInAt {
        issuer: "https://id.example",
        client_id: "lockbox",
    };
    // Only a person signed in with OpenID Connect gets one.
    let os = Principal::os_user("root", 0);
    assert_eq!(
        e.open_session(&os, "lockbox").unwrap_err().code,
        ErrorCode::InvalidInput
    );

    let first = e.open_session(&ana, "lockbox").unwrap();
    assert!(first.access_token.starts_with("lbs_") && first.access_token.len() == 68);
    assert!(first.refresh_token.starts_with("lbr_"));
    assert_eq!(first.access_expires_at, t0() + ACCESS_LIFETIME);
    assert_eq!(first.refresh_expires_at, t0() + REFRESH_LIFETIME);
    let v = e.session(&first.access_token, at).unwrap();
    assert_eq!(v.principal, ana);
    assert_eq!(v.expires_at, first.access_expires_at);
    for bad in [
        "",
        "lbs_",
        "lbx_00",
        &first.refresh_token,
        &first.access_token[..67],
    ] {
        assert_eq!(
            e.session(bad, at).unwrap_err().code,
            ErrorCode::Unauthorized,
            "{bad}"
        );
    }

    // Good only where it was opened: the same issuer and client id.
    for other in [
        SignedInAt {
            issuer: "https://id.example",
            client_id: "other-app",
        },
        SignedInAt {
            issuer: "https://other.example",
            client_id: "lockbox",
        },
    ] {
        assert_eq!(
            e.session(&first.access_token, other).unwrap_err().code,
            ErrorCode::Unauthorized
        );
    }

    // Expired by the engine's clock.
    clock.advance(ACCESS_LIFETIME);
    assert_eq!(
        e.session(&first.access_token, at).unwrap_err().code,
        ErrorCode::Unauthorized
    );

    // Refresh rotates: a new pair that works; the spent refresh token used
    // again ends the whole family, the new pair included.
    let second = e.refresh_session(&first.refresh_token, at).unwrap();
    assert_ne!(second.access_token, first.access_token);
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(e.session(&second.access_token, at).unwrap().principal, ana);
    let reuse = e.refresh_session(&first.refresh_token, at).unwrap_err();
    assert_eq!(reuse.code, ErrorCode::Unauthorized);
    assert!(reuse.message.contains("used before"), "{}", reuse.message);
    assert_eq!(
        e.session(&second.access_token, at).unwrap_err().code,
        ErrorCode::Unauthorized
    );
    assert_eq!(
        e.refresh_session(&second.refresh_token, at)
            .unwrap_err()
            .code,
        ErrorCode::Unauthorized
    );

    // A refresh token past its lifetime is refused.
    let third = e.open_session(&ana, "lockbox").unwrap();
    clock.advance(REFRESH_LIFETIME);
    assert_eq!(
        e.refresh_session(&third.refresh_token, at)
            .unwrap_err()
            .code,
        ErrorCode::Unauthorized
    );

    // Sign-out by the access token (or the refresh token) ends the family.
    let fourth = e.open_session(&ana, "lockbox").unwrap();
    let fifth = e.refresh_session(&fourth.refresh_token, at).unwrap();
    e.end_session(&fourth.access_token).unwrap();
    assert_eq!(
        e.session(&fifth.access_token, at).unwrap_err().code,
        ErrorCode::Unauthorized
    );
    assert_eq!(
        e.refresh_session(&fifth.refresh_token, at)
            .unwrap_err()
            .code,
        ErrorCode::Unauthorized
    );
    // An ended session, an expired one and an unknown token are no
    // session to end (401 on the admin API, like every admin route).
    for gone in [
        &fifth.refresh_token,
        &fourth.access_token,
        &third.access_token,
        &third.refresh_token,
        "lbs_nope",
    ] {
        assert_eq!(
            e.end_session(gone).unwrap_err().code,
            ErrorCode::Unauthorized,
            "{gone}"
        );
    }

    // The store holds hashes, never a token, and the verified identity.
    let rows = outside_rows(
        &loc,
        "SELECT id, family, access_hash, refresh_hash, issuer, subject, email FROM admin_sessions",
    );
    assert!(!rows.is_empty());
    let all = format!("{rows:?}");
    for t in [&first, &second, &fourth, &fifth] {
        for secret in [&t.access_token, &t.refresh_token] {
            assert!(!all.contains(secret.as_str()));
            assert!(!all.contains(&secret[4..]));
        }
    }
    assert!(all.contains(&lockbox_core::tokens::hash_token(&fifth.access_token)));
    assert!(all.contains("sub-ana") && all.contains("ana@example.com"));
}
