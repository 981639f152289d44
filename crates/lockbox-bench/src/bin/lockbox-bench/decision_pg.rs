//! Benchmark 8, the decision path on PostgreSQL: file -> provider-approve ->
//! approve through the engine on a PostgreSQL store, against the same rows
//! (the request, decisions, audit entries, the notice, and on approve the
//! receipt and the chain checkpoint, with bodies of the same size) sent as
//! raw statements (prepared once) to another
//! database of the same server with the same schema, one transaction per
//! step on both sides, `synchronous_commit = on` (the server's default) on
//! both. The server is `--pg URL` (an admin URL: two databases are created
//! on it), else a throwaway cluster started for the run
//! (`lockbox_core::testing`, fsync off: the ratio compares the engine's work
//! with raw statements, not the disk).

use crate::common::{result_line, Cfg, Row};
use crate::pg_server;
use chrono::Utc;
use lockbox_bench::fixture::{self, HOUR};
use lockbox_bench::{median, BoxResult};
use lockbox_core::model::{NewRequest, State};
use lockbox_core::store::StoreLocation;
use lockbox_core::{Engine, Principal, SystemClock};
use std::sync::Arc;
use std::time::Instant;

fn new_request(i: usize) -> NewRequest {
    NewRequest {
        engineer: fixture::engineer(i),
        case: format!("SR-{}", 7_000_000 + i),
        workload: "Exchange Online".into(),
        resource: format!("Mailbox: user{i}@contoso.example"),
        reason: "Mail flow rule drops messages for this mailbox".into(),
        duration_s: Some(7200),
    }
}

const FAKE_HASH: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// The same three transactions as raw statements on a postgres client.
struct RawPg {
    c: postgres::Client,
    seq: i64,
    tenant_seq: i64,
    ins_request: postgres::Statement,
    ins_audit: postgres::Statement,
    ins_decision: postgres::Statement,
    upd_pending: postgres::Statement,
    upd_approved: postgres::Statement,
    ins_notice: postgres::Statement,
    ins_checkpoint: postgres::Statement,
    ins_receipt: postgres::Statement,
}

