//! Migration 7: one hash chain per tenant.
//!
//! Stores before it hold one chain over all tenants (`lockbox-audit-v1`, see
//! [`crate::audit`]). The migration first verifies that chain — a broken one
//! is not re-chained (that would launder the break): the upgrade is refused
//! and the store left as it was. Then it gives every entry its tenant
//! sequence number and its v2 `prev_hash`/`hash`, keeps the v1 hash in
//! `v1_hash`, and appends to every tenant's chain an `audit_rechained` entry
//! that records the old chain's length and head, so the re-chaining is itself
//! in each chain, and the old chain can still be recomputed and compared
//! (`audit verify`). The engine signs a checkpoint of each head right after.

use crate::audit::{entry_hash, HashInput, V1Verifier, GENESIS};
use crate::model::{ActorKind, Operation};
use crate::{Error, ErrorCode, Result};
use rusqlite::{params, Transaction};
use std::collections::BTreeMap;

/// Where the re-chaining entries come from.
pub const RECHAIN_ACTOR: &str = "lockbox";

fn has_column(tx: &Transaction<'_>, table: &str, column: &str) -> Result<bool> {
    let mut stmt = tx.prepare(&format!("PRAGMA table_info({table})"))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
    for n in names {
        if n? == column {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Migration 7, in the migration transaction. Safe to run again on a
/// store it already migrated (it re-chains only entries without a tenant
/// sequence number).
pub(super) fn migrate(tx: &Transaction<'_>) -> Result<()> {
    if !has_column(tx, "audit_log", "tenant_seq")? {
        tx.execute_batch(
            "ALTER TABLE audit_log ADD COLUMN tenant_seq INTEGER;
             ALTER TABLE audit_log ADD COLUMN v1_hash TEXT;",
        )?;
    }
    let (unchained, chained): (i64, i64) = tx.query_row(
        "SELECT COALESCE(SUM(tenant_seq IS NULL), 0), COALESCE(SUM(tenant_seq IS NOT NULL), 0) FROM audit_log",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if unchained > 0 {
        if chained > 0 {
            return Err(Error::new(
                ErrorCode::StoreUnavailable,
                "the audit log mixes re-chained entries and entries without a tenant sequence \
                 number; it was not written by Lockbox, so it is not upgraded",
            ));
        }
        rechain(tx)?;
    }
    tx.execute_batch(
        "CREATE UNIQUE INDEX IF NOT EXISTS audit_chain ON audit_log (tenant, tenant_seq);
         DROP INDEX IF EXISTS audit_lifecycle;
         CREATE INDEX audit_lifecycle ON audit_log
             (request_id, seq, tenant, at, recorded_at, actor_kind, actor, operation, details, hash,
              tenant_seq, v1_hash)
             WHERE request_id IS NOT NULL AND operation NOT IN ('access_used', 'access_denied');",
    )?;
    Ok(())
}

struct Row {
    seq: i64,
    at: i64,
    recorded: i64,
    tenant: String,
    actor_kind: String,
    actor: String,
    operation: String,
    request_id: Option<String>,
    details: String,
    hash: String,
}

impl Row {
    fn input<'a>(&'a self, tenant_seq: i64, prev: &'a str) -> HashInput<'a> {
        HashInput {
            tenant_seq,
            at_ms: self.at,
            recorded_ms: self.recorded,
            tenant: &self.tenant,
            actor_kind: &self.actor_kind,
            actor: &self.actor,
            operation: &self.operation,
            request_id: self.request_id.as_deref(),
            details: &self.details,
            prev_hash: prev,
        }
    }
}

fn rechain(tx: &Transaction<'_>) -> Result<()> {
    // 1. The old chain must verify, or nothing is changed.
    let mut v1 = V1Verifier::default();
    {
        let mut stmt = tx.prepare(
            "SELECT seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, hash
             FROM audit_log ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let row = read(&super::db::Row::Lite(r))?;
            if !v1.feed(row.seq, &row.input(0, ""), &row.hash) {
                break;
            }
        }
    }
    let (entries, head) = v1.finish().map_err(|(seq, why)| {
        Error::new(
            ErrorCode::StoreUnavailable,
            format!(
                "this store's audit log breaks at entry {seq}: {why}. Upgrading it to one chain \
                 per tenant would re-hash it and hide that, so it was not upgraded and nothing \
                 was changed; examine it with the Lockbox that wrote it (`lockbox audit verify`)"
            ),
        )
    })?;
    // 2. Re-chain every entry into its tenant's chain, keeping its v1 hash.
    tx.execute_batch("DROP TRIGGER audit_log_no_update;")?;
    let mut heads: BTreeMap<String, (i64, String)> = BTreeMap::new();
    let mut newest = i64::MIN;
    {
        let mut stmt = tx.prepare(
            "SELECT seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, hash
             FROM audit_log ORDER BY seq",
        )?;
        let mut upd = tx.prepare(
            "UPDATE audit_log SET tenant_seq = ?2, prev_hash = ?3, hash = ?4, v1_hash = ?5 WHERE seq = ?1",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let row = read(&super::db::Row::Lite(r))?;
            newest = newest.max(row.recorded);
            let (n, prev) = heads
                .entry(row.tenant.clone())
                .or_insert_with(|| (0, GENESIS.to_string()));
            *n += 1;
            let hash = entry_hash(&row.input(*n, prev));
            upd.execute(params![row.seq, *n, prev.as_str(), hash, row.hash])?;
            *prev = hash;
        }
    }
    tx.execute_batch(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
         BEGIN
             SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
         END;",
    )?;
    // 3. Each chain records the re-chaining and the old chain's head.
    let mut seq: i64 = tx.query_row("SELECT MAX(seq) FROM audit_log", [], |r| r.get(0))?;
    let mut ins = tx.prepare(
        "INSERT INTO audit_log (seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id,
                                details, prev_hash, hash, tenant_seq, late)
         VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, ?9, ?10, 0)",
    )?;
    for (tenant, (n, prev)) in heads {
        seq += 1;
        let details = serde_json::json!({
            "previous_chain": {
                "format": crate::audit::FORMAT_V1,
                "entries": entries,
                "head_hash": head,
            },
            "tenant_entries": n,
        })
        .to_string();
        let tenant_seq = n + 1;
        let hash = entry_hash(&HashInput {
            tenant_seq,
            at_ms: newest,
            recorded_ms: newest,
            tenant: &tenant,
            actor_kind: ActorKind::System.as_str(),
            actor: RECHAIN_ACTOR,
            operation: Operation::AuditRechained.as_str(),
            request_id: None,
            details: &details,
            prev_hash: &prev,
        });
        ins.execute(params![
            seq,
            newest,
            tenant,
            ActorKind::System.as_str(),
            RECHAIN_ACTOR,
            Operation::AuditRechained.as_str(),
            details,
            prev,
            hash,
            tenant_seq
        ])?;
    }
    tracing::info!(entries, "audit log re-chained: one chain per tenant");
    Ok(())
}

fn read(r: &super::db::Row<'_>) -> Result<Row> {
    Ok(Row {
        seq: r.get(0)?,
        at: r.get(1)?,
        recorded: r.get(2)?,
        tenant: r.get(3)?,
        actor_kind: r.get(4)?,
        actor: r.get(5)?,
        operation: r.get(6)?,
        request_id: r.get(7)?,
        details: r.get(8)?,
        hash: r.get(9)?,
    })
}

/// For a store re-chained by migration 7: recompute the old global chain
/// from the entries' content and kept v1 hashes, and compare its length and
/// head with what every `audit_rechained` entry recorded. `None`: nothing
/// to check, or it agrees; else the first bad entry and why.
pub(super) fn verify_v1(tx: &super::Tx<'_>) -> Result<Option<(i64, String)>> {
    use super::db::p;
    let any: Option<i64> = tx.opt(
        "SELECT seq FROM audit_log WHERE v1_hash IS NOT NULL LIMIT 1",
        p![],
        |r| r.get(0),
    )?;
    let links: Vec<(i64, String)> = tx.rows(
        "SELECT seq, details FROM audit_log WHERE operation = ?1 AND request_id IS NULL ORDER BY seq",
        p![Operation::AuditRechained.as_str()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if any.is_none() && links.is_empty() {
        return Ok(None);
    }
    let mut v1 = V1Verifier::default();
    tx.each(
        "SELECT seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, v1_hash
             FROM audit_log WHERE v1_hash IS NOT NULL ORDER BY seq",
        p![],
        |r| {
            let row = read(r)?;
            Ok(v1.feed(row.seq, &row.input(0, ""), &row.hash))
        },
    )?;
    let (entries, head) = match v1.finish() {
        Ok(h) => h,
        Err(bad) => return Ok(Some(bad)),
    };
    if links.is_empty() {
        return Ok(Some((
            any.unwrap_or(1),
            "entries carry hashes of the chain before re-chaining, but no audit_rechained entry records that chain".into(),
        )));
    }
    for (seq, details) in links {
        let d: serde_json::Value = serde_json::from_str(&details).unwrap_or_default();
        let p = &d["previous_chain"];
        if p["entries"].as_i64() != Some(entries) || p["head_hash"].as_str() != Some(head.as_str())
        {
            return Ok(Some((
                seq,
                format!(
                    "it records a chain before re-chaining of {} entries with head {}, but the entries \
                     kept from that chain recompute to {entries} entries with head {head}",
                    p["entries"], p["head_hash"]
                ),
            )));
        }
    }
    Ok(None)
}
