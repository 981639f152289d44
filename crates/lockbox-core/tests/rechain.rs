//! One hash chain per tenant, and migration 7 that re-chains stores written
//! with the old global chain (`lockbox-audit-v1`).
//!
//! Old stores are made the honest way: a store written by this engine is
//! turned back into the v1 format (v1 hashes over store positions, receipts
//! naming v1 heads, the columns of migration 7 dropped, user_version 6), then
//! opened again.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use lockbox_core::audit::{entry_hash_v1, AuditEntry, HashInput, RawEntry, Verifier, GENESIS};
use lockbox_core::model::NewRequest;
use lockbox_core::store::AuditQuery;
use lockbox_core::{Engine, ErrorCode, ManualClock, Principal};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> Principal {
    Principal::os_user("root", 0)
}

fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap())
}

fn new_request(case: &str) -> NewRequest {
    NewRequest {
        engineer: "eng".into(),
        case: case.into(),
        workload: "Teams".into(),
        resource: "team".into(),
        reason: "r".into(),
        duration_s: Some(3600),
    }
}

/// Two tenants written in turns: approved, rejected, revoked and expired
/// requests (so receipts exist), access entries, a setting change.
fn build(path: &Path, clock: &ManualClock) {
    let mut e = Engine::open(path, Arc::new(clock.clone()), "root").unwrap();
    e.add_tenant("default", &root(), "fab", "Fabrikam").unwrap();
    for i in 0..4 {
        for tenant in ["default", "fab"] {
            let r = e
                .file_request(tenant, &new_request(&format!("SR-{tenant}-{i}")))
                .unwrap();
            e.provider_approve(tenant, &r.id, "mgr", None).unwrap();
            match i {
                0 => {
                    e.approve(tenant, &r.id, &root(), Some("ok"), None).unwrap();
                    e.log_access(tenant, &r.id, "eng", "read mailbox").unwrap();
                }
                1 => {
                    e.reject(tenant, &r.id, &root(), Some("no")).unwrap();
                }
                2 => {
                    e.approve(tenant, &r.id, &root(), None, None).unwrap();
                    e.revoke(tenant, &r.id, &root(), Some("done")).unwrap();
                }
                _ => {}
            }
            clock.advance(Duration::minutes(7));
        }
    }
    e.set_setting("fab", &root(), "approvals-required", "1")
        .unwrap();
    // The last requests expire unanswered.
    clock.advance(Duration::hours(13));
    e.apply_due().unwrap();
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

/// Turn a store written by this engine into what a Lockbox before
/// migration 7 wrote: one v1 chain over store positions. Returns the old
/// chain's `(entries, head)`.
fn make_v1(path: &Path) -> (i64, String) {
    let mut c = raw(path);
    let tx = c.transaction().unwrap();
    tx.execute_batch(
        "DROP TRIGGER audit_log_no_update; DROP INDEX audit_chain; DROP INDEX audit_lifecycle;",
    )
    .unwrap();
    // (seq, tenant, tenant_seq) -> v1 hash, for the receipts.
    let mut v1_of = std::collections::HashMap::new();
    let mut prev = GENESIS.to_string();
    let mut n = 0;
    {
        let mut stmt = tx
            .prepare(
                "SELECT seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, tenant_seq
                 FROM audit_log ORDER BY seq",
            )
            .unwrap();
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let seq: i64 = r.get(0).unwrap();
            let (tenant, kind, actor, op): (String, String, String, String) = (
                r.get(3).unwrap(),
                r.get(4).unwrap(),
                r.get(5).unwrap(),
                r.get(6).unwrap(),
            );
            let rid: Option<String> = r.get(7).unwrap();
            let details: String = r.get(8).unwrap();
            let h = entry_hash_v1(
                seq,
                &HashInput {
                    tenant_seq: 0,
                    at_ms: r.get(1).unwrap(),
                    recorded_ms: r.get(2).unwrap(),
                    tenant: &tenant,
                    actor_kind: &kind,
                    actor: &actor,
                    operation: &op,
                    request_id: rid.as_deref(),
                    details: &details,
                    prev_hash: &prev,
                },
            );
            tx.execute(
                "UPDATE audit_log SET prev_hash = ?2, hash = ?3 WHERE seq = ?1",
                rusqlite::params![seq, prev, h],
            )
            .unwrap();
            v1_of.insert((tenant, r.get::<_, i64>(9).unwrap()), (seq, h.clone()));
            prev = h;
            n = seq;
        }
    }
    // Receipts named the global head (position, v1 hash) when they were signed.
    let receipts: Vec<(i64, String, String)> = tx
        .prepare("SELECT seq, tenant, body FROM receipts")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(receipts.len() >= 6, "{} receipts", receipts.len());
    for (rseq, tenant, body) in receipts {
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let (tseq, hash) = (
            v["audit_head"]["seq"].as_i64().unwrap(),
            v["audit_head"]["hash"].as_str().unwrap().to_string(),
        );
        let (seq, v1) = &v1_of[&(tenant, tseq)];
        let body = body
            .replacen(&format!("\"seq\":{tseq}"), &format!("\"seq\":{seq}"), 1)
            .replace(&hash, v1);
        tx.execute(
            "UPDATE receipts SET body = ?2 WHERE seq = ?1",
            rusqlite::params![rseq, body],
        )
        .unwrap();
    }
    tx.execute_batch(
        "ALTER TABLE audit_log DROP COLUMN tenant_seq;
         ALTER TABLE audit_log DROP COLUMN v1_hash;
         CREATE INDEX audit_lifecycle ON audit_log
             (request_id, seq, tenant, at, recorded_at, actor_kind, actor, operation, details, hash)
             WHERE request_id IS NOT NULL AND operation NOT IN ('access_used', 'access_denied');
         CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
         BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END;
         PRAGMA user_version = 6;",
    )
    .unwrap();
    tx.commit().unwrap();
    (n, prev)
}

