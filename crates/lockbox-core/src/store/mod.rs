//! The store. All SQL lives under this module, behind [`Store`] and [`Tx`]:
//! the engine never writes SQL itself, nor knows which backend runs.
//!
//! Two backends run the same queries ([`db`]): SQLite (embedded, the
//! default: the desktop app, a small `lockbox serve`) and PostgreSQL (a
//! team server, several `lockbox serve` instances on one database: see
//! [`pg`]). [`Store::open_location`] picks one from a path or a
//! `postgres://` URL.
//!
//! On SQLite:
//! - WAL, `foreign_keys=ON`, `synchronous=FULL`, a busy timeout.
//! - Numbered migrations embedded in the binary, applied in one transaction,
//!   guarded by `PRAGMA user_version` (a newer store is refused).
//! - Writes use `BEGIN IMMEDIATE` so that concurrent writers serialize and
//!   every write re-reads the state it changes.
//! - [`Store::open_read_only`] opens a copy (a backup, a read-only share)
//!   without writing a byte or creating a file; [`Store::write`] then refuses.

mod audit_log;
mod checkpoints;
mod consistency;
pub mod copy;
pub(crate) mod db;
mod dialect;
mod directory;
mod errors;
mod file;
pub(crate) use file::ReadOnlyAccess;
use file::{cannot_read, private_dir, private_files, store_err, wal_hint, with_path};
pub use file::{store_files, store_writable};
mod notices;
pub mod outside;
pub mod pg;
mod pg_tx;
mod provider;
mod rechain;
pub mod replica;
mod requests;
mod sessions;
mod verify;

pub use audit_log::AuditTail;
pub use checkpoints::CheckpointRow;
pub use consistency::Consistency;
pub use db::{Dialect, Tx};
pub use notices::Outcome;
pub use pg::{is_postgres_url, PG_SCHEMA_VERSION};
pub use provider::RECEIPT_KEY_ID;
// Defined in `model` (the engine's API takes and returns them); the store's
// paths stay.
pub use crate::model::{
    AuditQuery, DeliveryRow, NoticeRow, ReceiptRow, RequestQuery, RequestSort, SessionRow, SmtpRow,
    TokenRow,
};

use crate::{Error, ErrorCode, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a write transaction locks (see [`Store::write_tenant`]).
#[derive(Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// The whole store: waits for every other writer.
    All,
    /// One tenant: waits for writers of that tenant (and for `All`).
    Tenant(&'a str),
    /// One tenant, unless someone holds it: then nothing runs.
    TryTenant(&'a str),
}

impl<'a> Scope<'a> {
    fn tenant(self) -> Option<&'a str> {
        match self {
            Scope::All => None,
            Scope::Tenant(t) | Scope::TryTenant(t) => Some(t),
        }
    }
}

/// A write that is never skipped ran: its answer.
fn got<T>(out: Option<T>) -> Result<T> {
    out.ok_or_else(|| Error::internal("a blocking write was skipped"))
}

/// Migrations, in order; migration N (1-based) brings the store to user_version N.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_notice_deliveries.sql"),
    include_str!("migrations/0003_api_receipts_email.sql"),
    include_str!("migrations/0004_audit_late.sql"),
    include_str!("migrations/0005_smtp_password_out.sql"),
    include_str!("migrations/0006_audit_lifecycle.sql"),
    include_str!("migrations/0007_audit_per_tenant.sql"),
    include_str!("migrations/0008_due_by_tenant.sql"),
    include_str!("migrations/0009_admin_sessions.sql"),
];

