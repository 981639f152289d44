//! `lockbox-bench`: Lockbox against raw baselines, measured in the same run.
//!
//! ```text
//! lockbox-bench [all|decision|sweep|scheduler|verify|verify-ro|query]... [--runs N] [--quick] [--dir DIR]
//! lockbox-bench big-store [--quick] [--dir DIR]   # build (once) and print the big fixture's path
//! ```
//! Every benchmark prints the operation, Lockbox's figure, the baseline's,
//! the ratio and the machine, and a summary table at the end. Run it in
//! release mode: `make bench` (see BENCHMARKS.md).

use chrono::Utc;
use lockbox_bench::fixture::{self, t_ref, t_ref_ms, HOUR};
use lockbox_bench::{
    cores, cpu_seconds, machine, median, ms, percentile, proc_status_kb, BoxResult,
};
use lockbox_core::clock::from_millis;
use lockbox_core::model::{NewRequest, State};
use lockbox_core::store::{AuditQuery, RequestQuery, RequestSort};
use lockbox_core::Principal;
use lockbox_core::{scheduler::Scheduler, Engine, ManualClock, SystemClock};
use rusqlite::{params, params_from_iter, Connection, TransactionBehavior};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Cfg {
    runs: usize,
    quick: bool,
    dir: PathBuf,
}

