//! Archive mode through Tauri's mock runtime: a copy of a store opened with
//! `lockbox_app::archive::open` (read-only), behind the same handler list as
//! the app. What the banner reads, the verification, reads that work, and
//! every write refused with `read_only` — by the engine, or by the shell for
//! what lies outside it (preferences, keyring, email) — with the file unchanged.

#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use lockbox_core::{Engine, ManualClock, Principal};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod common;

fn clock() -> Arc<ManualClock> {
    // A fixed instant: nothing here depends on the real date.
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 29, 9, 0, 0).unwrap(),
    ))
}

/// A live store with two pending requests and an approved one, then a copy of
/// its files (database and WAL, not the receipt key) in another folder, as an
/// auditor gets it. Returns (live engine, copy path, pending ids).
fn store_and_copy(dir: &Path) -> (Engine, PathBuf, Vec<String>) {
    let live = dir.join("live").join("lockbox.db");
    std::fs::create_dir_all(live.parent().unwrap()).unwrap();
    let mut engine = Engine::open(&live, clock(), "root").unwrap();
    let (ids, _approved) = common::three_requests(&mut engine);
    let copy = dir.join("auditor").join("contoso-archive.db");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(&live, &copy).unwrap();
    let wal = PathBuf::from(format!("{}-wal", live.display()));
    if wal.exists() {
        std::fs::copy(&wal, format!("{}-wal", copy.display())).unwrap();
    }
    (engine, copy, ids)
}

type ArchiveWindow = common::Window;

fn app_with(state: lockbox_app::state::AppState) -> ArchiveWindow {
    common::Window::new(state)
}

fn open_archive(copy: &Path) -> ArchiveWindow {
    let (engine, archive) = lockbox_app::archive::open(copy, clock()).unwrap();
    assert!(engine.is_read_only());
    // An auditor who is no member of the archive's tenants.
    let state = lockbox_app::state::AppState::for_archive(
        engine,
        Principal::os_user("auditor", 4242),
        archive,
    );
    app_with(state)
}

fn files_of(copy: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(copy.parent().unwrap())
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn the_session_carries_the_archive_and_every_tenant_and_verification_answers_when_done() {
    let dir = tempfile::tempdir().unwrap();
    let (mut live, copy, _) = store_and_copy(dir.path());
    let (entries, head) = live.audit_head("default").unwrap();
    let w = open_archive(&copy);

    let s = w.ok("session", json!({}));
    assert_eq!(s["user"], "auditor");
    assert_eq!(s["role"], Value::Null, "no role in an archive");
    let tenants: Vec<_> = s["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(
        tenants,
        [json!("default")],
        "every tenant, though the auditor is no member"
    );
    let a = &s["archive"];
    assert_eq!(a["file_name"], "contoso-archive.db");
    assert_eq!(
        a["path"],
        std::fs::canonicalize(&copy).unwrap().display().to_string()
    );
    assert_eq!(a["entries"], json!(entries));
    assert_eq!(a["head_hash"], json!(head));
    assert_eq!(a["newest_at"], "2026-11-29T09:00:00Z");
    // The engine signed a checkpoint of the chain when the store was opened.
    let cp = a["checkpoint"].as_str().unwrap();
    assert!(
        cp.starts_with(&format!(
            "Signed checkpoint of default: entries 1–{entries} as of"
        )) && cp.ends_with(" hold"),
        "{cp}"
    );

    let b = w.ok("boot", json!({"tenant": null, "requests": null}));
    assert_eq!(b["session"], s);
    assert_eq!(b["tenant"], "default");

    // The verification starts once the first page is on screen.
    w.ok("ui_ready", json!({"page": "audit"}));
    let t = std::time::Instant::now();
    let v = w.ok("archive_verify", json!({}));
    assert!(
        t.elapsed() < lockbox_app::archive::START_AT_THE_LATEST,
        "it did not wait for the fallback start"
    );
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["entries"], json!(entries));
    assert_eq!(v["chains"][0]["head_hash"], json!(head));
    assert_eq!(v["requests"], 3);
    // Asked again (the banner remounts): the same outcome, not a second run.
    assert_eq!(w.ok("archive_verify", json!({})), v);
}

