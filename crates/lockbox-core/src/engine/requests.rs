//! Requests: filing, decisions (approve, reject, cancel, revoke), reads and listings.

use super::write::Write;
use super::{ensure_tenant, load, tenant_settings, Engine};
use crate::identity::Principal;
use crate::machine::{self, Effect, Event};
use crate::model::*;
use crate::store::{Read, Tx};
use crate::{Error, Result};

impl Engine {
    /// File a new request (the provider engineer's side).
    pub fn file_request(&mut self, tenant: &str, new: &NewRequest) -> Result<Request> {
        let id = uuid::Uuid::now_v7().to_string();
        let reads = [Read::Settings { tenant }];
        self.write_after_due("file a request", tenant, &reads, |tx, signer, tail, now| {
            let settings = tenant_settings(tx, tenant)?;
            let t = machine::create(id, tenant, new, &settings, now)?;
            Write::new(tx, signer, tail, now).persist_new(&t)?;
            Ok(t.request)
        })
    }

    fn transition(
        &mut self,
        what: &'static str,
        tenant: &str,
        id: &str,
        make: impl FnOnce(&Tx<'_>, &Request) -> Result<Event> + Send,
    ) -> Result<Request> {
        self.transition_by(what, tenant, id, None, make)
    }

    /// A transition decided by an authenticated customer: its audit entries
    /// record how `by` was authenticated.
    fn customer_transition(
        &mut self,
        what: &'static str,
        tenant: &str,
        id: &str,
        by: &Principal,
        make: impl FnOnce(&Tx<'_>, &Request) -> Result<Event> + Send,
    ) -> Result<Request> {
        self.transition_by(what, tenant, id, Some(by), make)
    }

    /// `what` names the use case ("approve a request") for the refusal on a
    /// read-only store.
    fn transition_by(
        &mut self,
        what: &'static str,
        tenant: &str,
        id: &str,
        by: Option<&Principal>,
        make: impl FnOnce(&Tx<'_>, &Request) -> Result<Event> + Send,
    ) -> Result<Request> {
        // What the use case reads first: the request, and the role of the
        // customer deciding (approve, reject and revoke ask for it).
        let mut reads = vec![Read::Request { tenant, id }];
        if let Some(by) = by {
            reads.push(Read::User {
                tenant,
                name: by.name(),
            });
        }
        self.write_after_due(what, tenant, &reads, |tx, signer, tail, now| {
            let req = load(tx, tenant, id)?;
            let ev = make(tx, &req)?;
            let mut t = machine::step(&req, &ev, now)?;
            if let Some(by) = by {
                for fx in &mut t.effects {
                    if let Effect::Audit(a) = fx {
                        if a.actor.kind == ActorKind::Customer {
                            a.details = by.with_authn(std::mem::take(&mut a.details));
                        }
                    }
                }
            }
            Write::new(tx, signer, tail, now).persist(&req, &t)?;
            Ok(t.request)
        })
    }

    pub fn provider_approve(
        &mut self,
        tenant: &str,
        id: &str,
        manager: &str,
        comment: Option<&str>,
    ) -> Result<Request> {
        let ev = Event::ProviderApprove {
            manager: manager.to_string(),
            comment: comment.map(str::to_string),
        };
        self.transition("approve a request as the provider", tenant, id, |_, _| {
            Ok(ev)
        })
    }

    pub fn approve(
        &mut self,
        tenant: &str,
        id: &str,
        by: &Principal,
        comment: Option<&str>,
        duration_s: Option<i64>,
    ) -> Result<Request> {
        self.customer_transition("approve a request", tenant, id, by, |tx, _| {
            Ok(Event::Approve {
                approver: by.name().to_string(),
                role: tx.role(tenant, by.name())?,
                comment: comment.map(str::to_string),
                duration_s,
            })
        })
    }

    pub fn reject(
        &mut self,
        tenant: &str,
        id: &str,
        by: &Principal,
        comment: Option<&str>,
    ) -> Result<Request> {
        self.customer_transition("reject a request", tenant, id, by, |tx, _| {
            Ok(Event::Reject {
                approver: by.name().to_string(),
                role: tx.role(tenant, by.name())?,
                comment: comment.map(str::to_string),
            })
        })
    }

    pub fn cancel(
        &mut self,
        tenant: &str,
        id: &str,
        engineer: &str,
        comment: Option<&str>,
    ) -> Result<Request> {
        let ev = Event::Cancel {
            by: engineer.to_string(),
            comment: comment.map(str::to_string),
        };
        self.transition("cancel a request", tenant, id, |_, _| Ok(ev))
    }

    pub fn revoke(
        &mut self,
        tenant: &str,
        id: &str,
        by: &Principal,
        comment: Option<&str>,
    ) -> Result<Request> {
        self.customer_transition("revoke a request", tenant, id, by, |tx, _| {
            Ok(Event::Revoke {
                by: by.name().to_string(),
                role: tx.role(tenant, by.name())?,
                comment: comment.map(str::to_string),
            })
        })
    }

    pub fn request(&mut self, tenant: &str, id: &str) -> Result<Request> {
        self.apply_due()?;
        let req = self.store.read(|tx| load(tx, tenant, id))?;
        Ok(self.effective(req, self.now()))
    }

    /// Resolve a full id or a unique prefix (at least 4 characters) to a request id.
    pub fn resolve_id(&mut self, tenant: &str, id_or_prefix: &str) -> Result<String> {
        let p = id_or_prefix.trim().to_ascii_lowercase();
        if p.len() < 4 {
            return Err(Error::input(format!(
                "'{id_or_prefix}' is too short: give at least 4 characters of a request id"
            )));
        }
        let ids = self.store.read(|tx| {
            let by_prefix = tx.request_ids_with_prefix(tenant, &p, 2)?;
            // The admin center shows the tail of an id: accept that too.
            if by_prefix.is_empty() && !p.contains('-') {
                return tx.request_ids_with_suffix(tenant, &p, 2);
            }
            Ok(by_prefix)
        })?;
        match ids.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Error::not_found(format!(
                "no request '{id_or_prefix}' in tenant '{tenant}'"
            ))),
            _ => Err(Error::input(format!(
                "'{id_or_prefix}' matches more than one request: give more characters"
            ))),
        }
    }

    pub fn list_requests(&mut self, tenant: &str, q: &RequestQuery) -> Result<RequestPage> {
        self.apply_due()?;
        let mut page = self.store.read(|tx| {
            ensure_tenant(tx, tenant)?;
            let (items, total, next_cursor) = tx.list_requests(tenant, q)?;
            Ok(RequestPage {
                items,
                total,
                next_cursor,
            })
        })?;
        if self.is_read_only() {
            // Rows show their effective state, and a row whose effective state
            // left the filter is dropped; the query and `total` went by the
            // stored state (see ARCHITECTURE.md, "Read-only opening").
            let now = self.now();
            page.items = std::mem::take(&mut page.items)
                .into_iter()
                .map(|r| self.effective(r, now))
                .filter(|r| q.states.is_empty() || q.states.contains(&r.state))
                .collect();
        }
        Ok(page)
    }

    pub fn count_by_state(&mut self, tenant: &str) -> Result<Vec<(State, u64)>> {
        self.apply_due()?;
        self.store.read(|tx| tx.count_by_state(tenant))
    }

    /// The tenant that owns request `id`, if it exists.
    pub fn request_tenant(&mut self, id: &str) -> Result<Option<String>> {
        self.store
            .read(|tx| Ok(tx.request_any_tenant(id)?.map(|r| r.tenant)))
    }
}
