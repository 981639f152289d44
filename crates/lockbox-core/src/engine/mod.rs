//! The engine facade: every use case the adapters (CLI, desktop shell, HTTP
//! API) need, each one transaction that loads state, asks the pure
//! [`machine`](crate::machine), and saves the result with its audit entries.

mod access;
mod audit;
mod deadlines;
mod directory;
mod notices;
mod provider;
mod requests;
mod write;

pub use crate::model::{ApiSettings, AuditChanges, RequestPage, ScopedChanges, Swept};
pub use provider::DEFAULT_API_BIND;

use crate::clock::{Clock, Time};
use crate::identity::Principal;
use crate::machine::{self, AuditRecord};
use crate::model::*;
use crate::store::{Store, StoreLocation, Tx, RECEIPT_KEY_ID};
use crate::{Error, ErrorCode, Result};
use directory::create_tenant;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The tenant every store starts with.
pub const DEFAULT_TENANT: &str = "default";

pub struct Engine {
    store: Store,
    clock: Arc<dyn Clock>,
    signer: crate::receipts::Signer,
    /// Where this instance's sweeps start in the list of tenants with due
    /// deadlines (random: two instances sweeping rarely meet).
    sweep_start: usize,
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
        Self::open_at(
            &StoreLocation::File(path.to_path_buf()),
            &crate::receipts::key_path_for(path),
            clock,
            creator,
        )
    }

    /// Open the store at `loc` (a SQLite file or a PostgreSQL database),
    /// signing receipts with the key at `key_path` (see
    /// [`crate::receipts::default_key_path`]); otherwise as [`Engine::open`].
    /// Every instance of a team server on one database must use the same key.
    pub fn open_at(
        loc: &StoreLocation,
        key_path: &Path,
        clock: Arc<dyn Clock>,
        creator: &str,
    ) -> Result<Engine> {
        let mut store = Store::open_location(loc)?;
        let key_path = key_path.to_path_buf();
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
            sweep_start: 0, // read-only: never sweeps
        })
    }

    /// Was this engine opened with [`Engine::open_read_only`]? Then every
    /// use case that writes is refused ([`ErrorCode::ReadOnly`]).
    pub fn is_read_only(&self) -> bool {
        self.store.is_read_only()
    }

    /// Can the store be read *now*? One read transaction of the newest audit
    /// position, nothing written and nothing swept: a server's readiness
    /// (`GET /readyz`). The store's error, if it cannot.
    pub fn check_store(&mut self) -> Result<()> {
        self.store.read(|tx| tx.audit_max_seq()).map(|_| ())
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
        Self::open_rotating_receipt_key_at(
            &StoreLocation::File(path.to_path_buf()),
            &crate::receipts::key_path_for(path),
            clock,
            tenant,
            by,
        )
    }

    /// [`Engine::open_rotating_receipt_key`] for the store at `loc`, with its key at `key_path`.
    pub fn open_rotating_receipt_key_at(
        loc: &StoreLocation,
        key_path: &Path,
        clock: Arc<dyn Clock>,
        tenant: &str,
        by: &Principal,
    ) -> Result<(Engine, Option<String>)> {
        let mut store = Store::open_location(loc)?;
        store.read(|tx| need_admin(tx, tenant, by.name()))?;
        let key_path = key_path.to_path_buf();
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
        let mut b = [0u8; 8];
        // Only spreads sweepers over tenants: without randomness, start at the first.
        let _ = getrandom::getrandom(&mut b);
        let mut e = Engine {
            store,
            clock,
            signer,
            sweep_start: u64::from_le_bytes(b) as usize,
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
}

impl Engine {
    /// Run `f` in a write transaction after checking that `actor` is an admin of `tenant`.
    /// `what` names the use case ("issue a token") for the refusal on a
    /// read-only store.
    pub(crate) fn with_admin_tx<T: Send>(
        &mut self,
        tenant: &str,
        by: &Principal,
        what: &'static str,
        f: impl FnOnce(&Tx<'_>) -> Result<T> + Send,
    ) -> Result<T> {
        self.store.doing(what).write(|tx| {
            need_admin(tx, tenant, by.name())?;
            f(tx)
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
