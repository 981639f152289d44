//! Benchmark 4, audit verification: `Engine::verify_audit` on the big store, against raw
//! SHA-256 over the same canonical bytes (loaded in memory before timing).

use crate::big_store::{big_store, open_big};
use crate::common::{result_line, Cfg, Row};
use lockbox_bench::{cpu_seconds, median, BoxResult};
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::Instant;

/// The exact bytes `audit::entry_hash` hashes (format v2: the entry's
/// position in its tenant's chain, `tenant_seq`, first), for the raw baseline.
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
    field(buf, lockbox_core::audit::FORMAT_V2.as_bytes());
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

pub fn run(cfg: &Cfg) -> BoxResult<Vec<Row>> {
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
            "SELECT tenant_seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash
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
