//! An auditor's read-only copy, end to end: a store made with the CLI is
//! copied, the copy made 0444 in a 0555 folder, and read by a user who cannot
//! write either — `nobody` through `setpriv` when the tests run as root (as CI
//! does: root may write anything). Reads work, the store is opened read-only
//! with a note on stderr, nothing is written or created, and commands that
//! would write exit 3 with the read-only message.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const T0: &str = "2026-11-29T09:00:00Z";
/// When the story is written: E has expired (and is swept), F is pending
/// until 2026-11-30T00:00, B's access ends then.
const T1: &str = "2026-11-29T22:00:00Z";
/// When the copy is read: after F's expiry and B's end of access.
const T2: &str = "2026-11-30T01:00:00Z";

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Runs the `lockbox` binary copied into a folder everyone can reach, as the
/// caller (`me`) or as a user who cannot write the copy (`reader`).
struct Cli {
    bin: PathBuf,
    as_nobody: bool,
}

impl Cli {
    fn run(&self, reader: bool, db: &Path, now: &str, args: &[&str]) -> Output {
        let mut c = if reader && self.as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
                .arg(&self.bin);
            c
        } else {
            Command::new(&self.bin)
        };
        c.env("LOCKBOX_DB", db)
            .env("LOCKBOX_NOW", now)
            .env_remove("LOCKBOX_TENANT")
            .env_remove("LOCKBOX_LOG")
            .current_dir("/")
            .args(args);
        c.output().unwrap()
    }

    /// As the caller, expecting success; stdout as JSON.
    fn me(&self, db: &Path, now: &str, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.run(false, db, now, &a);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// As the reader: (exit code, stdout, stderr).
    fn reader(&self, db: &Path, now: &str, args: &[&str]) -> (i32, String, String) {
        let out = self.run(true, db, now, args);
        (
            out.status.code().unwrap_or(-1),
            text(&out.stdout),
            text(&out.stderr),
        )
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sha256(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).unwrap()))
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A temp folder under /tmp that `nobody` can enter, with the binary in it.
fn setup() -> (tempfile::TempDir, Cli) {
    let as_nobody = running_as_root();
    if as_nobody {
        let ok = Command::new("setpriv")
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(
            ok,
            "these tests run as root, so they read the copy as `nobody` through setpriv \
             (util-linux), which is missing: install util-linux"
        );
    }
    let dir = tempfile::Builder::new()
        .prefix("lockbox-read-only")
        .tempdir_in("/tmp")
        .unwrap();
    chmod(dir.path(), 0o755);
    let bin = dir.path().join("lockbox");
    let built = assert_cmd::cargo::cargo_bin("lockbox");
    if std::fs::hard_link(&built, &bin).is_err() {
        std::fs::copy(&built, &bin).unwrap();
    }
    chmod(&bin, 0o755);
    (dir, Cli { bin, as_nobody })
}

/// File a request for 4h as engineer `eng.alex`; returns its id.
fn file(cli: &Cli, db: &Path, now: &str, case: &str) -> String {
    let v = cli.me(
        db,
        now,
        &[
            "request",
            "new",
            "--engineer",
            "eng.alex",
            "--case",
            case,
            "--workload",
            "Exchange Online",
            "--resource",
            "Mailbox: ceo@contoso.example",
            "--reason",
            "Mail flow issue",
            "--duration",
            "4h",
        ],
    );
    v["id"].as_str().unwrap().to_string()
}

fn pending(cli: &Cli, db: &Path, now: &str, case: &str) -> String {
    let id = file(cli, db, now, case);
    cli.me(
        db,
        now,
        &["request", "provider-approve", &id, "--as", "mgr.sam"],
    );
    id
}

