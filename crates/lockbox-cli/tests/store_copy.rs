//! `lockbox store copy` both ways between SQLite and a real PostgreSQL
//! server (a throwaway cluster: `lockbox_core::testing`): everything is
//! copied, both stores verify with the same head in every tenant, the copy
//! works as a store (`--store URL`), and a copy into a store that holds
//! anything is refused with nothing changed.

#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

const T0: &str = "2026-11-29T09:00:00Z";

fn lockbox(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("lockbox")
        .unwrap()
        .env("LOCKBOX_NOW", T0)
        .env_remove("LOCKBOX_TENANT")
        .env_remove("LOCKBOX_DB")
        .env_remove("LOCKBOX_STORE")
        .env_remove("LOCKBOX_RECEIPT_KEY")
        .args(args)
        .assert()
}

fn json(a: assert_cmd::assert::Assert) -> Value {
    let o = a.get_output();
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn heads_of(store_args: &[&str]) -> Value {
    let mut args = store_args.to_vec();
    args.extend(["--json", "audit", "verify"]);
    let v = json(lockbox(&args).success());
    assert_eq!(v["ok"], true, "{v}");
    v["chains"].clone()
}

fn db_arg(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn sqlite_to_postgres_and_back_keeps_every_head() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a/lockbox.db");
    let a_s = db_arg(&a);
    lockbox(&["--db", &a_s, "demo"]).success();
    lockbox(&["--db", &a_s, "tenant", "add", "fabrikam"]).success();
    lockbox(&["--db", &a_s, "--tenant", "fabrikam", "demo"]).success();
    lockbox(&["--db", &a_s, "token", "issue", "--name", "ticketing"]).success();
    let heads_a = heads_of(&["--db", &a_s]);
    assert_eq!(heads_a.as_array().unwrap().len(), 2, "{heads_a}");

    let url = lockbox_core::testing::new_database();
    let v = json(lockbox(&["--json", "store", "copy", "--from", &a_s, "--to", &url]).success());
    assert_eq!(v["identical"], true, "{v}");
    assert!(v["rows"]["audit_log"].as_u64().unwrap() > 10, "{v}");
    assert!(v["rows"]["requests"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["rows"]["api_tokens"], 1, "{v}");

    // The copy is a store: verified through the CLI, with the source's key.
    let key = a.with_file_name("lockbox-receipts.key");
    let key_s = db_arg(&key);
    let pg = ["--store", url.as_str(), "--receipt-key", key_s.as_str()];
    assert_eq!(heads_of(&pg), heads_a);
    let mut list = pg.to_vec();
    list.extend(["--json", "request", "list"]);
    let listed = json(lockbox(&list).success());
    assert!(!listed.as_array().unwrap().is_empty(), "{listed}");

    // And back into a new file: the same heads, the key beside it.
    let b = dir.path().join("b/lockbox.db");
    let b_s = db_arg(&b);
    let v = json(
        lockbox(&[
            "--json",
            "store",
            "copy",
            "--from",
            &url,
            "--to",
            &b_s,
            "--receipt-key",
            &key_s,
        ])
        .success(),
    );
    assert_eq!(v["identical"], true, "{v}");
    assert_eq!(
        std::fs::read(b.with_file_name("lockbox-receipts.key")).unwrap(),
        std::fs::read(&key).unwrap()
    );
    assert_eq!(heads_of(&["--db", &b_s]), heads_a);
}

#[test]
fn a_copy_into_a_store_that_holds_anything_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let a = db_arg(&dir.path().join("a/lockbox.db"));
    lockbox(&["--db", &a, "demo"]).success();
    let url = lockbox_core::testing::new_database();
    // The destination already has its default tenant and entries.
    let key = db_arg(&dir.path().join("pg.key"));
    lockbox(&["--store", &url, "--receipt-key", &key, "demo"]).success();
    let before = heads_of(&["--store", &url, "--receipt-key", &key]);
    let a2 = lockbox(&["store", "copy", "--from", &a, "--to", &url]).code(2);
    let err = String::from_utf8_lossy(&a2.get_output().stderr).to_string();
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(heads_of(&["--store", &url, "--receipt-key", &key]), before);
    // The same store on both sides, too.
    lockbox(&["store", "copy", "--from", &a, "--to", &a]).code(2);
}
