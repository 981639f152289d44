//! The `lockbox` CLI end to end on a temp store, with the clock pinned by
//! `LOCKBOX_NOW` (no test sleeps to wait for a deadline).

#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

struct Store {
    _dir: tempfile::TempDir,
    db: PathBuf,
    now: String,
}

const T0: &str = "2026-11-29T09:00:00Z";

impl Store {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("lockbox.db");
        Store {
            _dir: dir,
            db,
            now: T0.into(),
        }
    }

    fn at(&mut self, now: &str) -> &mut Self {
        self.now = now.into();
        self
    }

    fn cmd(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        Command::cargo_bin("lockbox")
            .unwrap()
            .env("LOCKBOX_DB", &self.db)
            .env("LOCKBOX_NOW", &self.now)
            .env("USER", "root")
            .env_remove("LOCKBOX_TENANT")
            .args(args)
            .assert()
    }

    fn ok(&self, args: &[&str]) -> String {
        String::from_utf8(self.cmd(args).success().get_output().stdout.clone()).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    /// Runs a command expected to fail with `code`; returns stderr.
    fn fails(&self, code: i32, args: &[&str]) -> String {
        String::from_utf8(self.cmd(args).code(code).get_output().stderr.clone()).unwrap()
    }

    fn file(&self, engineer: &str, extra: &[&str]) -> String {
        let mut a = vec![
            "request",
            "new",
            "--engineer",
            engineer,
            "--case",
            "SR-100",
            "--workload",
            "Exchange Online",
            "--resource",
            "Mailbox: ceo@contoso.example",
            "--reason",
            "Mail flow issue",
        ];
        a.extend_from_slice(extra);
        let v = self.json(&a);
        v["id"].as_str().unwrap().to_string()
    }

    fn state(&self, id: &str) -> String {
        self.json(&["request", "show", id])["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn ops(&self, id: &str) -> Vec<String> {
        let v = self.json(&["audit", "list", "--request", id, "--limit", "100"]);
        let mut ops: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["operation"].as_str().unwrap().to_string())
            .collect();
        ops.reverse();
        ops
    }
}

#[test]
fn the_full_story_file_approve_use_end() {
    let mut s = Store::new();
    let id = s.file("eng.alex", &["--duration", "2h"]);
    let v = s.json(&["request", "show", &id]);
    for key in [
        "id",
        "tenant",
        "state",
        "case",
        "workload",
        "resource",
        "reason",
        "requester",
        "requested_duration_s",
        "created_at",
        "expires_at",
        "approved_at",
        "access_ends_at",
        "decisions",
    ] {
        assert!(v.get(key).is_some(), "request JSON lacks {key}: {v}");
    }
    assert_eq!(v["state"], "awaiting_provider");
    assert_eq!(v["requested_duration_s"], 7200);
    assert_eq!(v["expires_at"], "2026-11-29T21:00:00Z");
    assert!(v["approved_at"].is_null());
    // Nothing is accessible before approval.
    s.cmd(&["access", "check", &id])
        .code(1)
        .stdout(predicates::str::contains("denied"));
    s.at("2026-11-29T09:05:00Z")
        .ok(&["request", "provider-approve", &id, "--as", "mgr.sam"]);
    assert_eq!(s.state(&id), "pending");
    let v = s.at("2026-11-29T09:10:00Z").json(&[
        "request",
        "approve",
        &id,
        "--comment",
        "go ahead",
        "--duration",
        "1h",
    ]);
    assert_eq!(v["state"], "approved");
    assert_eq!(v["approved_at"], "2026-11-29T09:10:00Z");
    assert_eq!(v["access_ends_at"], "2026-11-29T10:10:00Z");
    assert_eq!(v["decisions"].as_array().unwrap().len(), 2);
    s.cmd(&["access", "check", &id])
        .success()
        .stdout(predicates::str::contains("allowed"));
    s.ok(&[
        "access",
        "log",
        &id,
        "--as",
        "eng.alex",
        "--action",
        "Read message trace",
    ]);
    // Someone else cannot use the grant.
    s.fails(
        1,
        &[
            "access",
            "log",
            &id,
            "--as",
            "eng.other",
            "--action",
            "peek",
        ],
    );
    // The window ends by itself.
    s.at("2026-11-29T10:10:00Z");
    s.cmd(&["access", "check", &id])
        .code(1)
        .stdout(predicates::str::contains("ended"));
    let err = s.fails(
        1,
        &[
            "access",
            "log",
            &id,
            "--as",
            "eng.alex",
            "--action",
            "one more look",
        ],
    );
    assert!(err.contains("access_denied"), "{err}");
    assert_eq!(s.state(&id), "completed");
    assert_eq!(
        s.ops(&id),
        [
            "request_created",
            "provider_approved",
            "approved",
            "access_used",
            "access_denied",
            "completed",
            "access_denied"
        ]
    );
    s.cmd(&["audit", "verify"])
        .success()
        .stdout(predicates::str::contains("intact"));
}