/// The story, written by the caller: returns the ids by case.
fn story(cli: &Cli, db: &Path) -> std::collections::BTreeMap<&'static str, String> {
    let mut ids = std::collections::BTreeMap::new();
    ids.insert("E", pending(cli, db, T0, "E"));
    ids.insert("F", pending(cli, db, "2026-11-29T12:00:00Z", "F"));
    // T1: E is swept as expired by the first command.
    ids.insert("A", pending(cli, db, T1, "A"));
    let b = pending(cli, db, T1, "B");
    cli.me(db, T1, &["request", "approve", &b, "--duration", "2h"]);
    cli.me(
        db,
        T1,
        &[
            "access",
            "log",
            &b,
            "--action",
            "read mail",
            "--as",
            "eng.alex",
        ],
    );
    ids.insert("B", b);
    let c = pending(cli, db, T1, "C");
    cli.me(db, T1, &["request", "reject", &c, "--comment", "no"]);
    ids.insert("C", c);
    let d = file(cli, db, T1, "D");
    cli.me(db, T1, &["request", "cancel", &d, "--as", "eng.alex"]);
    ids.insert("D", d);
    let h = pending(cli, db, T1, "H");
    cli.me(db, T1, &["request", "approve", &h]);
    cli.me(db, T1, &["request", "revoke", &h]);
    ids.insert("H", h);
    ids
}

