//! Benchmark 9, the expiry sweep on PostgreSQL by two instances: N pending
//! requests across T tenants, all due, on one database; two engines (two
//! threads, each its own `Engine::open_at` on the database, as two `lockbox
//! serve` instances have) call `Engine::apply_due_at` concurrently until
//! nothing is due. Then: every request expired exactly once (one terminal
//! state, one `expired` entry and one expiry notice per request, counted
//! with SQL), every tenant's chain verifies (`Engine::verify_audit`, the
//! state check included).
//!
//! Baseline: the same rows on a second database of the same server (a clone
//! of the same fixture), swept by one connection with raw prepared statements
//! in transactions of the engine's batch size (500): select the due rows
//! (`FOR UPDATE`), read the chain heads, then per request `UPDATE requests`,
//! `INSERT INTO audit_log` (a constant hash), `INSERT INTO notices`.
//! `synchronous_commit` is the server's (on) on both sides.
//!
//! The fixture is written once with COPY (`lockbox_bench::fixture::pg`) into
//! a template database; each run sweeps two fresh clones of it.

use crate::common::{sweep_summary, timed_pair, Cfg, Row};
use crate::pg_server::{add_tenants, admin_url, count, create_db, db_size, describe, drop_db};
use lockbox_bench::fixture::{pg, t_ref_ms, DAY, HOUR};
use lockbox_bench::{ms, BoxResult};
use lockbox_core::clock::from_millis;
use lockbox_core::store::StoreLocation;
use lockbox_core::{Engine, ManualClock};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Instant;

const TEMPLATE: &str = "lockbox_bench_sweep_tmpl";
const LB: &str = "lockbox_bench_sweep_lockbox";
const RAW: &str = "lockbox_bench_sweep_raw";
/// The engine's batch (`engine::deadlines::SWEEP_BATCH`).
const BATCH: i64 = 500;
const FAKE_HASH: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// The template: the engine's schema and `tenants` tenants, then `n` pending
/// requests (round-robin over the tenants) expiring 1 ms apart. Returns the
/// last expiry.
fn seed(
    admin: &str,
    key: &Path,
    n: usize,
    tenants: usize,
    boot: i64,
    first: i64,
) -> BoxResult<i64> {
    let url = create_db(admin, TEMPLATE, None)?;
    let t = Instant::now();
    {
        let clock = Arc::new(ManualClock::new(from_millis(boot)));
        let mut e = Engine::open_at(&StoreLocation::Postgres(url.clone()), key, clock, "root")?;
        add_tenants(&mut e, tenants)?;
    }
    println!(
        "   fixture: schema and {tenants} tenants through the engine in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let mut c = postgres::Client::connect(&url, postgres::NoTls)?;
    let mut load = pg::PgLoad::open(&mut c)?;
    let mut last = first;
    for i in 0..n {
        let expires = first + i as i64;
        let created = expires - 12 * HOUR;
        pg::pending_request(
            &mut load,
            i,
            &format!("t{:03}", i % tenants),
            created,
            expires,
        );
        last = expires;
        if load.buffered >= 20_000 {
            load.flush(&mut c)?;
        }
    }
    load.flush(&mut c)?;
    let copied = t.elapsed().as_secs_f64();
    c.batch_execute("VACUUM ANALYZE")?;
    println!(
        "   fixture: {n} pending requests (2 audit entries, 1 decision, 2 notices each) by COPY in \
         {copied:.1} s, VACUUM ANALYZE {:.1} s; {}",
        t.elapsed().as_secs_f64() - copied,
        db_size(&mut c)?
    );
    Ok(last)
}

/// Two engines sweep concurrently; (elapsed ms, swept by each).
fn sweep_lockbox(
    url: &str,
    key: &Path,
    open_at: i64,
    sweep_at: i64,
) -> BoxResult<(f64, [usize; 2])> {
    let start = Barrier::new(3);
    let loc = StoreLocation::Postgres(url.to_string());
    let (t0, results) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (start, loc) = (&start, &loc);
                s.spawn(move || -> Result<(usize, Instant), String> {
                    let clock = Arc::new(ManualClock::new(from_millis(open_at)));
                    let opened = Engine::open_at(loc, key, clock.clone(), "root");
                    start.wait();
                    let mut e = opened.map_err(|e| e.to_string())?;
                    clock.set(from_millis(sweep_at));
                    let mut n = 0;
                    loop {
                        let swept = e
                            .apply_due_at(from_millis(sweep_at))
                            .map_err(|e| e.to_string())?;
                        if swept.is_empty() {
                            break;
                        }
                        n += swept.len();
                    }
                    Ok((n, Instant::now()))
                })
            })
            .collect();
        start.wait();
        let t0 = Instant::now();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a sweeper panicked".into()))
            })
            .collect();
        (t0, results)
    });
    let mut swept = [0; 2];
    let mut end = t0;
    for (k, r) in results.into_iter().enumerate() {
        let (n, done) = r?;
        swept[k] = n;
        end = end.max(done);
    }
    Ok((ms(end - t0), swept))
}

