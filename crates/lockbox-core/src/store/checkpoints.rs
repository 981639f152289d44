//! Signed checkpoints of the audit chains (see `checkpoint.rs`), and the
//! lookups that compare one with the log.

use super::db::p;
use super::Tx;
use crate::clock::{from_millis, to_millis, Time};
use crate::Result;

/// A tenant's chain for the checkpoint scheduler: `(tenant, entries, newest
/// checkpoint's (entries, at))`.
pub type ChainState = (String, i64, Option<(i64, Time)>);

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRow {
    pub tenant: String,
    pub entries: i64,
    pub head_hash: String,
    pub at: Time,
    pub key_id: String,
    pub body: String,
    pub signature: String,
}

impl Tx<'_> {
    pub fn insert_checkpoint(&self, c: &CheckpointRow) -> Result<()> {
        self.put(
            "INSERT INTO audit_checkpoints (tenant, entries, head_hash, at, key_id, body, signature)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            p![
                c.tenant,
                c.entries,
                c.head_hash,
                to_millis(c.at),
                c.key_id,
                c.body,
                c.signature
            ],
            None,
        )
    }

    /// The newest checkpoints: of `tenant`, or of every tenant; at most `limit` per tenant.
    pub fn checkpoints(&self, tenant: Option<&str>, limit: u32) -> Result<Vec<CheckpointRow>> {
        self.rows(
            "SELECT tenant, entries, head_hash, at, key_id, body, signature FROM (
                 SELECT *, ROW_NUMBER() OVER (PARTITION BY tenant ORDER BY id DESC) AS n
                 FROM audit_checkpoints WHERE CAST(?1 AS TEXT) IS NULL OR tenant = ?1) AS c
             WHERE n <= ?2 ORDER BY tenant, id DESC",
            p![tenant, limit],
            |r| {
                Ok(CheckpointRow {
                    tenant: r.get(0)?,
                    entries: r.get(1)?,
                    head_hash: r.get(2)?,
                    at: from_millis(r.get(3)?),
                    key_id: r.get(4)?,
                    body: r.get(5)?,
                    signature: r.get(6)?,
                })
            },
        )
    }

    /// Every tenant with audit entries: `(tenant, entries, newest
    /// checkpoint's (entries, at))`, by tenant, in one statement (the
    /// scheduler asks on every tick; one query per tenant cost ~1 000 round
    /// trips a tick at 500 tenants on PostgreSQL).
    pub fn checkpoint_states(&self) -> Result<Vec<ChainState>> {
        self.rows(
            "SELECT t.id,
                    (SELECT MAX(a.tenant_seq) FROM audit_log a WHERE a.tenant = t.id),
                    (SELECT c.entries FROM audit_checkpoints c WHERE c.tenant = t.id
                      ORDER BY c.id DESC LIMIT 1),
                    (SELECT c.at FROM audit_checkpoints c WHERE c.tenant = t.id
                      ORDER BY c.id DESC LIMIT 1)
             FROM tenants t ORDER BY t.id",
            p![],
            |r| {
                let entries: Option<i64> = r.get(1)?;
                let cp: Option<i64> = r.get(2)?;
                let at: Option<i64> = r.get(3)?;
                Ok((
                    r.get::<String>(0)?,
                    entries.unwrap_or(0),
                    cp.zip(at).map(|(e, at)| (e, from_millis(at))),
                ))
            },
        )
        .map(|v| v.into_iter().filter(|(_, n, _)| *n > 0).collect())
    }

    /// The hash of `tenant`'s entry at chain position `tenant_seq`.
    pub fn audit_hash_at(&self, tenant: &str, tenant_seq: i64) -> Result<Option<String>> {
        self.opt(
            "SELECT hash FROM audit_log WHERE tenant = ?1 AND tenant_seq = ?2",
            p![tenant, tenant_seq],
            |r| r.get(0),
        )
    }

    /// The hash that the entry at store position `seq` had in the global
    /// chain before migration 7 (kept for receipts signed before it).
    pub fn audit_v1_hash_at(&self, seq: i64) -> Result<Option<String>> {
        Ok(self
            .opt(
                "SELECT v1_hash FROM audit_log WHERE seq = ?1",
                p![seq],
                |r| r.get(0),
            )?
            .flatten())
    }

    /// Every receipt public key the audit log records (created, rotated).
    pub fn recorded_public_keys(&self) -> Result<Vec<String>> {
        self.rows(
            self.pick(
                "SELECT DISTINCT json_extract(details, '$.public_key') FROM audit_log
             WHERE operation IN ('receipt_key_created', 'receipt_key_rotated')
               AND json_extract(details, '$.public_key') IS NOT NULL ORDER BY 1",
                "SELECT DISTINCT CAST(details AS jsonb) ->> 'public_key' FROM audit_log
             WHERE operation IN ('receipt_key_created', 'receipt_key_rotated')
               AND CAST(details AS jsonb) ->> 'public_key' IS NOT NULL ORDER BY 1",
            ),
            p![],
            |r| r.get(0),
        )
    }
}
