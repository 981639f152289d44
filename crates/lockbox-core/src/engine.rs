//! The engine facade: every use case the adapters (CLI, desktop shell, HTTP
//! API) need, each one transaction that loads state, asks the pure
//! [`machine`](crate::machine), and saves the result with its audit entries.

use crate::audit::{AuditEntry, VerifyOutcome};
use crate::clock::{Clock, Time};
use crate::identity::Principal;
use crate::machine::{self, AuditRecord, Effect, Event, Transition};
use crate::model::*;
use crate::store::{AuditQuery, NoticeRow, Outcome, RequestQuery, Store, Tx, RECEIPT_KEY_ID};
use crate::{Error, ErrorCode, Result};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The tenant every store starts with.
pub const DEFAULT_TENANT: &str = "default";

/// How many due requests one sweep transaction handles.
const SWEEP_BATCH: u32 = 500;

pub struct Engine {
    store: Store,
    clock: Arc<dyn Clock>,
    signer: crate::receipts::Signer,
    /// The scheduler's last reminder scan (see `scheduler::tick`).
    pub(crate) reminder_scan: Option<crate::scheduler::ReminderScan>,
}

/// What one deadline sweep changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swept {
    pub request_id: String,
    pub tenant: String,
    pub state: State,
}

/// What the audit log gained since a given entry (all tenants), for change
/// notifications: which tenants got entries, and which got settings changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditChanges {
    /// The newest entry's seq (0 for an empty log).
    pub head: i64,
    pub tenants: std::collections::BTreeSet<String>,
    pub settings_tenants: std::collections::BTreeSet<String>,
    /// More entries than were looked at (a large sweep): treat every tenant as changed.
    pub truncated: bool,
}

/// One page of requests.
#[derive(Debug, Clone)]
pub struct RequestPage {
    pub items: Vec<Request>,
    pub total: u64,
    pub next_cursor: Option<String>,
}

/// The default store path: `$XDG_DATA_HOME/lockbox/lockbox.db` on Linux.
pub fn default_db_path() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "lockbox").ok_or_else(|| {
        Error::new(
            ErrorCode::StoreUnavailable,
            "cannot find the user's data folder (is HOME set?)",
        )
    })?;
    Ok(dirs.data_dir().join("lockbox.db"))
}

/// Now from `clock`, truncated to the store's millisecond precision.
fn now_of(clock: &dyn Clock) -> Time {
    crate::clock::from_millis(crate::clock::to_millis(clock.now()))
}

impl Engine {
    /// Open the store at `path` (created and migrated if needed). The first
    /// opener of a new store becomes the admin of its `default` tenant.
    ///
    /// The receipt signing key beside the store is loaded, or created (and
    /// the creation audited) for a store that never signed. A missing key of a
    /// store that has signed, or a key other than the one the store recorded,
    /// is refused: see [`Engine::open_rotating_receipt_key`].
    pub fn open(path: &Path, clock: Arc<dyn Clock>, creator: &str) -> Result<Engine> {
        let mut store = Store::open(path)?;
        let key_path = crate::receipts::key_path_for(path);
        let (signer, created) = match crate::receipts::Signer::load(&key_path)? {
            Some(s) => (s, false),
            None => {
                if let Some(why) = store.read(|tx| tx.receipt_key_history())? {
                    return Err(Error::new(
                        ErrorCode::StoreUnavailable,
                        format!(
                            "the receipt signing key {} is missing, but this store has signed with a \
                             key before ({why}). Lockbox will not silently make a new one: restore \
                             the file from a backup, or make a new key with `lockbox receipt \
                             rotate-key` (audited; receipts signed earlier verify only with the \
                             old public key).",
                            key_path.display()
                        ),
                    ));
                }
                crate::receipts::Signer::create(&key_path)?
            }
        };
        // A key other than the recorded one signs nothing, not even the sweep's receipts.
        if let Some(r) = store.read(|tx| tx.app_setting(RECEIPT_KEY_ID))? {
            if r != signer.key_id() {
                return Err(key_mismatch(&key_path, &signer.key_id(), &r));
            }
        }
        let mut e = Self::with_store(store, signer, clock, creator)?;
        e.record_receipt_key(&key_path, created)?;
        e.move_plaintext_smtp_passwords()?;
        // After everything opening may append (a store's first entries, a
        // re-chaining by migration 7): their chains get a signed checkpoint.
        e.sign_due_checkpoints()?;
        Ok(e)
    }

