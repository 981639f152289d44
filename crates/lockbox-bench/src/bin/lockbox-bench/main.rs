//! `lockbox-bench`: Lockbox against raw baselines, measured in the same run.
//!
//! ```text
//! lockbox-bench [all|decision|sweep|scheduler|verify|verify-ro|query|replica]... [--runs N] [--quick] [--dir DIR]
//! lockbox-bench big-store [--quick] [--dir DIR]   # build (once) and print the big fixture's path
//! lockbox-bench sweep-pg [--requests N] [--tenants T] [--pg URL]        # not in `all`
//! lockbox-bench api-pg [--stored N] [--tenants T] [--seconds S] [--pg URL]  # not in `all`
//! ```
//! Every benchmark prints the operation, Lockbox's figure, the baseline's,
//! the ratio and the machine, and a summary table at the end. Run it in
//! release mode: `make bench` (see BENCHMARKS.md). One module per benchmark;
//! `common` holds the settings, result lines and summary table.

mod api_pg;
mod big_store;
mod common;
mod decision;
mod decision_pg;
mod pg_server;
mod query;
mod replica;
mod scheduler;
mod sweep;
mod sweep_pg;
mod verify;
mod verify_ro;

use clap::{Parser, Subcommand, ValueEnum};
use common::{default_dir, print_summary, Cfg};
use lockbox_bench::{machine, BoxResult};
use std::path::PathBuf;

/// Lockbox against raw SQLite / SHA-256 baselines, measured in the same run.
///
/// Every benchmark prints the operation, Lockbox's figure, the baseline's, the
/// ratio and the machine (RESULT lines), and a summary table at the end. Run it
/// in release mode: `make bench` (see BENCHMARKS.md).
#[derive(Parser)]
// `big-store` wins wherever it stands (`decision big-store` builds the store),
// as the hand-written parser had it; no `help` subcommand (`--help` is there).
#[command(
    name = "lockbox-bench",
    subcommand_precedence_over_arg = true,
    disable_help_subcommand = true
)]
struct Cli {
    /// The benchmarks to run, in this order (none: all)
    #[arg(value_enum, value_name = "BENCH")]
    benches: Vec<Bench>,
    /// Runs per figure (the figures are medians)
    #[arg(long, value_name = "N", default_value_t = 3, global = true)]
    runs: usize,
    /// Small sizes: a quick check that everything runs, not figures to quote
    #[arg(long, global = true)]
    quick: bool,
    /// Where the stores and the cached big fixture go [default: target/lockbox-bench]
    #[arg(long, value_name = "DIR", global = true)]
    dir: Option<PathBuf>,
    /// PostgreSQL admin URL for the PostgreSQL benchmarks (databases are
    /// created on it) [default: a throwaway cluster started for the run]
    #[arg(long, value_name = "URL", global = true)]
    pg: Option<String>,
    /// sweep-pg: due requests to sweep [default: 100000; --quick 10000]
    #[arg(long, value_name = "N", global = true)]
    requests: Option<usize>,
    /// sweep-pg, api-pg: tenants the requests are spread over [default: 500; --quick 50]
    #[arg(long, value_name = "T", global = true)]
    tenants: Option<usize>,
    /// api-pg: requests stored before the load starts [default: 100000; --quick 10000]
    #[arg(long, value_name = "N", global = true)]
    stored: Option<usize>,
    /// api-pg: seconds of each load run [default: 20; --quick 5]
    #[arg(long, value_name = "S", global = true)]
    seconds: Option<u64>,
    #[command(subcommand)]
    mode: Option<Mode>,
}

/// The benchmarks (numbered as in BENCHMARKS.md).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Bench {
    /// decision, sweep, scheduler, verify (with verify-ro) and query, in this order
    All,
    /// 1. the decision path file -> provider-approve -> approve (3 fsync'd transactions) vs the same rows written raw
    Decision,
    /// 2. the expiry sweep of due pending requests: Engine::apply_due_at vs raw UPDATE + INSERT...SELECT
    Sweep,
    /// 3. the scheduler in a child process: lag of armed deadlines and memory per deadline, vs a raw SQL loop
    Scheduler,
    /// 4. audit verification of the big store vs raw SHA-256 over the same bytes; then verify-ro
    Verify,
    /// 4b. audit verification of a read-only archive (a 0444 copy) vs the same store opened live
    VerifyRo,
    /// 5. audit and Service requests page queries on the big store vs the same SQL raw (p50/p99)
    Query,
    /// 8. the decision path on PostgreSQL vs the same statements sent raw (not in `all`: needs a server, --pg or a throwaway cluster)
    DecisionPg,
    /// 9. the expiry sweep of due requests on PostgreSQL by 2 engine instances vs raw statements (not in `all`)
    SweepPg,
    /// 11. a connected desktop's audit replica catching up on the big store (1M entries): pages checked and appended vs raw SELECT + INSERT
    Replica,
    /// 10. the provider API on 2 `lockbox serve` instances on PostgreSQL, 16 keep-alive clients (not in `all`; needs the release `lockbox` binary)
    ApiPg,
}

