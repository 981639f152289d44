//! A connected desktop's audit replica (issue 14): the team server's side
//! reads a page of a tenant's chain as stored, with the rows of the
//! requests it names; the desktop's side appends it to a local SQLite store
//! after checking every link and hash, and the signed checkpoint against the
//! server's key pinned at the first pull. The replica is an ordinary store,
//! so it opens as an archive (`lockbox-app --archive`, `lockbox audit
//! verify`). Its store positions (`seq`) are its own: they are not hashed.
//!
//! Local bookkeeping in `app_settings`: `replica.server` (the server's URL),
//! `replica.public_key` (its receipt key, pinned), and per tenant
//! `replica.rows.TENANT`, the chain position up to which the tenant's
//! request rows are as the server had them (a pull cut short after some
//! pages leaves it, so the next pull fetches those rows again).

use super::copy::columns;
use super::db::{p, Tx, P};
use super::Store;
use crate::audit::{entry_hash, HashInput, GENESIS};
use crate::checkpoint;
use crate::clock::parse_time;
use crate::dto::{CheckpointDto, ReplicaEntryDto, ReplicaPageDto, ReplicaRowsDto};
use crate::{Error, ErrorCode, Result};
use std::borrow::Cow;

/// The tables a page carries rows of, in the order they are written.
const ROW_TABLES: [&str; 4] = ["tenants", "requests", "decisions", "receipts"];

/// The requests named by entries of `tenant` after chain position `since`.
const NAMED: &str = "SELECT DISTINCT request_id FROM audit_log
     WHERE tenant = ?1 AND tenant_seq > ?2 AND request_id IS NOT NULL";

impl Tx<'_> {
    /// Entries of `tenant`'s chain after position `after`, oldest first,
    /// at most `limit`.
    pub fn replica_entries(
        &self,
        tenant: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ReplicaEntryDto>> {
        self.rows(
            "SELECT tenant_seq, at, recorded_at, actor_kind, actor, operation, request_id,
                    details, prev_hash, hash, late
             FROM audit_log WHERE tenant = ?1 AND tenant_seq > ?2
             ORDER BY tenant_seq LIMIT ?3",
            p![tenant, after, limit],
            |r| {
                Ok(ReplicaEntryDto {
                    tenant_seq: r.get(0)?,
                    at_ms: r.get(1)?,
                    recorded_ms: r.get(2)?,
                    actor_kind: r.get(3)?,
                    actor: r.get(4)?,
                    operation: r.get(5)?,
                    request_id: r.get(6)?,
                    details: r.get(7)?,
                    prev_hash: r.get(8)?,
                    hash: r.get(9)?,
                    late: r.get::<i64>(10)? != 0,
                })
            },
        )
    }

    /// The tenant's row, and every request named by an entry after `since`
    /// with its decisions and receipts, as stored.
    /// `requests: false`: the tenant's row only (a page before the head).
    pub fn replica_rows(
        &self,
        tenant: &str,
        since: i64,
        requests: bool,
    ) -> Result<Vec<ReplicaRowsDto>> {
        let mut out = Vec::new();
        for table in ROW_TABLES.into_iter().take(if requests { 4 } else { 1 }) {
            let cols = columns(table);
            let filter = match table {
                "tenants" => "id = ?1 AND CAST(?2 AS BIGINT) >= 0".to_string(),
                "requests" => format!("id IN ({NAMED})"),
                _ => format!("request_id IN ({NAMED})"),
            };
            let n = cols.split(',').count();
            let rows = self.rows(
                &format!("SELECT {cols} FROM {table} WHERE {filter} ORDER BY 1"),
                p![tenant, since],
                |r| (0..n).map(|i| r.get::<P<'static>>(i).map(json)).collect(),
            )?;
            out.push(ReplicaRowsDto {
                table: table.to_string(),
                columns: cols.split(',').map(|c| c.trim().to_string()).collect(),
                rows,
            });
        }
        Ok(out)
    }
}

fn json(v: P<'_>) -> serde_json::Value {
    match v {
        P::Null => serde_json::Value::Null,
        P::Int(i) => i.into(),
        P::Text(s) => s.into_owned().into(),
    }
}

fn param(v: &serde_json::Value) -> Result<P<'_>> {
    match v {
        serde_json::Value::Null => Ok(P::Null),
        serde_json::Value::String(s) => Ok(P::Text(Cow::Borrowed(s))),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(P::Int)
            .ok_or_else(|| refused(&format!("a row holds the number {n}, not an integer"))),
        other => Err(refused(&format!(
            "a row holds {}, not a number, text or null",
            crate::text::one_line(&other.to_string())
        ))),
    }
}

fn refused(why: &str) -> Error {
    Error::new(
        ErrorCode::InvalidInput,
        format!("the server's audit log was refused, nothing of this page was kept: {why}"),
    )
}