fn v1_store(dir: &Path) -> (PathBuf, ManualClock, (i64, String)) {
    let path = dir.join("old.db");
    let clock = clock();
    build(&path, &clock);
    let head = make_v1(&path);
    (path, clock, head)
}

fn entries(e: &mut Engine, tenant: &str) -> Vec<AuditEntry> {
    let mut out = Vec::new();
    e.for_each_audit(tenant, &AuditQuery::default(), |x| {
        out.push(x.clone());
        Ok(())
    })
    .unwrap();
    out
}

/// Verify `entries` alone, as an export of one tenant would be.
fn verify_alone(entries: &[AuditEntry]) -> lockbox_core::audit::VerifyOutcome {
    let mut v = Verifier::for_export(true);
    for x in entries {
        let ok = v.feed(&RawEntry {
            seq: x.seq,
            tenant_seq: x.tenant_seq,
            at_ms: x.at.timestamp_millis(),
            recorded_ms: x.recorded_at.timestamp_millis(),
            tenant: x.tenant.as_bytes(),
            actor_kind: x.actor_kind.as_str().as_bytes(),
            actor: x.actor.as_bytes(),
            operation: x.operation.as_bytes(),
            request_id: x.request_id.as_deref().map(str::as_bytes),
            details: x.details.as_bytes(),
            prev_hash: x.prev_hash.as_bytes(),
            hash: x.hash.as_bytes(),
        });
        if !ok {
            break;
        }
    }
    v.finish()
}

#[test]
fn each_tenant_written_in_turns_verifies_alone() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let path = dir.path().join("lockbox.db");
    build(&path, &clock);
    let mut e = Engine::open(&path, Arc::new(clock), "root").unwrap();
    let all = e.verify_audit().unwrap();
    assert!(all.ok(), "{all:?}");
    for tenant in ["default", "fab"] {
        let mine = entries(&mut e, tenant);
        assert!(mine.len() > 10, "{tenant}: {} entries", mine.len());
        let positions: Vec<i64> = mine.iter().map(|x| x.tenant_seq).collect();
        assert_eq!(positions, (1..=mine.len() as i64).collect::<Vec<_>>());
        let v = verify_alone(&mine);
        assert!(v.ok(), "{tenant}: {v:?}");
        let head = e.audit_head(tenant).unwrap();
        assert_eq!(head.0, mine.len() as i64);
        assert_eq!(v.head_of(tenant).unwrap().hash, head.1.unwrap());
        assert_eq!(
            all.head_of(tenant).unwrap().hash,
            v.head_of(tenant).unwrap().hash
        );
        // Interleaved: the store positions of one tenant have gaps.
        assert!(mine.windows(2).any(|w| w[1].seq > w[0].seq + 1));
        // Dropping an entry in the middle breaks that tenant's chain alone.
        let mut cut = mine.clone();
        let gone = cut.remove(mine.len() / 2);
        let bad = verify_alone(&cut).first_bad.unwrap();
        assert_eq!(bad.0, mine[mine.len() / 2 + 1].seq, "{bad:?}");
        assert!(
            bad.1.contains(&format!("position {}", gone.tenant_seq + 1)),
            "{bad:?}"
        );
    }
}