#[test]
fn an_auditor_reads_a_read_only_copy_and_changes_nothing() {
    let (tmp, cli) = setup();
    let live = tmp.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let db = live.join("lockbox.db");
    let ids = story(&cli, &db);
    // The auditor's copy: the store file alone (no key), 0444, in a 0555 folder.
    let archive = tmp.path().join("archive");
    std::fs::create_dir(&archive).unwrap();
    let copy = archive.join("lockbox.db");
    std::fs::copy(&db, &copy).unwrap();
    chmod(&copy, 0o444);
    chmod(&archive, 0o555);
    let (sum, files) = (sha256(&copy), names(&archive));
    assert_eq!(files, ["lockbox.db"]);
    let note = format!(
        "lockbox: {} is not writable; opened read-only",
        copy.display()
    );

    let (code, out, err) = cli.reader(&copy, T2, &["request", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&note), "{err}");
    let states: std::collections::BTreeMap<String, String> = serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["case"].as_str().unwrap().into(),
                r["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expect: std::collections::BTreeMap<String, String> = [
        ("A", "pending"),
        ("B", "completed"), // its access ended at 00:00: as it effectively is
        ("C", "rejected"),
        ("D", "canceled"),
        ("E", "expired"),
        ("F", "expired"), // stored pending in the copy; expired at 00:00
        ("H", "revoked"),
    ]
    .into_iter()
    .map(|(c, s)| (c.into(), s.into()))
    .collect();
    assert_eq!(states, expect);

    let (code, out, err) = cli.reader(&copy, T2, &["request", "show", &ids["F"], "--json"]);
    assert_eq!(code, 0, "{err}");
    let f: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(f["state"], "expired");
    assert_eq!(f["closed_at"], "2026-11-30T00:00:00Z");
    // At T1 the copy still shows B's grant, checked from its stored deadline.
    let (code, out, err) = cli.reader(&copy, T1, &["access", "check", &ids["B"]]);
    assert_eq!(code, 0, "{out} {err}");

    let (code, out, err) = cli.reader(&copy, T2, &["audit", "list", "--limit", "1000", "--json"]);
    assert_eq!(code, 0, "{err}");
    let entries = serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .len();
    assert!(entries > 20, "{entries}");
    let (code, out, err) = cli.reader(&copy, T2, &["audit", "export", "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), entries);
    let (code, out, err) = cli.reader(&copy, T2, &["audit", "verify"]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("audit log intact"), "{out}");
    assert!(out.contains("7 requests agree"), "{out}");
    // The stored receipt of B's approval is read; the public key is the recorded one.
    let (code, out, err) = cli.reader(&copy, T2, &["receipt", "show", &ids["B"]]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("LOCKBOX-RECEIPT-V1\n"), "{out}");
    let key = cli.me(&db, T2, &["receipt", "public-key"]);
    let (code, out, err) = cli.reader(&copy, T2, &["receipt", "public-key", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["key_id"],
        key["key_id"]
    );

    // Commands that write: exit 3 with the read-only message.
    let ro = format!("this store is open read-only ({})", copy.display());
    for (args, what) in [
        (
            vec!["request", "approve", &ids["A"]],
            "cannot approve a request",
        ),
        (
            vec!["settings", "set", "approvals-required", "2"],
            "cannot change settings",
        ),
        (
            vec!["request", "cancel", &ids["A"], "--as", "eng.alex"],
            "cannot cancel a request",
        ),
        (
            vec![
                "access", "log", &ids["B"], "--action", "x", "--as", "eng.alex",
            ],
            "cannot record an action under a grant",
        ),
        (vec!["demo"], "cannot file a request"),
        (vec!["serve"], "cannot serve the provider API"),
    ] {
        let (code, _, err) = cli.reader(&copy, T1, &args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(
            err.contains(&format!("error (read_only): {ro}: {what}")),
            "{args:?}: {err}"
        );
    }

    // Not a byte written, no -wal, -shm or key file beside it.
    assert_eq!(sha256(&copy), sum);
    assert_eq!(names(&archive), files);
    chmod(&archive, 0o755);
}

#[test]
fn a_copy_of_a_live_store_with_its_wal_reads_in_a_read_only_folder() {
    let (tmp, cli) = setup();
    let live = tmp.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let db = live.join("lockbox.db");
    pending(&cli, &db, T0, "first");
    // Another process keeps the store open, so the next commit stays in the WAL.
    let holder = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = holder
        .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    let last = pending(&cli, &db, T0, "in-the-wal");
    let [_, wal, _] = lockbox_core::store::store_files(&db);
    assert!(std::fs::metadata(&wal).unwrap().len() > 0);
    let archive = tmp.path().join("archive");
    std::fs::create_dir(&archive).unwrap();
    let copy = archive.join("lockbox.db");
    std::fs::copy(&db, &copy).unwrap();
    std::fs::copy(&wal, archive.join("lockbox.db-wal")).unwrap();
    drop(holder);
    for f in names(&archive) {
        chmod(&archive.join(f), 0o444);
    }
    chmod(&archive, 0o555);
    let sums = (sha256(&copy), sha256(&archive.join("lockbox.db-wal")));
    let files = names(&archive);
    assert_eq!(files, ["lockbox.db", "lockbox.db-wal"]);

    let (code, out, err) = cli.reader(&copy, T0, &["request", "show", &last, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["case"],
        "in-the-wal"
    );
    let (code, out, err) = cli.reader(&copy, T0, &["audit", "verify"]);
    assert_eq!(code, 0, "{out} {err}");
    assert!(out.contains("2 requests agree"), "{out}");
    let (code, _, err) = cli.reader(&copy, T0, &["request", "approve", &last]);
    assert_eq!(code, 3, "{err}");

    assert_eq!(names(&archive), files, "no -shm was created");
    assert_eq!(
        (sha256(&copy), sha256(&archive.join("lockbox.db-wal"))),
        sums
    );
    chmod(&archive, 0o755);
}

#[test]
fn the_read_only_flag_opens_a_writable_store_read_only() {
    let (tmp, cli) = setup();
    let live = tmp.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let db = live.join("lockbox.db");
    let id = pending(&cli, &db, T0, "A");
    let (sum, files) = (sha256(&db), names(&live));
    // Past the request's expiry: a writable opening would sweep it.
    let later = "2026-11-30T09:00:00Z";
    let run = |args: &[&str]| cli.run(false, &db, later, args);
    let out = run(&["--read-only", "request", "show", &id, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["state"],
        "expired"
    );
    assert!(
        !text(&out.stderr).contains("not writable"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["request", "approve", &id, "--read-only"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("error (read_only): this store is open read-only"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["--read-only", "receipt", "rotate-key"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(sha256(&db), sum);
    assert_eq!(names(&live), files);
    // Without the flag the same store is swept on opening.
    let out = run(&["request", "show", &id, "--json"]);
    assert!(out.status.success());
    assert_ne!(sha256(&db), sum);
}
