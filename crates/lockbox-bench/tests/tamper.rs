//! Tamper: from outside, as an attacker with the file (the `sqlite3` CLI) or
//! with the database's superuser (`psql`, LOCKBOX_TEST_BACKEND=postgres)
//! would, the append-only triggers dropped: edit, delete, reorder or append
//! a forged audit entry; `lockbox audit verify` must exit 1 and name the first bad
//! entry — for every kind of tampering, at random positions, every time.
//! Edit the request rows instead (state, deadlines, decisions, receipts, a
//! deleted row): the chain stays intact, and verify names the request and field.
//!
//! 4 positions per kind by default; LOCKBOX_STRESS=1 makes it 25.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::*;
use lockbox_core::audit::{entry_hash, HashInput, GENESIS};
use lockbox_core::model::NewRequest;
use lockbox_core::store::StoreLocation;
use lockbox_core::ManualClock;
use lockbox_core::Principal;
use std::process::Command;
use std::sync::Arc;

const NOW: &str = "2026-11-29T09:00:00Z";

/// A store with a few dozen entries of every kind; returns (store, entries).
fn base(dir: &std::path::Path) -> (Db, i64) {
    let db = Db::new(dir, "base.db");
    let t0 = Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap();
    let clock = ManualClock::new(t0);
    let mut e = db.open(Arc::new(clock.clone()), "root");
    for i in 0..8 {
        clock.advance(Duration::seconds(30));
        let r = e
            .file_request(
                "default",
                &NewRequest {
                    engineer: format!("eng{i}"),
                    case: format!("SR-{i}"),
                    workload: "Exchange Online".into(),
                    resource: "Mailbox: a@contoso.example".into(),
                    reason: "tamper".into(),
                    duration_s: None,
                },
            )
            .unwrap();
        e.provider_approve("default", &r.id, "mgr", Some("ok"))
            .unwrap();
        match i % 3 {
            0 => {
                e.approve(
                    "default",
                    &r.id,
                    &Principal::os_user("root", 0),
                    Some("fine"),
                    Some(600),
                )
                .unwrap();
                e.log_access("default", &r.id, &format!("eng{i}"), "Read message trace")
                    .unwrap();
                e.revoke("default", &r.id, &Principal::os_user("root", 0), None)
                    .unwrap();
            }
            1 => {
                e.reject("default", &r.id, &Principal::os_user("root", 0), Some("no"))
                    .unwrap();
            }
            _ => {}
        }
    }
    // One grant still running at NOW.
    clock.advance(Duration::seconds(30));
    let r = e
        .file_request(
            "default",
            &NewRequest {
                engineer: "eng-active".into(),
                case: "SR-99".into(),
                workload: "Teams".into(),
                resource: "Team: Falcon".into(),
                reason: "tamper".into(),
                duration_s: None,
            },
        )
        .unwrap();
    e.provider_approve("default", &r.id, "mgr", None).unwrap();
    e.approve("default", &r.id, &Principal::os_user("root", 0), None, None)
        .unwrap();
    let n = e.audit_head("default").unwrap().0;
    drop(e);
    (db, n)
}

