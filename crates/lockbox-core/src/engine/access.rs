//! Access under a grant: the check, and the engineer's actions (audited, allowed or not).

use super::{load, Engine};
use crate::machine::{self, AuditRecord};
use crate::model::*;
use crate::store::Read;
use crate::{Error, ErrorCode, Result};
use serde_json::json;

impl Engine {
    /// Is access allowed now? Computed from stored deadlines only.
    pub fn check_access(&mut self, tenant: &str, id: &str) -> Result<AccessDecision> {
        let now = self.now();
        let req = self.store.read(|tx| load(tx, tenant, id))?;
        Ok(machine::access(&req, now))
    }

    /// Record an action the engineer takes under a grant. Outside a valid
    /// grant it is refused (`access_denied`) — and the refusal is audited too.
    pub fn log_access(
        &mut self,
        tenant: &str,
        id: &str,
        engineer: &str,
        action: &str,
    ) -> Result<AccessDecision> {
        let engineer = required("engineer", engineer, limits::NAME)?;
        let action = required("action", action, limits::ACTION)?;
        // The clock is read under the write lock: an action that waited for
        // another writer must not be judged at the time it started waiting.
        let decision = self.write_after_due(
            "record an action under a grant",
            tenant,
            &[Read::Request { tenant, id }],
            |tx, _, tail, now| {
                let req = load(tx, tenant, id)?;
                let mut d = machine::access(&req, now);
                if d.allowed && !crate::text::same_person(&engineer, &req.requester) {
                    d = AccessDecision {
                        allowed: false,
                        ends_at: d.ends_at,
                        reason: format!("the grant is for {}, not {engineer}", req.requester),
                    };
                }
                let (op, details) = if d.allowed {
                    (Operation::AccessUsed, json!({ "action": action }))
                } else {
                    (
                        Operation::AccessDenied,
                        json!({ "action": action, "reason": d.reason }),
                    )
                };
                let rec = AuditRecord {
                    operation: op,
                    actor: Actor::provider(&engineer),
                    at: now,
                    request_id: Some(req.id.clone()),
                    details,
                };
                tx.append_audit_after(tail, tenant, &[&rec], now)?;
                Ok(d)
            },
        )?;
        if decision.allowed {
            Ok(decision)
        } else {
            Err(Error::new(
                ErrorCode::AccessDenied,
                format!("access denied for request {id}: {}", decision.reason),
            ))
        }
    }
}