#[test]
fn reject_expire_cancel_and_revoke() {
    let mut s = Store::new();
    // Reject.
    let a = s.file("eng1", &[]);
    s.ok(&["request", "provider-approve", &a, "--as", "mgr"]);
    s.ok(&["request", "reject", &a, "--comment", "not now"]);
    assert_eq!(s.state(&a), "rejected");
    let err = s.fails(1, &["request", "approve", &a]);
    assert!(err.contains("never changes"), "{err}");
    // Expiry after the (configured) lifetime, with no timer involved.
    s.ok(&["settings", "set", "request-lifetime", "30m"]);
    let b = s.file("eng1", &[]);
    s.ok(&["request", "provider-approve", &b, "--as", "mgr"]);
    s.at("2026-11-29T09:29:59Z");
    assert_eq!(s.state(&b), "pending");
    s.at("2026-11-29T09:30:00Z");
    let err = s.fails(1, &["request", "approve", &b]);
    assert!(
        err.contains("request_expired") || err.contains("expired"),
        "{err}"
    );
    assert_eq!(s.state(&b), "expired");
    let exp = s.json(&["audit", "list", "--request", &b, "--operation", "expired"]);
    assert_eq!(
        exp[0]["at"], "2026-11-29T09:30:00Z",
        "effective time is the deadline"
    );
    // Cancel: only the requester.
    let c = s.file("eng2", &[]);
    s.fails(1, &["request", "cancel", &c, "--as", "eng9"]);
    s.ok(&["request", "cancel", &c, "--as", "eng2"]);
    assert_eq!(s.state(&c), "canceled");
    // Revoke ends access early.
    let d = s.file("eng3", &[]);
    s.ok(&["request", "provider-approve", &d, "--as", "mgr"]);
    s.ok(&["request", "approve", &d]);
    s.cmd(&["access", "check", &d]).success();
    s.ok(&["request", "revoke", &d, "--comment", "case closed"]);
    assert_eq!(s.state(&d), "revoked");
    s.cmd(&["access", "check", &d])
        .code(1)
        .stdout(predicates::str::contains("revoked"));
}

#[test]
fn lockbox_off_auto_approves_and_quorum_of_two() {
    let s = Store::new();
    s.ok(&["settings", "set", "lockbox", "off"]);
    let a = s.file("eng1", &["--duration", "1h"]);
    s.ok(&["request", "provider-approve", &a, "--as", "mgr"]);
    assert_eq!(s.state(&a), "approved");
    assert_eq!(
        s.ops(&a),
        ["request_created", "provider_approved", "auto_approved"]
    );
    // Turning it back on does not touch existing requests; new ones need a quorum of 2.
    s.ok(&["settings", "set", "lockbox", "on"]);
    s.ok(&["settings", "set", "approvals-required", "2"]);
    s.ok(&[
        "user",
        "add",
        "alice",
        "--role",
        "approver",
        "--email",
        "alice@contoso.example",
    ]);
    s.ok(&["user", "add", "bob", "--role", "approver"]);
    assert_eq!(s.state(&a), "approved");
    let b = s.file("eng1", &[]);
    s.ok(&["request", "provider-approve", &b, "--as", "mgr"]);
    s.ok(&["request", "approve", &b, "--as", "alice"]);
    assert_eq!(s.state(&b), "pending", "one approval of two");
    let err = s.fails(1, &["request", "approve", &b, "--as", "alice"]);
    assert!(err.contains("already_decided"), "{err}");
    s.ok(&["request", "approve", &b, "--as", "bob"]);
    assert_eq!(s.state(&b), "approved");
    let changes = s.json(&["audit", "list", "--operation", "settings_changed"]);
    assert_eq!(changes.as_array().unwrap().len(), 3);
}

