//! Verifying the audit chain on every core. The chain is split into seq
//! ranges; one worker per range reads it on its own read-only connection and
//! runs the same [`Verifier`], resumed at the range's first sequence number
//! after the stored hash of the entry before it. The first range with a bad
//! entry names the chain's first bad entry, so the outcome is exactly that of
//! one sequential pass (`tests/verify_parallel.rs` checks this).
//!
//! Beside the chain workers, one more thread checks every stored request
//! against its audit entries (`consistency.rs`) on its own read-only
//! connection: it reads a few lifecycle entries per request from a partial
//! index, not the log, so it finishes within the chain's time.

use super::audit_log::{feed_rows, COLUMNS};
use super::{Consistency, ReadOnlyAccess, Store, Tx, BUSY_TIMEOUT};
use crate::audit::{Verifier, VerifyOutcome, GENESIS};
use crate::{Error, Result};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::PathBuf;

/// Below this many entries per worker one pass on the store's own connection wins.
const MIN_PER_WORKER: i64 = 100_000;
const MAX_WORKERS: usize = 8;

/// What one range found.
struct Part {
    entries: u64,
    first_bad: Option<(i64, String)>,
    /// The sequence number the range expected next when it ended.
    next_seq: i64,
    /// The hash of its last entry (of the entry before it, if it is empty).
    last_hash: String,
}

impl Store {
    /// Recompute the whole chain (all tenants) and check every stored request
    /// against it; names the first bad entry and the first disagreement.
    /// Large chains are verified by one worker per core.
    pub fn verify_audit(&mut self) -> Result<VerifyOutcome> {
        let max = self.read(|tx| tx.audit_head())?.0;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = cores
            .min(MAX_WORKERS)
            .min((max / MIN_PER_WORKER).max(1) as usize);
        self.verify_audit_in(workers)
    }

    /// [`Store::verify_audit`] with `workers` ranges (1, or an in-memory
    /// store: one sequential pass). The outcome does not depend on `workers`.
    /// Beside the chain, every stored request is checked against its audit
    /// entries (`Tx::check_requests`), on a connection of its own while the
    /// chain workers run.
    pub fn verify_audit_in(&mut self, workers: usize) -> Result<VerifyOutcome> {
        let Some(source) = self.source() else {
            let mut out = self.verify_chain_in(workers)?;
            let c = self.read(|tx| tx.check_requests())?;
            out.requests = c.requests;
            out.first_disagreement = c.first_disagreement;
            return Ok(out);
        };
        let (chain, c) = std::thread::scope(|s| {
            let h = s.spawn(|| check_requests_at(&source));
            let chain = self.verify_chain_in(workers);
            let c = h.join().unwrap_or_else(|_| {
                Err(Error::internal("the request consistency worker panicked"))
            });
            (chain, c)
        });
        let (mut out, c) = (chain?, c?);
        out.requests = c.requests;
        out.first_disagreement = c.first_disagreement;
        Ok(out)
    }

