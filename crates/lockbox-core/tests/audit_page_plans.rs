//! Audit pages with a time filter are read by whichever plan is fast for the
//! window (the time index for a small window, newest-first by seq for a large
//! one, bounded by the window's newest seq when it ends in the past). Every
//! plan must return exactly the entries a plain filter returns — also when
//! effective times are out of seq order (deadline entries recorded late).

#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use lockbox_core::clock::from_millis;
use lockbox_core::store::AuditQuery;
use lockbox_core::{Engine, ManualClock};
use std::sync::Arc;

const N: i64 = 4000;
const T0: i64 = 1_800_000_000_000;

#[test]
fn every_plan_returns_what_a_plain_filter_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lockbox.db");
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2027, 1, 15, 0, 0, 0).unwrap(),
    ));
    drop(Engine::open(&path, clock.clone(), "root").unwrap());
    {
        let mut c = rusqlite::Connection::open(&path).unwrap();
        let tx = c.transaction().unwrap();
        let first: i64 = tx
            .query_row("SELECT MAX(seq) FROM audit_log", [], |r| r.get(0))
            .unwrap();
        let mut max_at = i64::MIN;
        for seq in first + 1..=first + N {
            // One in seven is a deadline entry whose effective time is older;
            // from seq 3000 on the clock went back 2000 s and then on.
            let at = T0 + seq * 1000
                - if seq % 7 == 0 { 900_000 } else { 0 }
                - if seq >= 3000 { 2_000_000 } else { 0 };
            let op = ["access_used", "approved", "expired"][(seq % 3) as usize];
            // As the engine writes it (rows 13 in, 10 out are written without: late).
            let late = if (13..23).contains(&(seq % 100)) {
                None
            } else {
                Some(at < max_at)
            };
            max_at = max_at.max(at);
            tx.execute(
                "INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation,
                    request_id, details, prev_hash, hash, late)
                 VALUES (?1, ?2, ?3, 'default', 'system', 'lockbox', ?4, NULL, '{}', '', '', COALESCE(?5, 1))",
                rusqlite::params![seq, at, T0 + seq * 1000, op, late],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let mut e = Engine::open(&path, clock, "root").unwrap();
    let all = {
        let mut v = Vec::new();
        e.for_each_audit("default", &AuditQuery::default(), |x| {
            v.push((x.seq, x.at, x.operation.clone()));
            Ok(())
        })
        .unwrap();
        v
    };
    let t = |s: i64| Some(from_millis(T0 + s * 1000));
    let windows = [
        (t(3990), None),    // small, recent
        (t(3000), None),    // large, recent
        (None, t(500)),     // large, old
        (None, t(20)),      // small, old
        (t(1000), t(2500)), // large, in the middle
        (t(1500), t(1600)), // small, in the middle
        (t(5000), None),    // empty, in the future
        (t(100), t(3999)),  // nearly everything
        (t(900), t(1100)),  // in the past, around the clock going back
        (t(500), t(1001)),  // ends just after it
        (t(0), t(2999)),    // large, old, ends where the clock went back
    ];
    let mut checked = 0;
    for (since, until) in windows {
        for op in [None, Some("approved"), Some("expired")] {
            for before_seq in [None, Some(2200), Some(40)] {
                for limit in [50, 7] {
                    let q = AuditQuery {
                        since,
                        until,
                        operation: op.map(str::to_string),
                        before_seq,
                        limit: Some(limit),
                        ..Default::default()
                    };
                    let got: Vec<i64> = e
                        .audit_page("default", &q)
                        .unwrap()
                        .iter()
                        .map(|x| x.seq)
                        .collect();
                    let mut want: Vec<i64> = all
                        .iter()
                        .filter(|(seq, at, o)| {
                            since.is_none_or(|s| *at >= s)
                                && until.is_none_or(|u| *at < u)
                                && op.is_none_or(|op| o == op)
                                && before_seq.is_none_or(|b| *seq < b)
                        })
                        .map(|(seq, _, _)| *seq)
                        .rev()
                        .collect();
                    want.truncate(limit as usize);
                    assert_eq!(
                        got, want,
                        "{since:?}..{until:?} {op:?} before {before_seq:?}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 11 * 3 * 3 * 2);
}

/// The engine marks an entry `late` when its effective time is earlier than
/// one already written (a deadline swept after newer entries), and migration 4
/// computes the same marks for a store written before it.
#[test]
fn late_marks_written_by_the_engine_equal_those_the_migration_computes() {
    use chrono::Duration;
    use lockbox_core::model::NewRequest;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lockbox.db");
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2027, 1, 15, 0, 0, 0).unwrap());
    let mut e = Engine::open(&path, Arc::new(clock.clone()), "root").unwrap();
    let new = NewRequest {
        engineer: "eng".into(),
        case: "SR-1".into(),
        workload: "Exchange".into(),
        resource: "mbx".into(),
        reason: "r".into(),
        duration_s: Some(3600),
    };
    let a = e.file_request("default", &new).unwrap();
    clock.advance(Duration::hours(1));
    let b = e.file_request("default", &new).unwrap();
    // The clock goes back half an hour: what is written now is older than
    // b's filing.
    clock.advance(Duration::minutes(-30));
    e.provider_approve("default", &a.id, "mgr", None).unwrap();
    clock.advance(Duration::hours(2));
    e.provider_approve("default", &b.id, "mgr", None).unwrap();
    let marks = |path: &std::path::Path| -> Vec<(i64, String, i64)> {
        let c = rusqlite::Connection::open(path).unwrap();
        let mut st = c
            .prepare("SELECT seq, operation, late FROM audit_log ORDER BY seq")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let written = marks(&path);
    let late: Vec<&str> = written
        .iter()
        .filter(|m| m.2 == 1)
        .map(|m| m.1.as_str())
        .collect();
    assert_eq!(
        late,
        ["provider_approved"],
        "only a's approval is older than b's filing: {written:?}"
    );
    drop(e);
    // As a version-3 store: no column; the migration computes the marks.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "DROP INDEX audit_in_order_by_time; DROP INDEX audit_late_by_time;
         DROP INDEX audit_lifecycle;
         ALTER TABLE audit_log DROP COLUMN late; PRAGMA user_version = 3;",
    )
    .unwrap();
    drop(c);
    drop(Engine::open(&path, Arc::new(clock), "root").unwrap());
    assert_eq!(marks(&path), written);
}