#[test]
fn reads_work_and_every_write_is_refused_read_only_with_the_file_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let (_live, copy, pending) = store_and_copy(dir.path());
    let before = files_of(&copy);
    let w = open_archive(&copy);

    let page = w.ok(
        "query_audit",
        json!({"tenant": "default", "query": {"since": null, "until": null, "request_id": null,
            "actor": null, "operation": null, "text": null, "before_seq": null, "limit": 50}}),
    );
    assert!(page["items"].as_array().unwrap().len() > 5);
    let list = w.ok(
        "list_requests",
        json!({"tenant": "default", "query": {"states": null, "search": null, "sort": "newest", "cursor": null, "limit": 20}}),
    );
    assert_eq!(list["total"], 3);
    let r = w.ok(
        "get_request",
        json!({"tenant": "default", "id": pending[0]}),
    );
    assert_eq!(r["state"], "pending");

    // The engine refuses its writes…
    let msg = w.err(
        "approve_request",
        json!({"tenant": "default", "id": pending[0], "comment": null, "durationS": null}),
        "read_only",
    );
    assert!(
        msg.contains("read-only") || msg.contains("read only"),
        "{msg}"
    );
    w.err(
        "reject_request",
        json!({"tenant": "default", "id": pending[1], "comment": null}),
        "read_only",
    );
    let mut s = w.ok("get_settings", json!({"tenant": "default"}));
    s["lockbox_enabled"] = json!(false);
    w.err(
        "update_settings",
        json!({"tenant": "default", "settings": s}),
        "read_only",
    );
    w.err(
        "add_user",
        json!({"tenant": "default", "name": "mallory", "role": "admin", "email": null}),
        "read_only",
    );
    w.err(
        "issue_token",
        json!({"tenant": "default", "name": "x", "expiresS": null}),
        "read_only",
    );
    // …and the shell what lies outside the engine: preferences (and
    // autostart), the keyring, email.
    w.err(
        "set_prefs",
        json!({"prefs": {"notifications_enabled": false, "start_at_login": true}}),
        "read_only",
    );
    w.err(
        "set_smtp",
        json!({"tenant": "default", "smtp": {"host": "smtp.example", "port": 587, "security": "starttls",
            "username": "u", "password": "secret", "from_address": "lockbox@example.com"}}),
        "read_only",
    );
    w.err(
        "test_smtp",
        json!({"tenant": "default", "to": "a@example.com"}),
        "read_only",
    );
    assert_eq!(
        w.ok("get_prefs", json!({})),
        json!({"notifications_enabled": true, "start_at_login": false})
    );
    drop(w);
    assert_eq!(
        files_of(&copy),
        before,
        "not a byte written, no file created beside the archive"
    );
}

#[test]
fn a_window_without_an_archive_has_no_archive_verification() {
    let dir = tempfile::tempdir().unwrap();
    let (live, _copy, _) = store_and_copy(dir.path());
    let state = lockbox_app::state::AppState::new(
        live,
        Principal::os_user("root", 0),
        dir.path().join("app-prefs.json"),
    );
    let w = app_with(state);
    assert!(w.ok("session", json!({})).get("archive").is_none());
    w.err("archive_verify", json!({}), "invalid_input");
}

#[test]
fn opening_refuses_what_is_not_a_store_before_starting_a_process() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("notes.db");
    std::fs::write(
        &junk,
        "not a database, just text that is long enough to look like one\n".repeat(100),
    )
    .unwrap();
    let true_bin = Path::new("/bin/true");
    let e = lockbox_app::archive::spawn_with(true_bin, &junk).unwrap_err();
    assert_eq!(e.code, lockbox_core::ErrorCode::StoreUnavailable, "{e}");
    let e = lockbox_app::archive::spawn_with(true_bin, &dir.path().join("missing.db")).unwrap_err();
    assert_eq!(e.code, lockbox_core::ErrorCode::StoreUnavailable, "{e}");
    let e = lockbox_app::archive::open(&junk, clock()).err().unwrap();
    assert_eq!(e.code, lockbox_core::ErrorCode::StoreUnavailable, "{e}");

    // A store starts `PROGRAM --archive PATH` (here a program that exits at once).
    let (_live, copy, _) = store_and_copy(dir.path());
    let pid = lockbox_app::archive::spawn_with(true_bin, &copy).unwrap();
    assert!(pid > 0);
}

#[test]
fn archive_and_page_arguments_parse() {
    let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    use lockbox_app::archive::{archive_path_from, start_page};
    assert_eq!(
        archive_path_from(args(&["--archive", "/tmp/a.db"])),
        Some(PathBuf::from("/tmp/a.db"))
    );
    assert_eq!(
        archive_path_from(args(&["--db", "x", "--archive=/tmp/b.db"])),
        Some(PathBuf::from("/tmp/b.db"))
    );
    assert_eq!(archive_path_from(args(&["--db", "x"])), None);
    assert_eq!(archive_path_from(args(&["--archive"])), None);
    assert_eq!(
        start_page(args(&["--archive", "a", "--page", "requests"])),
        "requests"
    );
    assert_eq!(start_page(args(&["--page", "settings"])), "audit");
    assert_eq!(start_page(args(&[])), "audit");
}
