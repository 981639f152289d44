//! The deadline sweep: expiries and ends of access, applied when due.

use super::write::Write;
use super::Engine;
use crate::clock::Time;
use crate::machine;
use crate::model::*;
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
                    // Read inside the lock: someone may have decided them meanwhile.
                    let due = tx.due_requests_of(tenant, now, SWEEP_BATCH)?;
                    let fetched = due.len();
                    let mut tail = tx.audit_tail()?;
                    let mut out = Vec::with_capacity(due.len());
                    for req in due {
                        let Some(ev) = machine::due_event(&req, now) else {
                            continue;
                        };
                        let t = machine::step(&req, &ev, now)?;
                        Write::new(tx, signer, &mut tail, now).persist(&req, &t)?;
                        out.push(Swept {
                            request_id: t.request.id,
                            tenant: t.request.tenant,
                            state: t.request.state,
                        });
                    }
                    Ok((fetched, out))
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

    /// The earliest stored deadline of any request (any tenant).
    pub fn next_deadline(&mut self) -> Result<Option<Time>> {
        self.store.read(|tx| tx.next_deadline())
    }
}
