//! The audit log table: append (hash-chained), query, stream, verify.

use super::db::{p, Row, P};
use super::{bad_row, Tx};
use crate::audit::{entry_hash, AuditEntry, HashInput, RawEntry, Verifier, VerifyOutcome, GENESIS};
use crate::clock::{from_millis, to_millis, Time};
use crate::machine::AuditRecord;
use crate::model::{ActorKind, AuditQuery};
use crate::{Error, Result};

pub(super) const COLUMNS: &str =
    "seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, prev_hash, hash, tenant_seq";

fn map_entry(r: &Row<'_>) -> Result<AuditEntry> {
    let kind: String = r.get(4)?;
    Ok(AuditEntry {
        seq: r.get(0)?,
        at: from_millis(r.get(1)?),
        recorded_at: from_millis(r.get(2)?),
        tenant: r.get(3)?,
        actor_kind: ActorKind::parse(&kind).map_err(|e| bad_row("actor kind", e))?,
        actor: r.get(5)?,
        operation: r.get(6)?,
        request_id: r.get(7)?,
        details: r.get(8)?,
        prev_hash: r.get(9)?,
        hash: r.get(10)?,
        tenant_seq: r.get::<Option<i64>>(11)?.unwrap_or(0),
    })
}

/// A page query with a time filter sorts the whole time window when it
/// reads by the time index; above this many entries in the window it reads
/// newest-first by seq instead and filters on time.
const TIME_WINDOW_SORT_MAX: i64 = 1000;

/// Where the next audit entries go: the chains' heads in a write
/// transaction (each tenant's read once, when first appended to). On
/// PostgreSQL a connection's session keeps the one of its last commit that
/// appended (`pg_tx::Session`).
#[derive(Debug, Clone)]
pub struct AuditTail {
    /// The newest store position, once known: read at the transaction's
    /// first append (on PostgreSQL under the positions lock).
    pub(super) seq: Option<i64>,
    pub(super) tenants: std::collections::HashMap<String, TenantTail>,
}

/// One tenant's chain head, as an [`AuditTail`] holds it.
#[derive(Debug, Clone)]
pub(super) struct TenantTail {
    tenant_seq: i64,
    prev: String,
    /// The latest effective time written so far (see `late`).
    max_at: i64,
}

impl AuditTail {
    /// The head of `tenant`'s chain as far as this tail has written it:
    /// `(tenant_seq, hash)` (`None` when this tail has not appended for it).
    pub fn head_of(&self, tenant: &str) -> Option<(i64, &str)> {
        self.tenants
            .get(tenant)
            .map(|t| (t.tenant_seq, t.prev.as_str()))
    }
}

impl AuditQuery {
    fn where_clause(&self, tenant: &str) -> (String, Vec<P<'static>>) {
        self.where_with(tenant, "at")
    }

    /// The WHERE clause, with the effective time spelled `at` (`+at` keeps
    /// SQLite from using the time index for it).
    fn where_with(&self, tenant: &str, at: &str) -> (String, Vec<P<'static>>) {
        let mut wh = vec!["tenant = ?".to_string()];
        let mut args = vec![P::Text(tenant.to_string().into())];
        let mut push = |cond: &str, v: P<'static>| {
            wh.push(cond.to_string());
            args.push(v);
        };
        if let Some(t) = self.since {
            push(&format!("{at} >= ?"), P::Int(to_millis(t)));
        }
        if let Some(t) = self.until {
            push(&format!("{at} < ?"), P::Int(to_millis(t)));
        }
        if let Some(r) = self.request_id.as_deref().filter(|s| !s.is_empty()) {
            push("request_id = ?", P::Text(r.to_string().into()));
        }
        if let Some(a) = self.actor.as_deref().filter(|s| !s.is_empty()) {
            push("actor = ?", P::Text(a.to_string().into()));
        }
        if let Some(o) = self.operation.as_deref().filter(|s| !s.is_empty()) {
            push("operation = ?", P::Text(o.to_string().into()));
        }
        if let Some(b) = self.before_seq {
            push("seq < ?", P::Int(b));
        }
        if let Some(t) = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let pat = format!(
                "%{}%",
                t.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            wh.push(
                "(actor LIKE ?1x ESCAPE '\\' OR operation LIKE ?1x ESCAPE '\\' OR request_id LIKE ?1x ESCAPE '\\'
                  OR details LIKE ?1x ESCAPE '\\')"
                    .replace("?1x", "?"),
            );
            for _ in 0..4 {
                args.push(P::Text(pat.clone().into()));
            }
        }
        (wh.join(" AND "), args)
    }
}

