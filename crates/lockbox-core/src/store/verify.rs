//! Verifying the audit chains on every core. The store is split into seq
//! ranges; one worker per range reads it on its own read-only connection and
//! runs the same [`Verifier`], which takes each tenant's chain up where the
//! range first meets it; joining the ranges in order checks that each such
//! first entry links to where the ranges before left that tenant's chain.
//! The first range with a bad entry names the first bad entry, so the outcome
//! is exactly that of one sequential pass (`tests/verify_parallel.rs` checks
//! this).
//!
//! Beside the chain workers, one more thread checks every stored request
//! against its audit entries (`consistency.rs`) on its own read-only
//! connection: it reads a few lifecycle entries per request from a partial
//! index, not the log, so it finishes within the chain's time.

use super::audit_log::{feed_rows, COLUMNS};
use super::db::p;
use super::{Consistency, ReadOnlyAccess, Store, Tx, BUSY_TIMEOUT};
use crate::audit::{ChainHead, FirstSight, Verifier, VerifyOutcome, GENESIS};
use crate::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Below this many entries per worker one pass on the store's own connection wins.
const MIN_PER_WORKER: i64 = 100_000;
const MAX_WORKERS: usize = 8;

/// What one range found.
struct Part {
    out: VerifyOutcome,
    /// Each tenant's first entry in the range, to link to the ranges before.
    first_sights: Vec<(String, FirstSight)>,
    /// The store position the range expected next when it ended.
    next_seq: i64,
}

impl Store {
    /// Recompute the whole chain (all tenants) and check every stored request
    /// against it; names the first bad entry and the first disagreement.
    /// Large chains are verified by one worker per core.
    pub fn verify_audit(&mut self) -> Result<VerifyOutcome> {
        let max = self.read(|tx| tx.audit_max_seq())?;
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

    /// The hash chains alone, in `workers` ranges; then, for a store
    /// re-chained by migration 7, the chain before it.
    fn verify_chain_in(&mut self, workers: usize) -> Result<VerifyOutcome> {
        let mut out = self.verify_chains_in(workers)?;
        if out.first_bad.is_none() {
            out.first_bad = self.read(super::rechain::verify_v1)?;
        }
        Ok(out)
    }

    fn verify_chains_in(&mut self, workers: usize) -> Result<VerifyOutcome> {
        let max = self.read(|tx| tx.audit_max_seq())?;
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
        let mut heads: BTreeMap<String, ChainHead> = BTreeMap::new();
        let done = |entries, heads, first_bad| VerifyOutcome {
            entries,
            heads,
            first_bad,
            requests: 0,
            first_disagreement: None,
        };
        for (i, part) in parts.into_iter().enumerate() {
            let part = part?;
            let lo = bounds[i];
            // Does each chain the range took up mid-way link to the ranges before?
            // (first bad entry, entries fed up to it)
            let mut bad = part.out.first_bad.clone().map(|b| (b, part.out.entries));
            for (tenant, sight) in &part.first_sights {
                if bad.as_ref().is_some_and(|(b, _)| b.0 < sight.seq) {
                    continue;
                }
                let (next, prev) = heads
                    .get(tenant)
                    .map_or((1, GENESIS), |h| (h.entries + 1, h.hash.as_str()));
                if let Some(why) = link_problem(tenant, sight, next, prev) {
                    // Positions are contiguous up to here (else the range broke earlier).
                    bad = Some(((sight.seq, why), (sight.seq - lo + 1) as u64));
                }
            }
            if let Some((b, fed)) = bad {
                return Ok(done(entries + fed, BTreeMap::new(), Some(b)));
            }
            entries += part.out.entries;
            heads.extend(part.out.heads);
            let end = bounds[i + 1];
            if part.next_seq < end {
                // Entries are missing at the end of this range: the chain breaks
                // at the next entry there is — or just ends, if there is none.
                let next: Option<i64> = self.read(|tx| tx.audit_seq_from(end, max))?;
                return Ok(match next {
                    Some(seq) => done(
                        entries + 1,
                        BTreeMap::new(),
                        Some((
                            part.next_seq,
                            format!(
                                "store position {seq} found where {} was expected (an entry was deleted or inserted)",
                                part.next_seq
                            ),
                        )),
                    ),
                    None => done(entries, heads, None),
                });
            }
        }
        Ok(done(entries, heads, None))
    }
}

/// Why the entry first seen in a range does not continue its tenant's chain
/// (whose next position is `next`, after an entry hashed `prev`), if it does not.
fn link_problem(tenant: &str, sight: &FirstSight, next: i64, prev: &str) -> Option<String> {
    if sight.tenant_seq != next {
        Some(format!(
            "tenant '{tenant}' chain position {} found where {next} was expected (an entry of that tenant was deleted or inserted)",
            sight.tenant_seq
        ))
    } else if sight.prev_hash != prev {
        Some(format!(
            "its prev_hash does not match the hash of tenant '{tenant}''s previous entry (entries were removed, reordered or forged)"
        ))
    } else {
        None
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
    let tx = Tx::lite(c.unchecked_transaction()?);
    let out = tx.check_requests()?;
    tx.commit()?;
    Ok(out)
}

/// Verify the entries with `lo <= seq < hi` (and `seq < hi` for the first range).
fn verify_range(source: &Source, first: bool, lo: i64, hi: i64) -> Result<Part> {
    let c = read_only(source)?;
    let tx = Tx::lite(c.unchecked_transaction()?);
    let mut v = if first {
        Verifier::default()
    } else {
        Verifier::resume(lo)
    };
    {
        let range = if first {
            "seq < ?1"
        } else {
            "seq >= ?2 AND seq < ?1"
        };
        let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE {range} ORDER BY seq");
        if first {
            feed_rows(&tx, &sql, p![hi], &mut v)?;
        } else {
            feed_rows(&tx, &sql, p![hi, lo], &mut v)?;
        }
    }
    tx.commit()?;
    let next_seq = v.next_seq().unwrap_or(hi);
    let mut first_sights: Vec<(String, FirstSight)> =
        v.first_sights().map(|(t, s)| (t, s.clone())).collect();
    first_sights.sort_by_key(|(_, s)| s.seq);
    Ok(Part {
        out: v.finish(),
        first_sights,
        next_seq,
    })
}
