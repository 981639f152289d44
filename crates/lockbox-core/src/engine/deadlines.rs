//! The deadline sweep: expiries and ends of access, applied when due.

use super::write::Write;
use super::Engine;
use crate::clock::Time;
use crate::machine;
use crate::model::*;
use crate::receipts::Signer;
use crate::store::{AuditTail, Read, Tx};
use crate::Result;

/// How many due requests one sweep transaction handles.
const SWEEP_BATCH: u32 = 500;

impl Engine {
    /// Apply every transition due at the clock's now.
    pub fn apply_due(&mut self) -> Result<Vec<Swept>> {
        let now = self.now();
        self.apply_due_at(now)
    }

    /// Apply every transition (expiry, end of access) due at `now`, in all
    /// tenants, one tenant at a time (a write scoped to that tenant, so
    /// sweeping never holds up the other tenants' writes). A tenant whose
    /// lock another writer holds right now is left to it (the next pass
    /// takes it if it still is due): two instances sweeping split the
    /// tenants instead of queueing, and each deadline is applied once
    /// because it is re-read under the lock. Nothing on a read-only store:
    /// reads compute what is due in memory instead.
    pub fn apply_due_at(&mut self, now: Time) -> Result<Vec<Swept>> {
        let mut done = Vec::new();
        if self.is_read_only() {
            return Ok(done);
        }
        // Cheap check first, so reads don't take a write lock when nothing is due.
        let mut tenants = self.store.read(|tx| tx.due_tenants(now))?;
        if tenants.is_empty() {
            return Ok(done);
        }
        // Each instance starts at another tenant, so two sweepers rarely meet.
        let start = self.sweep_start % tenants.len();
        tenants.rotate_left(start);
        let signer = &self.signer;
        for tenant in &tenants {
            loop {
                let batch = self.store.try_write_tenant(tenant, |tx| {
                    sweep_tenant(tx, signer, &mut tx.audit_tail()?, tenant, now)
                })?;
                let Some((fetched, swept)) = batch else {
                    break; // another writer holds this tenant now
                };
                done.extend(swept);
                if fetched < SWEEP_BATCH as usize {
                    break;
                }
            }
        }
        Ok(done)
    }

    /// A write to `tenant` (`what`: the use case) that first applies the
    /// tenant's due transitions in the same transaction, under the tenant's
    /// lock, with the clock read under it: on PostgreSQL one round trip
    /// when nothing is due, instead of a read transaction of its own.
    /// Other tenants' deadlines are the scheduler's (and every read's). If
    /// `f` fails, its transaction rolls back with the sweep, and the sweep
    /// is then applied on its own: a refused action never holds back an
    /// expiry.
    pub(super) fn write_after_due<T: Send>(
        &mut self,
        what: &'static str,
        tenant: &str,
        reads: &[Read<'_>],
        f: impl FnOnce(&Tx<'_>, &Signer, &mut AuditTail, Time) -> Result<T> + Send,
    ) -> Result<T> {
        let mut swept = 0;
        let (clock, signer) = (&self.clock, &self.signer);
        // The clock is read again under the lock; a minute covers the wait
        // for it (a longer wait only costs the due query).
        let soon = super::now_of(clock.as_ref()) + chrono::Duration::minutes(1);
        let out = self
            .store
            .doing(what)
            .due_by(soon)
            .reads_first(reads)
            .write_tenant(tenant, |tx| {
                // Read the clock under the write lock: a write that waited for
                // another writer is judged at the time it is written.
                let now = super::now_of(clock.as_ref());
                let mut tail = tx.audit_tail()?;
                swept = sweep_tenant(tx, signer, &mut tail, tenant, now)?.0;
                f(tx, signer, &mut tail, now)
            });
        if out.is_err() && swept > 0 {
            self.apply_due()?;
        }
        out
    }

    /// The earliest stored deadline of any request (any tenant).
    pub fn next_deadline(&mut self) -> Result<Option<Time>> {
        self.store.read(|tx| tx.next_deadline())
    }
}

/// Apply up to [`SWEEP_BATCH`] of `tenant`'s transitions due at `now` in
/// `tx` (which holds the tenant's lock: they are read under it, so someone
/// who decided one meanwhile wins). `(due requests read, applied)`.
fn sweep_tenant(
    tx: &Tx<'_>,
    signer: &Signer,
    tail: &mut AuditTail,
    tenant: &str,
    now: Time,
) -> Result<(usize, Vec<Swept>)> {
    let due = tx.due_requests_of(tenant, now, SWEEP_BATCH)?;
    let fetched = due.len();
    let mut out = Vec::with_capacity(due.len());
    for req in due {
        let Some(ev) = machine::due_event(&req, now) else {
            continue;
        };
        let t = machine::step(&req, &ev, now)?;
        Write::new(tx, signer, tail, now).persist(&req, &t)?;
        out.push(Swept {
            request_id: t.request.id,
            tenant: t.request.tenant,
            state: t.request.state,
        });
    }
    Ok((fetched, out))
}