/// Run `sql` on the store as its attacker, the append-only triggers dropped
/// first: with the `sqlite3` CLI, or with `psql` as the database's superuser
/// (whose `session_replication_role = replica` skips foreign-key checks
/// too, as the `sqlite3` CLI makes none).
fn tamper(db: &Db, sql: &str) {
    let (mut c, triggers) = match &db.loc {
        StoreLocation::File(p) => {
            let mut c = Command::new("sqlite3");
            c.arg(p);
            (c, "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;")
        }
        StoreLocation::Postgres(url) => {
            let mut c = lockbox_core::testing::real_clock("psql");
            c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c"]);
            (c, "DROP TRIGGER audit_log_no_update ON audit_log; DROP TRIGGER audit_log_no_delete ON audit_log; SET session_replication_role = replica;")
        }
    };
    let o = c
        .arg(format!("{triggers} {sql}"))
        .output()
        .expect("the sqlite3 / psql CLI (apt-get install sqlite3 postgresql-client)");
    assert!(
        o.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn hash_of(db: &Db, seq: i64) -> String {
    query(db, &format!("SELECT hash FROM audit_log WHERE seq = {seq}"))[0][0].text()
}

/// The attacker re-hashes the edited entry `k` correctly (knowing the encoding).
fn rehash_sql(db: &Db, k: i64) -> String {
    let r = &query(
        db,
        &format!(
            "SELECT seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash,
                tenant_seq
         FROM audit_log WHERE seq = {k}"
        ),
    )[0];
    let details = r[8].text().replace('}', r#","forged":true}"#);
    let h = entry_hash(&HashInput {
        tenant_seq: r[10].int(),
        at_ms: r[1].int(),
        recorded_ms: r[2].int(),
        tenant: &r[3].text(),
        actor_kind: &r[4].text(),
        actor: &r[5].text(),
        operation: &r[6].text(),
        request_id: r[7].opt_text().as_deref(),
        details: &details,
        prev_hash: &r[9].text(),
    });
    format!("UPDATE audit_log SET details = '{details}', hash = '{h}' WHERE seq = {k};")
}

#[test]
fn every_kind_of_tampering_is_detected_and_the_first_bad_entry_named() {
    let dir = tempfile::tempdir().unwrap();
    let (base, n) = base(dir.path());
    assert!(n >= 30, "{n} entries");
    let (code, v) = verify_at(&base, Some(NOW));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["entries"], n);

    let per_kind = if stress() { 25 } else { 4 };
    let mut rng = fastrand::Rng::with_seed(
        std::env::var("LOCKBOX_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(7),
    );
    let forged = "f".repeat(64);
    type Case = Box<dyn Fn(&Db, i64) -> (String, i64)>;
    let kinds: Vec<(&str, Case)> = vec![
        (
            "edit details",
            Box::new(|_, k| {
                (format!("UPDATE audit_log SET details = '{{\"comment\":\"edited\"}}' WHERE seq = {k};"), k)
            }),
        ),
        (
            "edit actor",
            Box::new(|_, k| {
                (
                    format!("UPDATE audit_log SET actor = actor || 'x' WHERE seq = {k};"),
                    k,
                )
            }),
        ),
        (
            "edit time",
            Box::new(|_, k| {
                (
                    format!("UPDATE audit_log SET at = at - 3600000 WHERE seq = {k};"),
                    k,
                )
            }),
        ),
        (
            "edit operation",
            Box::new(|_, k| {
                (format!("UPDATE audit_log SET operation = CASE operation WHEN 'approved' THEN 'rejected' ELSE 'approved' END WHERE seq = {k};"), k)
            }),
        ),
        (
            "edit hash",
            Box::new(move |_, k| {
                (
                    format!(
                        "UPDATE audit_log SET hash = '{}' WHERE seq = {k};",
                        "e".repeat(64)
                    ),
                    k,
                )
            }),
        ),
        (
            "edit and re-hash",
            Box::new(|db, k| (rehash_sql(db, k), k + 1)),
        ),
        (
            "delete",
            Box::new(|_, k| (format!("DELETE FROM audit_log WHERE seq = {k};"), k)),
        ),
        (
            "reorder (swap with next)",
            Box::new(|_, k| {
                (format!(
            "UPDATE audit_log SET seq = -1 WHERE seq = {k}; UPDATE audit_log SET seq = {k} WHERE seq = {k} + 1; UPDATE audit_log SET seq = {k} + 1 WHERE seq = -1;"), k)
            }),
        ),
        (
            "replace with a forged entry",
            Box::new(move |db, k| {
                let prev = if k == 1 {
                    GENESIS.to_string()
                } else {
                    hash_of(db, k - 1)
                };
                (format!(
                "DELETE FROM audit_log WHERE seq = {k};
                 INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash) VALUES ({k}, 1, 1, 'default', 'customer', 'root', 'approved', NULL, '{{}}', '{prev}', '{}');",
                "a".repeat(64)), k)
            }),
        ),
    ];
    let mut checked = 0;
    for (name, case) in &kinds {
        // Random inner positions plus the first entry; "edit and re-hash" needs a successor.
        let mut positions: Vec<i64> = (0..per_kind).map(|_| rng.i64(2..n)).collect();
        positions.push(1);
        for k in positions {
            let db = base.copy("t.db");
            let (sql, expect) = case(&db, k);
            tamper(&db, &sql);
            let (code, v) = verify_at(&db, Some(NOW));
            assert_eq!(code, 1, "{name} at #{k}: {v}");
            assert_eq!(v["ok"], false);
            assert_eq!(v["first_bad_seq"], expect, "{name} at #{k}: {v}");
            checked += 1;
        }
    }
    // Appending a forged entry at the end (right prev_hash, made-up hash; and a wrong prev_hash).
    for (prev, what) in [
        (hash_of(&base, n), "forged hash"),
        (GENESIS.to_string(), "wrong prev_hash"),
    ] {
        let db = base.copy("t.db");
        tamper(
            &db,
            &format!(
                "INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash) VALUES ({}, 2, 2, 'default', 'customer', 'root', 'approved', NULL, '{{}}', '{prev}', '{forged}');",
                n + 1
            ),
        );
        let (code, v) = verify_at(&db, Some(NOW));
        assert_eq!(code, 1, "append ({what}): {v}");
        assert_eq!(v["first_bad_seq"], n + 1, "append ({what}): {v}");
        // The human output names it too.
        let mut c = lockbox(&db, Some(NOW));
        c.args(["audit", "verify"]);
        let o = run(c);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stdout(&o).contains(&format!("first bad entry is #{}", n + 1)),
            "{}",
            stdout(&o)
        );
        checked += 1;
    }
    println!("{checked} tampered stores, each detected at the right entry");
}

/// The id of a request of `base` by what its row says.
fn request_where(db: &Db, cond: &str) -> String {
    query(
        db,
        &format!("SELECT id FROM requests WHERE {cond} ORDER BY id LIMIT 1"),
    )[0][0]
        .text()
}

#[test]
fn edited_request_rows_are_named_though_the_chain_is_intact() {
    let dir = tempfile::tempdir().unwrap();
    let (base, _) = base(dir.path());
    let (code, v) = verify_at(&base, Some(NOW));
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["first_disagreement"], serde_json::Value::Null);
    assert_eq!(v["requests"], 9);
    let pending = request_where(&base, "state = 'pending'");
    let active = request_where(&base, "state = 'approved'");
    let rejected = request_where(&base, "state = 'rejected'");
    let revoked = request_where(&base, "state = 'revoked'");
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "state flipped to approved",
            format!("UPDATE requests SET state = 'approved' WHERE id = '{pending}';"),
            &pending,
            "state",
        ),
        (
            "access window moved a day later",
            format!(
                "UPDATE requests SET access_ends_at = access_ends_at + 86400000, deadline_at = deadline_at + 86400000 WHERE id = '{active}';"
            ),
            &active,
            "access_ends_at",
        ),
        (
            "a customer approval added",
            format!(
                "INSERT INTO decisions (request_id, idx, level, actor, decision, comment, duration_s, at)
                 VALUES ('{pending}', 1, 'customer', 'mallory', 'approve', NULL, NULL, 1796000000000);"
            ),
            &pending,
            "decisions[1]",
        ),
        (
            "the customer's approval removed",
            format!("DELETE FROM decisions WHERE request_id = '{active}' AND idx = 1;"),
            &active,
            "decisions[1]",
        ),
        (
            "a revocation removed and the grant restored",
            format!(
                "DELETE FROM decisions WHERE request_id = '{revoked}' AND decision = 'revoke';
                 UPDATE requests SET state = 'approved', closed_at = NULL, deadline_at = NULL WHERE id = '{revoked}';"
            ),
            &revoked,
            "state",
        ),
        (
            "a request row deleted",
            format!("DELETE FROM requests WHERE id = '{rejected}';"),
            &rejected,
            "request",
        ),
        (
            "a receipt altered",
            format!(
                "UPDATE receipts SET body = replace(body, '\"decision\":\"rejected\"', '\"decision\":\"approved\"') WHERE request_id = '{rejected}';"
            ),
            &rejected,
            "receipts[0].decision",
        ),
    ];
    for (what, sql, id, field) in &cases {
        let db = base.copy("rows.db");
        tamper(&db, sql);
        let (code, v) = verify_at(&db, Some(NOW));
        assert_eq!(code, 1, "{what}: {v}");
        assert_eq!(v["ok"], false, "{what}: {v}");
        assert_eq!(
            v["first_bad_seq"],
            serde_json::Value::Null,
            "{what}: the chain is intact: {v}"
        );
        let d = &v["first_disagreement"];
        assert_eq!(d["request_id"], *id, "{what}: {v}");
        assert_eq!(d["field"], *field, "{what}: {v}");
        assert!(
            d["stored"].is_string() && d["audited"].is_string(),
            "{what}: {v}"
        );
        // The human output names it too.
        let mut c = lockbox(&db, Some(NOW));
        c.args(["audit", "verify"]);
        let o = run(c);
        assert_eq!(o.status.code(), Some(1), "{what}");
        assert!(
            stdout(&o).contains(&format!("stored state TAMPERED: request {id}: {field} is ")),
            "{what}: {}",
            stdout(&o)
        );
    }
    println!("{} edited stores, each named", cases.len());
}
