//! What a SQLite failure means to the caller: the store's errors as
//! Lockbox errors (busy, corrupt, read-only, full disk, I/O).

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
