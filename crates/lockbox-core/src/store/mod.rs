//! The SQLite store. All SQL lives under this module, behind [`Store`] and
//! [`Tx`]: the engine never writes SQL itself (a PostgreSQL backend is planned).
//!
//! - WAL, `foreign_keys=ON`, `synchronous=FULL`, a busy timeout.
//! - Numbered migrations embedded in the binary, applied in one transaction,
//!   guarded by `PRAGMA user_version` (a newer store is refused).
//! - Writes use `BEGIN IMMEDIATE` so that concurrent writers serialize and
//!   every write re-reads the state it changes.

mod audit_log;
mod checkpoints;
mod consistency;
mod directory;
mod notices;
mod provider;
mod rechain;
mod requests;
mod verify;

pub use audit_log::{AuditQuery, AuditTail};
pub use checkpoints::CheckpointRow;
pub use consistency::Consistency;
pub use notices::{NoticeRow, Outcome};
pub use provider::{DeliveryRow, ReceiptRow, SmtpRow, TokenRow, RECEIPT_KEY_ID};
pub use requests::{RequestQuery, RequestSort};

use crate::{Error, ErrorCode, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Migrations, in order; migration N (1-based) brings the store to user_version N.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_notice_deliveries.sql"),
    include_str!("migrations/0003_api_receipts_email.sql"),
    include_str!("migrations/0004_audit_late.sql"),
    include_str!("migrations/0005_smtp_password_out.sql"),
    include_str!("migrations/0006_audit_lifecycle.sql"),
    include_str!("migrations/0007_audit_per_tenant.sql"),
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
    conn: Connection,
    path: Option<PathBuf>,
}

/// A transaction on the store; typed methods only.
pub struct Tx<'c> {
    tx: rusqlite::Transaction<'c>,
}

impl Store {
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
            conn,
            path: Some(path.to_path_buf()),
        };
        store.configure().map_err(|e| with_path(path, e))?;
        store.migrate().map_err(|e| with_path(path, e))?;
        Ok(store)
    }

    /// A private in-memory store (tests).
    pub fn open_in_memory() -> Result<Store> {
        let mut store = Store {
            conn: Connection::open_in_memory()?,
            path: None,
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn configure(&mut self) -> Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // Reading the mode also proves the file is a database.
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if mode != "wal" && self.path.is_some() {
            return Err(Error::new(
                ErrorCode::StoreUnavailable,
                format!("the store could not switch to WAL mode (it is in '{mode}' mode)"),
            ));
        }
        self.conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;",
        )?;
        Ok(())
    }

    fn user_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<()> {
        let check = |v: i64| -> Result<()> {
            if v > SCHEMA_VERSION {
                return Err(Error::new(
                    ErrorCode::SchemaTooNew,
                    format!(
                        "this store has schema version {v}, written by a newer Lockbox; this build \
                         understands up to version {SCHEMA_VERSION}. Upgrade Lockbox to use it."
                    ),
                ));
            }
            Ok(())
        };
        check(self.user_version()?)?;
        if self.user_version()? == SCHEMA_VERSION {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
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
    pub fn write<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let tx = Tx {
            tx: self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?,
        };
        let out = f(&tx)?;
        tx.tx.commit()?;
        Ok(out)
    }

    /// Run `f` in a read transaction (a consistent snapshot).
    pub fn read<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let tx = Tx {
            tx: self
                .conn
                .transaction_with_behavior(TransactionBehavior::Deferred)?,
        };
        let out = f(&tx)?;
        tx.tx.commit()?;
        Ok(out)
    }

    /// Changes whenever another connection commits to the store (`PRAGMA data_version`).
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Marks that move whenever the store changes: rows changed through this
    /// connection, and `PRAGMA data_version` (commits by other connections).
    pub fn change_marks(&self) -> Result<(u64, i64)> {
        Ok((self.conn.total_changes(), self.data_version()?))
    }

    /// Remove `tenant`'s plaintext SMTP password (written by builds before
    /// schema 5) so that its bytes leave the file: overwritten in place
    /// (`secure_delete`), and the WAL checkpointed and truncated.
    pub fn scrub_smtp_password(&mut self, tenant: &str) -> Result<()> {
        self.conn.execute_batch("PRAGMA secure_delete = ON")?;
        let out = self.write(|tx| tx.clear_smtp_password(tenant));
        self.conn.execute_batch("PRAGMA secure_delete = OFF")?;
        out?;
        let (busy, _, _): (i64, i64, i64) =
            self.conn
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
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows.join("; "))
    }
}

/// Create `dir` (and missing parents) with mode 0700; an existing folder is left as it is.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// The store's files: the database, its WAL and shared-memory index.
pub fn store_files(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut s = path.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [path.to_path_buf(), with("-wal"), with("-shm")]
}

/// Create the store file 0600 if it is missing (SQLite gives `-wal` and
/// `-shm` the database's mode), and tighten any of the store's files that
/// group or others may use.
fn private_files(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if std::fs::symlink_metadata(path).is_err() {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(_) => {}
                // Another process created it meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        for f in store_files(path) {
            let mode = match std::fs::metadata(&f) {
                Ok(m) => m.permissions().mode(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if mode & 0o077 != 0 {
                let (was, now) = (mode & 0o777, mode & 0o700);
                match std::fs::set_permissions(&f, std::fs::Permissions::from_mode(now)) {
                    Ok(()) => tracing::warn!(
                        file = %f.display(),
                        "the store file had mode {was:o}: group or others could use it; tightened to {now:o}"
                    ),
                    // A read-only file system: nothing can change it, including its modes.
                    Err(e) => tracing::warn!(
                        file = %f.display(),
                        "the store file has mode {was:o} (group or others can use it) and could not be tightened: {e}"
                    ),
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn store_err(path: &Path, e: rusqlite::Error) -> Error {
    with_path(path, Error::from(e))
}

fn with_path(path: &Path, e: Error) -> Error {
    if e.code == ErrorCode::StoreUnavailable || e.code == ErrorCode::Internal {
        Error::new(
            ErrorCode::StoreUnavailable,
            format!("store {}: {}", path.display(), e.message),
        )
    } else {
        e
    }
}

/// Fold a rusqlite row-mapping error into our error type.
pub(crate) fn bad_row(what: &str, e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad {what} in store: {e}").into(),
    )
}
