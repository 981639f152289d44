//! Commits by other processes (the CLI, `lockbox serve`), noticed without
//! polling: inotify on the store's folder wakes the change feed when the store
//! file or its WAL is written; the feed then compares `PRAGMA data_version`.
//!
//! A commit writes the WAL (an inotify event) and then publishes itself in the
//! shared-memory index (no event: it is a memory write). A look right after the
//! event can still see the old version, so each burst of events is followed by
//! looks at [`SETTLE`] intervals; and the feed still looks every
//! [`FALLBACK`] in case a notice was ever missed (or inotify is unavailable).

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use std::ffi::OsString;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// The feed's look without any notice: a safety net, not the way changes are found.
pub const FALLBACK: Duration = Duration::from_secs(30);
/// After a burst of writes: look again this long after it, twice.
pub const SETTLE: Duration = Duration::from_millis(100);

/// Watches the folder of `db` on a thread of its own and wakes `wake` for every
/// burst of writes to `db`, `db-wal` or `db-journal` (and again [`SETTLE`] and
/// 2×[`SETTLE`] later). Err when inotify cannot watch the folder: then only the
/// [`FALLBACK`] look finds other processes' commits.
pub fn spawn(db: &Path, wake: Arc<Notify>) -> std::io::Result<()> {
    let dir = match db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name: OsString = db
        .file_name()
        .ok_or_else(|| std::io::Error::other("the store path has no file name"))?
        .to_os_string();
    let fd = inotify::init(CreateFlags::CLOEXEC)?;
    let mask =
        WatchFlags::MODIFY | WatchFlags::CLOSE_WRITE | WatchFlags::MOVED_TO | WatchFlags::CREATE;
    inotify::add_watch(&fd, &dir, mask)?;
    std::thread::Builder::new()
        .name("lockbox-store-watch".into())
        .spawn(move || {
            let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
            loop {
                // Blocks until the folder changes: no wake-ups while idle. Then
                // reads what else is already queued, so a burst is one wake.
                let mut hit = false;
                let mut reader = inotify::Reader::new(&fd, &mut buf);
                loop {
                    match reader.next() {
                        Ok(ev) => {
                            hit |= ev.events().contains(ReadFlags::QUEUE_OVERFLOW)
                                || ev
                                    .file_name()
                                    .is_some_and(|f| is_store_file(f.to_bytes(), name.as_bytes()));
                        }
                        Err(rustix::io::Errno::INTR) => {}
                        Err(e) => return tracing::warn!("store watch stopped: {e}"),
                    }
                    if reader.is_buffer_empty() {
                        break;
                    }
                }
                if hit {
                    wake.notify_one();
                    for _ in 0..2 {
                        std::thread::sleep(SETTLE);
                        wake.notify_one();
                    }
                }
            }
        })?;
    Ok(())
}

/// `db`, `db-wal`, `db-journal` (not `db-shm`: written through memory, and by every reader).
fn is_store_file(file: &[u8], db: &[u8]) -> bool {
    file.strip_prefix(db)
        .is_some_and(|rest| rest.is_empty() || rest == b"-wal" || rest == b"-journal")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_store_and_its_journals_count() {
        let db = b"lockbox.db";
        assert!(is_store_file(b"lockbox.db", db));
        assert!(is_store_file(b"lockbox.db-wal", db));
        assert!(is_store_file(b"lockbox.db-journal", db));
        assert!(!is_store_file(b"lockbox.db-shm", db));
        assert!(!is_store_file(b"app-prefs.json", db));
        assert!(!is_store_file(b"lockbox.db.bak", db));
    }

    #[tokio::test]
    async fn a_write_to_the_wal_wakes_the_feed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("lockbox.db");
        std::fs::write(&db, b"").unwrap();
        let wake = Arc::new(Notify::new());
        spawn(&db, wake.clone()).unwrap();
        std::fs::write(dir.path().join("other.txt"), b"x").unwrap();
        let quiet = tokio::time::timeout(Duration::from_millis(300), wake.notified()).await;
        assert!(quiet.is_err(), "another file in the folder woke the feed");
        std::fs::write(dir.path().join("lockbox.db-wal"), b"frames").unwrap();
        tokio::time::timeout(Duration::from_secs(5), wake.notified())
            .await
            .expect("a WAL write did not wake the feed");
    }
}