#[test]
fn an_old_global_chain_is_re_chained_per_tenant_with_a_recorded_link() {
    let dir = tempfile::tempdir().unwrap();
    let (path, clock, (n, old_head)) = v1_store(dir.path());
    let mut e = Engine::open(&path, Arc::new(clock.clone()), "root").unwrap();
    let v = e.verify_audit().unwrap();
    assert!(v.ok(), "{v:?}");
    // Receipts signed before the migration still agree with the history.
    assert!(v.requests >= 8, "{v:?}");
    for tenant in ["default", "fab"] {
        let mine = entries(&mut e, tenant);
        let link = mine.last().unwrap();
        assert_eq!(link.operation, "audit_rechained");
        let d: serde_json::Value = serde_json::from_str(&link.details).unwrap();
        assert_eq!(d["previous_chain"]["entries"], n);
        assert_eq!(d["previous_chain"]["head_hash"], old_head.as_str());
        assert_eq!(d["previous_chain"]["format"], "lockbox-audit-v1");
        assert_eq!(d["tenant_entries"], mine.len() as i64 - 1);
        assert!(verify_alone(&mine).ok(), "{tenant}");
    }
    let v1_kept: i64 = raw(&path)
        .query_row("SELECT COUNT(v1_hash) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v1_kept, n);
    // Life goes on after it: a new decision, a new receipt naming the tenant head.
    let r = e.file_request("fab", &new_request("SR-after")).unwrap();
    e.provider_approve("fab", &r.id, "mgr", None).unwrap();
    e.approve("fab", &r.id, &root(), None, None).unwrap();
    let rs = e.receipts("fab", &r.id).unwrap();
    let body: serde_json::Value = serde_json::from_str(&rs[0].0.body).unwrap();
    let head = e.audit_head("fab").unwrap();
    assert_eq!(body["audit_head"]["seq"], head.0);
    assert_eq!(body["audit_head"]["hash"], head.1.unwrap().as_str());
    assert!(e.verify_audit().unwrap().ok());
    drop(e);

    // Running migration 7 again (a store downgraded by hand) changes nothing.
    raw(&path)
        .execute_batch("PRAGMA user_version = 6;")
        .unwrap();
    let mut e = Engine::open(&path, Arc::new(clock), "root").unwrap();
    let links = entries(&mut e, "default")
        .iter()
        .filter(|x| x.operation == "audit_rechained")
        .count();
    assert_eq!(links, 1);
    assert!(e.verify_audit().unwrap().ok());
    drop(e);

    // The kept v1 hashes are checked: an edited one is named.
    let c = raw(&path);
    c.execute_batch(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET v1_hash = 'x' WHERE seq = 5;",
    )
    .unwrap();
    drop(c);
    let mut e = Engine::open(&path, Arc::new(clock_at_end()), "root").unwrap();
    let v = e.verify_audit().unwrap();
    let (seq, why) = v.first_bad.unwrap();
    assert_eq!(seq, 5, "{why}");
    assert!(why.contains("before re-chaining"), "{why}");
}

fn clock_at_end() -> ManualClock {
    let c = clock();
    c.advance(Duration::days(2));
    c
}

#[test]
fn a_broken_old_chain_is_not_re_chained_and_the_store_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (path, clock, _) = v1_store(dir.path());
    let c = raw(&path);
    c.execute_batch(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET details = '{\"x\":1}' WHERE seq = 7;
         PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .unwrap();
    drop(c);
    let sha = |p: &Path| hex::encode(Sha256::digest(std::fs::read(p).unwrap()));
    let before = sha(&path);
    let err = Engine::open(&path, Arc::new(clock), "root").err().unwrap();
    assert_eq!(err.code, ErrorCode::StoreUnavailable);
    assert!(err.message.contains("breaks at entry 7"), "{}", err.message);
    assert!(
        err.message.contains("nothing was changed"),
        "{}",
        err.message
    );
    let v: i64 = raw(&path)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 6);
    raw(&path)
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    assert_eq!(sha(&path), before, "the store's bytes are unchanged");
}
