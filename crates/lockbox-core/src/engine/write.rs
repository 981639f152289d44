//! What one transition writes, in its transaction.

use crate::clock::Time;
use crate::machine::{AuditRecord, Effect, Transition};
use crate::model::*;
use crate::store::Tx;
use crate::{Error, Result};

/// Everything one transition writes, in the caller's transaction: the request
/// row, new decisions, audit entries (after `tail`), notices and a receipt.
pub(super) struct Write<'a, 't> {
    tx: &'a Tx<'t>,
    signer: &'a crate::receipts::Signer,
    tail: &'a mut crate::store::AuditTail,
    now: Time,
}

impl<'a, 't> Write<'a, 't> {
    pub(super) fn new(
        tx: &'a Tx<'t>,
        signer: &'a crate::receipts::Signer,
        tail: &'a mut crate::store::AuditTail,
        now: Time,
    ) -> Self {
        Write {
            tx,
            signer,
            tail,
            now,
        }
    }

    pub(super) fn persist(self, before: &Request, t: &Transition) -> Result<()> {
        self.tx.update_request(&t.request, before.decisions.len())?;
        self.effects(Some(before.state), t)
    }

    pub(super) fn persist_new(self, t: &Transition) -> Result<()> {
        self.tx.insert_request(&t.request)?;
        self.effects(None, t)
    }

    fn effects(self, before: Option<State>, t: &Transition) -> Result<()> {
        let tx = self.tx;
        let audits: Vec<&AuditRecord> = t.audits().collect();
        tx.append_audit_after(self.tail, &t.request.tenant, &audits, self.now)?;
        for e in &t.effects {
            if let Effect::Notify(n) = e {
                tx.add_machine_notice(&t.request, *n, self.now)?;
            }
        }
        // An expiry's receipt is not written: it is derived when asked for
        // (see `Engine::receipts`), from the terminal request and its expiry
        // entry, so a sweep of thousands writes no receipts.
        let decided = matches!(
            t.request.state,
            State::Approved | State::Rejected | State::Revoked
        );
        if decided && before != Some(t.request.state) {
            let auto = audits
                .iter()
                .any(|a| a.operation == Operation::AutoApproved);
            // The head of the request's tenant's chain, which this write just moved.
            let (head_seq, head_hash) = self
                .tail
                .head_of(&t.request.tenant)
                .ok_or_else(|| Error::internal("a decision without its audit entry"))?;
            let (decision, body) = receipt_body(
                self.signer,
                &t.request,
                auto,
                (head_seq, Some(head_hash)),
                self.now,
            )?;
            let (_, signature) = self.signer.sign(&body)?;
            // A checkpoint of the same head, kept in the store (the receipt
            // goes to the provider).
            crate::checkpoint::sign_in(
                tx,
                self.signer,
                &t.request.tenant,
                (head_seq, head_hash),
                self.now,
            )?;
            tx.insert_receipt(&crate::store::ReceiptRow {
                seq: 0,
                request_id: t.request.id.clone(),
                tenant: t.request.tenant.clone(),
                decision: decision.to_string(),
                body,
                signature,
                created_at: self.now,
            })?;
        }
        Ok(())
    }
}

/// The receipt of `req`'s decision, naming the audit chain's head after it:
/// `(decision, canonical JSON body)`.
pub(super) fn receipt_body(
    signer: &crate::receipts::Signer,
    req: &Request,
    auto: bool,
    head: (i64, Option<&str>),
    now: Time,
) -> Result<(&'static str, String)> {
    Ok(crate::receipts::body(
        req,
        auto,
        head,
        now,
        &signer.key_id(),
    ))
}
