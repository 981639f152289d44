//! The audit log: pages, streams, spans, verification, heads and changes.

use super::{ensure_tenant, Engine};
use crate::audit::{AuditEntry, VerifyOutcome};
use crate::model::*;
use crate::store::Tx;
use crate::{Principal, Result};
use std::collections::BTreeSet;

impl Engine {
    pub fn audit_page(&mut self, tenant: &str, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        self.apply_due()?;
        self.store.read(|tx| {
            ensure_tenant(tx, tenant)?;
            tx.audit_page(tenant, q)
        })
    }

    /// Stream every matching entry, oldest first. Returns how many.
    pub fn for_each_audit(
        &mut self,
        tenant: &str,
        q: &AuditQuery,
        f: impl FnMut(&AuditEntry) -> Result<()> + Send,
    ) -> Result<u64> {
        self.apply_due()?;
        self.store.read(|tx| {
            ensure_tenant(tx, tenant)?;
            tx.for_each_audit(tenant, q, f)
        })
    }

    /// Every entry of `tenant` from the oldest to the newest that matches
    /// `q`, oldest first, *with the entries between them that do not match*:
    /// a contiguous part of the tenant's chain, which verifies on its own.
    /// For a time window these are the entries written late (a deadline
    /// swept after the fact carries the deadline as its time) and those
    /// written before them. One read transaction.
    pub fn for_each_audit_span(
        &mut self,
        tenant: &str,
        q: &AuditQuery,
        f: impl FnMut(&AuditEntry) -> Result<()> + Send,
    ) -> Result<u64> {
        self.apply_due()?;
        self.store.read(|tx| {
            ensure_tenant(tx, tenant)?;
            match tx.audit_seq_bounds(tenant, q)? {
                Some((lo, hi)) => tx.for_each_audit_between(tenant, lo, hi, f),
                None => Ok(0),
            }
        })
    }

    /// Recompute the whole chain, and check every stored request (row,
    /// decisions, receipts) against its audit entries; names the first bad
    /// entry and the first request field that disagrees.
    pub fn verify_audit(&mut self) -> Result<VerifyOutcome> {
        self.store.verify_audit()
    }

    /// `(entries, head hash)` of `tenant`'s chain.
    pub fn audit_head(&mut self, tenant: &str) -> Result<(i64, Option<String>)> {
        self.store.read(|tx| tx.audit_head(tenant))
    }

    /// How many entries the store holds (all tenants): its newest position.
    pub fn audit_len(&mut self) -> Result<i64> {
        self.store.read(|tx| tx.audit_max_seq())
    }

    /// What was appended to the audit log after entry `after_seq`; `None`
    /// only reads the head (to start following it).
    pub fn audit_changes_since(&mut self, after_seq: Option<i64>) -> Result<AuditChanges> {
        self.store.read(|tx| changes_since(tx, after_seq))
    }

    /// [`audit_changes_since`](Self::audit_changes_since) as `who` may hear
    /// it (a team server's change feed): the tenants are narrowed to those
    /// `who` is a user of, in any role, and those tenants are returned too,
    /// read in the same transaction, so a person added to or removed from a
    /// tenant is seen at the same position as the entry that did it. Other
    /// tenants' names never leave here; `truncated` is kept (the caller
    /// reloads every tenant of the person's).
    pub fn audit_changes_for(
        &mut self,
        who: &Principal,
        after_seq: Option<i64>,
    ) -> Result<ScopedChanges> {
        self.store.read(|tx| {
            let mut changes = changes_since(tx, after_seq)?;
            let tenants: BTreeSet<String> = tx
                .memberships(who.name())?
                .into_iter()
                .map(|(tenant, _)| tenant)
                .collect();
            changes.tenants.retain(|t| tenants.contains(t));
            changes.settings_tenants.retain(|t| tenants.contains(t));
            Ok(ScopedChanges { changes, tenants })
        })
    }
}

/// The most entries a replica page carries.
pub const REPLICA_PAGE_MAX: u32 = 10_000;

impl Engine {
    /// A page of `tenant`'s chain for a connected desktop's replica
    /// ([`crate::store::replica`]): the entries after position `after`, at
    /// most `limit` (≤ [`REPLICA_PAGE_MAX`]), read in one transaction with
    /// the chain's head. On the page that reaches the head, also the rows
    /// of every request named by an entry after `since` (read in that same
    /// transaction) and a signed checkpoint of that head: the newest one if
    /// it names that head, else one signed now (a writable store).
    pub fn replica_page(
        &mut self,
        tenant: &str,
        since: i64,
        after: i64,
        limit: u32,
    ) -> Result<crate::dto::ReplicaPageDto> {
        use crate::dto::CheckpointDto;
        if after < 0 || since < 0 || since > after {
            return Err(crate::Error::input(format!(
                "positions must satisfy 0 <= since <= after (since {since}, after {after})"
            )));
        }
        let limit = limit.clamp(1, REPLICA_PAGE_MAX);
        let (mut page, hash) = self.store.read(|tx| {
            ensure_tenant(tx, tenant)?;
            let (head, hash) = tx.audit_head(tenant)?;
            let entries = tx.replica_entries(tenant, after, limit)?;
            let complete = entries.last().map_or(after, |e| e.tenant_seq) >= head;
            let newest = tx.checkpoints(Some(tenant), 1)?.pop();
            let checkpoint =
                newest.filter(|c| c.entries == head && Some(&c.head_hash) == hash.as_ref());
            let page = crate::dto::ReplicaPageDto {
                tenant: tenant.to_string(),
                head,
                rows: tx.replica_rows(tenant, since, complete)?,
                entries,
                complete,
                checkpoint: checkpoint.map(|c| CheckpointDto {
                    body: c.body,
                    signature: c.signature,
                }),
                public_key: String::new(),
            };
            Ok((page, hash))
        })?;
        page.public_key = self.public_key();
        if let (true, None, Some(hash), false) =
            (page.complete, &page.checkpoint, hash, self.is_read_only())
        {
            let now = self.now();
            let (store, signer) = self.store_and_signer();
            let head = page.head;
            let c = store
                .write(|tx| crate::checkpoint::sign_in(tx, signer, tenant, (head, &hash), now))?;
            page.checkpoint = Some(CheckpointDto {
                body: c.body,
                signature: c.signature,
            });
        }
        Ok(page)
    }
}

fn changes_since(tx: &Tx<'_>, after_seq: Option<i64>) -> Result<AuditChanges> {
    const LOOK: u32 = 10_000;
    let mut c = AuditChanges {
        head: tx.audit_max_seq()?,
        ..Default::default()
    };
    let Some(after) = after_seq.filter(|a| *a < c.head) else {
        c.expiries_only = true;
        return Ok(c);
    };
    let ops = tx.audit_ops_after(after, LOOK)?;
    c.truncated = ops.len() == LOOK as usize && ops.last().is_some_and(|o| o.0 < c.head);
    c.expiries_only = !c.truncated;
    for (_, tenant, op) in ops {
        let op = Operation::parse(&op).ok();
        if op.is_some_and(Operation::changes_settings) {
            c.settings_tenants.insert(tenant.clone());
        }
        c.expiries_only &= op == Some(Operation::Expired);
        c.tenants.insert(tenant);
    }
    Ok(c)
}