/// Every request expired exactly once, and every chain verifies.
fn check(url: &str, key: &Path, n: usize, sweep_at: i64, tenants: usize) -> BoxResult<()> {
    let mut c = postgres::Client::connect(url, postgres::NoTls)?;
    let n = n as i64;
    for (what, sql) in [
        (
            "expired requests",
            "SELECT count(*) FROM requests WHERE state = 'expired'",
        ),
        (
            "closed requests without a deadline",
            "SELECT count(*) FROM requests
             WHERE state = 'expired' AND deadline_at IS NULL AND closed_at = expires_at",
        ),
        (
            "expired audit entries",
            "SELECT count(*) FROM audit_log WHERE operation = 'expired'",
        ),
        (
            "requests with an expired entry",
            "SELECT count(DISTINCT request_id) FROM audit_log WHERE operation = 'expired'",
        ),
        (
            "expired notices",
            "SELECT count(*) FROM notices WHERE kind = 'expired'",
        ),
    ] {
        let got = count(&mut c, sql)?;
        if got != n {
            return Err(format!("{what}: {got}, expected {n}").into());
        }
    }
    drop(c);
    let t = Instant::now();
    let clock = Arc::new(ManualClock::new(from_millis(sweep_at)));
    let mut e = Engine::open_at(&StoreLocation::Postgres(url.into()), key, clock, "root")?;
    let v = e.verify_audit()?;
    if !v.ok() {
        return Err(format!(
            "audit verify failed: {:?} {:?}",
            v.first_bad, v.first_disagreement
        )
        .into());
    }
    if v.heads.len() != tenants + 1 {
        return Err(format!(
            "{} chains verified, expected {}",
            v.heads.len(),
            tenants + 1
        )
        .into());
    }
    println!(
        "   checked: {n} expired, each once (state, entry, notice); {} chains, {} entries and {} \
         requests verify ({:.1} s)",
        v.heads.len(),
        v.entries,
        v.requests,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The raw sweep on one connection, batches of 500; (elapsed ms, swept).
fn sweep_raw(url: &str, sweep_at: i64) -> BoxResult<(f64, usize)> {
    let mut c = postgres::Client::connect(url, postgres::NoTls)?;
    let due = c.prepare(
        "SELECT id, tenant, state, expires_at FROM requests
         WHERE deadline_at IS NOT NULL AND deadline_at <= $1
           AND state IN ('awaiting_provider', 'pending')
         ORDER BY deadline_at, id LIMIT $2 FOR UPDATE",
    )?;
    let heads = c.prepare(
        "SELECT (SELECT COALESCE(MAX(seq), 0) FROM audit_log)::BIGINT, tenant,
                MAX(tenant_seq)::BIGINT
         FROM audit_log WHERE tenant = ANY($1) GROUP BY tenant",
    )?;
    let upd = c.prepare(
        "UPDATE requests SET state = 'expired', closed_at = expires_at, deadline_at = NULL
         WHERE id = $1",
    )?;
    let ins = c.prepare(
        "INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation,
           request_id, details, prev_hash, hash, tenant_seq, late)
         VALUES ($1, $2, $3, $4, 'system', 'lockbox', 'expired', $5, $6, $7, $7, $8, 0)",
    )?;
    let notice = c.prepare(
        "INSERT INTO notices (tenant, request_id, kind, created_at) VALUES ($1, $2, 'expired', $3)
         ON CONFLICT DO NOTHING",
    )?;
    let t = Instant::now();
    let mut n = 0;
    loop {
        let mut tx = c.transaction()?;
        let rows = tx.query(&due, &[&sweep_at, &BATCH])?;
        if rows.is_empty() {
            tx.commit()?;
            break;
        }
        let tenants: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
        let mut seq = 0i64;
        let mut tails = std::collections::HashMap::new();
        for h in tx.query(&heads, &[&tenants])? {
            seq = h.get(0);
            tails.insert(h.get::<_, String>(1), h.get::<_, i64>(2));
        }
        for r in &rows {
            let (id, tenant, state, expires): (String, String, String, i64) =
                (r.get(0), r.get(1), r.get(2), r.get(3));
            tx.execute(&upd, &[&id])?;
            seq += 1;
            let ts = tails.entry(tenant.clone()).or_insert(0);
            *ts += 1;
            let details = serde_json::json!({
                "deadline": lockbox_bench::fixture::iso(expires), "unanswered_in": state,
            })
            .to_string();
            tx.execute(
                &ins,
                &[
                    &seq, &expires, &sweep_at, &tenant, &id, &details, &FAKE_HASH, &*ts,
                ],
            )?;
            tx.execute(&notice, &[&tenant, &id, &sweep_at])?;
            n += 1;
        }
        tx.commit()?;
    }
    Ok((ms(t.elapsed()), n))
}

pub fn run(
    cfg: &Cfg,
    pg: Option<&str>,
    requests: Option<usize>,
    tenants: Option<usize>,
) -> BoxResult<Vec<Row>> {
    let n = requests.unwrap_or(cfg.size(100_000, 10_000));
    let nt = tenants.unwrap_or(cfg.size(500, 50)).max(1);
    println!(
        "\n== 9. expiry sweep on PostgreSQL: {n} due pending requests across {nt} tenants, swept by \
         2 engine instances concurrently vs raw statements on 1 connection (batches of {BATCH}, \
         synchronous_commit=on; server: {})",
        describe(pg)
    );
    let admin = admin_url(pg);
    {
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)?;
        let sc: String = c.query_one("SHOW synchronous_commit", &[])?.get(0);
        let v: String = c.query_one("SHOW server_version", &[])?.get(0);
        println!("   server: PostgreSQL {v}, synchronous_commit={sc}");
    }
    std::fs::create_dir_all(&cfg.dir)?;
    let key = cfg.dir.join("sweep-pg.key");
    let _ = std::fs::remove_file(&key);
    let boot = t_ref_ms() - 20 * DAY;
    let first = boot + 14 * HOUR;
    let last = seed(&admin, &key, n, nt, boot, first)?;
    let sweep_at = last + 1000;
    let (mut lb_t, mut raw_t) = (Vec::new(), Vec::new());
    for run in 0..cfg.runs.max(1) {
        let t = Instant::now();
        let lb_url = create_db(&admin, LB, Some(TEMPLATE))?;
        let raw_url = create_db(&admin, RAW, Some(TEMPLATE))?;
        if run == 0 {
            println!(
                "   (two clones of the fixture made in {:.1} s)",
                t.elapsed().as_secs_f64()
            );
        }
        let measure_lb = || -> BoxResult<f64> {
            let (el, swept) = sweep_lockbox(&lb_url, &key, first - HOUR, sweep_at)?;
            if swept[0] + swept[1] != n {
                return Err(format!("the instances swept {swept:?}, expected {n} in all").into());
            }
            println!(
                "   run {}: lockbox {el:.0} ms (instance A swept {}, B {})",
                run + 1,
                swept[0],
                swept[1]
            );
            Ok(el)
        };
        let measure_raw = || -> BoxResult<f64> {
            let (el, swept) = sweep_raw(&raw_url, sweep_at)?;
            if swept != n {
                return Err(format!("raw swept {swept} of {n}").into());
            }
            Ok(el)
        };
        let (lb, rw) = timed_pair(run, measure_lb, measure_raw)?;
        check(&lb_url, &key, n, sweep_at, nt)?;
        lb_t.push(lb);
        raw_t.push(rw);
        drop_db(&admin, LB)?;
        drop_db(&admin, RAW)?;
    }
    drop_db(&admin, TEMPLATE)?;
    Ok(vec![sweep_summary(
        "expiry sweep (PostgreSQL, 2 instances)",
        format!("9. expiry sweep of {n} due requests, {nt} tenants, PostgreSQL, 2 instances"),
        n,
        &lb_t,
        &raw_t,
        2.0,
    )])
}