/// The Rust part of a migration, run in its transaction right after its SQL.
type RustStep = fn(&rusqlite::Transaction<'_>) -> Result<()>;

/// Migrations with a Rust part: `(number, step)`.
const RUST_MIGRATIONS: &[(usize, RustStep)] = &[(7, rechain::migrate)];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a writer waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Store {
    conn: Conn,
    path: Option<PathBuf>,
    /// How a store opened with [`Store::open_read_only`] is reached (also by
    /// the verification workers); `None` for a writable store.
    read_only: Option<ReadOnlyAccess>,
    /// What the next [`Store::write`] does, for its refusal on a read-only store.
    doing: Option<&'static str>,
    /// The next tenant write's horizon for its tenant's due transitions
    /// ([`Store::due_by`]), in ms.
    due_by: Option<i64>,
    /// The reads the next tenant write starts with ([`Store::reads_first`]).
    reads: Vec<db::Prefetched>,
}

/// A read that a tenant write's use case makes first, named before the
/// write starts ([`Store::reads_first`]). Each is the statement of the
/// [`Tx`] method named, with the same parameters.
#[derive(Debug, Clone, Copy)]
pub enum Read<'a> {
    /// [`Tx::request`]: a request and its decisions.
    Request { tenant: &'a str, id: &'a str },
    /// [`Tx::settings`]: the tenant's settings.
    Settings { tenant: &'a str },
    /// [`Tx::user`] (and so [`Tx::role`]): one user of the tenant.
    User { tenant: &'a str, name: &'a str },
}

impl Read<'_> {
    fn statement(&self) -> db::Prefetched {
        use db::ToP;
        let (sql, params) = match *self {
            Read::Request { tenant, id } => {
                (requests::REQUEST_BY_ID, vec![id.to_p(), tenant.to_p()])
            }
            Read::Settings { tenant } => (directory::SETTINGS_OF, vec![tenant.to_p()]),
            Read::User { tenant, name } => {
                (directory::USER_BY_NAME, vec![tenant.to_p(), name.to_p()])
            }
        };
        db::Prefetched::new(sql, params.iter().map(db::P::to_static).collect())
    }
}

/// The connection of either backend.
enum Conn {
    Lite(Connection),
    Pg(Box<pg::PgConn>),
}

/// Where a store is: a SQLite file, or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    File(PathBuf),
    Postgres(String),
}

impl StoreLocation {
    /// A `postgres://` or `postgresql://` URL is a PostgreSQL store; anything else a file.
    pub fn parse(s: &str) -> StoreLocation {
        if pg::is_postgres_url(s) {
            StoreLocation::Postgres(s.trim().to_string())
        } else {
            StoreLocation::File(PathBuf::from(s))
        }
    }

    /// For messages: the path, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            StoreLocation::File(p) => p.display().to_string(),
            StoreLocation::Postgres(url) => pg::redact(url),
        }
    }
}

impl From<&Path> for StoreLocation {
    fn from(p: &Path) -> Self {
        StoreLocation::File(p.to_path_buf())
    }
}

impl Store {
    /// Open (creating and migrating if needed) the store at `loc`: a SQLite
    /// file ([`Store::open`]) or a PostgreSQL database ([`Store::open_postgres`]).
    pub fn open_location(loc: &StoreLocation) -> Result<Store> {
        match loc {
            StoreLocation::File(p) => Store::open(p),
            StoreLocation::Postgres(url) => Store::open_postgres(url),
        }
    }

    /// Connect to the PostgreSQL store at `url` and bring its schema up to
    /// date (a newer schema is refused, nothing touched).
    pub fn open_postgres(url: &str) -> Result<Store> {
        let conn = pg::PgConn::open(url)?;
        Ok(Store {
            conn: Conn::Pg(Box::new(conn)),
            path: None,
            read_only: None,
            doing: None,
            due_by: None,
            reads: Vec::new(),
        })
    }

    /// Which backend runs this store.
    pub fn dialect(&self) -> Dialect {
        match self.conn {
            Conn::Lite(_) => Dialect::Sqlite,
            Conn::Pg(_) => Dialect::Postgres,
        }
    }

    /// For messages: the file, the database URL without its password, or "in memory".
    pub fn describe(&self) -> String {
        match (&self.conn, &self.path) {
            (Conn::Pg(c), _) => c.display.clone(),
            (Conn::Lite(_), Some(p)) => p.display().to_string(),
            (Conn::Lite(_), None) => "in memory".to_string(),
        }
    }

    /// The SQLite connection (for what only SQLite has: PRAGMAs, its files).
    fn lite(&self) -> Result<&Connection> {
        match &self.conn {
            Conn::Lite(c) => Ok(c),
            Conn::Pg(_) => Err(Error::internal(
                "a SQLite-only operation on a PostgreSQL store",
            )),
        }
    }

