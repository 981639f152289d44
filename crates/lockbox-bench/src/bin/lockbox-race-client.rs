//! Test helper for the race test (`tests/races.rs`), not a user tool: one
//! engine client among several processes racing on the same requests.
//!
//! ```text
//! lockbox-race-client --store PATH|URL [--receipt-key FILE] --ids FILE --as NAME --now RFC3339
//!                     --actions approve,reject,revoke,cancel,pass
//!                     [--grant-s N] [--seed N] [--passes N] [--shuffle]
//! lockbox-race-client --store PATH|URL [--receipt-key FILE] --ids FILE --expire-from RFC3339
//!                     --step-ms N [--after-decided N]
//! ```
//! The store is a SQLite file or a PostgreSQL URL (with the key file every
//! process on it uses).
//! The first form tries a random action of the list on every id, in file
//! order (or shuffled), `--passes` times (`pass` does nothing; approvals grant
//! `--grant-s` seconds); the second walks its clock from `--expire-from` by
//! `--step-ms` per id and applies what is due (expiry, end of access). With
//! `--after-decided N` the walker first waits until N requests have left
//! `pending` (the deciders are under way), so a walker that happens to start
//! first cannot expire everything before anyone else gets a turn.
//! Prints `<id> <action> ok <state>` or `<id> <action> err <code>` per attempt,
//! and exits 3 if any attempt failed for a reason other than the rules
//! (e.g. the store was busy).

use chrono::Duration;
use lockbox_bench::{arg, open_store_arg, BoxResult};
use lockbox_core::clock::parse_time;
use lockbox_core::Principal;
use lockbox_core::{ErrorClass, ManualClock};
use std::io::Write;
use std::sync::Arc;

fn main() {
    match run() {
        Ok(0) => {}
        Ok(bad) => {
            eprintln!("lockbox-race-client: {bad} attempts failed for a non-rule reason");
            std::process::exit(3);
        }
        Err(e) => {
            eprintln!("lockbox-race-client: {e}");
            std::process::exit(3);
        }
    }
}

fn run() -> BoxResult<usize> {
    let ids: Vec<String> = std::fs::read_to_string(arg("--ids").ok_or("--ids FILE")?)?
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect();
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut bad = 0;
    if let Some(from) = arg("--expire-from") {
        let step: i64 = arg("--step-ms").ok_or("--step-ms N")?.parse()?;
        let clock = ManualClock::new(parse_time(&from)?);
        let mut e = open_store_arg(Arc::new(clock.clone()), "root")?;
        if let Some(decided) = arg("--after-decided") {
            let decided: u64 = decided.parse()?;
            let total = ids.len() as u64;
            let mut waited = 0;
            while total.saturating_sub(e.pending_count_all()?) < decided {
                if waited > 120_000 {
                    return Err(format!("nobody decided {decided} requests within 120 s").into());
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
                waited += 10;
            }
        }
        for (k, _) in ids.iter().enumerate() {
            clock.set(parse_time(&from)? + Duration::milliseconds(step * k as i64));
            match e.apply_due() {
                Ok(swept) => {
                    for s in swept {
                        writeln!(out, "{} expire ok {}", s.request_id, s.state)?;
                    }
                }
                Err(err) => {
                    writeln!(out, "- expire err {}", err.code.as_str())?;
                    bad += 1;
                }
            }
        }
        return Ok(bad);
    }
    let me = arg("--as").ok_or("--as NAME")?;
    let clock = ManualClock::new(parse_time(&arg("--now").ok_or("--now TIME")?)?);
    let actions: Vec<String> = arg("--actions")
        .ok_or("--actions LIST")?
        .split(',')
        .map(str::to_string)
        .collect();
    let seed = arg("--seed").map(|s| s.parse()).transpose()?.unwrap_or(1);
    let passes: usize = arg("--passes").map(|s| s.parse()).transpose()?.unwrap_or(1);
    let grant: i64 = arg("--grant-s")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(60);
    let shuffle = std::env::args().any(|a| a == "--shuffle");
    let mut rng = lockbox_bench::rng(seed);
    let mut e = open_store_arg(Arc::new(clock), "root")?;
    for _ in 0..passes {
        let mut order = ids.clone();
        if shuffle {
            rng.shuffle(&mut order);
        }
        for id in &order {
            let action = &actions[rng.usize(..actions.len())];
            let r = match action.as_str() {
                "pass" => continue,
                "approve" => e.approve(
                    "default",
                    id,
                    &Principal::os_user(me.as_str(), 0),
                    None,
                    Some(grant),
                ),
                "reject" => e.reject("default", id, &Principal::os_user(me.as_str(), 0), None),
                "revoke" => e.revoke("default", id, &Principal::os_user(me.as_str(), 0), None),
                "cancel" => e.cancel("default", id, &me, None),
                other => return Err(format!("unknown action {other}").into()),
            };
            match r {
                Ok(req) => writeln!(out, "{id} {action} ok {}", req.state)?,
                Err(err) => {
                    writeln!(out, "{id} {action} err {}", err.code.as_str())?;
                    if err.code.class() != ErrorClass::Rule {
                        bad += 1;
                    }
                }
            }
        }
    }
    Ok(bad)
}
