//! Shared code of the Lockbox benchmarks (`lockbox-bench`) and of the test
//! helper processes: bulk fixtures, statistics, machine facts.
//!
//! Fixtures are written with direct SQL because loading a million audit
//! entries through the engine would take minutes; everything a benchmark
//! *measures* on the Lockbox side goes through [`lockbox_core::Engine`].

pub mod fixture;

use lockbox_core::store::StoreLocation;
use lockbox_core::{Clock, Engine};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub type BoxResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Nearest-rank percentile of an unsorted sample (`p` in 0..=100).
pub fn percentile(sample: &[f64], p: f64) -> f64 {
    if sample.is_empty() {
        return f64::NAN;
    }
    let mut s = sample.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

pub fn median(sample: &[f64]) -> f64 {
    percentile(sample, 50.0)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Logical CPUs this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// "2 cores, <CPU model>" for the result lines.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{} cores, {model}", cores())
}

/// A `VmRSS:`-style line of /proc/self/status, in KiB (0 if unavailable).
pub fn proc_status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time this process (all its threads) has used, in seconds (10 ms resolution).
pub fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

/// A small deterministic PRNG seeded from a string (helpers print their seed).
pub fn rng(seed: u64) -> fastrand::Rng {
    fastrand::Rng::with_seed(seed)
}

/// The value after `name` on this process's command line (the test helpers' arguments).
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

/// The test helpers' store, opened as `creator`: `--store PATH|URL` (a SQLite
/// file, or a `postgres://` URL) with `--receipt-key FILE` (default: the
/// store's own, beside a file store; every process on one PostgreSQL store
/// must name the same).
pub fn open_store_arg(clock: Arc<dyn Clock>, creator: &str) -> BoxResult<Engine> {
    let loc = StoreLocation::parse(&arg("--store").ok_or("--store PATH|URL is required")?);
    let key = match arg("--receipt-key") {
        Some(k) => PathBuf::from(k),
        None => lockbox_core::receipts::default_key_path(&loc)?,
    };
    Ok(Engine::open_at(&loc, &key, clock, creator)?)
}