    /// Open (creating if needed) the store at `path` and bring its schema up to date.
    ///
    /// The store holds who approved what and its audit log: a folder Lockbox
    /// creates for it is made 0700, and the store file (hence SQLite's `-wal`
    /// and `-shm`, which take its mode) 0600; looser modes of an existing
    /// store's files are tightened, with a warning in the log.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            private_dir(dir).map_err(|e| {
                Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("cannot create the store's folder {}: {e}", dir.display()),
                )
            })?;
        }
        private_files(path).map_err(|e| {
            Error::new(
                ErrorCode::StoreUnavailable,
                format!("cannot make the store {} private: {e}", path.display()),
            )
        })?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| store_err(path, e))?;
        let mut store = Store {
            conn: Conn::Lite(conn),
            path: Some(path.to_path_buf()),
            read_only: None,
            doing: None,
            due_by: None,
            reads: Vec::new(),
        };
        store.configure().map_err(|e| with_path(path, e))?;
        store.migrate().map_err(|e| with_path(path, e))?;
        Ok(store)
    }

    /// A private in-memory store (tests).
    pub fn open_in_memory() -> Result<Store> {
        let mut store = Store {
            conn: Conn::Lite(Connection::open_in_memory()?),
            path: None,
            read_only: None,
            doing: None,
            due_by: None,
            reads: Vec::new(),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// Open the store at `path` for reading only: an auditor's copy, a
    /// backup, a read-only share. Nothing is written — no migration, no
    /// change of journal mode or file modes — and no `-wal`, `-shm` or other
    /// file is created, even where the folder is writable (see
    /// [`ReadOnlyAccess::choose`]). Every [`Store::write`] is refused
    /// ([`ErrorCode::ReadOnly`]).
    ///
    /// A store of another schema version is refused: an older one cannot be
    /// migrated without writing, a newer one is not understood.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let access = ReadOnlyAccess::choose(path)?;
        let conn = access
            .connect()
            .map_err(|e| cannot_read(path, &access, e))?;
        let store = Store {
            conn: Conn::Lite(conn),
            path: Some(path.to_path_buf()),
            read_only: Some(access),
            doing: None,
            due_by: None,
            reads: Vec::new(),
        };
        // The first read: it also proves the file is a database.
        let v = store.user_version().map_err(|e| match &store.read_only {
            Some(a) if e.code == ErrorCode::StoreUnavailable || e.code == ErrorCode::Internal => {
                Error::new(
                    ErrorCode::StoreUnavailable,
                    format!(
                        "store {}: {}{}",
                        path.display(),
                        e.message,
                        wal_hint(path, a)
                    ),
                )
            }
            _ => e,
        })?;
        if v > SCHEMA_VERSION {
            return Err(schema_too_new(v));
        }
        if v != SCHEMA_VERSION {
            let what = if v == 0 {
                "has no Lockbox schema (version 0): it is not a Lockbox store, or an empty one"
                    .to_string()
            } else {
                format!("has schema version {v}, older than version {SCHEMA_VERSION} that this build reads")
            };
            return Err(Error::new(
                ErrorCode::ReadOnly,
                format!(
                    "this store is open read-only ({}) and {what}; a read-only store is never \
                     upgraded. Upgrade a writable copy once (copy the file, then run any lockbox \
                     command on the copy, e.g. `lockbox --db COPY audit verify`), then open that \
                     copy read-only.",
                    path.display()
                ),
            ));
        }
        Ok(store)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Was this store opened with [`Store::open_read_only`]?
    pub fn is_read_only(&self) -> bool {
        self.read_only.is_some()
    }

    /// Name what the next [`Store::write`] does ("approve a request"), for
    /// the message of its refusal on a read-only store.
    pub fn doing(&mut self, what: &'static str) -> &mut Store {
        self.doing = Some(what);
        self
    }

    /// The next [`Store::write_tenant`] will look for its tenant's due
    /// transitions ([`Tx::due_requests_of`]) at a moment no later than
    /// `by`, most likely: on PostgreSQL it then asks with its locks, in the
    /// same message, whether anything falls due by then (mostly not: the
    /// due query is skipped). Later than `by`, the due query runs as usual.
    pub fn due_by(&mut self, by: crate::clock::Time) -> &mut Store {
        self.due_by = Some(crate::clock::to_millis(by));
        self
    }

    /// The next [`Store::write_tenant`]'s use case starts with `reads`
    /// (before it changes anything): on PostgreSQL they go out in the same
    /// message as BEGIN and the locks, and the use case's own calls get
    /// their answers without a round trip each. A read not made, or made
    /// after a change, runs as usual (what it would have read may have
    /// changed). SQLite reads in-process: nothing to save.
    pub fn reads_first(&mut self, reads: &[Read<'_>]) -> &mut Store {
        if matches!(self.conn, Conn::Pg(_)) {
            self.reads = reads.iter().map(Read::statement).collect();
        }
        self
    }

    /// Refuse on a read-only store: "this store is open read-only (PATH):
    /// cannot WHAT". For a use case with a side effect outside the store
    /// (the OS keyring) that must not happen first; writes are refused by
    /// [`Store::write`] itself.
    pub fn ensure_writable(&self, what: &str) -> Result<()> {
        match self.read_only {
            Some(_) => Err(read_only_error(self.path.as_deref(), what)),
            None => Ok(()),
        }
    }

    /// The refusal of a write to a read-only store.
    fn refuse_write(&mut self) -> Error {
        let what = self.doing.take().unwrap_or("change it");
        read_only_error(self.path.as_deref(), what)
    }

    fn configure(&mut self) -> Result<()> {
        let conn = self.lite()?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(64);
        // Reading the mode also proves the file is a database.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if mode != "wal" && self.path.is_some() {
            return Err(Error::new(
                ErrorCode::StoreUnavailable,
                format!("the store could not switch to WAL mode (it is in '{mode}' mode)"),
            ));
        }
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;",
        )?;
        Ok(())
    }

    fn user_version(&self) -> Result<i64> {
        Ok(self
            .lite()?
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<()> {
        let check = |v: i64| -> Result<()> {
            if v > SCHEMA_VERSION {
                return Err(schema_too_new(v));
            }
            Ok(())
        };
        check(self.user_version()?)?;
        if self.user_version()? == SCHEMA_VERSION {
            return Ok(());
        }
        let Conn::Lite(conn) = &mut self.conn else {
            return Err(Error::internal("SQLite migrations on a PostgreSQL store"));
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Re-read inside the lock: another process may have migrated meanwhile.
        let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        check(current)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            tx.execute_batch(sql)
                .map_err(|e| Error::internal(format!("migration {} failed: {e}", i + 1)))?;
            for (_, step) in RUST_MIGRATIONS.iter().filter(|(n, _)| *n == i + 1) {
                step(&tx)?;
            }
        }
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        tx.commit()?;
        tracing::info!(from = current, to = SCHEMA_VERSION, "store migrated");
        Ok(())
    }

    /// Run `f` in an IMMEDIATE transaction: commit on `Ok`, roll back on `Err`.
    /// On a read-only store it is refused ([`ErrorCode::ReadOnly`]) before
    /// anything runs: this is the one place every write passes. It waits for
    /// every other writer (on PostgreSQL: the exclusive store lock).
    pub fn write<T: Send>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T> + Send) -> Result<T> {
        self.write_in(Scope::All, f).and_then(got)
    }

    /// [`Store::write`] for a change to one tenant only (its requests and
    /// its audit chain): on PostgreSQL it holds that tenant's lock (and the
    /// store lock shared), so writes to different tenants run side by side
    /// and each tenant's chain still grows one entry at a time. Changing any
    /// other tenant in `f` is refused. On SQLite it is [`Store::write`].
    pub fn write_tenant<T: Send>(
        &mut self,
        tenant: &str,
        f: impl FnOnce(&Tx<'_>) -> Result<T> + Send,
    ) -> Result<T> {
        self.write_in(Scope::Tenant(tenant), f).and_then(got)
    }

    /// [`Store::write_tenant`] unless another connection holds the tenant's
    /// lock right now: then nothing runs and the answer is `None` (a sweep
    /// moves on to the next tenant instead of queueing behind another
    /// sweeper, as `FOR UPDATE SKIP LOCKED` does for rows).
    pub fn try_write_tenant<T: Send>(
        &mut self,
        tenant: &str,
        f: impl FnOnce(&Tx<'_>) -> Result<T> + Send,
    ) -> Result<Option<T>> {
        self.write_in(Scope::TryTenant(tenant), f)
    }

    fn write_in<T: Send>(
        &mut self,
        scope: Scope<'_>,
        f: impl FnOnce(&Tx<'_>) -> Result<T> + Send,
    ) -> Result<Option<T>> {
        match self.conn {
            // The PostgreSQL client blocks: off any thread that drives async tasks.
            Conn::Pg(_) => pg::off_runtime(|| self.write_here_in(scope, f)),
            Conn::Lite(_) => self.write_here_in(scope, f),
        }
    }

    /// [`Store::write`] on this thread, whatever it is (`f` need not be
    /// `Send`): for synchronous callers only (a CLI command).
    pub(crate) fn write_here<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.write_here_in(Scope::All, f).and_then(got)
    }

    fn write_here_in<T>(
        &mut self,
        scope: Scope<'_>,
        f: impl FnOnce(&Tx<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let due_by = self.due_by.take();
        let reads = std::mem::take(&mut self.reads);
        if self.read_only.is_some() {
            return Err(self.refuse_write());
        }
        self.doing = None;
        let conn = match &mut self.conn {
            Conn::Lite(c) => c,
            Conn::Pg(pg) => return pg.write(scope, due_by, reads, f),
        };
        // SQLite has one writer at a time: every scope is the whole store.
        let mut tx = Tx::lite(conn.transaction_with_behavior(TransactionBehavior::Immediate)?);
        tx.scope = scope.tenant().map(str::to_string);
        let out = f(&tx)?;
        tx.commit()?;
        Ok(Some(out))
    }

    /// Run `f` in a read transaction (a consistent snapshot).
    pub fn read<T: Send>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T> + Send) -> Result<T> {
        match self.conn {
            Conn::Pg(_) => pg::off_runtime(|| self.read_here(f)),
            Conn::Lite(_) => self.read_here(f),
        }
    }

    /// [`Store::read`] on this thread (see [`Store::write_here`]).
    pub(crate) fn read_here<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        self.doing = None;
        let conn = match &mut self.conn {
            Conn::Lite(c) => c,
            Conn::Pg(pg) => return pg.read(f),
        };
        let tx = Tx::lite(conn.transaction_with_behavior(TransactionBehavior::Deferred)?);
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Changes whenever another connection commits to the store (`PRAGMA
    /// data_version`; on PostgreSQL, whenever anyone commits a write).
    pub fn data_version(&mut self) -> Result<i64> {
        match &mut self.conn {
            Conn::Lite(c) => Ok(c.query_row("PRAGMA data_version", [], |r| r.get(0))?),
            Conn::Pg(pg) => pg.change_mark(),
        }
    }

    /// Marks that move whenever the store changes: rows changed through this
    /// connection, and `PRAGMA data_version` (commits by other connections);
    /// on PostgreSQL a counter every write transaction moves.
    pub fn change_marks(&mut self) -> Result<(u64, i64)> {
        match &mut self.conn {
            Conn::Lite(c) => {
                let changes = c.total_changes();
                Ok((changes, self.data_version()?))
            }
            Conn::Pg(pg) => Ok((0, pg.change_mark()?)),
        }
    }

    /// Remove `tenant`'s plaintext SMTP password (written by builds before
    /// schema 5) so that its bytes leave the file: overwritten in place
    /// (`secure_delete`), and the WAL checkpointed and truncated.
    pub fn scrub_smtp_password(&mut self, tenant: &str) -> Result<()> {
        if self.read_only.is_some() {
            return Err(self.doing("remove a stored SMTP password").refuse_write());
        }
        if let Conn::Pg(_) = self.conn {
            // A PostgreSQL store never held one (a CHECK refuses it).
            return self.write(|tx| tx.clear_smtp_password(tenant));
        }
        self.lite()?.execute_batch("PRAGMA secure_delete = ON")?;
        let out = self.write(|tx| tx.clear_smtp_password(tenant));
        self.lite()?.execute_batch("PRAGMA secure_delete = OFF")?;
        out?;
        let (busy, _, _): (i64, i64, i64) =
            self.lite()?
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
        if busy != 0 {
            tracing::warn!(
                "another process is reading the store: its WAL still holds the old page until the next checkpoint"
            );
        }
        Ok(())
    }

    /// `PRAGMA integrity_check`: "ok" or the first problems.
    pub fn integrity_check(&self) -> Result<String> {
        if let Conn::Pg(_) = self.conn {
            // The server keeps its own files consistent (WAL, checksums).
            return Ok("ok".to_string());
        }
        let mut stmt = self.lite()?.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows.join("; "))
    }
}

fn schema_too_new(v: i64) -> Error {
    Error::new(
        ErrorCode::SchemaTooNew,
        format!(
            "this store has schema version {v}, written by a newer Lockbox; this build \
             understands up to version {SCHEMA_VERSION}. Upgrade Lockbox to use it."
        ),
    )
}

/// "this store is open read-only (PATH): cannot WHAT".
pub(crate) fn read_only_error(path: Option<&Path>, what: &str) -> Error {
    let path = path.map_or_else(|| "in memory".to_string(), |p| p.display().to_string());
    Error::new(
        ErrorCode::ReadOnly,
        format!("this store is open read-only ({path}): cannot {what}"),
    )
}

/// A stored value the model does not accept.
pub(crate) fn bad_row(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("bad {what} in store: {e}"))
}
