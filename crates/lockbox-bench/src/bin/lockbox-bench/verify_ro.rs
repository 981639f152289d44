//! Benchmark 4b, audit verification of a read-only archive (`verify-ro`).

use crate::big_store::{big_store, open_big};
use crate::common::{result_line, Cfg, Row};
use lockbox_bench::fixture::t_ref;
use lockbox_bench::{median, ms, BoxResult};
use lockbox_core::{Engine, ManualClock};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

/// 4b. The same verification on a read-only archive: a copy of the big store
/// (the file alone, mode 0444, in a folder without the receipt key), opened
/// with `Engine::open_read_only` (immutable: no locks, no WAL index), against
/// verifying the store itself opened live, alternating in the same run.
pub fn run(cfg: &Cfg) -> BoxResult<Vec<Row>> {
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
