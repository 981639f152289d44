//! Benchmark 2, the expiry sweep: `Engine::apply_due_at` on due pending requests,
//! against one raw UPDATE and two INSERT ... SELECT.

use crate::common::{fresh_dir, raw_conn, remove_db, sweep_summary, timed_pair, Cfg, Row};
use lockbox_bench::fixture::{self, t_ref_ms, HOUR};
use lockbox_bench::{ms, BoxResult};
use lockbox_core::clock::from_millis;
use lockbox_core::{Engine, ManualClock};
use rusqlite::{params, Connection, TransactionBehavior};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const RAW_SWEEP: &str = "
    INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id,
                           details, prev_hash, hash)
    SELECT (SELECT MAX(seq) FROM audit_log) + ROW_NUMBER() OVER (ORDER BY deadline_at, id),
           expires_at, ?1, tenant, 'system', 'lockbox', 'expired', id,
           json_object('deadline', strftime('%Y-%m-%dT%H:%M:%fZ', expires_at / 1000.0, 'unixepoch'),
                       'unanswered_in', state),
           '0000000000000000000000000000000000000000000000000000000000000000',
           '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0'
      FROM requests
     WHERE deadline_at IS NOT NULL AND deadline_at <= ?1 AND state IN ('awaiting_provider', 'pending');
    INSERT OR IGNORE INTO notices (tenant, request_id, kind, created_at)
    SELECT tenant, id, 'expired', ?1 FROM requests
     WHERE deadline_at IS NOT NULL AND deadline_at <= ?1 AND state IN ('awaiting_provider', 'pending');
    UPDATE requests SET state = 'expired', closed_at = expires_at, deadline_at = NULL
     WHERE deadline_at IS NOT NULL AND deadline_at <= ?1 AND state IN ('awaiting_provider', 'pending');
";

/// The raw sweep: one UPDATE and two INSERT ... SELECT in one transaction.
pub fn raw_sweep(c: &mut Connection, now: i64) -> BoxResult<usize> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut n = 0;
    for sql in RAW_SWEEP.split(';').filter(|s| !s.trim().is_empty()) {
        n = tx.execute(sql, params![now])?;
    }
    tx.commit()?;
    Ok(n)
}

fn copy_db(from: &Path, to: &Path) -> BoxResult<()> {
    remove_db(to);
    std::fs::copy(from, to)?;
    Ok(())
}

pub fn run(cfg: &Cfg) -> BoxResult<Vec<Row>> {
    let n = cfg.size(100_000, 10_000);
    println!(
        "\n== 2. expiry sweep of {n} due pending requests (state change + audit entry + notice each): \
         Engine::apply_due_at vs raw UPDATE + INSERT...SELECT"
    );
    let dir = fresh_dir(cfg, "sweep")?;
    let template = dir.join("template.db");
    let boot = t_ref_ms() - 20 * fixture::DAY;
    let first = boot + 14 * HOUR;
    let t = Instant::now();
    let last = fixture::build_pending(&template, boot, n, first, 1000)?;
    println!(
        "   fixture: {n} pending requests built in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let sweep_at = last + 1000;
    let (mut lb_t, mut raw_t) = (Vec::new(), Vec::new());
    for run in 0..cfg.runs {
        let lb_path = dir.join("lockbox.db");
        let raw_path = dir.join("raw.db");
        copy_db(&template, &lb_path)?;
        copy_db(&template, &raw_path)?;
        let measure_lb = || -> BoxResult<f64> {
            // Opened before the deadlines: nothing is due at open.
            let clock = Arc::new(ManualClock::new(from_millis(first - HOUR)));
            let mut e = Engine::open(&lb_path, clock.clone(), "root")?;
            clock.set(from_millis(sweep_at));
            let t = Instant::now();
            let swept = e.apply_due_at(from_millis(sweep_at))?;
            let el = ms(t.elapsed());
            if swept.len() != n {
                return Err(format!("lockbox swept {} of {n}", swept.len()).into());
            }
            // Expiry receipts are derived (and signed) when asked for, not by
            // the sweep: show what one read costs.
            let t = Instant::now();
            let k = swept.len().min(1000);
            for s in &swept[..k] {
                if e.receipts(&s.tenant, &s.request_id)?.len() != 1 {
                    return Err("an expired request without its receipt".into());
                }
            }
            if run == 0 {
                println!(
                    "   (reading an expired request's receipt, derived and signed on read: {:.0} µs each)",
                    ms(t.elapsed()) * 1000.0 / k as f64
                );
            }
            Ok(el)
        };
        let measure_raw = || -> BoxResult<f64> {
            let mut c = raw_conn(&raw_path)?;
            let t = Instant::now();
            let swept = raw_sweep(&mut c, sweep_at)?;
            let el = ms(t.elapsed());
            if swept != n {
                return Err(format!("raw swept {swept} of {n}").into());
            }
            Ok(el)
        };
        let (lb, rw) = timed_pair(run, measure_lb, measure_raw)?;
        lb_t.push(lb);
        raw_t.push(rw);
        remove_db(&lb_path);
        remove_db(&raw_path);
    }
    Ok(vec![sweep_summary(
        "expiry sweep",
        format!("2. expiry sweep of {n} due requests"),
        n,
        &lb_t,
        &raw_t,
        2.0,
    )])
}
