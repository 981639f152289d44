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
    /// tenants. Nothing on a read-only store: reads compute what is due in
    /// memory instead.
    pub fn apply_due_at(&mut self, now: Time) -> Result<Vec<Swept>> {
        let mut done = Vec::new();
        if self.is_read_only() {
            return Ok(done);
        }
        loop {
            // Cheap check first, so reads don't take the write lock when nothing is due.
            let any = self
                .store
                .read(|tx| Ok(!tx.due_request_ids(now, 1)?.is_empty()))?;
            if !any {
                return Ok(done);
            }
            let signer = &self.signer;
            let batch = self.store.write(|tx| {
                // Read inside the lock: someone may have decided them meanwhile.
                let due = tx.due_requests(now, SWEEP_BATCH)?;
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
                Ok(out)
            })?;
            if batch.is_empty() {
                return Ok(done);
            }
            done.extend(batch);
        }
    }

    /// The earliest stored deadline of any request (any tenant).
    pub fn next_deadline(&mut self) -> Result<Option<Time>> {
        self.store.read(|tx| tx.next_deadline())
    }
}
