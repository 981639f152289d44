//! The store's files are private: a folder Lockbox creates is 0700; the
//! store, its `-wal` and `-shm` are 0600 from the first write on; an existing
//! store's looser files are tightened when it is opened.

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use lockbox_core::model::NewRequest;
use lockbox_core::store::store_files;
use lockbox_core::{Engine, ManualClock};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

/// The permission bits, in octal as `ls` shows them.
fn mode(p: &Path) -> String {
    let m = std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode();
    format!("{:o}", m & 0o777)
}

fn open(db: &Path) -> Engine {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap());
    Engine::open(db, Arc::new(clock), "root").unwrap()
}

fn write_something(e: &mut Engine) {
    e.file_request(
        "default",
        &NewRequest {
            engineer: "eng".into(),
            case: "SR-1".into(),
            workload: "Teams".into(),
            resource: "team".into(),
            reason: "r".into(),
            duration_s: None,
        },
    )
    .unwrap();
}

#[test]
fn a_new_store_and_its_folder_are_private_after_writes() {
    let tmp = tempfile::tempdir().unwrap();
    // The usual umask (022) would make new files 0644 and folders 0755.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = tmp.path().join("data").join("lockbox");
    let db = data.join("lockbox.db");
    let mut e = open(&db);
    write_something(&mut e);
    let [file, wal, shm] = store_files(&db);
    assert!(
        wal.exists() && shm.exists(),
        "WAL mode: -wal and -shm exist while open"
    );
    for f in [&file, &wal, &shm] {
        assert_eq!(mode(f), "600", "{}", f.display());
    }
    for d in [&data, &tmp.path().join("data")] {
        assert_eq!(mode(d), "700", "{}", d.display());
    }
    assert_eq!(
        mode(tmp.path()),
        "755",
        "an existing folder is left as it is"
    );
    assert_eq!(
        mode(&lockbox_core::receipts::key_path_for(&db)),
        "600",
        "the receipt key"
    );
}

#[test]
fn an_existing_store_with_loose_modes_is_tightened_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("lockbox.db");
    let mut e = open(&db);
    write_something(&mut e);
    // Loosen everything while another connection has it open (so -wal/-shm exist).
    for f in store_files(&db) {
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o664)).unwrap();
    }
    let mut again = open(&db);
    write_something(&mut again);
    for f in store_files(&db) {
        assert_eq!(mode(&f), "600", "{}", f.display());
    }
    drop(e);
}
