//! Store faults: a full disk, a read-only store, a truncated or corrupt file
//! and a store from a newer Lockbox each give a clear error and exit code 3,
//! and nothing is half-written: the file is unchanged (or, for a full disk,
//! every acknowledged request is intact and the failed one left no trace).
//!
//! The full-disk and read-only cases need a small tmpfs (`mount`, as root);
//! where mounting is not permitted they are skipped with the reason printed.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NOW: &str = "2026-11-29T09:00:00Z";

fn cmd(db: &Path, args: &[&str]) -> Output {
    let mut c = lockbox(db, Some(NOW));
    c.args(args);
    run(c)
}

fn file_request(db: &Path) -> Output {
    cmd(
        db,
        &[
            "request",
            "new",
            "--engineer",
            "eng",
            "--case",
            "SR-1",
            "--workload",
            "Teams",
            "--resource",
            "team",
            "--reason",
            "faults",
        ],
    )
}

/// A store with a few requests (and audit entries), closed cleanly.
fn populated(db: &Path, n: usize) {
    for _ in 0..n {
        let o = file_request(db);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(verify_at(db, Some(NOW)).0, 0);
}

fn request_count(db: &Path) -> usize {
    load(db).len()
}

/// Exit code 3 and an `error (store_unavailable|schema_too_new|read_only): ...`
/// line that names the store.
fn assert_store_error(o: &Output, what: &str, expect_in_message: &[&str]) -> String {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{what}: exit {:?}, stderr {err}",
        o.status.code()
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with("error (store_unavailable)")
                || l.starts_with("error (schema_too_new)")
                || l.starts_with("error (read_only)")),
        "{what}: {err}"
    );
    let lower = err.to_lowercase();
    assert!(
        expect_in_message.iter().any(|w| lower.contains(w)),
        "{what}: the message should say one of {expect_in_message:?}: {err}"
    );
    assert!(!err.contains("panicked"), "{what}: {err}");
    println!("{what}: {}", err.trim());
    err
}

fn bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

/// A small tmpfs, unmounted on drop.
struct TmpFs {
    dir: tempfile::TempDir,
}