impl RawPg {
    fn new(url: &str) -> BoxResult<RawPg> {
        // The schema, by the store itself (then the raw side owns the database).
        drop(lockbox_core::store::Store::open_postgres(url)?);
        let mut c = postgres::Client::connect(url, postgres::NoTls)?;
        c.batch_execute(
            "INSERT INTO tenants (id, name, created_at) VALUES ('default', 'Default', 0);
             INSERT INTO settings VALUES ('default', 1, 43200, 14400, 1, 1, NULL);",
        )?;
        let ins_request = c.prepare(
            "INSERT INTO requests (id, tenant, state, case_number, workload, resource, reason,
               requester, requested_duration_s, granted_duration_s, created_at, expires_at,
               approved_at, access_ends_at, closed_at, approvals_required,
               provider_approvals_required, lockbox_required, deadline_at)
             VALUES ($1,'default','awaiting_provider',$2,$3,$4,$5,$6,7200,NULL,$7,$8,NULL,NULL,NULL,1,1,1,$8)",
        )?;
        let ins_audit = c.prepare(
            "INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation,
               request_id, details, prev_hash, hash, tenant_seq, late)
             VALUES ($1,$2,$2,'default',$3,$4,$5,$6,$7,$8,$9,$10,0)",
        )?;
        let ins_decision = c.prepare(
            "INSERT INTO decisions (request_id, idx, level, actor, decision, comment, duration_s, at)
             VALUES ($1, $2, $3, $4, 'approve', NULL, NULL, $5)",
        )?;
        let upd_pending = c.prepare("UPDATE requests SET state = 'pending' WHERE id = $1")?;
        let upd_approved = c.prepare(
            "UPDATE requests SET state = 'approved', granted_duration_s = 7200, approved_at = $2,
               access_ends_at = $3, deadline_at = $3 WHERE id = $1",
        )?;
        let ins_notice = c.prepare(
            "INSERT INTO notices (tenant, request_id, kind, created_at) VALUES ('default', $1, 'pending', $2)
             ON CONFLICT DO NOTHING",
        )?;
        let ins_checkpoint = c.prepare(
            "INSERT INTO audit_checkpoints (tenant, entries, head_hash, at, key_id, body, signature)
             VALUES ('default', $1, $2, $3, '39f6eeb7eda98477', $4, $5)",
        )?;
        let ins_receipt = c.prepare(
            "INSERT INTO receipts (request_id, tenant, decision, body, signature, created_at)
             VALUES ($1, 'default', 'approved', $2, $3, $4)",
        )?;
        Ok(RawPg {
            c,
            ins_checkpoint,
            ins_receipt,
            seq: 0,
            tenant_seq: 0,
            ins_request,
            ins_audit,
            ins_decision,
            upd_pending,
            upd_approved,
            ins_notice,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn audit(
        tx: &mut postgres::Transaction<'_>,
        st: &postgres::Statement,
        seq: &mut i64,
        tseq: &mut i64,
        now: i64,
        kind: &str,
        actor: &str,
        op: &str,
        id: &str,
        details: &str,
    ) -> BoxResult<()> {
        *seq += 1;
        *tseq += 1;
        tx.execute(
            st,
            &[
                seq, &now, &kind, &actor, &op, &id, &details, &FAKE_HASH, &FAKE_HASH, tseq,
            ],
        )?;
        Ok(())
    }

    fn path(&mut self, i: usize) -> BoxResult<()> {
        let id = uuid::Uuid::now_v7().to_string();
        let r = new_request(i);
        let (seq, tseq) = (&mut self.seq, &mut self.tenant_seq);
        // file
        let now = Utc::now().timestamp_millis();
        let expires = now + 12 * HOUR;
        let mut tx = self.c.transaction()?;
        tx.execute(
            &self.ins_request,
            &[
                &id,
                &r.case,
                &r.workload,
                &r.resource,
                &r.reason,
                &r.engineer,
                &now,
                &expires,
            ],
        )?;
        let details = serde_json::json!({
            "case": r.case, "workload": r.workload, "resource": r.resource, "reason": r.reason,
            "requested_duration_s": 7200, "expires_at": fixture::iso(expires),
        })
        .to_string();
        Self::audit(
            &mut tx,
            &self.ins_audit,
            seq,
            tseq,
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
        let mut tx = self.c.transaction()?;
        tx.execute(&self.upd_pending, &[&id])?;
        tx.execute(&self.ins_decision, &[&id, &0i64, &"provider", &mgr, &now])?;
        Self::audit(
            &mut tx,
            &self.ins_audit,
            seq,
            tseq,
            now,
            "provider",
            &mgr,
            "provider_approved",
            &id,
            r#"{"approvals":1,"comment":null,"required":1}"#,
        )?;
        tx.execute(&self.ins_notice, &[&id, &now])?;
        tx.commit()?;
        // approve
        let now = Utc::now().timestamp_millis();
        let ends = now + 7200 * 1000;
        let mut tx = self.c.transaction()?;
        tx.execute(&self.upd_approved, &[&id, &now, &ends])?;
        tx.execute(
            &self.ins_decision,
            &[&id, &1i64, &"customer", &"root", &now],
        )?;
        let details = serde_json::json!({
            "comment": "OK", "duration_s": null, "approvals": 1, "required": 1, "final": true,
            "granted_duration_s": 7200, "access_ends_at": fixture::iso(ends),
        })
        .to_string();
        Self::audit(
            &mut tx,
            &self.ins_audit,
            seq,
            tseq,
            now,
            "customer",
            "root",
            "approved",
            &id,
            &details,
        )?;
        // The engine's receipt (~700 bytes) and checkpoint (~220 bytes),
        // as JSON of the same shape, with an ed25519 signature's length.
        let receipt = serde_json::json!({
            "audit_head": {"hash": FAKE_HASH, "seq": *tseq}, "case": r.case, "closed_at": null,
            "deciders": [
                {"actor": mgr, "at": fixture::iso(now), "decision": "approve", "level": "provider"},
                {"actor": "root", "at": fixture::iso(now), "decision": "approve", "level": "customer"},
            ],
            "decision": "approved", "granted_window": {"from": fixture::iso(now), "to": fixture::iso(ends)},
            "issued_at": fixture::iso(now), "key_id": "39f6eeb7eda98477", "request_id": id,
            "requester": r.engineer, "resource": r.resource, "tenant": "default", "v": 1,
            "workload": r.workload,
        })
        .to_string();
        let checkpoint = serde_json::json!({
            "at": fixture::iso(now), "entries": *tseq, "head_hash": FAKE_HASH,
            "key_id": "39f6eeb7eda98477", "store_id": "3904c0785a2144149abd2171ff46b623",
            "tenant": "default",
        })
        .to_string();
        let signature = "A".repeat(88);
        tx.execute(
            &self.ins_checkpoint,
            &[tseq, &FAKE_HASH, &now, &checkpoint, &signature],
        )?;
        tx.execute(&self.ins_receipt, &[&id, &receipt, &signature, &now])?;
        tx.commit()?;
        Ok(())
    }
}

pub fn run(cfg: &Cfg, pg: Option<&str>) -> BoxResult<Vec<Row>> {
    let n = cfg.size(100, 30);
    let rounds = 3 * cfg.runs.max(1);
    println!(
        "\n== 8. decision path on PostgreSQL: file -> provider-approve -> approve, {n} requests x \
         {rounds} rounds (3 transactions each, synchronous_commit=on; server: {})",
        pg_server::describe(pg)
    );
    let admin = pg_server::admin_url(pg);
    let lb_url = pg_server::create_db(&admin, "lockbox_bench_engine", None)?;
    let raw_url = pg_server::create_db(&admin, "lockbox_bench_raw", None)?;
    let key = cfg.dir.join("decision-pg.key");
    let _ = std::fs::remove_file(&key);
    std::fs::create_dir_all(&cfg.dir)?;
    let mut e = Engine::open_at(
        &StoreLocation::Postgres(lb_url),
        &key,
        Arc::new(SystemClock),
        "root",
    )?;
    let mut raw = RawPg::new(&raw_url)?;
    let mut k = 0;
    let mut rows = vec![measure(
        &mut e,
        &mut raw,
        &mut k,
        n,
        rounds,
        Durability::AsServer,
    )?];
    // The throwaway cluster runs with fsync off (the ratio above compares
    // the work, not the disk); the same again with every commit on disk, as
    // a production server has it. (A server of `--pg` is left as it is.)
    if pg.is_none() {
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)?;
        // (ALTER SYSTEM refuses to run in a transaction: one statement each.)
        c.batch_execute("ALTER SYSTEM SET fsync = on")?;
        c.batch_execute("SELECT pg_reload_conf()")?;
        std::thread::sleep(std::time::Duration::from_millis(300));
        let durable = measure(&mut e, &mut raw, &mut k, n, rounds, Durability::Fsync);
        c.batch_execute("ALTER SYSTEM RESET fsync")?;
        c.batch_execute("SELECT pg_reload_conf()")?;
        rows.push(durable?);
    }
    Ok(rows)
}

/// How the server keeps a commit while measuring.
#[derive(Clone, Copy, PartialEq)]
enum Durability {
    /// As the server is set (the throwaway cluster: fsync off).
    AsServer,
    /// fsync on: each commit waits for the disk.
    Fsync,
}

fn measure(
    e: &mut Engine,
    raw: &mut RawPg,
    k: &mut usize,
    n: usize,
    rounds: usize,
    durability: Durability,
) -> BoxResult<Row> {
    if durability == Durability::Fsync {
        println!("   with fsync on:");
    }
    let (mut lb_rates, mut raw_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // One path through the engine, then the same path raw (or the
        // other way round, every other path): the two sides are timed
        // path by path, interleaved, so that the machine's drift (other
        // processes, the VM's neighbours) falls on both alike.
        let (mut t_lb, mut t_raw) = (0.0, 0.0);
        for i in *k..*k + n {
            let mut lb_path = || -> BoxResult<f64> {
                let t = Instant::now();
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
                Ok(t.elapsed().as_secs_f64())
            };
            let mut raw_path = || -> BoxResult<f64> {
                let t = Instant::now();
                raw.path(i)?;
                Ok(t.elapsed().as_secs_f64())
            };
            if (i + round) % 2 == 0 {
                t_lb += lb_path()?;
                t_raw += raw_path()?;
            } else {
                t_raw += raw_path()?;
                t_lb += lb_path()?;
            }
        }
        let (lb, rw) = (n as f64 / t_lb, n as f64 / t_raw);
        *k += n;
        println!(
            "   round {}: lockbox {lb:.1} paths/s, raw {rw:.1} paths/s ({:.2}x)",
            round + 1,
            lb / rw
        );
        lb_rates.push(lb);
        raw_rates.push(rw);
        ratios.push(lb / rw);
    }
    let (lb, rw, ratio) = (median(&lb_rates), median(&raw_rates), median(&ratios));
    let met = ratio >= 0.5;
    let f = |x: f64| format!("{x:.1} paths/s ({:.1} tx/s)", x * 3.0);
    let (name, op) = match durability {
        Durability::AsServer => (
            "decision path (PostgreSQL)",
            "8. decision path on PostgreSQL (3 tx, synchronous_commit=on)",
        ),
        Durability::Fsync => (
            "decision path (PostgreSQL, fsync on)",
            "8. decision path on PostgreSQL, fsync on (3 tx, synchronous_commit=on)",
        ),
    };
    result_line(
        name,
        &f(lb),
        &f(rw),
        &format!("{ratio:.2}x"),
        ">= 0.5x",
        met,
    );
    Ok(Row {
        op: op.into(),
        lockbox: f(lb),
        baseline: f(rw),
        ratio: format!("{ratio:.2}x"),
        target: "≥ 0.5x".into(),
        met: Some(met),
    })
}