#[test]
fn rules_and_bad_input_have_clear_errors_and_exit_codes() {
    let s = Store::new();
    let a = s.file("eng1", &[]);
    // Self-approval at both levels; strangers cannot decide; approvers cannot change settings.
    assert!(s
        .fails(1, &["request", "provider-approve", &a, "--as", "eng1"])
        .contains("self_approval"));
    s.ok(&["request", "provider-approve", &a, "--as", "mgr"]);
    assert!(s
        .fails(1, &["request", "approve", &a, "--as", "mallory"])
        .contains("not_permitted"));
    s.ok(&["user", "add", "eng1", "--role", "approver"]);
    assert!(s
        .fails(1, &["request", "approve", &a, "--as", "eng1"])
        .contains("self_approval"));
    assert!(s
        .fails(1, &["settings", "set", "lockbox", "off", "--as", "eng1"])
        .contains("not_permitted"));
    // Bad input: exit 2, nothing changes.
    let before = s
        .json(&["audit", "list", "--limit", "1000"])
        .as_array()
        .unwrap()
        .len();
    assert!(s
        .fails(2, &["request", "approve", &a, "--duration", "90x"])
        .contains("not a duration"));
    assert!(s
        .fails(2, &["settings", "set", "request-lifetime", "31d"])
        .contains("request-lifetime"));
    assert!(s
        .fails(2, &["settings", "set", "colour", "blue"])
        .contains("unknown setting"));
    assert!(s
        .fails(
            1,
            &[
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
                "--duration",
                "5h"
            ]
        )
        .contains("duration_too_long"));
    assert!(s
        .fails(2, &["user", "add", "x", "--role", "owner"])
        .contains("not a valid role"));
    assert!(s
        .fails(
            2,
            &["user", "add", "x", "--role", "admin", "--email", "nope"]
        )
        .contains("not an email"));
    assert!(s
        .fails(1, &["request", "show", "ffffffff-0000"])
        .contains("not_found"));
    s.fails(2, &["request", "frobnicate"]);
    assert_eq!(
        s.json(&["audit", "list", "--limit", "1000"])
            .as_array()
            .unwrap()
            .len(),
        before
    );
    assert_eq!(s.state(&a), "pending");
    // JSON errors are {code, message}.
    let out = s
        .cmd(&["--json", "request", "reject", "nonexistent-id"])
        .code(1)
        .get_output()
        .stderr
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["code"], "not_found");
    assert!(v["message"].as_str().unwrap().contains("nonexistent-id"));
}

#[test]
fn a_newer_or_broken_store_exits_3() {
    let s = Store::new();
    s.ok(&["settings", "show"]);
    rusqlite_set_version(&s.db, 999);
    let err = s.fails(3, &["request", "list"]);
    assert!(err.contains("newer Lockbox"), "{err}");
    let t = Store::new();
    std::fs::write(
        &t.db,
        b"this is not a database, just some text that is long enough to look like a file....",
    )
    .unwrap();
    t.fails(3, &["request", "list"]);
}

fn rusqlite_set_version(db: &std::path::Path, v: i64) {
    // The sqlite3 shell may be missing; poke the header's user_version field (offset 60) directly.
    let mut bytes = std::fs::read(db).unwrap();
    bytes[60..64].copy_from_slice(&(v as u32).to_be_bytes());
    std::fs::write(db, bytes).unwrap();
}

