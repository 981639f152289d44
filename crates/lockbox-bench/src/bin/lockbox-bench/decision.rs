//! Benchmark 1, the decision path: file -> provider-approve -> approve through the
//! engine, against the same rows and audit entries written with raw statements
//! (one transaction per step on both sides).

use crate::common::{fresh_dir, raw_conn, result_line, Cfg, Row};
use chrono::Utc;
use lockbox_bench::fixture::{self, HOUR};
use lockbox_bench::{median, BoxResult};
use lockbox_core::model::{NewRequest, State};
use lockbox_core::Principal;
use lockbox_core::{Engine, SystemClock};
use rusqlite::{params, Connection, TransactionBehavior};
use std::sync::Arc;
use std::time::Instant;

fn new_request(i: usize) -> NewRequest {
    NewRequest {
        engineer: fixture::engineer(i),
        case: format!("SR-{}", 5_000_000 + i),
        workload: "Exchange Online".into(),
        resource: format!("Mailbox: user{i}@contoso.example"),
        reason: "Mail flow rule drops messages for this mailbox".into(),
        duration_s: Some(7200),
    }
}

const FAKE_HASH: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

struct RawDecider<'c> {
    c: &'c mut Connection,
    seq: i64,
    prev: String,
}

impl RawDecider<'_> {
    /// file -> provider-approve -> approve as raw statements, one transaction per step.
    fn path(&mut self, i: usize) -> BoxResult<()> {
        let id = uuid::Uuid::now_v7().to_string();
        let r = new_request(i);
        let now = Utc::now().timestamp_millis();
        let expires = now + 12 * HOUR;
        // file
        let c = &mut *self.c;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO requests (id, tenant, state, case_number, workload, resource, reason,
               requester, requested_duration_s, granted_duration_s, created_at, expires_at,
               approved_at, access_ends_at, closed_at, approvals_required,
               provider_approvals_required, lockbox_required, deadline_at)
             VALUES (?1,'default','awaiting_provider',?2,?3,?4,?5,?6,7200,NULL,?7,?8,NULL,NULL,NULL,1,1,1,?8)",
        )?
        .execute(params![id, r.case, r.workload, r.resource, r.reason, r.engineer, now, expires])?;
        let details = serde_json::json!({
            "case": r.case, "workload": r.workload, "resource": r.resource, "reason": r.reason,
            "requested_duration_s": 7200, "expires_at": fixture::iso(expires),
        })
        .to_string();
        let mut this = RawAudit {
            seq: &mut self.seq,
            prev: &mut self.prev,
        };
        this.insert(
            &tx,
            now,
            "provider",
            &r.engineer,
            "request_created",
            &id,
            &details,
        )?;
        tx.commit()?;
        // provider-approve
        let now = Utc::now().timestamp_millis();
        let mgr = fixture::manager(i);
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached("UPDATE requests SET state = 'pending' WHERE id = ?1")?
            .execute(params![id])?;
        tx.prepare_cached(
            "INSERT INTO decisions (request_id, idx, level, actor, decision, comment, duration_s, at)
             VALUES (?1, 0, 'provider', ?2, 'approve', NULL, NULL, ?3)",
        )?
        .execute(params![id, mgr, now])?;
        this.insert(
            &tx,
            now,
            "provider",
            &mgr,
            "provider_approved",
            &id,
            r#"{"approvals":1,"comment":null,"required":1}"#,
        )?;
        tx.prepare_cached(
            "INSERT OR IGNORE INTO notices (tenant, request_id, kind, created_at) VALUES ('default', ?1, 'pending', ?2)",
        )?
        .execute(params![id, now])?;
        tx.commit()?;
        // approve
        let now = Utc::now().timestamp_millis();
        let ends = now + 7200 * 1000;
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "UPDATE requests SET state = 'approved', granted_duration_s = 7200, approved_at = ?2,
               access_ends_at = ?3, deadline_at = ?3 WHERE id = ?1",
        )?
        .execute(params![id, now, ends])?;
        tx.prepare_cached(
            "INSERT INTO decisions (request_id, idx, level, actor, decision, comment, duration_s, at)
             VALUES (?1, 1, 'customer', 'root', 'approve', 'OK', NULL, ?2)",
        )?
        .execute(params![id, now])?;
        let details = serde_json::json!({
            "comment": "OK", "duration_s": null, "approvals": 1, "required": 1, "final": true,
            "granted_duration_s": 7200, "access_ends_at": fixture::iso(ends),
        })
        .to_string();
        this.insert(&tx, now, "customer", "root", "approved", &id, &details)?;
        tx.commit()?;
        Ok(())
    }
}

