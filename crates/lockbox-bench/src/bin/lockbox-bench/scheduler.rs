//! Benchmark 3, the scheduler: deadlines armed in a store, applied by one loop in a
//! child process (`Scheduler::tick`, system clock) against the same loop in
//! raw SQL; the lag of each expiry and the memory per armed deadline.

use crate::common::{fresh_dir, raw_conn, result_line, Cfg, Row};
use crate::sweep::raw_sweep;
use chrono::Utc;
use lockbox_bench::fixture::{self, HOUR};
use lockbox_bench::{median, percentile, proc_status_kb, BoxResult};
use lockbox_core::{scheduler::Scheduler, Engine, SystemClock};
use rusqlite::Connection;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// The arguments of the child process, `lockbox-bench sched-child ...`
/// (started by [`run`], not by hand).
#[derive(clap::Args)]
pub struct ChildArgs {
    /// The store, its deadlines armed
    #[arg(long, value_name = "PATH")]
    db: PathBuf,
    /// The loop to run: the engine's scheduler or the raw SQL loop
    #[arg(long, value_enum)]
    mode: Side,
    /// Deadlines to apply before reporting
    #[arg(long, value_name = "N")]
    expect: usize,
    /// Report anyway at this time (Unix ms)
    #[arg(long, value_name = "MS")]
    give_up_ms: i64,
}

/// Which side a child process measures.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Side {
    /// `Scheduler::tick` on the engine, with the system clock
    Lockbox,
    /// the same loop in plain SQL
    Raw,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Lockbox => "lockbox",
            Side::Raw => "raw",
        }
    }
}

/// The child process of the scheduler benchmark: runs the scheduler loop
/// (Lockbox: `Scheduler::tick` with the system clock; raw: the same loop in
/// plain SQL) until `expect` deadlines were applied, then prints JSON.
pub fn child(args: &ChildArgs) -> BoxResult<()> {
    let (db, expect, give_up) = (&args.db, args.expect, args.give_up_ms);
    let rss_start = proc_status_kb("VmRSS:");
    let (mut swept, mut ticks, rss_armed);
    if args.mode == Side::Lockbox {
        let mut e = Engine::open(db, Arc::new(SystemClock), "root")?;
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
        let mut c = raw_conn(db)?;
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

fn sched_run(cfg: &Cfg, mode: Side, n: usize, window_ms: i64) -> BoxResult<SchedRun> {
    let dir = fresh_dir(cfg, &format!("scheduler-{}", mode.as_str()))?;
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
        .filter(|_| mode == Side::Lockbox && n > 0)
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
        .args(["--mode", mode.as_str(), "--expect", &n.to_string()])
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
        return Err(format!("{}: {} of {n} deadlines applied", mode.as_str(), lags.len()).into());
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

pub fn run(cfg: &Cfg) -> BoxResult<Vec<Row>> {
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
        let zero = sched_run(cfg, Side::Lockbox, 0, window)?;
        let full = sched_run(cfg, Side::Lockbox, n, window)?;
        let raw = sched_run(cfg, Side::Raw, n, window)?;
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