impl Cfg {
    fn size(&self, full: usize, quick: usize) -> usize {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// One line of the summary table.
struct Row {
    op: String,
    lockbox: String,
    baseline: String,
    ratio: String,
    target: String,
    met: Option<bool>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("lockbox-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> BoxResult<()> {
    let mut args = std::env::args().skip(1).collect::<Vec<_>>();
    if args.first().map(String::as_str) == Some("sched-child") {
        return sched_child(&args[1..]);
    }
    let mut cfg = Cfg {
        runs: 3,
        quick: false,
        dir: default_dir(),
    };
    let mut which = Vec::new();
    while !args.is_empty() {
        let a = args.remove(0);
        match a.as_str() {
            "--runs" => cfg.runs = args.first().ok_or("--runs N")?.parse()?,
            "--dir" => cfg.dir = PathBuf::from(args.first().ok_or("--dir DIR")?),
            "--quick" => {
                cfg.quick = true;
                continue;
            }
            "-h" | "--help" => {
                println!("lockbox-bench [all|decision|sweep|scheduler|verify|verify-ro|query]... [--runs N] [--quick] [--dir DIR]");
                return Ok(());
            }
            other => {
                which.push(other.to_string());
                continue;
            }
        }
        args.remove(0);
    }
    // The big store (1M audit entries; cached) for other measurements, e.g.
    // the desktop archive window (desktop.sh archive): its path, last line.
    if which.iter().any(|w| w == "big-store") {
        std::fs::create_dir_all(&cfg.dir)?;
        let (path, _, _) = big_store(&cfg)?;
        println!("{}", path.display());
        return Ok(());
    }
    if which.is_empty() || which.iter().any(|w| w == "all") {
        which = ["decision", "sweep", "scheduler", "verify", "query"]
            .map(String::from)
            .to_vec();
    }
    std::fs::create_dir_all(&cfg.dir)?;
    if cfg!(debug_assertions) {
        println!("WARNING: a debug build; run `make bench` (release) for real figures");
    }
    println!(
        "machine: {} | {} | runs per figure: {}{}",
        machine(),
        std::env::consts::ARCH,
        cfg.runs,
        if cfg.quick { " | QUICK sizes" } else { "" }
    );
    let mut rows = Vec::new();
    for w in &which {
        match w.as_str() {
            "decision" => rows.extend(bench_decision(&cfg)?),
            "sweep" => rows.extend(bench_sweep(&cfg)?),
            "scheduler" => rows.extend(bench_scheduler(&cfg)?),
            "verify" => {
                rows.extend(bench_verify(&cfg)?);
                rows.extend(bench_verify_read_only(&cfg)?);
            }
            "verify-ro" => rows.extend(bench_verify_read_only(&cfg)?),
            "query" => rows.extend(bench_query(&cfg)?),
            other => return Err(format!("unknown benchmark '{other}'").into()),
        }
    }
    println!(
        "\n== summary ({}; medians of {} runs)\n",
        machine(),
        cfg.runs
    );
    println!("| operation | Lockbox | baseline | ratio | target | met |");
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        println!(
            "| {} | {} | {} | {} | {} | {met} |",
            r.op, r.lockbox, r.baseline, r.ratio, r.target
        );
    }
    Ok(())
}

fn default_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("lockbox-bench")
}

fn result_line(op: &str, lockbox: &str, baseline: &str, ratio: &str, target: &str, met: bool) {
    println!(
        "RESULT {op}: lockbox {lockbox} | baseline {baseline} | ratio {ratio} | target {target} | {} | {} cores",
        if met { "MET" } else { "MISSED" },
        cores()
    );
}

/// The store's own pragmas (lockbox_core::store::Store::configure) on a raw connection.
fn raw_conn(path: &Path) -> BoxResult<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(Duration::from_secs(15))?;
    c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    c.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;",
    )?;
    Ok(c)
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn fresh_dir(cfg: &Cfg, name: &str) -> BoxResult<PathBuf> {
    let d = cfg.dir.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

// ---------------------------------------------------------------- 1. decision path

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

fn bench_decision(cfg: &Cfg) -> BoxResult<Vec<Row>> {
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

// ---------------------------------------------------------------- 2. expiry sweep

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
fn raw_sweep(c: &mut Connection, now: i64) -> BoxResult<usize> {
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

fn bench_sweep(cfg: &Cfg) -> BoxResult<Vec<Row>> {
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
        let (lb, rw) = if run % 2 == 0 {
            let lb = measure_lb()?;
            (lb, measure_raw()?)
        } else {
            let rw = measure_raw()?;
            (measure_lb()?, rw)
        };
        println!(
            "   run {}: lockbox {lb:.0} ms, raw {rw:.0} ms ({:.2}x)",
            run + 1,
            lb / rw
        );
        lb_t.push(lb);
        raw_t.push(rw);
        remove_db(&lb_path);
        remove_db(&raw_path);
    }
    let (lb, rw) = (median(&lb_t), median(&raw_t));
    let ratios: Vec<f64> = lb_t.iter().zip(&raw_t).map(|(l, r)| l / r).collect();
    let ratio = median(&ratios);
    let met = ratio <= 2.0;
    let f = |x: f64| format!("{x:.0} ms ({:.0} req/s)", n as f64 / (x / 1000.0));
    result_line(
        "expiry sweep",
        &f(lb),
        &f(rw),
        &format!("{ratio:.2}x time"),
        "<= 2x time",
        met,
    );
    Ok(vec![Row {
        op: format!("2. expiry sweep of {n} due requests"),
        lockbox: f(lb),
        baseline: f(rw),
        ratio: format!("{ratio:.2}x time"),
        target: "≤ 2x time".into(),
        met: Some(met),
    }])
}

// ---------------------------------------------------------------- 3. scheduler

/// The child process of the scheduler benchmark: runs the scheduler loop
/// (Lockbox: `Scheduler::tick` with the system clock; raw: the same loop in
/// plain SQL) until `expect` deadlines were applied, then prints JSON.
fn sched_child(args: &[String]) -> BoxResult<()> {
    let get = |k: &str| -> BoxResult<String> {
        let i = args
            .iter()
            .position(|a| a == k)
            .ok_or(format!("missing {k}"))?;
        Ok(args.get(i + 1).ok_or(format!("missing {k} value"))?.clone())
    };
    let db = PathBuf::from(get("--db")?);
    let mode = get("--mode")?;
    let expect: usize = get("--expect")?.parse()?;
    let give_up: i64 = get("--give-up-ms")?.parse()?;
    let rss_start = proc_status_kb("VmRSS:");
    let (mut swept, mut ticks, rss_armed);
    if mode == "lockbox" {
        let mut e = Engine::open(&db, Arc::new(SystemClock), "root")?;
        let mut sched = Scheduler::default();
        let mut t = sched.tick(&mut e)?;
        rss_armed = proc_status_kb("VmRSS:");
        swept = t.swept.len();
        ticks = 1;
        while swept < expect && Utc::now().timestamp_millis() < give_up {
            std::thread::sleep(t.sleep_for(e.now()));
            t = sched.tick(&mut e)?;
            swept += t.swept.len();
            ticks += 1;
        }
    } else {
        let mut c = raw_conn(&db)?;
        swept = 0;
        ticks = 0;
        let mut armed = None;
        loop {
            let now = Utc::now().timestamp_millis();
            swept += raw_sweep(&mut c, now)?;
            ticks += 1;
            armed.get_or_insert_with(|| proc_status_kb("VmRSS:"));
            if swept >= expect || now >= give_up {
                break;
            }
            let next: Option<i64> = c.query_row(
                "SELECT MIN(deadline_at) FROM requests WHERE deadline_at IS NOT NULL",
                [],
                |r| r.get(0),
            )?;
            let wake = next.unwrap_or(now + 60_000).min(now + 60_000);
            let now_us = Utc::now().timestamp_micros();
            let sleep_us = wake * 1000 - now_us;
            if sleep_us > 0 {
                std::thread::sleep(Duration::from_micros(sleep_us as u64));
            }
        }
        rss_armed = armed.unwrap_or(0);
    }
    println!(
        "{}",
        serde_json::json!({
            "rss_start_kb": rss_start, "rss_armed_kb": rss_armed,
            "rss_end_kb": proc_status_kb("VmRSS:"), "hwm_kb": proc_status_kb("VmHWM:"),
            "swept": swept, "ticks": ticks,
        })
    );
    Ok(())
}

struct SchedRun {
    lags: Vec<f64>,
    rss_armed_kb: f64,
    hwm_kb: f64,
    ticks: u64,
    file_bytes: u64,
}

fn sched_run(cfg: &Cfg, mode: &str, n: usize, window_ms: i64) -> BoxResult<SchedRun> {
    let dir = fresh_dir(cfg, &format!("scheduler-{mode}"))?;
    let db = dir.join("lockbox.db");
    let now = Utc::now().timestamp_millis();
    // Deadlines start after the fixture is built and the child is up.
    let lead = 5_000 + (n as i64 / 10);
    let first = now + lead;
    let step_us = if n > 1 {
        window_ms * 1000 / n as i64
    } else {
        0
    };
    let last = fixture::build_pending(&db, now - 13 * HOUR, n, first, step_us)?;
    let file_bytes = std::fs::metadata(&db)?.len();
    let built = Utc::now().timestamp_millis();
    if n > 0 && built > first - 1000 {
        println!(
            "   WARNING: the fixture took {} ms, deadlines started before the loop",
            built - now
        );
    }
    // LOCKBOX_BENCH_WRAP="perf record -g -o /tmp/perf.data --" profiles the
    // Lockbox child with deadlines armed.
    let wrap: Vec<String> = std::env::var("LOCKBOX_BENCH_WRAP")
        .ok()
        .filter(|_| mode == "lockbox" && n > 0)
        .map(|w| w.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let exe = std::env::current_exe()?;
    let mut cmd = match wrap.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    let out = cmd
        .args(["sched-child", "--db"])
        .arg(&db)
        .args(["--mode", mode, "--expect", &n.to_string()])
        .args(["--give-up-ms", &(last + 60_000).to_string()])
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "scheduler child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let c = Connection::open(&db)?;
    let lags: Vec<f64> = c
        .prepare("SELECT recorded_at - at FROM audit_log WHERE operation = 'expired'")?
        .query_map([], |r| r.get::<_, i64>(0))?
        .map(|x| x.map(|v| v as f64))
        .collect::<Result<_, _>>()?;
    if lags.len() != n {
        return Err(format!("{mode}: {} of {n} deadlines applied", lags.len()).into());
    }
    let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
    Ok(SchedRun {
        lags,
        rss_armed_kb: f("rss_armed_kb"),
        hwm_kb: f("hwm_kb"),
        ticks: v["ticks"].as_u64().unwrap_or(0),
        file_bytes,
    })
}

fn bench_scheduler(cfg: &Cfg) -> BoxResult<Vec<Row>> {
    let n = cfg.size(100_000, 10_000);
    let window = if cfg.quick { 5_000 } else { 25_000 };
    println!(
        "\n== 3. scheduler: {n} armed deadlines over {} s, one loop (Scheduler::tick, system clock) \
         in a child process; lag = recorded_at - at of each expiry's audit entry",
        window / 1000
    );
    let mut rows = Vec::new();
    let (mut lb_p50, mut lb_p99, mut lb_max, mut raw_p50, mut raw_p99) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut per_deadline, mut hwm_per, mut disk_per) = (vec![], vec![], vec![]);
    for run in 0..cfg.runs {
        let zero = sched_run(cfg, "lockbox", 0, window)?;
        let full = sched_run(cfg, "lockbox", n, window)?;
        let raw = sched_run(cfg, "raw", n, window)?;
        let (p50, p99, max) = (
            percentile(&full.lags, 50.0),
            percentile(&full.lags, 99.0),
            percentile(&full.lags, 100.0),
        );
        let (r50, r99) = (percentile(&raw.lags, 50.0), percentile(&raw.lags, 99.0));
        let per = (full.rss_armed_kb - zero.rss_armed_kb) * 1024.0 / n as f64;
        let hwm = (full.hwm_kb - zero.hwm_kb) * 1024.0 / n as f64;
        let disk = (full.file_bytes as f64 - zero.file_bytes as f64) / n as f64;
        println!(
            "   run {}: lockbox lag p50 {p50:.0} ms p99 {p99:.0} ms max {max:.0} ms ({} ticks) | raw SQL loop p50 {r50:.0} ms p99 {r99:.0} ms ({} ticks)",
            run + 1,
            full.ticks,
            raw.ticks
        );
        println!(
            "          RSS with 0 armed {:.1} MiB, with {n} armed {:.1} MiB (peak {:.1} MiB; raw loop {:.1} MiB): \
             {per:.1} B per armed deadline (peak {hwm:.1} B); on disk {disk:.0} B per armed request",
            zero.rss_armed_kb / 1024.0,
            full.rss_armed_kb / 1024.0,
            full.hwm_kb / 1024.0,
            raw.hwm_kb / 1024.0
        );
        lb_p50.push(p50);
        lb_p99.push(p99);
        lb_max.push(max);
        raw_p50.push(r50);
        raw_p99.push(r99);
        per_deadline.push(per);
        hwm_per.push(hwm);
        disk_per.push(disk);
    }
    let (p50, p99, r50, r99) = (
        median(&lb_p50),
        median(&lb_p99),
        median(&raw_p50),
        median(&raw_p99),
    );
    let met = p99 < 100.0;
    result_line(
        "scheduler lag",
        &format!("p50 {p50:.0} ms, p99 {p99:.0} ms"),
        &format!("raw SQL loop p50 {r50:.0} ms, p99 {r99:.0} ms"),
        &format!("{:.2}x (p99)", p99 / r99.max(1.0)),
        "p99 < 100 ms",
        met,
    );
    let (per, hwm, disk) = (median(&per_deadline), median(&hwm_per), median(&disk_per));
    let mem_met = hwm <= disk.max(1.0);
    result_line(
        "scheduler memory",
        &format!("{per:.1} B/armed deadline (peak {hwm:.1} B)"),
        &format!("{disk:.0} B on disk per armed request"),
        &format!("{:.3}", hwm / disk),
        "≈ the row, not a task",
        mem_met,
    );
    rows.push(Row {
        op: format!("3. scheduler lag, {n} deadlines over {} s", window / 1000),
        lockbox: format!("p50 {p50:.0} ms, p99 {p99:.0} ms"),
        baseline: format!("raw SQL loop p50 {r50:.0} ms, p99 {r99:.0} ms"),
        ratio: format!("{:.2}x (p99)", p99 / r99.max(1.0)),
        target: "p99 < 100 ms".into(),
        met: Some(met),
    });
    rows.push(Row {
        op: format!("3. scheduler memory, 0 vs {n} armed"),
        lockbox: format!("{per:.1} B per armed deadline (peak {hwm:.1} B)"),
        baseline: format!("{disk:.0} B on disk per armed request (row + history)"),
        ratio: format!("{:.3}", hwm / disk),
        target: "≈ the row, not a task".into(),
        met: Some(mem_met),
    });
    Ok(rows)
}

// ---------------------------------------------------------------- 4/5. the big store

fn big_store(cfg: &Cfg) -> BoxResult<(PathBuf, usize, usize)> {
    let (nreq, naudit) = (cfg.size(10_000, 1_000), cfg.size(1_000_000, 100_000));
    let path = cfg.dir.join(format!(
        "big-v4-schema{}-{nreq}-{naudit}.db",
        lockbox_core::store::SCHEMA_VERSION
    ));
    if !path.exists() {
        println!(
            "   building the fixture {} (cached for later runs)",
            path.display()
        );
        let t = Instant::now();
        let tmp = path.with_extension("partial");
        remove_db(&tmp);
        let _ = std::fs::remove_file(cfg.dir.join("lockbox-receipts.key"));
        fixture::build_big(&tmp, nreq, naudit)?;
        std::fs::rename(&tmp, &path)?;
        println!("   built in {:.1} s", t.elapsed().as_secs_f64());
    }
    Ok((path, nreq, naudit))
}

fn open_big(path: &Path) -> BoxResult<Engine> {
    Ok(Engine::open(
        path,
        Arc::new(ManualClock::new(t_ref())),
        "root",
    )?)
}

// ---------------------------------------------------------------- 4. audit verify

/// The exact bytes `audit::entry_hash` hashes, for the raw baseline.
fn encode(buf: &mut Vec<u8>, r: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
    fn field(buf: &mut Vec<u8>, b: &[u8]) {
        buf.extend_from_slice(&(b.len() as u64).to_be_bytes());
        buf.extend_from_slice(b);
    }
    let s = |i: usize| -> rusqlite::Result<Vec<u8>> {
        Ok(r.get_ref(i)?
            .as_str()
            .map_err(rusqlite::Error::from)?
            .as_bytes()
            .to_vec())
    };
    field(buf, b"lockbox-audit-v1");
    field(buf, &r.get::<_, i64>(0)?.to_be_bytes());
    field(buf, &r.get::<_, i64>(1)?.to_be_bytes());
    field(buf, &r.get::<_, i64>(2)?.to_be_bytes());
    for i in 3..=6 {
        field(buf, &s(i)?);
    }
    match r.get::<_, Option<String>>(7)? {
        Some(id) => {
            buf.push(1);
            field(buf, id.as_bytes());
        }
        None => buf.push(0),
    }
    field(buf, &s(8)?);
    field(buf, &s(9)?);
    Ok(())
}

fn bench_verify(cfg: &Cfg) -> BoxResult<Vec<Row>> {
    println!("\n== 4. audit verification: Engine::verify_audit vs raw SHA-256 over the same bytes (in memory)");
    let (path, _, naudit) = big_store(cfg)?;
    let mut e = open_big(&path)?;
    let v = e.verify_audit()?; // warm-up (page cache)
    if !v.ok() || v.entries as usize != naudit {
        return Err(format!("fixture chain: {:?} of {naudit}", v).into());
    }
    // The baseline's input: every entry's canonical encoding, loaded before timing.
    let c = Connection::open(&path)?;
    let mut bytes = Vec::with_capacity(naudit * 400);
    let mut ends = Vec::with_capacity(naudit);
    let mut checked = 0;
    {
        let mut stmt = c.prepare(
            "SELECT seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash
             FROM audit_log ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let start = bytes.len();
            encode(&mut bytes, r)?;
            ends.push(bytes.len());
            if checked < 100 {
                let h: String = r.get(10)?;
                if hex::encode(Sha256::digest(&bytes[start..])) != h {
                    return Err("the baseline's bytes differ from what the chain hashes".into());
                }
                checked += 1;
            }
        }
    }
    let mb = bytes.len() as f64 / 1e6;
    // For context: the floor of reading the same rows with SQLite (no hashing).
    let scan = |c: &Connection| -> BoxResult<f64> {
        let t = Instant::now();
        let mut stmt = c.prepare(
            "SELECT seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash
             FROM audit_log ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut n = 0u64;
        while let Some(r) = rows.next()? {
            for i in 0..11 {
                black_box(r.get_ref(i)?);
            }
            n += 1;
        }
        Ok(n as f64 / t.elapsed().as_secs_f64())
    };
    scan(&c)?;
    println!(
        "   (context: a raw SQLite scan of the same rows, no hashing: {:.0}k rows/s)",
        scan(&c)? / 1000.0
    );
    // For context: the state check (every request against its entries) alone,
    // on one core; verify runs it beside the chain workers.
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let c = e.store().read(|tx| tx.check_requests())?;
    println!(
        "   (context: the state check alone: {} requests in {:.0} ms, {:.2} s CPU)",
        c.requests,
        t.elapsed().as_secs_f64() * 1000.0,
        cpu_seconds() - cpu
    );
    let (mut lb_r, mut raw_r) = (Vec::new(), Vec::new());
    for run in 0..cfg.runs {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let v = e.verify_audit()?;
        let lb = v.entries as f64 / t.elapsed().as_secs_f64();
        let lb_cpu = cpu_seconds() - cpu;
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let mut start = 0;
        for &end in &ends {
            black_box(Sha256::digest(&bytes[start..end]));
            start = end;
        }
        let rw = ends.len() as f64 / t.elapsed().as_secs_f64();
        let raw_cpu = cpu_seconds() - cpu;
        println!(
            "   run {}: lockbox {:.0} entries/s ({lb_cpu:.2} s CPU), raw SHA-256 {:.0} entries/s ({raw_cpu:.2} s CPU) ({:.2}x)",
            run + 1,
            lb,
            rw,
            lb / rw
        );
        lb_r.push(lb);
        raw_r.push(rw);
    }
    let (lb, rw) = (median(&lb_r), median(&raw_r));
    let ratios: Vec<f64> = lb_r.iter().zip(&raw_r).map(|(l, r)| l / r).collect();
    let ratio = median(&ratios);
    let met = ratio >= 0.5;
    let per_entry = mb * 1e6 / naudit as f64;
    let f = |x: f64| {
        format!(
            "{:.0}k entries/s ({:.0} MB/s, {:.2} s for {}k)",
            x / 1000.0,
            x * per_entry / 1e6,
            naudit as f64 / x,
            naudit / 1000
        )
    };
    result_line(
        "audit verify",
        &f(lb),
        &f(rw),
        &format!("{ratio:.2}x"),
        ">= 0.5x",
        met,
    );
    Ok(vec![Row {
        op: format!("4. audit verify, {}k entries", naudit / 1000),
        lockbox: f(lb),
        baseline: format!("{} raw SHA-256", f(rw)),
        ratio: format!("{ratio:.2}x"),
        target: "≥ 0.5x".into(),
        met: Some(met),
    }])
}

/// 4b. The same verification on a read-only archive: a copy of the big store
/// (the file alone, mode 0444, in a folder without the receipt key), opened
/// with `Engine::open_read_only` (immutable: no locks, no WAL index), against
/// verifying the store itself opened live, alternating in the same run.
fn bench_verify_read_only(cfg: &Cfg) -> BoxResult<Vec<Row>> {
    println!("\n== 4b. audit verification of a read-only archive: Engine::open_read_only on a 0444 copy vs the live store");
    let (path, _, naudit) = big_store(cfg)?;
    // Closed again, so that the file alone holds everything (nothing in a WAL).
    drop(open_big(&path)?);
    let dir = cfg.dir.join("archive");
    if dir.exists() {
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir(&dir)?;
    let copy = dir.join("archive.db");
    std::fs::copy(&path, &copy)?;
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o444))?;
    let before = std::fs::read_dir(&dir)?.count();
    let clock = || Arc::new(ManualClock::new(t_ref()));
    let t = Instant::now();
    let mut live = open_big(&path)?;
    let open_live = ms(t.elapsed());
    let t = Instant::now();
    let mut ro = Engine::open_read_only(&copy, clock())?;
    let open_ro = ms(t.elapsed());
    println!("   (context: opening took {open_live:.1} ms live, {open_ro:.1} ms read-only)");
    // Warm-up: both files in the page cache, and the same outcome.
    let (a, b) = (live.verify_audit()?, ro.verify_audit()?);
    if !a.ok() || !b.ok() || a.entries != b.entries || a.heads != b.heads {
        return Err(format!("live {a:?} vs read-only {b:?}").into());
    }
    if a.entries as usize != naudit {
        return Err(format!("fixture chain: {a:?} of {naudit}").into());
    }
    let (mut ro_t, mut live_t, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..cfg.runs.max(1) * 2 {
        let time = |e: &mut Engine| -> BoxResult<f64> {
            let t = Instant::now();
            black_box(e.verify_audit()?);
            Ok(t.elapsed().as_secs_f64())
        };
        let (r, l) = if run % 2 == 0 {
            let r = time(&mut ro)?;
            (r, time(&mut live)?)
        } else {
            let l = time(&mut live)?;
            (time(&mut ro)?, l)
        };
        println!(
            "   round {}: read-only {:.3} s, live {:.3} s ({:.2}x)",
            run + 1,
            r,
            l,
            r / l
        );
        ro_t.push(r);
        live_t.push(l);
        ratios.push(r / l);
    }
    drop(ro);
    if std::fs::read_dir(&dir)?.count() != before {
        return Err("the read-only verification created a file beside the archive".into());
    }
    let (r, l, ratio) = (median(&ro_t), median(&live_t), median(&ratios));
    let met = ratio <= 1.2;
    let f = |x: f64| format!("{:.2} s ({:.0}k entries/s)", x, naudit as f64 / x / 1000.0);
    result_line(
        "audit verify, read-only archive",
        &f(r),
        &format!("{} live", f(l)),
        &format!("{ratio:.2}x time"),
        "<= 1.2x time",
        met,
    );
    std::fs::remove_file(&copy)?;
    std::fs::remove_dir(&dir)?;
    Ok(vec![Row {
        op: format!(
            "4b. audit verify, read-only archive ({}k entries)",
            naudit / 1000
        ),
        lockbox: f(r),
        baseline: format!("{} (the same store opened live)", f(l)),
        ratio: format!(
            "{ratio:.2}x time (median of {} alternating rounds)",
            ro_t.len()
        ),
        target: "≤ 1.2x time".into(),
        met: Some(met),
    }])
}

// ---------------------------------------------------------------- 5. queries

struct Lat {
    p50: f64,
    p99: f64,
}

fn lat(mut f: impl FnMut() -> BoxResult<usize>, iters: usize) -> BoxResult<Lat> {
    for _ in 0..5 {
        f()?;
    }
    let mut s = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        black_box(f()?);
        s.push(ms(t.elapsed()));
    }
    Ok(Lat {
        p50: percentile(&s, 50.0),
        p99: percentile(&s, 99.0),
    })
}

/// Raw: the same SELECT in one read transaction (as the engine reads),
/// rows mapped to owned values.
fn raw_rows(c: &Connection, sql: &str, args: &[rusqlite::types::Value]) -> BoxResult<usize> {
    let tx = c.unchecked_transaction()?;
    let mut n = 0;
    {
        let mut stmt = tx.prepare_cached(sql)?;
        let mut rows = stmt.query(params_from_iter(args.iter()))?;
        while let Some(r) = rows.next()? {
            let mut v = Vec::with_capacity(r.as_ref().column_count());
            for i in 0..r.as_ref().column_count() {
                v.push(r.get::<_, rusqlite::types::Value>(i)?);
            }
            black_box(v);
            n += 1;
        }
    }
    tx.commit()?;
    Ok(n)
}

fn bench_query(cfg: &Cfg) -> BoxResult<Vec<Row>> {
    let (path, nreq, naudit) = big_store(cfg)?;
    println!(
        "\n== 5. page queries over {naudit} audit entries and {nreq} requests: Engine (audit_page, \
         list_requests) vs the same SQL on a raw connection; p50/p99"
    );
    let mut e = open_big(&path)?;
    let raw = raw_conn(&path)?;
    let iters = cfg.size(300, 100) * cfg.runs.max(1) / 3;
    let some_request: String = raw.query_row(
        "SELECT request_id FROM audit_log WHERE operation = 'access_used' ORDER BY seq DESC LIMIT 1",
        [],
        |r| r.get(0),
    )?;
    let cols = "seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash";
    use rusqlite::types::Value as V;
    let since = t_ref_ms() - 7 * fixture::DAY;
    let text_pat = "%export mailbox rules%".to_string();
    // A window from `from` to `to` days ago: bounded by its newest entry as the
    // engine finds it (the in-order probe, then the late entries).
    let past_window = |name: &'static str, from: i64, to: i64| {
        let (a, b) = (
            t_ref_ms() - from * fixture::DAY,
            t_ref_ms() - to * fixture::DAY,
        );
        (
            name,
            AuditQuery {
                since: Some(from_millis(a)),
                until: Some(from_millis(b)),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ?1 AND +at >= ?2 AND +at < ?3
                       AND seq <= MAX(COALESCE((SELECT seq FROM audit_log INDEXED BY audit_in_order_by_time
                                                  WHERE tenant = ?1 AND late = 0 AND at >= ?2 AND at < ?3
                                                  ORDER BY at DESC, seq DESC LIMIT 1), 0),
                                      COALESCE((SELECT MAX(seq) FROM audit_log INDEXED BY audit_late_by_time
                                                  WHERE tenant = ?1 AND late = 1 AND at >= ?2 AND at < ?3), 0))
                     ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Integer(a), V::Integer(b)],
        )
    };
    let cases: Vec<(&str, AuditQuery, String, Vec<V>)> = vec![
        (
            "operation = approved",
            AuditQuery {
                operation: Some("approved".into()),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ? AND operation = ? ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Text("approved".into())],
        ),
        (
            "actor = eng07",
            AuditQuery {
                actor: Some("eng07@provider.example".into()),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ? AND actor = ? ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Text("eng07@provider.example".into())],
        ),
        (
            "request = one request",
            AuditQuery {
                request_id: Some(some_request.clone()),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ? AND request_id = ? ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Text(some_request.clone())],
        ),
        // Time windows: the raw SQL uses the plan Lockbox picks for a large
        // window (newest first by seq, `+at` keeps SQLite off the time index;
        // bounded by the window's newest seq when it ends in the past).
        (
            "since 7 days",
            AuditQuery {
                since: Some(from_millis(since)),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ? AND +at >= ? ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Integer(since)],
        ),
        (
            "operation = rejected, since 30 days",
            AuditQuery {
                operation: Some("rejected".into()),
                since: Some(from_millis(t_ref_ms() - 30 * fixture::DAY)),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ? AND +at >= ? AND operation = ? ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Integer(t_ref_ms() - 30 * fixture::DAY), V::Text("rejected".into())],
        ),
        past_window("from 90 to 60 days ago", 90, 60),
        past_window("one day, 45 days ago", 45, 44),
        (
            "text 'export mailbox rules'",
            AuditQuery {
                text: Some("export mailbox rules".into()),
                ..Default::default()
            },
            format!("SELECT {cols} FROM audit_log WHERE tenant = ? AND (actor LIKE ? ESCAPE '\\' OR operation LIKE ? ESCAPE '\\' OR request_id LIKE ? ESCAPE '\\' OR details LIKE ? ESCAPE '\\') ORDER BY seq DESC LIMIT 50"),
            vec![V::Text("default".into()), V::Text(text_pat.clone()), V::Text(text_pat.clone()), V::Text(text_pat.clone()), V::Text(text_pat)],
        ),
    ];
    let mut rows = Vec::new();
    for (name, q, sql, args) in cases {
        let mut q = q;
        q.limit = Some(50);
        let n = e.audit_page("default", &q)?.len();
        let rn = raw_rows(&raw, &sql, &args)?;
        if n != rn || n == 0 {
            return Err(format!("audit '{name}': lockbox {n} rows, raw {rn}").into());
        }
        let lb = lat(|| Ok(e.audit_page("default", &q)?.len()), iters)?;
        let rw = lat(|| raw_rows(&raw, &sql, &args), iters)?;
        rows.push(query_row(
            &format!("5. audit page (50 rows) of {}k, {name}", naudit / 1000),
            &lb,
            &rw,
        ));
    }
    // The Service requests page: first page (20, as the UI asks), newest first, with the total.
    let req_cols = "id, tenant, state, case_number, workload, resource, reason, requester,
        requested_duration_s, granted_duration_s, created_at, expires_at, approved_at, access_ends_at,
        closed_at, approvals_required, provider_approvals_required, lockbox_required";
    for (name, states) in [("all states", vec![]), ("pending", vec![State::Pending])] {
        let q = RequestQuery {
            states: states.clone(),
            sort: RequestSort::Newest,
            limit: 20,
            ..Default::default()
        };
        let st: Vec<String> = states.iter().map(|s| s.as_str().to_string()).collect();
        let wh = if st.is_empty() {
            "tenant = ?1".to_string()
        } else {
            "tenant = ?1 AND state = ?2".to_string()
        };
        let mut args = vec![V::Text("default".into())];
        args.extend(st.iter().map(|s| V::Text(s.clone())));
        let count_sql = format!("SELECT COUNT(*) FROM requests WHERE {wh}");
        let page_sql = format!(
            "SELECT {req_cols}, created_at FROM requests WHERE {wh} ORDER BY created_at DESC, id DESC LIMIT 21"
        );
        let raw_page = || -> BoxResult<usize> {
            let tx = raw.unchecked_transaction()?;
            let total: i64 = raw
                .prepare_cached(&count_sql)?
                .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
            black_box(total);
            let mut ids = Vec::new();
            {
                let mut stmt = raw.prepare_cached(&page_sql)?;
                let mut rs = stmt.query(params_from_iter(args.iter()))?;
                while let Some(r) = rs.next()? {
                    let mut v = Vec::with_capacity(19);
                    for i in 0..19 {
                        v.push(r.get::<_, V>(i)?);
                    }
                    ids.push(r.get::<_, String>(0)?);
                    black_box(v);
                }
            }
            ids.truncate(20);
            let mut dstmt = raw.prepare_cached(
                "SELECT level, actor, decision, comment, duration_s, at FROM decisions WHERE request_id = ?1 ORDER BY idx",
            )?;
            for id in &ids {
                let mut rs = dstmt.query(params![id])?;
                while let Some(r) = rs.next()? {
                    black_box(r.get::<_, String>(1)?);
                }
            }
            drop(dstmt);
            tx.commit()?;
            Ok(ids.len())
        };
        let n = e.list_requests("default", &q)?.items.len();
        let rn = raw_page()?;
        if n != rn {
            return Err(format!("requests '{name}': lockbox {n} rows, raw {rn}").into());
        }
        let lb = lat(|| Ok(e.list_requests("default", &q)?.items.len()), iters)?;
        let rw = lat(raw_page, iters)?;
        rows.push(query_row(
            &format!(
                "5. Service requests first page (20) of {}k, {name}",
                nreq / 1000
            ),
            &lb,
            &rw,
        ));
    }
    Ok(rows)
}

fn query_row(op: &str, lb: &Lat, rw: &Lat) -> Row {
    let met = lb.p50 < 10.0;
    let f = |l: &Lat| format!("p50 {:.2} ms, p99 {:.2} ms", l.p50, l.p99);
    result_line(
        op,
        &f(lb),
        &f(rw),
        &format!("{:.2}x (p50)", lb.p50 / rw.p50),
        "p50 < 10 ms",
        met,
    );
    Row {
        op: op.to_string(),
        lockbox: f(lb),
        baseline: f(rw),
        ratio: format!("{:.2}x (p50)", lb.p50 / rw.p50),
        target: "p50 < 10 ms".into(),
        met: Some(met),
    }
}
