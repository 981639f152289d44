//! The audit chains verified in parallel ranges report exactly what one
//! sequential pass reports — intact, or tampered anywhere, especially at and
//! across the range boundaries (deleted runs, a deleted tail, swaps, forged
//! entries before the first and after the last). Three tenants write in
//! turns, so every range takes up chains mid-way and the join must link them.

#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use lockbox_core::audit::{entry_hash, HashInput};
use lockbox_core::{Engine, ManualClock};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const N: i64 = 600;

/// A store whose chain has N entries (the engine's first ones, then appended directly).
fn build(dir: &Path) -> PathBuf {
    let path = dir.join("base.db");
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap(),
    ));
    drop(Engine::open(&path, clock, "root").unwrap());
    let mut c = rusqlite::Connection::open(&path).unwrap();
    let tx = c.transaction().unwrap();
    let (mut seq, n0, prev0): (i64, i64, String) = tx
        .query_row(
            "SELECT seq, tenant_seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let mut chains = std::collections::HashMap::from([("default", (n0, prev0))]);
    while seq < N {
        seq += 1;
        let tenant = ["default", "fab", "ops"][(seq % 3) as usize];
        let (n, prev) = chains
            .entry(tenant)
            .or_insert((0, lockbox_core::audit::GENESIS.to_string()));
        *n += 1;
        let details = format!(r#"{{"action":"step {seq}"}}"#);
        let rid = format!("req-{}", seq % 7);
        let hash = entry_hash(&HashInput {
            tenant_seq: *n,
            at_ms: seq * 1000,
            recorded_ms: seq * 1000,
            tenant,
            actor_kind: "provider",
            actor: "eng",
            operation: "access_used",
            request_id: Some(&rid),
            details: &details,
            prev_hash: prev,
        });
        tx.execute(
            "INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash, tenant_seq) VALUES (?1, ?2, ?2, ?7, 'provider', 'eng', 'access_used', ?3, ?4, ?5, ?6, ?8)",
            rusqlite::params![seq, seq * 1000, rid, details, prev.as_str(), hash, tenant, *n],
        )
        .unwrap();
        *prev = hash;
    }
    tx.commit().unwrap();
    path
}

fn outcomes(path: &Path) -> Vec<lockbox_core::audit::VerifyOutcome> {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap(),
    ));
    let mut e = Engine::open(path, clock, "root").unwrap();
    (1..=5)
        .map(|w| e.store().verify_audit_in(w).unwrap())
        .collect()
}

#[test]
fn parallel_verification_reports_what_a_sequential_pass_reports() {
    let dir = tempfile::tempdir().unwrap();
    let base = build(dir.path());
    // Range boundaries for 2..=5 workers, and their neighbours.
    let mut ks: Vec<i64> = (2..=5i64)
        .flat_map(|w| (1..w).map(move |i| 1 + N * i / w))
        .flat_map(|b| [b - 1, b, b + 1])
        .collect();
    ks.extend([1, 2, N - 1, N]);
    ks.sort();
    ks.dedup();
    let mut cases: Vec<String> = vec![String::new()];
    for k in &ks {
        cases.push(format!("DELETE FROM audit_log WHERE seq = {k};"));
        cases.push(format!(
            "UPDATE audit_log SET details = 'x' WHERE seq = {k};"
        ));
        cases.push(format!("UPDATE audit_log SET hash = 'y' WHERE seq = {k};"));
        cases.push(format!(
            "UPDATE audit_log SET seq = -1 WHERE seq = {k}; UPDATE audit_log SET seq = {k} WHERE seq = {k} + 1; UPDATE audit_log SET seq = {k} + 1 WHERE seq = -1;"
        ));
        cases.push(format!(
            "DELETE FROM audit_log WHERE seq BETWEEN {k} AND {k} + 40;"
        ));
    }
    cases.push(format!("DELETE FROM audit_log WHERE seq > {};", N - 10)); // a cut tail
    cases.push(format!("DELETE FROM audit_log WHERE seq > {};", N / 2));
    cases.push(format!(
        "DELETE FROM audit_log WHERE seq BETWEEN {} AND {};",
        N / 5,
        N - 1
    ));
    cases.push("INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash, tenant_seq) SELECT 0, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash, tenant_seq + 1000 FROM audit_log WHERE seq = 5;".into());
    cases.push(format!("INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash, tenant_seq) SELECT {}, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, hash, hash, tenant_seq + 1 FROM audit_log WHERE seq = {N};", N + 1));
    for k in [2, N / 2, N - 3] {
        // A tenant position edited, and a row moved to another tenant.
        cases.push(format!(
            "UPDATE audit_log SET tenant_seq = tenant_seq + 1 WHERE seq = {k};"
        ));
        cases.push(format!(
            "UPDATE audit_log SET tenant = 'fab' WHERE seq = {k} AND tenant <> 'fab';"
        ));
    }
    let mut bad = 0;
    for sql in &cases {
        let db = dir.path().join("t.db");
        std::fs::copy(&base, &db).unwrap();
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(&format!(
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP INDEX audit_chain; {sql}"
        ))
        .unwrap();
        drop(c);
        let got = outcomes(&db);
        for (w, o) in got.iter().enumerate().skip(1) {
            assert_eq!(o, &got[0], "{sql} with {} workers", w + 1);
        }
        bad += usize::from(!got[0].ok());
    }
    assert!(
        bad > cases.len() * 3 / 4,
        "{bad} of {} cases detected",
        cases.len()
    );
}
