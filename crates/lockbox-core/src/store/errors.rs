//! What a store failure means to the caller: SQLite's and PostgreSQL's errors
//! as Lockbox errors (busy, corrupt, read-only, unreachable, full disk, I/O).

use crate::{Error, ErrorCode};

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode as C;
        match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                C::DatabaseBusy | C::DatabaseLocked => Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("the store is busy (another process held a lock too long): {e}"),
                ),
                C::NotADatabase | C::DatabaseCorrupt => Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("the store file is not a usable Lockbox database: {e}"),
                ),
                C::ReadOnly | C::CannotOpen | C::PermissionDenied => Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("the store cannot be written or opened: {e}"),
                ),
                C::DiskFull => Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("the disk holding the store is full: {e}"),
                ),
                C::SystemIoFailure => Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("store I/O failed (is the disk full or failing?): {e}"),
                ),
                _ => Error::internal(format!("store error: {e}")),
            },
            _ => Error::internal(format!("store error: {e}")),
        }
    }
}

/// What a PostgreSQL failure means to the caller (SQLSTATE classes).
pub(crate) fn pg_error(e: tokio_postgres::Error) -> Error {
    let Some(db) = e.as_db_error() else {
        // No server answer: the connection failed or was lost.
        return Error::new(
            ErrorCode::StoreUnavailable,
            format!("the PostgreSQL store cannot be reached: {e}"),
        );
    };
    let code = db.code().code();
    let msg = format!("{}: {} (SQLSTATE {code})", db.severity(), db.message());
    match &code[..2] {
        // Connection, operator intervention (shutdown), insufficient resources,
        // authorization, a missing database, serialization failure or deadlock.
        "08" | "57" | "53" | "28" | "3D" | "40" => Error::new(
            ErrorCode::StoreUnavailable,
            format!("the PostgreSQL store is unavailable: {msg}"),
        ),
        "25" if code == "25006" => Error::new(
            ErrorCode::StoreUnavailable,
            format!("the PostgreSQL store is read-only (a standby?): {msg}"),
        ),
        _ => Error::internal(format!("store error: {msg}")),
    }
}