/// What one page did to the replica.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageApplied {
    pub entries: u64,
    /// Request rows written (the page that reached the head).
    pub requests: u64,
    /// The chain position the server's signed checkpoint vouches for, now
    /// checked against the replica.
    pub checkpoint: Option<i64>,
}

/// What the replica holds of `tenant`: `(chain length, rows since)`, where
/// the next pull starts: entries after the first, rows after the second.
pub fn position(store: &mut Store, tenant: &str) -> Result<(i64, i64)> {
    store.read(|tx| {
        let (n, _) = tx.audit_head(tenant)?;
        let rows = tx
            .app_setting(&format!("replica.rows.{tenant}"))?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok((n, rows))
    })
}

/// Append `page` to the replica of
/// `server`, in one transaction: nothing of it is kept unless every entry
/// links to the one before and matches its hash, the rows name only this
/// tenant, and the checkpoint is signed by the server's key (pinned at the
/// first page) and names a head this replica has at that position.
pub fn apply(store: &mut Store, server: &str, page: &ReplicaPageDto) -> Result<PageApplied> {
    let key = crate::receipts::parse_public_key(&page.public_key)
        .map_err(|e| refused(&format!("its receipt key: {}", e.message)))?;
    store.write(|tx| {
        pin(tx, "replica.server", server, "this replica holds another server's log")?;
        pin(
            tx,
            "replica.public_key",
            &page.public_key,
            "the server's receipt key is not the one this replica pinned at its first pull; \
             if the server's key was rotated, check the new one out of band and start a new replica",
        )?;
        let tenant = page.tenant.as_str();
        let mut out = PageApplied::default();
        for rows in &page.rows {
            out.requests += write_rows(tx, tenant, rows)?;
        }
        let (mut n, head) = tx.audit_head(tenant)?;
        let mut prev = head.unwrap_or_else(|| GENESIS.to_string());
        let mut seq = tx.audit_max_seq()?;
        for e in &page.entries {
            check_entry(tenant, e, n, &prev)?;
            seq += 1;
            tx.exec(
                "INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation,
                     request_id, details, prev_hash, hash, late, tenant_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                p![
                    seq,
                    e.at_ms,
                    e.recorded_ms,
                    tenant,
                    e.actor_kind,
                    e.actor,
                    e.operation,
                    e.request_id,
                    e.details,
                    e.prev_hash,
                    e.hash,
                    i64::from(e.late),
                    e.tenant_seq
                ],
            )?;
            n = e.tenant_seq;
            prev.clone_from(&e.hash);
            out.entries += 1;
        }
        if page.complete {
            if n != page.head {
                return Err(refused(&format!(
                    "the page says it reaches position {} of '{}' but ends at {n}",
                    page.head,
                    crate::text::one_line(tenant)
                )));
            }
            if let Some(c) = &page.checkpoint {
                out.checkpoint = Some(check_checkpoint(tx, tenant, c, &key)?);
            }
            tx.put_app_setting(&format!("replica.rows.{tenant}"), Some(&n.to_string()))?;
        }
        Ok(out)
    })
}

/// `key` must be `value` in this store, or be set to it now.
fn pin(tx: &Tx<'_>, key: &str, value: &str, otherwise: &str) -> Result<()> {
    match tx.app_setting(key)? {
        Some(v) if v == value => Ok(()),
        Some(_) => Err(refused(otherwise)),
        None => tx.put_app_setting(key, Some(value)),
    }
}

fn check_entry(tenant: &str, e: &ReplicaEntryDto, n: i64, prev: &str) -> Result<()> {
    let at = |why: String| {
        refused(&format!(
            "entry {} of '{}': {why}",
            e.tenant_seq,
            crate::text::one_line(tenant)
        ))
    };
    if e.tenant_seq != n + 1 {
        return Err(at(format!(
            "position {} came where {} was expected",
            e.tenant_seq,
            n + 1
        )));
    }
    if e.prev_hash != prev {
        return Err(at("it does not link to the entry before it".to_string()));
    }
    let computed = entry_hash(&HashInput {
        tenant_seq: e.tenant_seq,
        at_ms: e.at_ms,
        recorded_ms: e.recorded_ms,
        tenant,
        actor_kind: &e.actor_kind,
        actor: &e.actor,
        operation: &e.operation,
        request_id: e.request_id.as_deref(),
        details: &e.details,
        prev_hash: &e.prev_hash,
    });
    if computed != e.hash {
        return Err(at("its content does not match its hash".to_string()));
    }
    Ok(())
}