#[derive(Subcommand)]
enum Mode {
    /// Build the big store of benchmarks 4 and 5 (once; cached in DIR) and print its path as the last line
    BigStore,
    /// The scheduler benchmark's child process (started by `scheduler`)
    #[command(hide = true)]
    SchedChild(scheduler::ChildArgs),
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("lockbox-bench: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> BoxResult<()> {
    let cfg = Cfg {
        runs: cli.runs,
        quick: cli.quick,
        dir: cli.dir.unwrap_or_else(default_dir),
    };
    match cli.mode {
        Some(Mode::SchedChild(args)) => return scheduler::child(&args),
        // The big store (1M audit entries; cached) for other measurements, e.g.
        // the desktop archive window (desktop.sh archive): its path, last line.
        Some(Mode::BigStore) => {
            std::fs::create_dir_all(&cfg.dir)?;
            let (path, _, _) = big_store::big_store(&cfg)?;
            println!("{}", path.display());
            return Ok(());
        }
        None => {}
    }
    let mut which = cli.benches;
    if which.is_empty() || which.contains(&Bench::All) {
        which = vec![
            Bench::Decision,
            Bench::Sweep,
            Bench::Scheduler,
            Bench::Verify,
            Bench::Query,
            Bench::Replica,
        ];
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
    for w in which {
        match w {
            Bench::All => {}
            Bench::Decision => rows.extend(decision::run(&cfg)?),
            Bench::Sweep => rows.extend(sweep::run(&cfg)?),
            Bench::Scheduler => rows.extend(scheduler::run(&cfg)?),
            Bench::Verify => {
                rows.extend(verify::run(&cfg)?);
                rows.extend(verify_ro::run(&cfg)?);
            }
            Bench::VerifyRo => rows.extend(verify_ro::run(&cfg)?),
            Bench::Query => rows.extend(query::run(&cfg)?),
            Bench::Replica => rows.extend(replica::run(&cfg)?),
            Bench::DecisionPg => rows.extend(decision_pg::run(&cfg, cli.pg.as_deref())?),
            Bench::SweepPg => rows.extend(sweep_pg::run(
                &cfg,
                cli.pg.as_deref(),
                cli.requests,
                cli.tenants,
            )?),
            Bench::ApiPg => rows.extend(api_pg::run(
                &cfg,
                cli.pg.as_deref(),
                cli.stored,
                cli.tenants,
                cli.seconds,
            )?),
        }
    }
    print_summary(&rows, cfg.runs);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("lockbox-bench").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// The forms the Makefile, desktop.sh, BENCHMARKS.md and the scheduler
    /// benchmark (its child process) use.
    #[test]
    fn the_documented_forms_parse() {
        let c = parse(&["all", "--quick", "--runs", "1"]).expect("all");
        assert!(c.quick && c.runs == 1 && c.benches == [Bench::All] && c.mode.is_none());
        let c = parse(&["sweep", "verify-ro", "--runs", "5", "--dir", "d"]).expect("some");
        assert!(c.benches == [Bench::Sweep, Bench::VerifyRo] && c.runs == 5);
        assert_eq!(c.dir, Some(PathBuf::from("d")));
        let c = parse(&[]).expect("none");
        assert!(c.benches.is_empty() && c.runs == 3 && !c.quick && c.dir.is_none());
        for args in [
            &["big-store"][..],
            &["big-store", "--quick", "--dir", "d"],
            &["--quick", "big-store"],
            &["decision", "big-store"],
        ] {
            let c = parse(args).expect("big-store");
            assert!(matches!(c.mode, Some(Mode::BigStore)), "{args:?}");
        }
        let c = parse(&[
            "sweep-pg",
            "--requests",
            "1000",
            "--tenants",
            "10",
            "--runs",
            "1",
        ])
        .expect("sweep-pg");
        assert!(c.benches == [Bench::SweepPg] && c.requests == Some(1000));
        assert!(c.tenants == Some(10) && c.runs == 1 && c.pg.is_none());
        let c = parse(&[
            "api-pg",
            "--stored",
            "1000000",
            "--tenants",
            "500",
            "--seconds",
            "30",
            "--pg",
            "postgres://u@h/db",
        ])
        .expect("api-pg");
        assert!(c.benches == [Bench::ApiPg] && c.stored == Some(1_000_000));
        assert!(c.tenants == Some(500) && c.seconds == Some(30));
        assert_eq!(c.pg.as_deref(), Some("postgres://u@h/db"));
        let c = parse(&["decision-pg", "sweep-pg", "api-pg", "--quick"]).expect("all pg");
        assert!(c.benches == [Bench::DecisionPg, Bench::SweepPg, Bench::ApiPg] && c.quick);
        let c = parse(&[
            "sched-child",
            "--db",
            "x.db",
            "--mode",
            "raw",
            "--expect",
            "10",
            "--give-up-ms",
            "5",
        ])
        .expect("sched-child");
        assert!(matches!(c.mode, Some(Mode::SchedChild(_))));
    }

    #[test]
    fn bad_arguments_are_refused() {
        for args in [
            &["bogus"][..],
            &["--runs", "x"],
            &["--runs"],
            &["--frobnicate"],
            &["help"],
            &["sched-child", "--mode", "raw"],
            &["sweep-pg", "--requests", "many"],
            &["api-pg", "--stored"],
            &["api-pg", "--seconds", "-1"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
