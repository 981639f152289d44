//! Streams every request with its decisions, lifecycle audit entries and
//! receipts to [`crate::consistency::check`]: four queries ordered by request
//! id, merged, so one request is in memory at a time. The lifecycle entries
//! come from the `audit_lifecycle` partial index (migration 6), which holds
//! only them, with every column read: the pass reads a few entries per
//! request, not the whole log.

use super::db::{Cursor as Rows, Row};
use super::provider::{map_receipt, RECEIPT_COLS};
use super::requests::{map_decision, map_request, COLUMNS};
use super::Tx;
use crate::clock::{from_millis, Time};
use crate::consistency::{check, Disagreement, LifecycleEntry};
use crate::model::{Decision, Request};
use crate::store::ReceiptRow;
use crate::Result;

/// The lifecycle entries, ordered by request; the WHERE clause is the index's own.
pub(super) const LIFECYCLE_SQL: &str =
    "SELECT request_id, seq, at, recorded_at, tenant, actor_kind, actor, operation, details, hash,
            tenant_seq, v1_hash
     FROM audit_log INDEXED BY audit_lifecycle
     WHERE request_id IS NOT NULL AND operation NOT IN ('access_used', 'access_denied')
     ORDER BY request_id, seq";

/// What the consistency pass found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consistency {
    /// Requests checked (up to and including the first that disagrees).
    pub requests: u64,
    pub first_disagreement: Option<Disagreement>,
}

type Map<T> = fn(&Row<'_>) -> Result<(String, T)>;

/// One query's rows, keyed by request id, with the next row looked at.
struct Cursor<'s, 'c, T> {
    rows: Rows<'s, 'c>,
    map: Map<T>,
    head: Option<(String, T)>,
}

impl<'s, 'c, T> Cursor<'s, 'c, T> {
    fn new(rows: Rows<'s, 'c>, map: Map<T>) -> Result<Self> {
        let mut c = Cursor {
            rows,
            map,
            head: None,
        };
        c.advance()?;
        Ok(c)
    }

    fn advance(&mut self) -> Result<()> {
        self.head = self.rows.next(self.map)?;
        Ok(())
    }

    fn key(&self) -> Option<&str> {
        self.head.as_ref().map(|(k, _)| k.as_str())
    }

    /// Move every row of request `key` into `out`.
    fn take(&mut self, key: &str, out: &mut Vec<T>) -> Result<()> {
        while self.key() == Some(key) {
            if let Some((_, v)) = self.head.take() {
                out.push(v);
            }
            self.advance()?;
        }
        Ok(())
    }
}

fn request_row(r: &Row<'_>) -> Result<(String, (Request, Option<Time>))> {
    let req = map_request(r)?;
    let deadline = r.get::<Option<i64>>(18)?.map(from_millis);
    Ok((req.id.clone(), (req, deadline)))
}

fn decision_row(r: &Row<'_>) -> Result<(String, Decision)> {
    Ok((r.get(0)?, map_decision(r, 1)?))
}

fn entry_row(r: &Row<'_>) -> Result<(String, LifecycleEntry)> {
    Ok((
        r.get(0)?,
        LifecycleEntry {
            seq: r.get(1)?,
            at_ms: r.get(2)?,
            recorded_ms: r.get(3)?,
            tenant: r.get(4)?,
            actor_kind: r.get(5)?,
            actor: r.get(6)?,
            operation: r.get(7)?,
            details: r.get(8)?,
            // What a receipt signed at this entry names as the chain's head:
            // its tenant chain position and hash — or, for an entry from
            // before migration 7 (which kept its v1 hash), the store position
            // and hash it had in the old global chain when it was signed.
            head: match r.get::<Option<String>>(11)? {
                Some(v1) => (r.get(1)?, v1),
                None => (r.get::<Option<i64>>(10)?.unwrap_or(0), r.get(9)?),
            },
        },
    ))
}

fn receipt_row(r: &Row<'_>) -> Result<(String, ReceiptRow)> {
    let row = map_receipt(r)?;
    Ok((row.request_id.clone(), row))
}

impl Tx<'_> {
    /// Check every request (all tenants, in id order) against its audit
    /// entries; stops at the first disagreement.
    pub fn check_requests(&self) -> Result<Consistency> {
        let mut q_req = self.query(&format!(
            "SELECT {COLUMNS}, deadline_at FROM requests ORDER BY id"
        ))?;
        let mut q_dec = self.query(
            "SELECT request_id, level, actor, decision, comment, duration_s, at
             FROM decisions ORDER BY request_id, idx",
        )?;
        let mut q_ent = self.query(LIFECYCLE_SQL)?;
        let mut q_rcp = self.query(&format!(
            "SELECT {RECEIPT_COLS} FROM receipts ORDER BY request_id, seq"
        ))?;
        let mut reqs = Cursor::new(q_req.open()?, request_row)?;
        let mut decs = Cursor::new(q_dec.open()?, decision_row)?;
        let mut ents = Cursor::new(q_ent.open()?, entry_row)?;
        let mut rcps = Cursor::new(q_rcp.open()?, receipt_row)?;
        let (mut row, mut decisions, mut entries, mut receipts) =
            (Vec::with_capacity(1), Vec::new(), Vec::new(), Vec::new());
        let mut out = Consistency::default();
        loop {
            let Some(key) = [reqs.key(), decs.key(), ents.key(), rcps.key()]
                .into_iter()
                .flatten()
                .min()
                .map(str::to_string)
            else {
                return Ok(out);
            };
            reqs.take(&key, &mut row)?;
            decs.take(&key, &mut decisions)?;
            ents.take(&key, &mut entries)?;
            rcps.take(&key, &mut receipts)?;
            out.requests += 1;
            out.first_disagreement = check(&key, row.first(), &decisions, &entries, &receipts);
            if out.first_disagreement.is_some() {
                return Ok(out);
            }
            row.clear();
            decisions.clear();
            entries.clear();
            receipts.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The lifecycle entries are read from the partial index alone, in
    /// request order: no table lookups, no sort, no access_used entries.
    #[test]
    fn lifecycle_entries_come_from_the_covering_index_in_order() {
        let mut s = crate::store::Store::open_in_memory().unwrap();
        let plan: Vec<String> = s
            .read(|tx| {
                let mut st = tx
                    .sqlite()
                    .unwrap()
                    .prepare(&format!("EXPLAIN QUERY PLAN {LIFECYCLE_SQL}"))?;
                let rows = st.query_map([], |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .unwrap();
        assert_eq!(
            plan,
            ["SEARCH audit_log USING COVERING INDEX audit_lifecycle (request_id>?)"]
        );
    }
}