#[test]
fn export_csv_and_jsonl_and_verify() {
    let s = Store::new();
    let a = s.file("eng1", &[]);
    s.ok(&["request", "provider-approve", &a, "--as", "mgr"]);
    s.ok(&[
        "request",
        "approve",
        &a,
        "--comment",
        "ok, \"quoted\", with comma",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("audit.csv");
    s.ok(&[
        "audit",
        "export",
        "--format",
        "csv",
        "--out",
        csv_path.to_str().unwrap(),
    ]);
    let mut rdr = csv::Reader::from_path(&csv_path).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header[0], "seq");
    assert_eq!(header.last().unwrap(), "hash");
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.len(),
        6,
        "tenant_added, user_added, receipt_key_created, created, provider_approved, approved"
    );
    assert_eq!(&rows[2][6], "receipt_key_created");
    assert_eq!(&rows[5][6], "approved");
    assert!(
        rows[5][8].contains("quoted"),
        "details survive CSV quoting: {}",
        &rows[5][8]
    );
    let jsonl = s.ok(&[
        "audit",
        "export",
        "--format",
        "jsonl",
        "--operation",
        "approved",
    ]);
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["request_id"], a.as_str());
    assert_eq!(lines[0]["details"]["comment"], "ok, \"quoted\", with comma");
    let v = s.json(&["audit", "verify"]);
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"], 6);
    assert!(s
        .fails(2, &["audit", "export", "--format", "xml"])
        .contains("export format"));
}

#[test]
fn tenants_users_prefix_ids_and_demo() {
    let s = Store::new();
    s.ok(&["tenant", "add", "fabrikam", "--name", "Fabrikam Ltd"]);
    let tenants = s.json(&["tenant", "list"]);
    assert_eq!(tenants.as_array().unwrap().len(), 2);
    // Requests are per tenant.
    let a = s.file("eng1", &[]);
    s.fails(1, &["--tenant", "fabrikam", "request", "show", &a]);
    let demo = s.json(&["--tenant", "fabrikam", "demo"]);
    assert_eq!(demo.as_array().unwrap().len(), 4);
    let pending = s.json(&[
        "--tenant", "fabrikam", "request", "list", "--state", "pending",
    ]);
    assert_eq!(pending.as_array().unwrap().len(), 3);
    // A unique prefix of an id works.
    let short = &a[..13];
    assert_eq!(s.json(&["request", "show", short])["id"], a.as_str());
    // So does the tail the admin center shows.
    let tail = &a[a.len() - 8..];
    assert_eq!(s.json(&["request", "show", tail])["id"], a.as_str());
    // The last admin cannot be removed.
    assert!(s
        .fails(1, &["user", "remove", "root"])
        .contains("last admin"));
    s.ok(&["user", "add", "alice", "--role", "admin"]);
    s.ok(&["user", "remove", "root", "--as", "alice"]);
    let ops: Vec<String> = s
        .json(&["audit", "list", "--as", "alice"])
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["operation"].as_str().unwrap().to_string())
        .collect();
    assert!(ops.contains(&"user_removed".to_string()));
}

#[test]
fn a_missing_receipt_key_is_refused_until_rotate_key_which_is_audited() {
    let s = Store::new();
    let id = s.file("eng.alex", &[]);
    s.ok(&["request", "provider-approve", &id]);
    s.ok(&["request", "approve", &id]);
    let old = s.json(&["receipt", "public-key"]);
    let key = s.db.with_file_name("lockbox-receipts.key");
    std::fs::remove_file(&key).unwrap();
    let err = s.fails(3, &["request", "list"]);
    assert!(
        err.contains("lockbox-receipts.key")
            && err.contains("missing")
            && err.contains("lockbox receipt rotate-key"),
        "{err}"
    );
    assert!(!key.exists(), "no key was made behind the admin's back");
    let rotated = s.json(&["receipt", "rotate-key"]);
    assert_eq!(rotated["previous_key_id"], old["key_id"]);
    assert_ne!(rotated["key_id"], old["key_id"]);
    let v = s.json(&[
        "audit",
        "list",
        "--operation",
        "receipt_key_rotated",
        "--limit",
        "10",
    ]);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["actor"], "root");
    assert_eq!(s.json(&["receipt", "public-key"]), {
        let mut want = rotated.clone();
        want.as_object_mut().unwrap().remove("previous_key_id");
        want
    });
}
