//! Benchmark 11, a connected desktop's audit replica catching up (issue 14): every
//! tenant of the big store (1M entries) pulled page by page as the team
//! server sends it (`Engine::replica_page`, 10 000 entries a page, through
//! JSON as on the wire) and appended by `store::replica::apply` (every link
//! and hash checked) into a new SQLite store; against the same entries read
//! with a plain SELECT and inserted with a plain INSERT into a new store of
//! the same schema, a transaction per page, nothing checked. Alternating,
//! in the same run. The HTTP hop is not in either.

use crate::big_store::big_store;
use crate::common::{fresh_dir, raw_conn, result_line, Cfg, Row};
use lockbox_bench::fixture::t_ref;
use lockbox_bench::{median, BoxResult};
use lockbox_core::dto::ReplicaPageDto;
use lockbox_core::store::{replica, Store, StoreLocation};
use lockbox_core::{Engine, ManualClock};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const PAGE: u32 = 10_000;
const TARGET: f64 = 50_000.0;

pub fn run(cfg: &Cfg) -> BoxResult<Vec<Row>> {
    println!("\n== 11. audit replica catch-up: replica_page + JSON + replica::apply vs raw SELECT + INSERT");
    let (path, _, naudit) = big_store(cfg)?;
    let dir = fresh_dir(cfg, "replica")?;
    let mut server = Engine::open_read_only(&path, Arc::new(ManualClock::new(t_ref())))?;
    let tenants: Vec<String> = server.tenants()?.into_iter().map(|t| t.id).collect();
    let (mut lb, mut raw, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..cfg.runs.max(1) {
        let target = dir.join(format!("replica-{run}.db"));
        let baseline = dir.join(format!("raw-{run}.db"));
        let (l, r) = if run % 2 == 0 {
            let l = lockbox(&mut server, &tenants, &target)?;
            (l, plain(&path, &tenants, &baseline)?)
        } else {
            let r = plain(&path, &tenants, &baseline)?;
            (lockbox(&mut server, &tenants, &target)?, r)
        };
        // The replica holds what the server holds.
        let mut rep = Store::open_location(&StoreLocation::File(target.clone()))?;
        let heads = rep.read(|tx| tx.audit_heads())?;
        let want = server.store().read(|tx| tx.audit_heads())?;
        if heads != want {
            return Err(format!("replica heads {heads:?} != server {want:?}").into());
        }
        println!(
            "   round {}: replica {:.2} s ({:.0}k entries/s), raw {:.2} s ({:.2}x)",
            run + 1,
            l,
            naudit as f64 / l / 1000.0,
            r,
            l / r
        );
        lb.push(l);
        raw.push(r);
        ratios.push(l / r);
        for p in [target, baseline] {
            crate::common::remove_db(&p);
        }
    }
    let (l, r, ratio) = (median(&lb), median(&raw), median(&ratios));
    let rate = naudit as f64 / l;
    let met = rate >= TARGET;
    let f = |x: f64| format!("{:.2} s ({:.0}k entries/s)", x, naudit as f64 / x / 1000.0);
    result_line(
        "audit replica catch-up, 1M entries",
        &f(l),
        &f(r),
        &format!("{ratio:.2}x"),
        ">= 50k verified entries/s",
        met,
    );
    Ok(vec![Row {
        op: format!("audit replica catch-up ({naudit} entries, pages of {PAGE})"),
        lockbox: f(l),
        baseline: f(r),
        ratio: format!("{ratio:.2}x time"),
        target: ">= 50k verified entries/s".into(),
        met: Some(met),
    }])
}

/// Seconds to pull every tenant into a new replica at `to`.
fn lockbox(server: &mut Engine, tenants: &[String], to: &Path) -> BoxResult<f64> {
    // A new store, made before the clock starts (as the baseline's is).
    let mut local = Store::open_location(&StoreLocation::File(to.to_path_buf()))?;
    let t = Instant::now();
    // Where the time goes: the server's read, the JSON both ways, the apply.
    let mut parts = [std::time::Duration::ZERO; 3];
    for tenant in tenants {
        let (mut after, since) = replica::position(&mut local, tenant)?;
        loop {
            let lap = Instant::now();
            let page = server.replica_page(tenant, since, after, PAGE)?;
            parts[0] += lap.elapsed();
            // As on the wire: JSON out, JSON in.
            let lap = Instant::now();
            let wire = serde_json::to_vec(&page)?;
            let page: ReplicaPageDto = serde_json::from_slice(&wire)?;
            parts[1] += lap.elapsed();
            let lap = Instant::now();
            let done = replica::apply(&mut local, "https://bench.example", &page)?;
            parts[2] += lap.elapsed();
            after += done.entries as i64;
            if page.complete {
                break;
            }
        }
    }
    println!(
        "   (replica: server read {:.2} s, JSON {:.2} s, check and append {:.2} s)",
        parts[0].as_secs_f64(),
        parts[1].as_secs_f64(),
        parts[2].as_secs_f64()
    );
    Ok(t.elapsed().as_secs_f64())
}

/// Seconds to copy the same entries with plain SQL into a new store of the
/// same schema (made before the clock starts), a transaction per page.
fn plain(from: &Path, tenants: &[String], to: &Path) -> BoxResult<f64> {
    drop(Store::open_location(&StoreLocation::File(
        to.to_path_buf(),
    ))?);
    let t = Instant::now();
    let src = raw_conn(from)?;
    let mut dst = raw_conn(to)?;
    let mut seq = 0i64;
    for tenant in tenants {
        let mut after = 0i64;
        loop {
            let mut sel = src.prepare_cached(
                "SELECT tenant_seq, at, recorded_at, actor_kind, actor, operation, request_id,
                        details, prev_hash, hash, late
                 FROM audit_log WHERE tenant = ?1 AND tenant_seq > ?2 ORDER BY tenant_seq LIMIT ?3",
            )?;
            let tx = dst.transaction()?;
            let mut n = 0;
            {
                let mut ins = tx.prepare_cached(
                    "INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation,
                         request_id, details, prev_hash, hash, late, tenant_seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )?;
                let mut rows = sel.query(rusqlite::params![tenant, after, PAGE])?;
                while let Some(r) = rows.next()? {
                    seq += 1;
                    let ts: i64 = r.get(0)?;
                    ins.execute(rusqlite::params![
                        seq,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        tenant,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, Option<String>>(6)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, String>(8)?,
                        r.get::<_, String>(9)?,
                        r.get::<_, i64>(10)?,
                        ts
                    ])?;
                    after = ts;
                    n += 1;
                }
            }
            tx.commit()?;
            if n < PAGE as usize {
                break;
            }
        }
    }
    Ok(t.elapsed().as_secs_f64())
}