impl TmpFs {
    fn mount(size: &str) -> Result<TmpFs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !o.status.success() {
            return Err(format!(
                "mount -t tmpfs failed (needs root / CAP_SYS_ADMIN): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Ok(TmpFs { dir })
    }
    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
    fn remount(&self, opts: &str) {
        let o = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(self.dir.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

impl Drop for TmpFs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fill the file system holding `dir` (returns the filler's path).
fn fill(dir: &Path) -> PathBuf {
    let p = dir.join("filler");
    let mut f = std::fs::File::create(&p).unwrap();
    let chunk = vec![0xA5u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    p
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_every_acknowledged_write() {
    let fs = TmpFs::mount("1200k").unwrap_or_else(|why| {
        panic!("the full-disk test needs a small tmpfs of its own (mounting one needs root): {why}")
    });
    let db = fs.path().join("lockbox.db");
    populated(&db, 3);
    let mut acked = 3;
    let filler = fill(&fs.path());
    // No space at all: every write fails, cleanly.
    for i in 0..3 {
        let o = file_request(&db);
        if o.status.success() {
            acked += 1; // the WAL may still have had room
            continue;
        }
        assert_store_error(
            &o,
            &format!("full disk, write {i}"),
            &["full", "disk", "i/o"],
        );
    }
    // A little space: writes succeed until they don't; each failure is clean.
    let len = std::fs::metadata(&filler).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(len.saturating_sub(48 * 1024))
        .unwrap();
    let mut failed = 0;
    for _ in 0..200 {
        let o = file_request(&db);
        if o.status.success() {
            acked += 1;
        } else {
            assert_store_error(&o, "nearly full disk", &["full", "disk", "i/o"]);
            failed += 1;
            if failed == 3 {
                break;
            }
        }
    }
    assert!(failed > 0, "the disk never filled up");
    // Space again: the store is intact, holds exactly the acknowledged requests.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(integrity(&db), "ok");
    let (code, v) = verify_at(&db, Some(NOW));
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        request_count(&db),
        acked,
        "a failed write left a request behind"
    );
    assert!(check_store(&db).is_empty(), "{:?}", check_store(&db));
    let o = file_request(&db);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn writable(p: &Path) -> bool {
    std::fs::OpenOptions::new().append(true).open(p).is_ok()
}

#[test]
fn a_read_only_store_gives_a_clear_error_and_is_not_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("lockbox.db");
    populated(&db, 2);
    let mut perms = std::fs::metadata(&db).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o444);
    std::fs::set_permissions(&db, perms).unwrap();
    // chmod for ordinary users; root ignores file modes, so there the store
    // lives on a tmpfs remounted read-only.
    let (_mount, db) = if !writable(&db) {
        (None, db)
    } else {
        // Running as root: use a read-only mount instead.
        let fs = TmpFs::mount("4m").unwrap_or_else(|why| {
            panic!("running as root (file modes are ignored), the read-only test needs a tmpfs it can remount read-only: {why}")
        });
        let db = fs.path().join("lockbox.db");
        populated(&db, 2);
        fs.remount("ro");
        assert!(!writable(&db));
        (Some(fs), db)
    };
    let before = bytes(&db);
    let o = file_request(&db);
    let err = assert_store_error(&o, "read-only store, write", &["open read-only"]);
    assert!(
        err.contains("error (read_only)") && err.contains("cannot file a request"),
        "{err}"
    );
    // A store nobody may write is opened read-only: it is read.
    let o = cmd(&db, &["request", "list"]);
    assert!(o.status.success(), "read-only store, read: {}", stderr(&o));
    assert!(
        stderr(&o).contains("is not writable; opened read-only"),
        "{}",
        stderr(&o)
    );
    assert_eq!(bytes(&db), before, "the read-only store changed");
}

#[test]
fn a_truncated_store_gives_a_clear_error_and_is_not_written() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("lockbox.db");
    populated(&db, 60);
    let len = std::fs::metadata(&db).unwrap().len();
    for cut in [len / 2, len - 4096, 4096] {
        let t = tmp.path().join("truncated.db");
        std::fs::copy(&db, &t).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&t)
            .unwrap()
            .set_len(cut)
            .unwrap();
        let before = bytes(&t);
        for args in [vec!["audit", "verify"], vec!["request", "list"]] {
            let o = cmd(&t, &args);
            if args[0] == "request" && o.status.success() {
                continue; // the pages a listing needs may have survived
            }
            assert_store_error(
                &o,
                &format!("truncated to {cut} of {len} bytes, {args:?}"),
                &["malformed", "not a usable", "corrupt", "not a database"],
            );
        }
        let o = file_request(&t);
        assert_store_error(
            &o,
            &format!("truncated to {cut} of {len} bytes, write"),
            &["malformed", "not a usable", "corrupt", "not a database"],
        );
        assert_eq!(
            bytes(&t),
            before,
            "a failed command wrote to the truncated store"
        );
    }
}

#[test]
fn a_corrupt_store_gives_a_clear_error_and_is_not_written() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("lockbox.db");
    populated(&db, 60);
    let c = rusqlite::Connection::open(&db).unwrap();
    let page_size: usize = c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
    let root = |t: &str| -> usize {
        c.query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = ?1",
            [t],
            |r| r.get(0),
        )
        .unwrap()
    };
    let (audit_root, requests_root) = (root("audit_log"), root("requests"));
    drop(c);
    let mut rng = fastrand::Rng::with_seed(11);
    let garble = |page: usize, rng: &mut fastrand::Rng| {
        let mut b = bytes(&db);
        for x in &mut b[(page - 1) * page_size..page * page_size] {
            *x = rng.u8(..);
        }
        b
    };
    let mut header = bytes(&db);
    header[..16].copy_from_slice(b"Not a database!\0");
    // (what, content, commands that must fail with exit 3)
    type Case<'a> = (&'a str, Vec<u8>, Vec<Vec<&'a str>>);
    let cases: Vec<Case> = vec![
        (
            "garbage header",
            header,
            vec![vec!["audit", "verify"], vec!["request", "list"]],
        ),
        (
            "garbage audit_log root page",
            garble(audit_root, &mut rng),
            vec![vec!["audit", "verify"]],
        ),
        (
            "garbage requests root page",
            garble(requests_root, &mut rng),
            vec![vec!["request", "list"]],
        ),
    ];
    for (what, content, reads) in cases {
        let t = tmp.path().join("corrupt.db");
        std::fs::write(&t, &content).unwrap();
        for args in reads {
            let o = cmd(&t, &args);
            assert_store_error(
                &o,
                &format!("{what}, {args:?}"),
                &["malformed", "not a usable", "corrupt", "not a database"],
            );
        }
        let o = file_request(&t);
        assert_store_error(
            &o,
            &format!("{what}, write"),
            &["malformed", "not a usable", "corrupt", "not a database"],
        );
        assert_eq!(
            bytes(&t),
            content,
            "{what}: a failed command wrote to the store"
        );
    }
}

#[test]
fn a_store_from_a_newer_lockbox_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("lockbox.db");
    populated(&db, 2);
    let newer = lockbox_core::store::SCHEMA_VERSION + 1;
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(&format!("PRAGMA user_version = {newer}"))
        .unwrap();
    drop(c);
    let before = bytes(&db);
    for args in [
        vec!["request", "list"],
        vec!["audit", "verify"],
        vec![
            "request",
            "new",
            "--engineer",
            "e",
            "--case",
            "c",
            "--workload",
            "w",
            "--resource",
            "r",
            "--reason",
            "x",
        ],
    ] {
        let o = cmd(&db, &args);
        let err = assert_store_error(&o, &format!("newer store, {args:?}"), &["newer lockbox"]);
        assert!(err.starts_with("error (schema_too_new)"), "{err}");
        assert!(err.contains(&format!("schema version {newer}")), "{err}");
    }
    assert_eq!(bytes(&db), before, "the newer store was modified");
}
