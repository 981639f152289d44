//! `lockbox-bench`: Lockbox against raw baselines, measured in the same run.
//!
//! ```text
//! lockbox-bench [all|decision|sweep|scheduler|verify|verify-ro|query]... [--runs N] [--quick] [--dir DIR]
//! lockbox-bench big-store [--quick] [--dir DIR]   # build (once) and print the big fixture's path
//! ```
//! Every benchmark prints the operation, Lockbox's figure, the baseline's,
//! the ratio and the machine, and a summary table at the end. Run it in
//! release mode: `make bench` (see BENCHMARKS.md). One module per benchmark;
//! `common` holds the settings, result lines and summary table.

mod big_store;
mod common;
mod decision;
mod query;
mod scheduler;
mod sweep;
mod verify;
mod verify_ro;

use common::{default_dir, print_summary, Cfg};
use lockbox_bench::{machine, BoxResult};
use std::path::PathBuf;

fn main() {
    if let Err(e) = run() {
        eprintln!("lockbox-bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> BoxResult<()> {
    let mut args = std::env::args().skip(1).collect::<Vec<_>>();
    if args.first().map(String::as_str) == Some("sched-child") {
        return scheduler::child(&args[1..]);
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
        let (path, _, _) = big_store::big_store(&cfg)?;
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
            "decision" => rows.extend(decision::run(&cfg)?),
            "sweep" => rows.extend(sweep::run(&cfg)?),
            "scheduler" => rows.extend(scheduler::run(&cfg)?),
            "verify" => {
                rows.extend(verify::run(&cfg)?);
                rows.extend(verify_ro::run(&cfg)?);
            }
            "verify-ro" => rows.extend(verify_ro::run(&cfg)?),
            "query" => rows.extend(query::run(&cfg)?),
            other => return Err(format!("unknown benchmark '{other}'").into()),
        }
    }
    print_summary(&rows, cfg.runs);
    Ok(())
}