    /// Open the store at `path` for reading only (an auditor's copy, a backup,
    /// a read-only share): nothing is written and no file is created (see
    /// [`Store::open_read_only`]). No deadline is swept ([`Engine::apply_due`]
    /// does nothing); reads show a request whose deadline has passed as it
    /// effectively is (expired, completed), computed in memory. Every use case
    /// that writes is refused with [`ErrorCode::ReadOnly`], by
    /// [`Store::write`].
    ///
    /// The receipt key file is never created: it is loaded if it is beside the
    /// store (then an expiry's receipt can be derived and signed), else the
    /// public key the audit log recorded is used, and signing is refused.
    pub fn open_read_only(path: &Path, clock: Arc<dyn Clock>) -> Result<Engine> {
        let mut store = Store::open_read_only(path)?;
        let recorded = store.read(|tx| tx.app_setting(RECEIPT_KEY_ID))?;
        let key_path = crate::receipts::key_path_for(path);
        let signer = match crate::receipts::Signer::load(&key_path) {
            Ok(Some(s)) if recorded.as_deref().is_none_or(|r| r == s.key_id()) => Some(s),
            Ok(Some(s)) => {
                tracing::warn!(file = %key_path.display(), key_id = %s.key_id(), recorded = ?recorded,
                    "the receipt key file is not the key this store signs with: not used");
                None
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("the receipt key is not used: {}", e.message);
                None
            }
        };
        let signer = match (signer, recorded) {
            (Some(s), _) => s,
            (None, Some(id)) => match store.read(|tx| tx.recorded_public_key(&id))? {
                Some(pk) => {
                    let s = crate::receipts::Signer::public_only(&pk)?;
                    if s.key_id() != id {
                        return Err(Error::new(
                            ErrorCode::StoreUnavailable,
                            format!(
                                "the public key the audit log records for receipt key {id} has id {}",
                                s.key_id()
                            ),
                        ));
                    }
                    s
                }
                None => crate::receipts::Signer::none(),
            },
            (None, None) => crate::receipts::Signer::none(),
        };
        Ok(Engine {
            store,
            clock,
            signer,
            reminder_scan: None,
        })
    }

    /// Was this engine opened with [`Engine::open_read_only`]? Then every
    /// use case that writes is refused ([`ErrorCode::ReadOnly`]).
    pub fn is_read_only(&self) -> bool {
        self.store.is_read_only()
    }

    /// `req` as it effectively is at `now`. On a read-only store nothing
    /// sweeps, so a request whose deadline passed is still stored as it was;
    /// the machine computes the due transition in memory (nothing is written).
    fn effective(&self, req: Request, now: Time) -> Request {
        if !self.is_read_only() {
            return req;
        }
        match machine::due_event(&req, now) {
            Some(ev) => machine::step(&req, &ev, now).map_or(req, |t| t.request),
            None => req,
        }
    }

    /// Open the store at `path` with a new receipt signing key, replacing the
    /// key file (missing, damaged or compromised) — by an admin of `tenant`;
    /// the rotation is audited in every tenant with the old and new key ids.
    /// Returns the engine and the previous key id, if one was recorded.
    pub fn open_rotating_receipt_key(
        path: &Path,
        clock: Arc<dyn Clock>,
        tenant: &str,
        by: &Principal,
    ) -> Result<(Engine, Option<String>)> {
        let mut store = Store::open(path)?;
        store.read(|tx| need_admin(tx, tenant, by.name()))?;
        let key_path = crate::receipts::key_path_for(path);
        let signer = crate::receipts::Signer::replace(&key_path)?;
        let mut e = Self::with_store(store, signer, clock, by.name())?;
        let now = e.now();
        let (key_id, public_key) = (e.key_id(), e.public_key());
        let old = e.store.write(|tx| {
            need_admin(tx, tenant, by.name())?;
            let old = tx.app_setting(RECEIPT_KEY_ID)?;
            let rec = AuditRecord {
                operation: Operation::ReceiptKeyRotated,
                actor: by.actor(),
                at: now,
                request_id: None,
                details: by.with_authn(
                    json!({ "key_id": key_id, "public_key": public_key, "previous_key_id": old,
                                 "file": key_path.display().to_string() }),
                ),
            };
            for t in tx.tenants()? {
                tx.append_audit(&t.id, &[&rec], now)?;
            }
            tx.put_app_setting(RECEIPT_KEY_ID, Some(&key_id))?;
            Ok(old)
        })?;
        tracing::warn!(key_id = %key_id, previous = ?old, "receipt signing key rotated");
        Ok((e, old))
    }