/// Write a table's rows: requests replaced by the server's, decisions and
/// receipts added where new (both are never changed once written).
fn write_rows(tx: &Tx<'_>, tenant: &str, rows: &ReplicaRowsDto) -> Result<u64> {
    let table = rows.table.as_str();
    if !ROW_TABLES.contains(&table) {
        return Err(refused(&format!(
            "rows of table '{}'",
            crate::text::one_line(table)
        )));
    }
    let cols = columns(table);
    let expected: Vec<&str> = cols.split(',').map(str::trim).collect();
    if rows.columns != expected {
        return Err(refused(&format!(
            "the {table} rows have columns {:?}, this replica's schema has {expected:?} (a newer or older server)",
            rows.columns
        )));
    }
    let tenant_col = match table {
        "tenants" => 0,
        _ => expected
            .iter()
            .position(|c| *c == "tenant")
            .unwrap_or(usize::MAX),
    };
    let marks: Vec<String> = (1..=expected.len()).map(|i| format!("?{i}")).collect();
    let values = marks.join(", ");
    let sql = match table {
        "tenants" => format!(
            "INSERT INTO tenants ({cols}) VALUES ({values}) ON CONFLICT (id) DO UPDATE SET name = excluded.name"
        ),
        "requests" => {
            let set: Vec<String> = expected[1..]
                .iter()
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            format!(
                "INSERT INTO requests ({cols}) VALUES ({values}) ON CONFLICT (id) DO UPDATE SET {}",
                set.join(", ")
            )
        }
        "decisions" => format!(
            "INSERT INTO decisions ({cols}) VALUES ({values}) ON CONFLICT (request_id, idx) DO NOTHING"
        ),
        _ => {
            // receipts: its own position here; the same signature is the
            // same receipt, looked up by request (an index) first: by
            // signature alone it was a scan of every receipt for each (2.3x
            // the time of a 1M-entry catch-up).
            let no_seq: Vec<&str> = expected[1..].to_vec();
            let m: Vec<String> = (2..=expected.len()).map(|i| format!("?{i}")).collect();
            let at = |c: &str| expected.iter().position(|x| *x == c).unwrap_or(0) + 1;
            format!(
                "INSERT INTO receipts ({}) SELECT {} WHERE NOT EXISTS
                     (SELECT 1 FROM receipts WHERE request_id = ?{} AND signature = ?{})",
                no_seq.join(", "),
                m.join(", "),
                at("request_id"),
                at("signature")
            )
        }
    };
    let mut n = 0;
    for row in &rows.rows {
        if row.len() != expected.len() {
            return Err(refused(&format!(
                "a {table} row has {} values for {} columns",
                row.len(),
                expected.len()
            )));
        }
        if table == "decisions" {
            // Its request is of this tenant: checked through the request rows.
            let id = row[0].as_str().unwrap_or_default();
            let of: Option<String> =
                tx.opt("SELECT tenant FROM requests WHERE id = ?1", p![id], |r| {
                    r.get(0)
                })?;
            if of.as_deref() != Some(tenant) {
                return Err(refused(
                    "a decision of a request not among this tenant's rows",
                ));
            }
        } else if row.get(tenant_col).and_then(|v| v.as_str()) != Some(tenant) {
            return Err(refused(&format!("a {table} row of another tenant")));
        }
        let params: Vec<P<'_>> = row.iter().map(param).collect::<Result<_>>()?;
        tx.exec(&sql, &params)?;
        if table == "requests" {
            n += 1;
        }
    }
    Ok(n)
}

/// The checkpoint must be the server's (signed by the pinned key), of this
/// tenant, and name the hash this replica has at its position; it is kept.
fn check_checkpoint(
    tx: &Tx<'_>,
    tenant: &str,
    c: &CheckpointDto,
    key: &ed25519_dalek::VerifyingKey,
) -> Result<i64> {
    let text = checkpoint::text(&c.body, &c.signature);
    let claims =
        checkpoint::parse(&text).map_err(|e| refused(&format!("its checkpoint: {}", e.message)))?;
    let [claim] = claims.as_slice() else {
        return Err(refused("its checkpoint is not one document"));
    };
    if claim.kind != "checkpoint" || !claim.signed_by(key) {
        return Err(refused("its checkpoint is not signed by the server's key"));
    }
    if claim.tenant != tenant {
        return Err(refused("its checkpoint is of another tenant"));
    }
    let here: Option<String> = tx.opt(
        "SELECT hash FROM audit_log WHERE tenant = ?1 AND tenant_seq = ?2",
        p![tenant, claim.entries],
        |r| r.get(0),
    )?;
    if here.as_deref() != Some(claim.head_hash.as_str()) {
        return Err(refused(&format!(
            "the server's signed checkpoint at position {} names a head this log does not have there",
            claim.entries
        )));
    }
    let at = parse_time(&claim.at)
        .map_err(|e| refused(&format!("its checkpoint's time: {}", e.message)))?;
    let known: Option<i64> = tx.opt(
        "SELECT 1 FROM audit_checkpoints WHERE tenant = ?1 AND signature = ?2",
        p![tenant, c.signature],
        |r| r.get(0),
    )?;
    if known.is_none() {
        tx.insert_checkpoint(&super::CheckpointRow {
            tenant: tenant.to_string(),
            entries: claim.entries,
            head_hash: claim.head_hash.clone(),
            at,
            key_id: claim.key_id.clone(),
            body: c.body.clone(),
            signature: c.signature.clone(),
        })?;
    }
    Ok(claim.entries)
}
