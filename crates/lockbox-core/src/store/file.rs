//! The SQLite store's files: how a copy is opened read-only (without
//! writing a byte or creating a file), the files' modes, and errors that
//! name the file.

use super::BUSY_TIMEOUT;
use crate::{Error, ErrorCode, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// How a store opened read-only is reached: the same way for its own
/// connection and for `verify_audit`'s worker connections, so that none of
/// them writes to the store's files or creates one.
#[derive(Debug, Clone)]
pub(crate) struct ReadOnlyAccess {
    /// A `file:` URI with `mode=ro`, and `immutable=1` or `vfs=unix-none`.
    uri: PathBuf,
    /// The WAL is read through an index in this connection's memory instead
    /// of the `-shm` file: `PRAGMA locking_mode = EXCLUSIVE` on a VFS without
    /// locks (only when no `-shm` exists, i.e. no process has the store open).
    private_wal: bool,
}

impl ReadOnlyAccess {
    /// Choose how to open `path` read-only, from the files beside it.
    ///
    /// - No WAL, or an empty one and no `-shm`: `immutable=1`. SQLite then
    ///   takes no locks and creates no `-wal`/`-shm`; it reads the database
    ///   file alone, which holds everything (nothing is in a WAL).
    /// - A WAL and a `-shm` (a store that a process has open, or a copy of
    ///   all three files): `mode=ro`, sharing the WAL index with any writer,
    ///   as an ordinary reader.
    /// - A non-empty WAL without `-shm` (a copy of a live store without its
    ///   index): the WAL's commits are read through a private in-memory index
    ///   (`vfs=unix-none` and exclusive locking mode), so no `-shm` is needed.
    ///   Without a `-shm` no process has the store open, so no lock is missed.
    pub(super) fn choose(path: &Path) -> Result<ReadOnlyAccess> {
        let [db, wal, shm] = store_files(path);
        match std::fs::metadata(&db) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("{} is not a store file", db.display()),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("there is no store at {}", db.display()),
                ))
            }
            Err(e) => {
                return Err(Error::new(
                    ErrorCode::StoreUnavailable,
                    format!("cannot open the store {}: {e}", db.display()),
                ))
            }
        }
        let wal_len = std::fs::metadata(&wal).ok().map(|m| m.len());
        let has_shm = std::fs::symlink_metadata(&shm).is_ok();
        let (query, private_wal) = match wal_len {
            Some(_) if has_shm => ("mode=ro", false),
            Some(n) if n > 0 => ("mode=ro&vfs=unix-none", true),
            _ => ("mode=ro&immutable=1", false),
        };
        Ok(ReadOnlyAccess {
            uri: file_uri(path, query)?,
            private_wal,
        })
    }

    /// A new read-only connection.
    pub(crate) fn connect(&self) -> rusqlite::Result<Connection> {
        let c = Connection::open_with_flags(
            &self.uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(BUSY_TIMEOUT)?;
        if self.private_wal {
            c.execute_batch("PRAGMA locking_mode = EXCLUSIVE")?;
        }
        c.execute_batch("PRAGMA query_only = ON; PRAGMA temp_store = MEMORY;")?;
        Ok(c)
    }
}

/// `file:` URI of `path` with `query`: absolute (so that `//` cannot start
/// an authority), with the characters a URI gives meaning to escaped.
fn file_uri(path: &Path, query: &str) -> Result<PathBuf> {
    let abs = std::path::absolute(path).map_err(|e| {
        Error::new(
            ErrorCode::StoreUnavailable,
            format!("cannot open the store {}: {e}", path.display()),
        )
    })?;
    let mut uri = b"file://".to_vec();
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(abs.as_os_str()).to_vec();
    #[cfg(not(unix))]
    let bytes = format!("/{}", abs.to_string_lossy().replace('\\', "/")).into_bytes();
    for b in bytes {
        match b {
            b'%' | b'?' | b'#' => uri.extend_from_slice(format!("%{b:02X}").as_bytes()),
            _ => uri.push(b),
        }
    }
    uri.push(b'?');
    uri.extend_from_slice(query.as_bytes());
    #[cfg(unix)]
    let uri = PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(uri));
    #[cfg(not(unix))]
    let uri = PathBuf::from(String::from_utf8_lossy(&uri).into_owned());
    Ok(uri)
}

/// Create `dir` (and missing parents) with mode 0700; an existing folder is left as it is.
pub(super) fn private_dir(dir: &Path) -> std::io::Result<()> {
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

/// May the calling process write the store at `path`: the file, and its
/// folder (where SQLite creates the `-wal` and `-shm` files)? Asked with
/// access(2) for the real user, not read from mode bits (root may write a
/// 0444 file; a read-only mount refuses everyone). `None` if there is no
/// store file there: opening it creates it (or says why it cannot).
pub fn store_writable(path: &Path) -> Option<bool> {
    #[cfg(unix)]
    {
        use nix::errno::Errno;
        use nix::unistd::{access, AccessFlags};
        if !path.is_file() {
            return None;
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let denied = |p: &Path| {
            matches!(
                access(p, AccessFlags::W_OK),
                Err(Errno::EACCES | Errno::EROFS | Errno::EPERM)
            )
        };
        Some(!denied(path) && !denied(dir))
    }
    #[cfg(not(unix))]
    {
        let m = std::fs::metadata(path).ok()?;
        Some(!m.permissions().readonly())
    }
}

/// Create the store file 0600 if it is missing (SQLite gives `-wal` and
/// `-shm` the database's mode), and tighten any of the store's files that
/// group or others may use.
pub(super) fn private_files(path: &Path) -> std::io::Result<()> {
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

/// Why a read-only opening failed, and what to do about a WAL SQLite could not read.
pub(super) fn cannot_read(path: &Path, access: &ReadOnlyAccess, e: rusqlite::Error) -> Error {
    let e = Error::from(e);
    Error::new(
        ErrorCode::StoreUnavailable,
        format!(
            "cannot open the store {} read-only: {}{}",
            path.display(),
            e.message,
            wal_hint(path, access)
        ),
    )
}

/// For a store with a WAL: the ways to a copy that opens read-only.
pub(super) fn wal_hint(path: &Path, access: &ReadOnlyAccess) -> String {
    let [_, wal, _] = store_files(path);
    if !wal.exists() || access.uri.to_string_lossy().contains("immutable=1") {
        return String::new();
    }
    format!(
        ". Its write-ahead log {} holds recent changes that must be read with it: copy the \
         store where it is written after checkpointing it (open it once with lockbox and close \
         it: the last process to close a store folds the log into the file), or copy the store \
         together with its -wal and -shm files, readable by you",
        wal.display()
    )
}

pub(super) fn store_err(path: &Path, e: rusqlite::Error) -> Error {
    with_path(path, Error::from(e))
}

pub(super) fn with_path(path: &Path, e: Error) -> Error {
    if e.code == ErrorCode::StoreUnavailable || e.code == ErrorCode::Internal {
        Error::new(
            ErrorCode::StoreUnavailable,
            format!("store {}: {}", path.display(), e.message),
        )
    } else {
        e
    }
}
