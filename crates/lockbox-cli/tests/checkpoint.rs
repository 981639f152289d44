//! Signed checkpoints end to end: `lockbox audit checkpoint` keeps one
//! elsewhere; cutting the newest entries off a copy (triggers dropped)
//! passes the bare chain check but fails `audit verify --checkpoint`, naming
//! the missing range; a rewritten entry, a forged signature and a decision
//! receipt used as a checkpoint, too.

#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const T0: &str = "2026-11-29T09:00:00Z";

fn lockbox(db: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("lockbox")
        .unwrap()
        .env("LOCKBOX_DB", db)
        .env("LOCKBOX_NOW", T0)
        .env_remove("LOCKBOX_TENANT")
        .args(args)
        .assert()
}

fn out(a: assert_cmd::assert::Assert) -> String {
    let o = a.get_output();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sql(db: &Path, sql: &str) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.execute_batch(&format!(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; {sql}"
    ))
    .unwrap();
}

/// A store with requests and, newest, three settings changes (entries no
/// request's state depends on: cutting them leaves every request consistent).
fn store(dir: &Path) -> PathBuf {
    let db = dir.join("lockbox.db");
    lockbox(&db, &["demo"]).success();
    for v in ["2", "3", "1"] {
        lockbox(&db, &["settings", "set", "approvals-required", v]).success();
    }
    db
}

fn copy(dir: &Path, db: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::create_dir_all(&to).unwrap();
    let c = rusqlite::Connection::open(db).unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    drop(c);
    for f in ["lockbox.db", "lockbox-receipts.key"] {
        std::fs::copy(db.with_file_name(f), to.join(f)).unwrap();
    }
    to.join("lockbox.db")
}

#[test]
fn a_cut_off_tail_passes_the_chain_check_but_not_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let cp = dir.path().join("checkpoint.txt");
    lockbox(&db, &["audit", "checkpoint", "--out", cp.to_str().unwrap()]).success();
    let text = std::fs::read_to_string(&cp).unwrap();
    assert!(text.starts_with("LOCKBOX-CHECKPOINT-V1\n"), "{text}");
    let head: Value =
        serde_json::from_str(&out(lockbox(&db, &["audit", "verify", "--json"]).success())).unwrap();
    let n = head["chains"][0]["entries"].as_i64().unwrap();
    assert!(n > 10, "{head}");

    // The intact log holds it.
    let ok = out(lockbox(
        &db,
        &["audit", "verify", "--checkpoint", cp.to_str().unwrap()],
    )
    .success());
    assert!(ok.contains("the log holds it"), "{ok}");

    // Cut the newest 3 entries off a copy.
    let cut = copy(dir.path(), &db, "cut");
    sql(
        &cut,
        "DELETE FROM audit_log WHERE seq > (SELECT MAX(seq) - 3 FROM audit_log);",
    );
    let bare = out(lockbox(&cut, &["audit", "verify"]).success());
    assert!(bare.contains("intact"), "{bare}");
    let msg = out(lockbox(
        &cut,
        &["audit", "verify", "--checkpoint", cp.to_str().unwrap()],
    )
    .code(1));
    assert!(
        msg.contains(&format!("has {} entries", n - 3))
            && msg.contains(&format!("entries {}..{n} are missing", n - 2)),
        "{msg}"
    );

    // A rewritten entry the checkpoint covers: re-hashing the chain from there
    // (as someone with the file could) still disagrees with the checkpoint.
    let rw = copy(dir.path(), &db, "rewritten");
    let c = rusqlite::Connection::open(&rw).unwrap();
    let last: String = c
        .query_row(
            "SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(c);
    sql(
        &rw,
        &format!(
            "UPDATE audit_log SET hash = '{}' WHERE hash = '{last}';",
            "0".repeat(64)
        ),
    );
    let msg = out(lockbox(
        &rw,
        &["audit", "verify", "--checkpoint", cp.to_str().unwrap()],
    )
    .code(1));
    assert!(
        msg.contains("was rewritten at or before that entry"),
        "{msg}"
    );

    // A checkpoint with one changed byte does not verify.
    let forged = dir.path().join("forged.txt");
    std::fs::write(&forged, text.replacen("\"entries\":", "\"entries\":1", 1)).unwrap();
    let msg = out(lockbox(
        &db,
        &["audit", "verify", "--checkpoint", forged.to_str().unwrap()],
    )
    .code(1));
    assert!(msg.contains("does not verify"), "{msg}");

    // With the public key given, a checkpoint of another store's key fails too.
    let other = tempfile::tempdir().unwrap();
    let other_db = other.path().join("lockbox.db");
    lockbox(&other_db, &["demo"]).success();
    let pk = out(lockbox(&other_db, &["receipt", "public-key"]).success());
    let pk = pk.lines().find(|l| l.len() == 44).unwrap().to_string();
    let msg = out(lockbox(
        &db,
        &[
            "audit",
            "verify",
            "--checkpoint",
            cp.to_str().unwrap(),
            "--public-key",
            &pk,
        ],
    )
    .code(1));
    assert!(msg.contains("the given public key"), "{msg}");
}

#[test]
fn a_decision_receipt_counts_as_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = store(dir.path());
    let list: Value =
        serde_json::from_str(&out(lockbox(&db, &["request", "list", "--json"]).success())).unwrap();
    let decided = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["state"] == "pending")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    lockbox(&db, &["request", "approve", &decided, "--comment", "ok"]).success();
    let receipt = dir.path().join("receipt.txt");
    lockbox(
        &db,
        &[
            "receipt",
            "show",
            &decided,
            "--out",
            receipt.to_str().unwrap(),
        ],
    )
    .success();
    let ok = out(lockbox(
        &db,
        &["audit", "verify", "--checkpoint", receipt.to_str().unwrap()],
    )
    .success());
    assert!(
        ok.contains("receipt (line 1)") && ok.contains("the log holds it"),
        "{ok}"
    );
    // Cut back to before the decision: the receipt vouches for more.
    let cut = copy(dir.path(), &db, "cut");
    let body: Value = serde_json::from_str(
        std::fs::read_to_string(&receipt)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap(),
    )
    .unwrap();
    let at = body["audit_head"]["seq"].as_i64().unwrap();
    sql(
        &cut,
        &format!("DELETE FROM audit_log WHERE tenant_seq >= {at};"),
    );
    let msg = out(lockbox(
        &cut,
        &["audit", "verify", "--checkpoint", receipt.to_str().unwrap()],
    )
    .code(1));
    assert!(msg.contains("are missing"), "{msg}");
}