    /// The hash chain alone, in `workers` ranges.
    fn verify_chain_in(&mut self, workers: usize) -> Result<VerifyOutcome> {
        let max = self.read(|tx| tx.audit_head())?.0;
        let source = match self.source() {
            Some(s) if workers > 1 && max >= 2 * workers as i64 => s,
            _ => return self.read(|tx| tx.verify_audit()),
        };
        // Range i is [bounds[i], bounds[i + 1]); the first also takes any seq < 1.
        // Entries after `max` (appended meanwhile) are not part of this check.
        let bounds: Vec<i64> = (0..=workers as i64)
            .map(|i| 1 + max * i / workers as i64)
            .collect();
        let parts: Vec<Result<Part>> = std::thread::scope(|s| {
            let handles: Vec<_> = bounds
                .windows(2)
                .enumerate()
                .map(|(i, b)| {
                    let source = &source;
                    let (lo, hi) = (b[0], b[1]);
                    s.spawn(move || verify_range(source, i == 0, lo, hi))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::internal("an audit verification worker panicked"))
                    })
                })
                .collect()
        });
        let mut entries = 0;
        let mut head = None;
        for (i, part) in parts.into_iter().enumerate() {
            let part = part?;
            entries += part.entries;
            if part.first_bad.is_some() {
                return Ok(VerifyOutcome {
                    entries,
                    head_hash: None,
                    first_bad: part.first_bad,
                    requests: 0,
                    first_disagreement: None,
                });
            }
            if part.entries > 0 {
                head = Some(part.last_hash.clone());
            }
            let end = bounds[i + 1];
            if part.next_seq < end {
                // Entries are missing at the end of this range: the chain breaks
                // at the next entry there is — or just ends, if there is none.
                let mut v = Verifier::resume(part.next_seq, &part.last_hash);
                let fed = self.read(|tx| {
                    let mut stmt = tx.tx.prepare(&format!(
                        "SELECT {COLUMNS} FROM audit_log WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq LIMIT 1"
                    ))?;
                    let mut rows = stmt.query(params![end, max])?;
                    feed_rows(&mut rows, &mut v)
                })?;
                let out = v.finish();
                return Ok(VerifyOutcome {
                    entries: entries + fed,
                    head_hash: if out.first_bad.is_some() { None } else { head },
                    first_bad: out.first_bad,
                    requests: 0,
                    first_disagreement: None,
                });
            }
        }
        Ok(VerifyOutcome {
            entries,
            head_hash: head,
            first_bad: None,
            requests: 0,
            first_disagreement: None,
        })
    }
}

/// Where the verification workers open their own connections: the store's
/// file, or — for a store opened read-only — the same read-only access (so
/// that they too create no `-wal`/`-shm` and take no lock an immutable
/// opening does not take).
enum Source {
    Path(PathBuf),
    ReadOnly(ReadOnlyAccess),
}

impl Store {
    fn source(&self) -> Option<Source> {
        match (&self.read_only, &self.path) {
            (Some(a), _) => Some(Source::ReadOnly(a.clone())),
            (None, Some(p)) => Some(Source::Path(p.clone())),
            (None, None) => None,
        }
    }
}

/// A read-only connection of a verification worker.
fn read_only(source: &Source) -> Result<Connection> {
    match source {
        Source::Path(path) => {
            let c = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            c.busy_timeout(BUSY_TIMEOUT)?;
            Ok(c)
        }
        Source::ReadOnly(access) => Ok(access.connect()?),
    }
}

/// [`Tx::check_requests`] in a read transaction of its own.
fn check_requests_at(source: &Source) -> Result<Consistency> {
    let c = read_only(source)?;
    let tx = Tx {
        tx: c.unchecked_transaction()?,
    };
    let out = tx.check_requests()?;
    tx.tx.commit()?;
    Ok(out)
}

/// Verify the entries with `lo <= seq < hi` (and `seq < hi` for the first range).
fn verify_range(source: &Source, first: bool, lo: i64, hi: i64) -> Result<Part> {
    let c = read_only(source)?;
    let tx = c.unchecked_transaction()?;
    let prev = if first {
        GENESIS.to_string()
    } else {
        // If it is missing, the range before reports the gap first.
        tx.query_row(
            "SELECT hash FROM audit_log WHERE seq = ?1",
            params![lo - 1],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default()
    };
    let mut v = Verifier::resume(lo, &prev);
    {
        let range = if first {
            "seq < ?1"
        } else {
            "seq >= ?2 AND seq < ?1"
        };
        let mut stmt = tx.prepare(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE {range} ORDER BY seq"
        ))?;
        let mut rows = if first {
            stmt.query(params![hi])?
        } else {
            stmt.query(params![hi, lo])?
        };
        feed_rows(&mut rows, &mut v)?;
    }
    tx.commit()?;
    let next_seq = v.next_seq();
    let out = v.finish();
    Ok(Part {
        entries: out.entries,
        first_bad: out.first_bad,
        next_seq,
        last_hash: out.head_hash.unwrap_or(prev),
    })
}