impl Tx<'_> {
    /// The chains' tail, to append after (a write transaction holds the
    /// lock of the chains it appends to, so nobody else appends meanwhile).
    /// Read at the first append to each tenant ([`Tx::append_audit_after`]).
    pub fn audit_tail(&self) -> Result<AuditTail> {
        Ok(AuditTail {
            seq: None,
            tenants: Default::default(),
        })
    }

    /// The store positions of `n` new entries after `tail`'s: the newest +
    /// 1, … . SQLite has one writer at a time. On PostgreSQL writes to other
    /// tenants run meanwhile, so the newest position is read under one more
    /// lock ([`Tx::take_positions_lock`]), held from the first append to the
    /// commit: positions stay gapless (a rolled-back or killed transaction
    /// leaves none behind; verify reads a missing position as a deleted
    /// entry) and in commit order (a reader that has seen position n has
    /// seen everything before it). What runs before the first append
    /// (loading, the rules) never waits for another tenant.
    fn next_audit_seqs(tail: &mut AuditTail, n: usize) -> Result<Vec<i64>> {
        let newest = tail
            .seq
            .ok_or_else(|| Error::internal("an audit append before its tail was read"))?;
        let last = newest + n as i64;
        tail.seq = Some(last);
        Ok((newest + 1..=last).collect())
    }

    /// On PostgreSQL, the positions lock, held to the commit: later appends
    /// through the same tail need neither it nor the newest position again.
    fn take_positions_lock(&self) -> Result<()> {
        if self.is_sqlite() {
            return Ok(()); // one writer at a time already
        }
        // Sent with the tail's read that follows it.
        self.put(
            "SELECT pg_advisory_xact_lock(?1)",
            p![super::pg::POSITIONS_LOCK],
            None,
        )
    }

    /// What an append to `tenant` starts from, in one statement: the newest
    /// store position, and the tenant's head and newest `at`. `first`: the
    /// transaction's first append (it holds the positions lock).
    ///
    /// On PostgreSQL a connection remembers the heads it wrote: when the
    /// newest position is still the one it last wrote, nobody has appended
    /// since (positions grow by one under one lock, and a transaction's
    /// first append reads the newest anyway), so those heads are current
    /// and the tenant's own three index probes are skipped.
    fn tenant_tail(&self, tenant: &str, first: bool) -> Result<(i64, TenantTail)> {
        if let Some((seq, head, trusted)) = self.remembered_tail(tenant) {
            if first {
                // Probe the tenant only if its head is not known: `?2`
                // is the position at which it would be.
                let known = head.as_ref().map_or(-1, |_| seq);
                let (newest, read) = self.one(
                    "SELECT m.seq, h.tenant_seq, h.hash,
                            CASE WHEN m.seq <> ?2 THEN (SELECT MAX(at) FROM audit_log WHERE tenant = ?1) END
                     FROM (SELECT COALESCE(MAX(seq), 0) AS seq FROM audit_log) AS m
                     LEFT JOIN LATERAL (SELECT tenant_seq, hash FROM audit_log
                                        WHERE tenant = ?1 AND m.seq <> ?2
                                        ORDER BY tenant_seq DESC LIMIT 1) AS h ON true",
                    p![tenant, known],
                    |r| Ok((r.get::<i64>(0)?, Self::map_tail(r, 1)?)),
                )?;
                self.trust_remembered_tails(newest == seq);
                return Ok(match head {
                    Some(h) if newest == seq => (newest, h),
                    _ => (newest, read),
                });
            }
            if let (true, Some(h)) = (trusted, head) {
                return Ok((seq, h));
            }
        }
        self.one(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM audit_log), h.tenant_seq, h.hash,
                    (SELECT MAX(at) FROM audit_log WHERE tenant = ?1)
             FROM (SELECT 1 AS one) AS one
             LEFT JOIN (SELECT tenant_seq, hash FROM audit_log WHERE tenant = ?1
                        ORDER BY tenant_seq DESC LIMIT 1) AS h ON 1 = 1",
            p![tenant],
            |r| Ok((r.get(0)?, Self::map_tail(r, 1)?)),
        )
    }

    /// A tenant's head from columns `i..i + 3`: its newest entry's
    /// `tenant_seq` and hash, and its newest `at` (NULLs: no entries).
    fn map_tail(r: &Row<'_>, i: usize) -> Result<TenantTail> {
        Ok(TenantTail {
            tenant_seq: r.get::<Option<i64>>(i)?.unwrap_or(0),
            prev: r
                .get::<Option<String>>(i + 1)?
                .unwrap_or_else(|| GENESIS.to_string()),
            max_at: r.get::<Option<i64>>(i + 2)?.unwrap_or(i64::MIN),
        })
    }

    /// The newest store position (0: no entries).
    pub fn audit_max_seq(&self) -> Result<i64> {
        self.one("SELECT COALESCE(MAX(seq), 0) FROM audit_log", p![], |r| {
            r.get(0)
        })
    }

    /// The first store position in `lo..=hi`, if any.
    pub(super) fn audit_seq_from(&self, lo: i64, hi: i64) -> Result<Option<i64>> {
        self.one(
            "SELECT MIN(seq) FROM audit_log WHERE seq >= ?1 AND seq <= ?2",
            p![lo, hi],
            |r| r.get(0),
        )
    }

    /// The head of `tenant`'s chain: `(entries, hash of the newest)`.
    pub fn audit_head(&self, tenant: &str) -> Result<(i64, Option<String>)> {
        Ok(self
            .opt(
                "SELECT tenant_seq, hash FROM audit_log WHERE tenant = ?1
                 ORDER BY tenant_seq DESC LIMIT 1",
                p![tenant],
                |r| Ok((r.get::<Option<i64>>(0)?.unwrap_or(0), Some(r.get(1)?))),
            )?
            .unwrap_or((0, None)))
    }

    /// Every tenant's chain head `(tenant, entries, hash)`, by tenant
    /// (tenants without entries are left out).
    pub fn audit_heads(&self) -> Result<Vec<(String, i64, String)>> {
        let tenants: Vec<String> =
            self.rows("SELECT id FROM tenants ORDER BY id", p![], |r| r.get(0))?;
        let mut out = Vec::new();
        for t in tenants {
            if let (n, Some(h)) = self.audit_head(&t)? {
                out.push((t, n, h));
            }
        }
        Ok(out)
    }

    /// Append records to the chain. Returns the new entries' sequence numbers.
    pub fn append_audit(
        &self,
        tenant: &str,
        records: &[&AuditRecord],
        now: Time,
    ) -> Result<Vec<i64>> {
        let mut tail = self.audit_tail()?;
        self.append_audit_after(&mut tail, tenant, records, now)
    }

    /// Append records after `tail` (from [`Tx::audit_tail`] in this
    /// transaction), moving it to the new head.
    pub fn append_audit_after(
        &self,
        tail: &mut AuditTail,
        tenant: &str,
        records: &[&AuditRecord],
        now: Time,
    ) -> Result<Vec<i64>> {
        self.in_scope(tenant)?;
        if !tail.tenants.contains_key(tenant) {
            // The first append to this tenant: its head, and at the
            // transaction's first append the newest position, read together
            // under the positions lock.
            let first = tail.seq.is_none();
            if first {
                self.take_positions_lock()?;
            }
            let (newest, t) = self.tenant_tail(tenant, first)?;
            tail.seq.get_or_insert(newest);
            tail.tenants.insert(tenant.to_string(), t);
        }
        let seqs = Self::next_audit_seqs(tail, records.len())?;
        let t = tail.tenants.get_mut(tenant).expect("inserted above");
        let ins = format!(
            "INSERT INTO audit_log ({COLUMNS}, late) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        );
        let mut out = Vec::with_capacity(records.len());
        for (rec, &seq) in records.iter().zip(&seqs) {
            t.tenant_seq += 1;
            // serde_json's Map is a BTreeMap: keys come out sorted, so this is canonical.
            let details = serde_json::to_string(&rec.details)?;
            let at_ms = to_millis(rec.at);
            let recorded_ms = to_millis(now);
            // Earlier than something already written for this tenant?
            let late = at_ms < t.max_at;
            t.max_at = t.max_at.max(at_ms);
            let hash = entry_hash(&HashInput {
                tenant_seq: t.tenant_seq,
                at_ms,
                recorded_ms,
                tenant,
                actor_kind: rec.actor.kind.as_str(),
                actor: &rec.actor.name,
                operation: rec.operation.as_str(),
                request_id: rec.request_id.as_deref(),
                details: &details,
                prev_hash: &t.prev,
            });
            self.put(
                &ins,
                p![
                    seq,
                    at_ms,
                    recorded_ms,
                    tenant,
                    rec.actor.kind.as_str(),
                    rec.actor.name,
                    rec.operation.as_str(),
                    rec.request_id,
                    details,
                    t.prev.as_str(),
                    hash,
                    t.tenant_seq,
                    late
                ],
                None,
            )?;
            t.prev = hash;
            out.push(seq);
        }
        if tail.seq.is_some() {
            self.note_appended(tail);
        }
        Ok(out)
    }

    /// One page of `tenant`'s audit entries, newest first.
    pub fn audit_page(&self, tenant: &str, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let limit = q.limit.unwrap_or(50).clamp(1, 1000);
        // With a time filter, SQLite reads the window by the time index and
        // sorts all of it by seq: fine for a small window, ~100 ms for a week
        // of a million entries. A large window is read newest first instead
        // (its newest matches come first), filtering on time.
        // A window that ends in the past is read from its newest seq down.
        let mut q = q.clone();
        let (table, at) = if q.since.is_none() && q.until.is_none() || !self.is_sqlite() {
            ("audit_log", "at")
        } else if self.audit_window_len(tenant, &q)? < TIME_WINDOW_SORT_MAX {
            ("audit_log INDEXED BY audit_by_time", "at")
        } else {
            if q.until.is_some() {
                let newest = self.audit_window_max_seq(tenant, &q)?;
                q.before_seq = Some(q.before_seq.unwrap_or(i64::MAX).min(newest + 1));
            }
            ("audit_log", "+at")
        };
        let (wh, args) = q.where_with(tenant, at);
        self.rows(
            &format!("SELECT {COLUMNS} FROM {table} WHERE {wh} ORDER BY seq DESC LIMIT {limit}"),
            &args,
            map_entry,
        )
    }

    /// How many entries of `tenant` lie in `q`'s time window (and before its
    /// cursor), counted up to [`TIME_WINDOW_SORT_MAX`] on the time index.
    fn audit_window_len(&self, tenant: &str, q: &AuditQuery) -> Result<i64> {
        let window = AuditQuery {
            since: q.since,
            until: q.until,
            before_seq: q.before_seq,
            ..Default::default()
        };
        let (wh, mut args) = window.where_clause(tenant);
        args.push(P::Int(TIME_WINDOW_SORT_MAX));
        self.one(
            &format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM audit_log INDEXED BY audit_by_time WHERE {wh} LIMIT ?) AS w"
            ),
            &args,
            |r| r.get(0),
        )
    }

    /// The newest seq in `q`'s time window, without reading the window:
    /// entries not `late` are in effective-time order, so the newest of them
    /// is the one with the greatest time (one probe); `late` ones are few
    /// (deadline entries swept after something newer) and are scanned.
    fn audit_window_max_seq(&self, tenant: &str, q: &AuditQuery) -> Result<i64> {
        let since = q.since.map_or(i64::MIN, to_millis);
        let until = q.until.map_or(i64::MAX, to_millis);
        let in_order: Option<i64> = self.opt(
            "SELECT seq FROM audit_log INDEXED BY audit_in_order_by_time
                 WHERE tenant = ?1 AND late = 0 AND at >= ?2 AND at < ?3
                 ORDER BY at DESC, seq DESC LIMIT 1",
            p![tenant, since, until],
            |r| r.get(0),
        )?;
        let late: Option<i64> = self.one(
            "SELECT MAX(seq) FROM audit_log INDEXED BY audit_late_by_time
                 WHERE tenant = ?1 AND late = 1 AND at >= ?2 AND at < ?3",
            p![tenant, since, until],
            |r| r.get(0),
        )?;
        Ok(in_order.max(late).unwrap_or(0))
    }

    /// The store positions of the oldest and newest entries of `tenant`
    /// matching `q` (ignoring its limit), if any.
    pub fn audit_seq_bounds(&self, tenant: &str, q: &AuditQuery) -> Result<Option<(i64, i64)>> {
        let (wh, args) = q.where_clause(tenant);
        let (lo, hi): (Option<i64>, Option<i64>) = self.one(
            &format!("SELECT MIN(seq), MAX(seq) FROM audit_log WHERE {wh}"),
            &args,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(lo.zip(hi))
    }

    /// Every entry of `tenant` with `lo <= seq <= hi`, oldest first: a
    /// contiguous part of its chain.
    pub fn for_each_audit_between(
        &self,
        tenant: &str,
        lo: i64,
        hi: i64,
        mut f: impl FnMut(&AuditEntry) -> Result<()>,
    ) -> Result<u64> {
        self.each(
            &format!(
                "SELECT {COLUMNS} FROM audit_log INDEXED BY audit_by_tenant
             WHERE tenant = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq ASC"
            ),
            p![tenant, lo, hi],
            |row| {
                f(&map_entry(row)?)?;
                Ok(true)
            },
        )
    }

    /// Every entry of `tenant` matching `q` (ignoring its limit), oldest first.
    pub fn for_each_audit(
        &self,
        tenant: &str,
        q: &AuditQuery,
        mut f: impl FnMut(&AuditEntry) -> Result<()>,
    ) -> Result<u64> {
        let (wh, args) = q.where_clause(tenant);
        self.each(
            &format!("SELECT {COLUMNS} FROM audit_log WHERE {wh} ORDER BY seq ASC"),
            &args,
            |row| {
                f(&map_entry(row)?)?;
                Ok(true)
            },
        )
    }

    /// Recompute the whole chain (all tenants) in stored order.
    pub fn verify_audit(&self) -> Result<VerifyOutcome> {
        let mut v = Verifier::default();
        feed_rows(
            self,
            &format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq ASC"),
            p![],
            &mut v,
        )?;
        Ok(v.finish())
    }

    /// The entry recording `operation` on request `request_id` (the first, if
    /// several): `(tenant_seq, hash, recorded_at)`.
    pub fn audit_entry_of(
        &self,
        request_id: &str,
        operation: &str,
    ) -> Result<Option<(i64, String, Time)>> {
        self.opt(
            "SELECT tenant_seq, hash, recorded_at FROM audit_log
                 WHERE request_id = ?1 AND operation = ?2 ORDER BY seq LIMIT 1",
            p![request_id, operation],
            |r| Ok((r.get(0)?, r.get(1)?, from_millis(r.get(2)?))),
        )
    }

    /// `(seq, tenant, operation)` of the entries after `after_seq`, oldest first.
    pub fn audit_ops_after(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<(i64, String, String)>> {
        self.rows(
            "SELECT seq, tenant, operation FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            p![after_seq, limit],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }
}

/// Feed the rows of `sql` (selecting [`COLUMNS`]) to `v` (as stored,
/// unparsed) until one is bad. Returns how many were fed.
pub(super) fn feed_rows(tx: &Tx<'_>, sql: &str, params: &[P<'_>], v: &mut Verifier) -> Result<u64> {
    tx.each(sql, params, |r| {
        let s = |i: usize| -> Result<&[u8]> {
            Ok(r.text(i)?
                .ok_or_else(|| {
                    crate::Error::internal(format!("store column {i}: unexpected NULL"))
                })?
                .as_bytes())
        };
        let request_id = r.text(7)?.map(str::as_bytes);
        Ok(v.feed(&RawEntry {
            seq: r.get(0)?,
            // A row without one (not written by the engine) breaks the chain there.
            tenant_seq: r.get::<Option<i64>>(11)?.unwrap_or(0),
            at_ms: r.get(1)?,
            recorded_ms: r.get(2)?,
            tenant: s(3)?,
            actor_kind: s(4)?,
            actor: s(5)?,
            operation: s(6)?,
            request_id,
            details: s(8)?,
            prev_hash: s(9)?,
            hash: s(10)?,
        }))
    })
}
