//! What every benchmark shares: the run's settings, the result lines, the
//! summary table, and raw connections to a store.

use lockbox_bench::{cores, machine, BoxResult};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The settings of one run (from the command line).
pub struct Cfg {
    pub runs: usize,
    pub quick: bool,
    pub dir: PathBuf,
}

impl Cfg {
    pub fn size(&self, full: usize, quick: usize) -> usize {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

/// One line of the summary table.
pub struct Row {
    pub op: String,
    pub lockbox: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    pub met: Option<bool>,
}

/// `target/lockbox-bench` (under `CARGO_TARGET_DIR` if set).
pub fn default_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("lockbox-bench")
}

pub fn result_line(op: &str, lockbox: &str, baseline: &str, ratio: &str, target: &str, met: bool) {
    println!(
        "RESULT {op}: lockbox {lockbox} | baseline {baseline} | ratio {ratio} | target {target} | {} | {} cores",
        if met { "MET" } else { "MISSED" },
        cores()
    );
}

/// The summary table at the end of a run.
pub fn print_summary(rows: &[Row], runs: usize) {
    println!("\n== summary ({}; medians of {} runs)\n", machine(), runs);
    println!("| operation | Lockbox | baseline | ratio | target | met |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
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
}

/// The store's own pragmas (lockbox_core::store::Store::configure) on a raw connection.
pub fn raw_conn(path: &Path) -> BoxResult<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(Duration::from_secs(15))?;
    c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    c.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;",
    )?;
    Ok(c)
}

pub fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

pub fn fresh_dir(cfg: &Cfg, name: &str) -> BoxResult<PathBuf> {
    let d = cfg.dir.join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// The summary of a sweep timed on both sides (ms per run, `n` requests
/// each): the medians, the median of the runs' ratios against "at most
/// `max`× the baseline's time", its RESULT line (`what`) and its row (`op`).
pub fn sweep_summary(
    what: &str,
    op: String,
    n: usize,
    lb_t: &[f64],
    raw_t: &[f64],
    max: f64,
) -> Row {
    let (lb, rw) = (lockbox_bench::median(lb_t), lockbox_bench::median(raw_t));
    let ratios: Vec<f64> = lb_t.iter().zip(raw_t).map(|(l, r)| l / r).collect();
    let ratio = lockbox_bench::median(&ratios);
    let met = ratio <= max;
    let f = |x: f64| format!("{x:.0} ms ({:.0} req/s)", n as f64 / (x / 1000.0));
    let target = format!("{max}x time");
    result_line(
        what,
        &f(lb),
        &f(rw),
        &format!("{ratio:.2}x time"),
        &format!("<= {target}"),
        met,
    );
    Row {
        op,
        lockbox: f(lb),
        baseline: f(rw),
        ratio: format!("{ratio:.2}x time"),
        target: format!("≤ {target}"),
        met: Some(met),
    }
}

/// Run `run` of a timed pair (ms each): the side that goes first alternates
/// between runs, so neither always meets the warmer cache. Prints the run.
pub fn timed_pair(
    run: usize,
    lockbox: impl FnOnce() -> BoxResult<f64>,
    raw: impl FnOnce() -> BoxResult<f64>,
) -> BoxResult<(f64, f64)> {
    let (lb, rw) = if run.is_multiple_of(2) {
        let lb = lockbox()?;
        (lb, raw()?)
    } else {
        let rw = raw()?;
        (lockbox()?, rw)
    };
    println!(
        "   run {}: lockbox {lb:.0} ms, raw {rw:.0} ms ({:.2}x)",
        run + 1,
        lb / rw
    );
    Ok((lb, rw))
}