struct RawAudit<'a> {
    seq: &'a mut i64,
    prev: &'a mut String,
}

impl RawAudit<'_> {
    #[allow(clippy::too_many_arguments)]
    fn insert(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        now: i64,
        kind: &str,
        actor: &str,
        op: &str,
        id: &str,
        details: &str,
    ) -> BoxResult<()> {
        *self.seq += 1;
        tx.prepare_cached(
            "INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation,
               request_id, details, prev_hash, hash) VALUES (?1,?2,?2,'default',?3,?4,?5,?6,?7,?8,?9)",
        )?
        .execute(params![
            *self.seq, now, kind, actor, op, id, details, *self.prev, FAKE_HASH
        ])?;
        *self.prev = FAKE_HASH.to_string();
        Ok(())
    }
}

pub fn run(cfg: &Cfg) -> BoxResult<Vec<Row>> {
    // Short alternating rounds, so both sides see the same disk weather;
    // the ratio is the median of the rounds' ratios.
    let n = cfg.size(100, 30);
    let rounds = 3 * cfg.runs.max(1);
    println!(
        "\n== 1. decision path: file -> provider-approve -> approve, {n} requests x {rounds} rounds \
         (3 transactions each; WAL, synchronous=FULL, foreign_keys; store on {})",
        cfg.dir.display()
    );
    let dir = fresh_dir(cfg, "decision")?;
    let lb_path = dir.join("lockbox.db");
    let raw_path = dir.join("raw.db");
    let mut e = Engine::open(&lb_path, Arc::new(SystemClock), "root")?;
    fixture::create_store(&raw_path, Utc::now().timestamp_millis())?;
    let mut raw = raw_conn(&raw_path)?;
    let (seq, prev): (i64, String) = raw.query_row(
        "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut rd = RawDecider {
        c: &mut raw,
        seq,
        prev,
    };
    let mut lb_rates = Vec::new();
    let mut raw_rates = Vec::new();
    let mut ratios = Vec::new();
    let mut k = 0;
    for round in 0..rounds {
        let mut run_lb = |k0: usize| -> BoxResult<f64> {
            let t = Instant::now();
            for i in k0..k0 + n {
                let r = e.file_request("default", &new_request(i))?;
                e.provider_approve("default", &r.id, &fixture::manager(i), None)?;
                let r = e.approve(
                    "default",
                    &r.id,
                    &Principal::os_user("root", 0),
                    Some("OK"),
                    None,
                )?;
                if r.state != State::Approved {
                    return Err("the request was not approved".into());
                }
            }
            Ok(n as f64 / t.elapsed().as_secs_f64())
        };
        let (lb, rw);
        if round % 2 == 0 {
            lb = run_lb(k)?;
            let t = Instant::now();
            for i in k..k + n {
                rd.path(i)?;
            }
            rw = n as f64 / t.elapsed().as_secs_f64();
        } else {
            let t = Instant::now();
            for i in k..k + n {
                rd.path(i)?;
            }
            rw = n as f64 / t.elapsed().as_secs_f64();
            lb = run_lb(k)?;
        }
        k += n;
        println!(
            "   round {}: lockbox {lb:.1} paths/s, raw {rw:.1} paths/s ({:.2}x)",
            round + 1,
            lb / rw
        );
        lb_rates.push(lb);
        raw_rates.push(rw);
        ratios.push(lb / rw);
    }
    let (lb, rw) = (median(&lb_rates), median(&raw_rates));
    let ratio = median(&ratios);
    let met = ratio >= 0.5;
    let f = |x: f64| format!("{x:.1} paths/s ({:.1} tx/s)", x * 3.0);
    result_line(
        "decision path",
        &f(lb),
        &f(rw),
        &format!("{ratio:.2}x"),
        ">= 0.5x",
        met,
    );
    Ok(vec![Row {
        op: "1. decision path file→provider-approve→approve (3 fsync'd tx)".into(),
        lockbox: f(lb),
        baseline: f(rw),
        ratio: format!("{ratio:.2}x"),
        target: "≥ 0.5x".into(),
        met: Some(met),
    }])
}