    /// Make sure the store has recorded (and audited) the key it signs with;
    /// refuse a key that is not the recorded one.
    fn record_receipt_key(&mut self, key_path: &Path, created: bool) -> Result<()> {
        let (key_id, public_key) = (self.key_id(), self.public_key());
        let mismatch = |recorded: &str| key_mismatch(key_path, &key_id, recorded);
        match self
            .store
            .read(|tx| tx.app_setting(RECEIPT_KEY_ID))?
            .as_deref()
        {
            Some(r) if r == key_id => return Ok(()),
            Some(r) => return Err(mismatch(r)),
            None => {}
        }
        let now = self.now();
        self.store.write(|tx| {
            // Re-read inside the lock: another process may have recorded it meanwhile.
            match tx.app_setting(RECEIPT_KEY_ID)?.as_deref() {
                Some(r) if r == key_id => return Ok(()),
                Some(r) => return Err(mismatch(r)),
                None => {}
            }
            let rec = AuditRecord {
                operation: Operation::ReceiptKeyCreated,
                actor: Actor::system(),
                at: now,
                request_id: None,
                // `existing`: a key made before keys were recorded (first seen now).
                details: json!({ "key_id": key_id, "public_key": public_key, "existing": !created,
                                 "file": key_path.display().to_string() }),
            };
            for t in tx.tenants()? {
                tx.append_audit(&t.id, &[&rec], now)?;
            }
            tx.put_app_setting(RECEIPT_KEY_ID, Some(&key_id))
        })
    }

    pub fn open_in_memory(clock: Arc<dyn Clock>, creator: &str) -> Result<Engine> {
        Self::with_store(
            Store::open_in_memory()?,
            crate::receipts::Signer::ephemeral()?,
            clock,
            creator,
        )
    }

    fn with_store(
        store: Store,
        signer: crate::receipts::Signer,
        clock: Arc<dyn Clock>,
        creator: &str,
    ) -> Result<Engine> {
        let mut e = Engine {
            store,
            clock,
            signer,
            reminder_scan: None,
        };
        e.bootstrap(creator)?;
        e.apply_due()?;
        Ok(e)
    }

