//! The PostgreSQL store on a real server (a throwaway cluster these tests
//! start: see `lockbox_core::testing`), whatever LOCKBOX_TEST_BACKEND says:
//! several engines on one database (as several `lockbox serve` instances
//! are) apply each deadline once and decide once; the schema guard; the
//! append-only audit log and tamper evidence.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::model::{NewRequest, State};
use lockbox_core::store::{AuditQuery, Store, StoreLocation, PG_SCHEMA_VERSION};
use lockbox_core::{Engine, ErrorCode, ManualClock, Principal, Time};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};

fn t0() -> Time {
    Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap()
}

fn root() -> Principal {
    Principal::os_user("root", 0)
}

/// A new database, and a key file for its instances.
fn database() -> (String, PathBuf, tempfile::TempDir) {
    let url = lockbox_core::testing::new_database();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("receipts.key");
    (url, key, dir)
}

fn open(url: &str, key: &std::path::Path, clock: &ManualClock) -> Engine {
    Engine::open_at(
        &StoreLocation::Postgres(url.to_string()),
        key,
        Arc::new(clock.clone()),
        "root",
    )
    .unwrap()
}

fn raw(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

fn new_request(i: usize) -> NewRequest {
    NewRequest {
        engineer: format!("eng{i}"),
        case: format!("SR-{i}"),
        workload: "Exchange".into(),
        resource: "mailbox".into(),
        reason: "support".into(),
        duration_s: Some(3600),
    }
}

/// Two instances sweep the same due deadlines at the same moment, over and
/// over: every request expires exactly once (one `expired` entry, one
/// notice), the two sweeps split the work, and every chain verifies.
#[test]
fn two_instances_apply_each_deadline_exactly_once() {
    let (url, key, _dir) = database();
    let clock = ManualClock::new(t0());
    let mut a = open(&url, &key, &clock);
    let tenants = ["default", "t1", "t2", "t3"];
    for t in &tenants[1..] {
        a.add_tenant("default", &root(), t, t).unwrap();
    }
    let mut ids = BTreeSet::new();
    for i in 0..120 {
        let t = tenants[i % tenants.len()];
        ids.insert((
            t.to_string(),
            a.file_request(t, &new_request(i)).unwrap().id,
        ));
    }
    let b = open(&url, &key, &clock);
    // Past every request's lifetime (12 h by default).
    clock.set(t0() + Duration::hours(13));
    let barrier = Arc::new(Barrier::new(2));
    let sweep = |mut e: Engine, barrier: Arc<Barrier>| {
        std::thread::spawn(move || {
            barrier.wait();
            let mut swept = Vec::new();
            for _ in 0..20 {
                swept.extend(e.apply_due().unwrap());
            }
            (e, swept)
        })
    };
    let ha = sweep(a, barrier.clone());
    let hb = sweep(b, barrier);
    let (mut a, swept_a) = ha.join().unwrap();
    let (_b, swept_b) = hb.join().unwrap();
    let all: Vec<(String, String)> = swept_a
        .iter()
        .chain(&swept_b)
        .map(|s| (s.tenant.clone(), s.request_id.clone()))
        .collect();
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(
        all.len(),
        120,
        "each request swept once: {} sweeps",
        all.len()
    );
    assert_eq!(distinct, ids);
    for t in tenants {
        let expired = a
            .audit_page(
                t,
                &AuditQuery {
                    operation: Some("expired".into()),
                    limit: Some(1000),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            expired.len(),
            30,
            "tenant {t}: one expired entry per request"
        );
    }
    let notices: i64 = raw(&url)
        .query_one("SELECT count(*) FROM notices WHERE kind = 'expired'", &[])
        .unwrap()
        .get(0);
    assert_eq!(notices, 120);
    let v = a.verify_audit().unwrap();
    assert_eq!(v.first_bad, None);
    assert_eq!(v.first_disagreement, None);
    assert_eq!(v.heads.len(), 4);
    for (t, id) in &ids {
        assert_eq!(a.request(t, id).unwrap().state, State::Expired);
    }
}

/// A write to one tenant holds that tenant only: while another connection
/// holds tenant `default`, an instance files into `t1` and sweeps `t1`'s due
/// deadline (skipping `default`'s, which the holder may be sweeping), and a
/// try at `default` finds it taken. Once released, `default` is swept. A
/// write scoped to one tenant that touches another is refused.
#[test]
fn tenants_write_side_by_side_and_each_chain_has_one_writer() {
    use std::sync::mpsc;
    let (url, key, _dir) = database();
    let clock = ManualClock::new(t0());
    let mut a = open(&url, &key, &clock);
    a.add_tenant("default", &root(), "t1", "t1").unwrap();
    let in_default = a.file_request("default", &new_request(0)).unwrap();
    let in_t1 = a.file_request("t1", &new_request(1)).unwrap();
    // Opened first: opening signs due checkpoints, a write to every tenant.
    let b = open(&url, &key, &clock);
    clock.set(t0() + Duration::hours(13));
    let loc = StoreLocation::Postgres(url.clone());
    let (held_tx, held_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut s = Store::open_location(&loc).unwrap();
        s.write_tenant("default", move |_| {
            held_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    held_rx.recv().unwrap();

    let (done_tx, done_rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let mut b = b;
        let swept = b.apply_due().unwrap();
        let filed = b.file_request("t1", &new_request(2)).unwrap();
        done_tx.send((swept, filed.tenant)).unwrap();
        b
    });
    // Hung here = a write to t1 waited for the holder of `default`.
    let (swept, filed_in) = done_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("writes to t1 waited for a writer of default");
    let swept: Vec<&str> = swept.iter().map(|s| s.request_id.as_str()).collect();
    assert_eq!(swept, [in_t1.id.as_str()], "only t1's deadline was swept");
    assert_eq!(filed_in, "t1");
    let mut probe = Store::open_location(&StoreLocation::Postgres(url.clone())).unwrap();
    assert_eq!(probe.try_write_tenant("default", |_| Ok(())).unwrap(), None);
    assert_eq!(probe.try_write_tenant("t1", |_| Ok(1)).unwrap(), Some(1));

    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let mut b = worker.join().unwrap();
    let swept = b.apply_due().unwrap();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].request_id, in_default.id);
    assert_eq!(
        b.request("default", &in_default.id).unwrap().state,
        State::Expired
    );

    // A write scoped to t1 cannot change default's request (or chain).
    let err = probe
        .write_tenant("t1", |tx| tx.insert_request(&in_default))
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Internal, "{err:?}");
    assert!(err.message.contains("scoped to tenant 't1'"), "{err:?}");
    let v = b.verify_audit().unwrap();
    assert_eq!(v.first_bad, None);
    assert_eq!(v.heads.len(), 2);
}

/// The same approver deciding on two instances at once counts once; a
/// quorum of two needs a second person.
#[test]
fn one_person_approving_on_two_instances_at_once_counts_once() {
    let (url, key, _dir) = database();
    let clock = ManualClock::new(t0());
    let mut a = open(&url, &key, &clock);
    a.set_setting("default", &root(), "approvals-required", "2")
        .unwrap();
    let id = a.file_request("default", &new_request(1)).unwrap().id;
    a.provider_approve("default", &id, "manager", None).unwrap();
    let b = open(&url, &key, &clock);
    let barrier = Arc::new(Barrier::new(2));
    let decide = |mut e: Engine, barrier: Arc<Barrier>, id: String| {
        std::thread::spawn(move || {
            barrier.wait();
            let r = e.approve("default", &id, &root(), None, None);
            (e, r)
        })
    };
    let ha = decide(a, barrier.clone(), id.clone());
    let hb = decide(b, barrier, id.clone());
    let (mut a, ra) = ha.join().unwrap();
    let (_b, rb) = hb.join().unwrap();
    assert!(
        ra.is_ok() != rb.is_ok(),
        "exactly one of the two decisions is taken: {ra:?} / {rb:?}"
    );
    let req = a.request("default", &id).unwrap();
    assert_eq!(req.state, State::Pending, "one approval of two");
    let customer = req
        .decisions
        .iter()
        .filter(|d| d.level == lockbox_core::model::Level::Customer)
        .count();
    assert_eq!(customer, 1);
    assert_eq!(a.verify_audit().unwrap().first_bad, None);
}

/// A store written by a newer Lockbox is refused before anything is touched.
#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let url = lockbox_core::testing::new_database();
    drop(Store::open_postgres(&url).unwrap());
    let mut c = raw(&url);
    c.execute(
        "UPDATE lockbox_schema SET version = $1",
        &[&(PG_SCHEMA_VERSION + 1)],
    )
    .unwrap();
    let tables = |c: &mut postgres::Client| -> i64 {
        c.query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .get(0)
    };
    let before = tables(&mut c);
    let err = Store::open_postgres(&url).err().unwrap();
    assert_eq!(err.code, ErrorCode::SchemaTooNew, "{}", err.message);
    assert!(err
        .message
        .contains(&format!("version {}", PG_SCHEMA_VERSION + 1)));
    let v: i64 = c
        .query_one("SELECT version FROM lockbox_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, PG_SCHEMA_VERSION + 1);
    assert_eq!(tables(&mut c), before);
}

/// Two instances starting on an empty database at once migrate it once.
#[test]
fn instances_starting_together_migrate_once() {
    let url = lockbox_core::testing::new_database();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || Store::open_postgres(&url).map(drop))
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let n: i64 = raw(&url)
        .query_one("SELECT count(*) FROM lockbox_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

/// The audit log refuses UPDATE, DELETE and TRUNCATE; an entry changed
/// behind the triggers' back is found by verification, at its position.
#[test]
fn the_audit_log_is_append_only_and_tampering_shows() {
    let (url, key, _dir) = database();
    let clock = ManualClock::new(t0());
    let mut e = open(&url, &key, &clock);
    let id = e.file_request("default", &new_request(1)).unwrap().id;
    e.provider_approve("default", &id, "manager", None).unwrap();
    let mut c = raw(&url);
    for sql in [
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = c.batch_execute(sql).unwrap_err();
        assert!(
            err.to_string().contains("append-only") || format!("{err:?}").contains("append-only"),
            "{sql}: {err:?}"
        );
    }
    assert_eq!(e.verify_audit().unwrap().first_bad, None);
    let seq: i64 = c
        .query_one(
            "SELECT seq FROM audit_log WHERE operation = 'provider_approved'",
            &[],
        )
        .unwrap()
        .get(0);
    c.batch_execute(&format!(
        "ALTER TABLE audit_log DISABLE TRIGGER USER;
         UPDATE audit_log SET actor = 'mallory' WHERE seq = {seq};
         ALTER TABLE audit_log ENABLE TRIGGER USER;"
    ))
    .unwrap();
    let bad = e.verify_audit().unwrap().first_bad.unwrap();
    assert_eq!(bad.0, seq, "{bad:?}");
}

/// `lockbox serve`'s pool hands out engines side by side, each on its own
/// connection: two borrowed at once both work (with one engine the second
/// would wait for the first, and give up after 30 s).
#[test]
fn a_pool_lends_engines_side_by_side() {
    use lockbox_core::runtime::{EngineHandle, Opener};
    let (url, key, _dir) = database();
    let clock = ManualClock::new(t0());
    let pool = EngineHandle::pool(
        Opener {
            location: StoreLocation::Postgres(url),
            receipt_key: key,
            clock: Arc::new(clock),
            creator: "root".into(),
        },
        2,
    )
    .unwrap();
    let mut a = pool.lock().unwrap();
    let mut b = pool.lock().unwrap();
    let r = a.file_request("default", &new_request(1)).unwrap();
    assert_eq!(b.request("default", &r.id).unwrap().case, "SR-1");
}