    /// Now, truncated to the store's millisecond precision so that what an
    /// operation returns equals what a later read returns.
    pub fn now(&self) -> Time {
        now_of(self.clock.as_ref())
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    fn bootstrap(&mut self, creator: &str) -> Result<()> {
        let now = self.now();
        let creator = required("user", creator, limits::NAME)?;
        let has_tenant = self.store.read(|tx| tx.tenant_exists(DEFAULT_TENANT))?;
        if has_tenant {
            return Ok(());
        }
        self.store.write(|tx| {
            if !tx.tenants()?.is_empty() {
                return Ok(()); // another process won the race
            }
            create_tenant(
                tx,
                DEFAULT_TENANT,
                "Default tenant",
                &Actor::system(),
                &creator,
                now,
            )
        })
    }

    // ---------- deadlines ----------

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

    // ---------- requests ----------

    /// File a new request (the provider engineer's side).
    pub fn file_request(&mut self, tenant: &str, new: &NewRequest) -> Result<Request> {
        self.apply_due()?;
        let id = uuid::Uuid::now_v7().to_string();
        let (clock, signer) = (&self.clock, &self.signer);
        self.store.doing("file a request").write(|tx| {
            let now = now_of(clock.as_ref());
            let settings = tenant_settings(tx, tenant)?;
            let t = machine::create(id, tenant, new, &settings, now)?;
            Write::new(tx, signer, &mut tx.audit_tail()?, now).persist_new(&t)?;
            Ok(t.request)
        })
    }

    fn transition(
        &mut self,
        what: &'static str,
        tenant: &str,
        id: &str,
        make: impl FnOnce(&Tx<'_>, &Request) -> Result<Event>,
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
        make: impl FnOnce(&Tx<'_>, &Request) -> Result<Event>,
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
        make: impl FnOnce(&Tx<'_>, &Request) -> Result<Event>,
    ) -> Result<Request> {
        self.apply_due()?;
        let (clock, signer) = (&self.clock, &self.signer);
        self.store.doing(what).write(|tx| {
            // Read the clock under the write lock: a transition that waited
            // for another writer is judged at the time it is written.
            let now = now_of(clock.as_ref());
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
            Write::new(tx, signer, &mut tx.audit_tail()?, now).persist(&req, &t)?;
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

    // ---------- access ----------

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
        self.apply_due()?;
        let clock = &self.clock;
        let decision = self
            .store
            .doing("record an action under a grant")
            .write(|tx| {
                // Read the clock under the write lock: an action that waited for
                // another writer must not be judged at the time it started waiting.
                let now = now_of(clock.as_ref());
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
                tx.append_audit(tenant, &[&rec], now)?;
                Ok(d)
            })?;
        if decision.allowed {
            Ok(decision)
        } else {
            Err(Error::new(
                ErrorCode::AccessDenied,
                format!("access denied for request {id}: {}", decision.reason),
            ))
        }
    }

    // ---------- settings, users, tenants ----------

    pub fn settings(&mut self, tenant: &str) -> Result<Settings> {
        self.store.read(|tx| tenant_settings(tx, tenant))
    }

    /// Replace `tenant`'s settings (admins only); audits the keys that changed.
    pub fn update_settings(
        &mut self,
        tenant: &str,
        by: &Principal,
        new: &Settings,
    ) -> Result<Settings> {
        new.validate()?;
        let now = self.now();
        self.store.doing("change settings").write(|tx| {
            need_admin(tx, tenant, by.name())?;
            let old = tenant_settings(tx, tenant)?;
            let changes: Vec<_> = old
                .entries()
                .into_iter()
                .zip(new.entries())
                .filter(|(a, b)| a.1 != b.1)
                .map(|((k, o), (_, n))| json!({ "key": k, "old": o, "new": n }))
                .collect();
            if changes.is_empty() {
                return Ok(old);
            }
            tx.put_settings(tenant, new)?;
            let rec = AuditRecord {
                operation: Operation::SettingsChanged,
                actor: by.actor(),
                at: now,
                request_id: None,
                details: by.with_authn(json!({ "changes": changes })),
            };
            tx.append_audit(tenant, &[&rec], now)?;
            Ok(new.clone())
        })
    }

    /// Set one setting by its CLI key.
    pub fn set_setting(
        &mut self,
        tenant: &str,
        by: &Principal,
        key: &str,
        value: &str,
    ) -> Result<Settings> {
        let current = self.settings(tenant)?;
        let new = current.with(key, value)?;
        self.update_settings(tenant, by, &new)
    }

    pub fn users(&mut self, tenant: &str) -> Result<Vec<User>> {
        self.store.read(|tx| {
            ensure_tenant(tx, tenant)?;
            tx.users(tenant)
        })
    }

    /// Tenants in which `name` is a customer user.
    pub fn memberships(&mut self, name: &str) -> Result<Vec<(String, Role)>> {
        self.store.read(|tx| tx.memberships(name))
    }

    pub fn add_user(
        &mut self,
        tenant: &str,
        by: &Principal,
        name: &str,
        role: Role,
        email: Option<&str>,
    ) -> Result<User> {
        let name = required("user name", name, limits::NAME)?;
        let email = optional("email", email, limits::NAME)?;
        if let Some(e) = &email {
            validate_email(e)?;
        }
        let now = self.now();
        self.store.doing("add a user").write(|tx| {
            need_admin(tx, tenant, by.name())?;
            // Two users who are "the same person" (case, width, invisible
            // characters) could each cast a vote of a quorum.
            if let Some(same) = tx
                .users(tenant)?
                .into_iter()
                .find(|u| crate::text::same_person(&u.name, &name))
            {
                return Err(Error::new(
                    ErrorCode::AlreadyExists,
                    format!(
                        "user '{}' already exists in tenant '{tenant}'{}",
                        same.name,
                        if same.name == name {
                            ""
                        } else {
                            " (the same name, written differently)"
                        }
                    ),
                ));
            }
            let user = User {
                name: name.clone(),
                role,
                email: email.clone(),
                created_at: now,
            };
            tx.insert_user(tenant, &user)?;
            let rec = AuditRecord {
                operation: Operation::UserAdded,
                actor: by.actor(),
                at: now,
                request_id: None,
                details: by
                    .with_authn(json!({ "user": name, "role": role.as_str(), "email": email })),
            };
            tx.append_audit(tenant, &[&rec], now)?;
            Ok(user)
        })
    }

    pub fn remove_user(&mut self, tenant: &str, by: &Principal, name: &str) -> Result<()> {
        let now = self.now();
        self.store.doing("remove a user").write(|tx| {
            need_admin(tx, tenant, by.name())?;
            let user = tx.user(tenant, name)?.ok_or_else(|| {
                Error::not_found(format!("no user '{name}' in tenant '{tenant}'"))
            })?;
            if user.role == Role::Admin && tx.count_admins(tenant)? <= 1 {
                return Err(Error::new(
                    ErrorCode::NotPermitted,
                    format!(
                        "'{name}' is the last admin of tenant '{tenant}': add another admin first"
                    ),
                ));
            }
            tx.delete_user(tenant, name)?;
            let rec = AuditRecord {
                operation: Operation::UserRemoved,
                actor: by.actor(),
                at: now,
                request_id: None,
                details: by.with_authn(json!({ "user": name, "role": user.role.as_str() })),
            };
            tx.append_audit(tenant, &[&rec], now)?;
            Ok(())
        })
    }

    pub fn tenants(&mut self) -> Result<Vec<Tenant>> {
        self.store.read(|tx| tx.tenants())
    }

    /// Add a tenant (an admin of `from_tenant` only); the actor becomes its first admin.
    pub fn add_tenant(
        &mut self,
        from_tenant: &str,
        by: &Principal,
        id: &str,
        name: &str,
    ) -> Result<Tenant> {
        let id = required("tenant id", id, limits::TENANT_ID)?;
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(Error::input(format!(
                "tenant id '{id}' may only use letters, digits, '-', '_' and '.'"
            )));
        }
        let name = required("tenant name", name, limits::NAME)?;
        let now = self.now();
        self.store.doing("add a tenant").write(|tx| {
            need_admin(tx, from_tenant, by.name())?;
            if tx.tenant_exists(&id)? {
                return Err(Error::new(
                    ErrorCode::AlreadyExists,
                    format!("tenant '{id}' already exists"),
                ));
            }
            create_tenant(tx, &id, &name, &by.actor(), by.name(), now)?;
            Ok(Tenant {
                id: id.clone(),
                name: name.clone(),
                created_at: now,
            })
        })
    }

    // ---------- audit ----------

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
        f: impl FnMut(&AuditEntry) -> Result<()>,
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
        f: impl FnMut(&AuditEntry) -> Result<()>,
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
}

// ---------- notices, reminders, dashboard ----------

impl Engine {
    /// Record a reminder notice for every pending request within its tenant's reminder lead.
    pub fn add_due_reminders(&mut self, now: Time) -> Result<usize> {
        let due = self.store.read(|tx| tx.due_reminders(now, 1000))?;
        if due.is_empty() {
            return Ok(0);
        }
        self.store.doing("record reminders").write(|tx| {
            let mut n = 0;
            for (tenant, id) in &due {
                if let Some(req) = tx.request(tenant, id)? {
                    if req.state == State::Pending && tx.add_notice(&req, "reminder", now)? {
                        n += 1;
                    }
                }
            }
            Ok(n)
        })
    }

    /// The next time a reminder becomes due, if any.
    pub fn next_reminder(&mut self, now: Time) -> Result<Option<Time>> {
        self.store.read(|tx| tx.next_reminder(now))
    }

    /// Claim every notice `channel` has not handled: those created before
    /// `stale_before` are marked skipped, the rest are returned to deliver.
    pub fn claim_notices(&mut self, channel: &str, stale_before: Time) -> Result<Vec<NoticeRow>> {
        let now = self.now();
        self.store.doing("claim notices").write(|tx| {
            let mut fresh = Vec::new();
            for n in tx.unclaimed_notices(channel, 200)? {
                let outcome = if n.created_at < stale_before {
                    Outcome::Skipped
                } else {
                    Outcome::Claimed
                };
                if tx.claim_notice(n.id, channel, outcome, now)? && outcome == Outcome::Claimed {
                    fresh.push(n);
                }
            }
            Ok(fresh)
        })
    }

    /// Record how a claimed delivery ended (sent, or failed with why).
    pub fn finish_delivery(
        &mut self,
        notice_id: i64,
        channel: &str,
        sent: bool,
        detail: Option<&str>,
    ) -> Result<()> {
        let outcome = if sent { Outcome::Sent } else { Outcome::Failed };
        self.store
            .doing("record a notice's delivery")
            .write(|tx| tx.finish_delivery(notice_id, channel, outcome, detail))
    }

    /// Pending requests across all tenants (the tray badge).
    pub fn pending_count_all(&mut self) -> Result<u64> {
        self.apply_due()?;
        self.store.read(|tx| tx.count_pending_all())
    }

    /// The Home page's cards and 30-day chart.
    pub fn home_stats(&mut self, tenant: &str) -> Result<crate::dto::HomeStats> {
        self.apply_due()?;
        let now = self.now();
        let since_day = (now - chrono::Duration::days(29)).date_naive();
        let since = since_day
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc())
            .unwrap_or(now);
        self.store.read(|tx| {
            ensure_tenant(tx, tenant)?;
            let (pending, expiring, active) = tx.dashboard_counts(tenant, now)?;
            let rows = tx.outcomes_per_day(tenant, since)?;
            let mut per_day: Vec<crate::dto::DayCount> = (0..30)
                .map(|i| crate::dto::DayCount {
                    day: (since_day + chrono::Duration::days(i))
                        .format("%Y-%m-%d")
                        .to_string(),
                    ..Default::default()
                })
                .collect();
            let mut decisions = 0;
            for (day, outcome, n) in rows {
                if let Some(d) = per_day.iter_mut().find(|d| d.day == day) {
                    match outcome.as_str() {
                        "approved" => d.approved += n,
                        "rejected" => d.rejected += n,
                        "expired" => d.expired += n,
                        "canceled" => d.canceled += n,
                        _ => {}
                    }
                }
                if outcome == "approved" || outcome == "rejected" {
                    decisions += n;
                }
            }
            Ok(crate::dto::HomeStats {
                pending,
                expiring_within_2h: expiring,
                active_grants: active,
                decisions_last_30d: decisions,
                per_day,
            })
        })
    }
}

// ---------- helpers shared by the use cases ----------

fn key_mismatch(key_path: &Path, key_id: &str, recorded: &str) -> Error {
    Error::new(
        ErrorCode::StoreUnavailable,
        format!(
            "the receipt signing key {} (id {key_id}) is not the key this store signs with \
             (id {recorded}, in the audit log). Put the right key file back, or make a new key \
             with `lockbox receipt rotate-key` (audited).",
            key_path.display()
        ),
    )
}

pub(crate) fn ensure_tenant(tx: &Tx<'_>, tenant: &str) -> Result<()> {
    if tx.tenant_exists(tenant)? {
        Ok(())
    } else {
        Err(Error::not_found(format!(
            "no tenant '{tenant}' in this store (see `lockbox tenant list`)"
        )))
    }
}

fn tenant_settings(tx: &Tx<'_>, tenant: &str) -> Result<Settings> {
    tx.settings(tenant)?.ok_or_else(|| {
        Error::not_found(format!(
            "no tenant '{tenant}' in this store (see `lockbox tenant list`)"
        ))
    })
}

fn load(tx: &Tx<'_>, tenant: &str, id: &str) -> Result<Request> {
    tx.request(tenant, id)?
        .ok_or_else(|| Error::not_found(format!("no request '{id}' in tenant '{tenant}'")))
}

pub(crate) fn need_admin(tx: &Tx<'_>, tenant: &str, actor: &str) -> Result<()> {
    ensure_tenant(tx, tenant)?;
    match tx.role(tenant, actor)? {
        Some(Role::Admin) => Ok(()),
        Some(Role::Approver) => Err(Error::not_permitted(format!(
            "{actor} is an approver of tenant '{tenant}'; only admins may do this"
        ))),
        None => Err(Error::not_permitted(format!(
            "{actor} is not an admin of tenant '{tenant}'"
        ))),
    }
}

fn validate_email(e: &str) -> Result<()> {
    crate::mail::parse_email(e).map(drop)
}

fn create_tenant(
    tx: &Tx<'_>,
    id: &str,
    name: &str,
    by: &Actor,
    first_admin: &str,
    now: Time,
) -> Result<()> {
    let settings = Settings::default();
    tx.insert_tenant(
        &Tenant {
            id: id.into(),
            name: name.into(),
            created_at: now,
        },
        &settings,
    )?;
    tx.insert_user(
        id,
        &User {
            name: first_admin.into(),
            role: Role::Admin,
            email: None,
            created_at: now,
        },
    )?;
    let added = AuditRecord {
        operation: Operation::TenantAdded,
        actor: by.clone(),
        at: now,
        request_id: None,
        details: json!({ "tenant": id, "name": name, "settings": settings.entries().into_iter().collect::<std::collections::BTreeMap<_, _>>() }),
    };
    let admin = AuditRecord {
        operation: Operation::UserAdded,
        actor: by.clone(),
        at: now,
        request_id: None,
        details: json!({ "user": first_admin, "role": "admin", "email": null, "first_admin": true }),
    };
    tx.append_audit(id, &[&added, &admin], now)?;
    Ok(())
}

/// Everything one transition writes, in the caller's transaction: the request
/// row, new decisions, audit entries (after `tail`), notices and a receipt.
struct Write<'a, 't> {
    tx: &'a Tx<'t>,
    signer: &'a crate::receipts::Signer,
    tail: &'a mut crate::store::AuditTail,
    now: Time,
}

impl<'a, 't> Write<'a, 't> {
    fn new(
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

    fn persist(self, before: &Request, t: &Transition) -> Result<()> {
        self.tx.update_request(&t.request, before.decisions.len())?;
        self.effects(Some(before.state), t)
    }

    fn persist_new(self, t: &Transition) -> Result<()> {
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
fn receipt_body(
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

impl Engine {
    /// Run `f` in a write transaction after checking that `actor` is an admin of `tenant`.
    /// `what` names the use case ("issue a token") for the refusal on a
    /// read-only store.
    pub(crate) fn with_admin_tx<T>(
        &mut self,
        tenant: &str,
        by: &Principal,
        what: &'static str,
        f: impl FnOnce(&Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.store.doing(what).write(|tx| {
            need_admin(tx, tenant, by.name())?;
            f(tx)
        })
    }

    /// What was appended to the audit log after entry `after_seq`; `None`
    /// only reads the head (to start following it).
    pub fn audit_changes_since(&mut self, after_seq: Option<i64>) -> Result<AuditChanges> {
        const LOOK: u32 = 10_000;
        self.store.read(|tx| {
            let mut c = AuditChanges {
                head: tx.audit_max_seq()?,
                ..Default::default()
            };
            let Some(after) = after_seq.filter(|a| *a < c.head) else {
                return Ok(c);
            };
            let ops = tx.audit_ops_after(after, LOOK)?;
            c.truncated = ops.len() == LOOK as usize && ops.last().is_some_and(|o| o.0 < c.head);
            for (_, tenant, op) in ops {
                if Operation::parse(&op).is_ok_and(Operation::changes_settings) {
                    c.settings_tenants.insert(tenant.clone());
                }
                c.tenants.insert(tenant);
            }
            Ok(c)
        })
    }

    /// The receipts of a request, oldest first, as receipt file texts.
    /// An expired request's receipt is derived here, from what its expiry
    /// fixed for good (the terminal request and its `expired` audit entry, the
    /// chain's head after it) and signed now: Ed25519 is deterministic, so it
    /// is the same receipt, byte for byte, every time it is asked for.
    pub fn receipts(
        &mut self,
        tenant: &str,
        id: &str,
    ) -> Result<Vec<(crate::store::ReceiptRow, String)>> {
        let signer = &self.signer;
        let path = self.store.path().map(Path::to_path_buf);
        self.store.read(|tx| {
            let req = load(tx, tenant, id)?;
            let mut rows = tx.receipts(tenant, id)?;
            if rows.is_empty() && req.state == State::Expired {
                if let Some((seq, hash, at)) = tx.audit_entry_of(id, Operation::Expired.as_str())? {
                    let (decision, body) =
                        receipt_body(signer, &req, false, (seq, Some(&hash)), at)?;
                    if !signer.can_sign() {
                        let key = path.as_deref().map(crate::receipts::key_path_for);
                        return Err(Error::new(
                            ErrorCode::ReadOnly,
                            format!(
                                "request {id} expired; its receipt is derived and signed when asked \
                                 for, which needs the store's receipt signing key ({}), and this \
                                 read-only opening has none. Ask for it where the store's key is, \
                                 or see the expiry in the audit log (`lockbox audit list --request {id}`).",
                                key.map_or_else(|| "none".into(), |k| k.display().to_string())
                            ),
                        ));
                    }
                    let (_, signature) = signer.sign(&body)?;
                    rows.push(crate::store::ReceiptRow {
                        seq: 0,
                        request_id: req.id.clone(),
                        tenant: req.tenant.clone(),
                        decision: decision.to_string(),
                        body,
                        signature,
                        created_at: at,
                    });
                }
            }
            Ok(rows
                .into_iter()
                .map(|r| {
                    let text = crate::receipts::receipt_text(&r.body, &r.signature);
                    (r, text)
                })
                .collect())
        })
    }

    /// The store and the receipt signer, borrowed together (checkpoints).
    pub(crate) fn store_and_signer(&mut self) -> (&mut Store, &crate::receipts::Signer) {
        (&mut self.store, &self.signer)
    }

    /// The public key that verifies this store's receipts (base64).
    pub fn public_key(&self) -> String {
        self.signer.public_key()
    }

    /// Short id of the receipt key.
    pub fn key_id(&self) -> String {
        self.signer.key_id()
    }

    /// The tenant that owns request `id`, if it exists.
    pub fn request_tenant(&mut self, id: &str) -> Result<Option<String>> {
        self.store
            .read(|tx| Ok(tx.request_any_tenant(id)?.map(|r| r.tenant)))
    }
}

/// Store-wide settings of the local provider API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    pub enabled: bool,
    pub bind: String,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
}

pub const DEFAULT_API_BIND: &str = "127.0.0.1:8787";

impl Engine {
    pub fn api_settings(&mut self) -> Result<ApiSettings> {
        self.store.read(|tx| {
            Ok(ApiSettings {
                enabled: tx.app_setting("api.enabled")?.is_none_or(|v| v == "on"),
                bind: tx
                    .app_setting("api.bind")?
                    .unwrap_or_else(|| DEFAULT_API_BIND.to_string()),
                tls_cert: tx.app_setting("api.tls_cert")?,
                tls_key: tx.app_setting("api.tls_key")?,
            })
        })
    }

    /// Change the API settings (an admin of `tenant`); audited in that tenant.
    pub fn set_api_settings(
        &mut self,
        tenant: &str,
        by: &Principal,
        s: &ApiSettings,
    ) -> Result<ApiSettings> {
        let addr: std::net::SocketAddr = s.bind.trim().parse().map_err(|_| {
            Error::input(format!(
                "'{}' is not an address like 127.0.0.1:8787",
                s.bind
            ))
        })?;
        if s.tls_cert.is_some() != s.tls_key.is_some() {
            return Err(Error::input(
                "give both a TLS certificate and a TLS key, or neither",
            ));
        }
        if !addr.ip().is_loopback() && s.tls_cert.is_none() {
            return Err(Error::input(format!(
                "{addr} is not a loopback address: serving it requires TLS (certificate and key)"
            )));
        }
        let now = self.now();
        let old = self.api_settings()?;
        self.with_admin_tx(tenant, by, "change the API settings", |tx| {
            tx.put_app_setting("api.enabled", Some(if s.enabled { "on" } else { "off" }))?;
            tx.put_app_setting("api.bind", Some(&addr.to_string()))?;
            tx.put_app_setting("api.tls_cert", s.tls_cert.as_deref())?;
            tx.put_app_setting("api.tls_key", s.tls_key.as_deref())?;
            let rec = AuditRecord {
                operation: Operation::SettingsChanged,
                actor: by.actor(),
                at: now,
                request_id: None,
                details: by.with_authn(json!({ "changes": [{ "key": "api", "old": format!("{} {}", if old.enabled { "on" } else { "off" }, old.bind),
                                              "new": format!("{} {}", if s.enabled { "on" } else { "off" }, addr) }] })),
            };
            tx.append_audit(tenant, &[&rec], now)?;
            Ok(())
        })?;
        self.api_settings()
    }
}
