//! The SMTP password never lands in the store: `lockbox smtp set --password`
//! saves it in the OS keyring or fails (naming the keyring and
//! LOCKBOX_SMTP_PASSWORD) without changing anything; the sending process can
//! take it from LOCKBOX_SMTP_PASSWORD (checked against a real SMTP server
//! that requires the login: Python's aiosmtpd); a login over an unencrypted
//! connection to another machine is refused; a plaintext password written by
//! an older Lockbox is moved out and its bytes leave the file.
//!
//! These runs have no OS keyring (their session bus does not exist); the
//! keyring itself is exercised by tests/keyring.rs.

#![allow(clippy::unwrap_used)]

mod common;

use assert_cmd::Command;
use common::{messages, start_auth_smtp};
use std::path::{Path, PathBuf};

const T0: &str = "2026-11-29T09:00:00Z";
const NO_BUS: &str = "unix:path=/nonexistent/lockbox-test-bus";

struct Store {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Store {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("lockbox.db");
        Store { _dir: dir, db }
    }

    fn cmd(&self, env: &[(&str, &str)], args: &[&str]) -> assert_cmd::assert::Assert {
        let mut c = Command::cargo_bin("lockbox").unwrap();
        c.env("LOCKBOX_DB", &self.db)
            .env("LOCKBOX_NOW", T0)
            .env("USER", "root")
            .env("DBUS_SESSION_BUS_ADDRESS", NO_BUS)
            .env_remove("LOCKBOX_TENANT")
            .env_remove("LOCKBOX_SMTP_PASSWORD");
        for (k, v) in env {
            c.env(k, v);
        }
        c.args(args).assert()
    }

    fn ok(&self, env: &[(&str, &str)], args: &[&str]) -> String {
        String::from_utf8(self.cmd(env, args).success().get_output().stdout.clone()).unwrap()
    }

    fn fails(&self, code: i32, env: &[(&str, &str)], args: &[&str]) -> String {
        String::from_utf8(self.cmd(env, args).code(code).get_output().stderr.clone()).unwrap()
    }

    /// Every byte of the store's files (database, -wal, -shm).
    fn bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.db.as_os_str().to_owned();
            p.push(suffix);
            if let Ok(b) = std::fs::read(PathBuf::from(p)) {
                all.extend(b);
            }
        }
        all
    }

    fn holds(&self, secret: &str) -> bool {
        self.bytes()
            .windows(secret.len())
            .any(|w| w == secret.as_bytes())
    }

    fn smtp_changes(&self) -> usize {
        let out = self.ok(
            &[],
            &["audit", "list", "--operation", "settings_changed", "--json"],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["details"].to_string().contains("smtp"))
            .count()
    }
}

#[test]
fn a_password_without_a_keyring_is_refused_and_never_stored() {
    let s = Store::new();
    let secret = "Pw-9f3a1c-never-on-disk";
    let err = s.fails(
        3,
        &[],
        &[
            "smtp",
            "set",
            "--host",
            "127.0.0.1",
            "--port",
            "2525",
            "--security",
            "none",
            "--user",
            "lockbox",
            "--password",
            secret,
            "--from",
            "lockbox@contoso.example",
        ],
    );
    assert!(
        err.contains("keyring")
            && err.contains("LOCKBOX_SMTP_PASSWORD")
            && err.contains("Nothing was changed"),
        "{err}"
    );
    assert_eq!(s.ok(&[], &["smtp", "show", "--json"]).trim(), "null");
    assert_eq!(s.smtp_changes(), 0);
    assert!(!s.holds(secret), "the password is in the store's files");
}

#[test]
fn a_login_in_clear_to_another_host_is_refused_and_nothing_changes() {
    let s = Store::new();
    let secret = "Pw-77c2-clear-text";
    for host in ["smtp.contoso.example", "0.0.0.0"] {
        let err = s.fails(
            2,
            &[],
            &[
                "smtp",
                "set",
                "--host",
                host,
                "--port",
                "25",
                "--security",
                "none",
                "--user",
                "lockbox",
                "--password",
                secret,
                "--from",
                "lockbox@contoso.example",
            ],
        );
        assert!(
            err.contains(&format!(
                "refusing to send the SMTP password unencrypted to {host}"
            )) && err.contains("starttls or tls"),
            "{err}"
        );
    }
    assert_eq!(s.ok(&[], &["smtp", "show", "--json"]).trim(), "null");
    assert_eq!(s.smtp_changes(), 0);
    assert!(!s.holds(secret));
    // Without a login, or encrypted, it is fine.
    s.ok(
        &[],
        &[
            "smtp",
            "set",
            "--host",
            "smtp.contoso.example",
            "--security",
            "starttls",
            "--user",
            "lockbox",
            "--from",
            "lockbox@contoso.example",
        ],
    );
    assert_eq!(s.smtp_changes(), 1);
}

#[test]
fn the_env_password_logs_in_to_a_real_smtp_server() {
    let s = Store::new();
    let secret = "Pw-env-4d1e";
    let smtp = start_auth_smtp(s.db.parent().unwrap(), "lockbox", secret);
    let port = smtp.port.to_string();
    s.ok(
        &[],
        &[
            "smtp",
            "set",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--security",
            "none",
            "--user",
            "lockbox",
            "--from",
            "lockbox@contoso.example",
        ],
    );
    let show: serde_json::Value =
        serde_json::from_str(&s.ok(&[], &["smtp", "show", "--json"])).unwrap();
    assert_eq!(show["password_set"], true, "{show}");
    // Neither keyring nor environment: a clear error naming both. A test
    // message not sent is invalid_input (exit 2) here as in the admin center:
    // one rule (lockbox_core::commands::smtp::send_test) for both.
    let err = s.fails(2, &[], &["smtp", "test", "--to", "alice@contoso.example"]);
    assert!(
        err.contains("error (invalid_input): test message not sent"),
        "{err}"
    );
    assert!(
        err.contains("keyring") && err.contains("LOCKBOX_SMTP_PASSWORD"),
        "{err}"
    );
    // A wrong password is refused by the server (so the login is really checked).
    let err = s.fails(
        2,
        &[("LOCKBOX_SMTP_PASSWORD", "wrong")],
        &["smtp", "test", "--to", "alice@contoso.example"],
    );
    assert!(err.contains("SMTP"), "{err}");
    assert_eq!(messages(&smtp.maildir), 0);
    // The right one from the environment: delivered.
    s.ok(
        &[("LOCKBOX_SMTP_PASSWORD", secret)],
        &["smtp", "test", "--to", "alice@contoso.example"],
    );
    assert_eq!(messages(&smtp.maildir), 1);
    assert!(!s.holds(secret));
}

/// Make the store look like one written before schema 5 with a plaintext password.
fn plant_plaintext_password(db: &Path, secret: &str) {
    let c = rusqlite::Connection::open(db).unwrap();
    c.execute_batch(&format!(
        "DROP TRIGGER smtp_password_not_stored_insert; DROP TRIGGER smtp_password_not_stored_update;
         UPDATE smtp_settings SET password = '{secret}'; PRAGMA user_version = 4;"
    ))
    .unwrap();
}

#[test]
fn a_plaintext_password_from_an_older_store_is_moved_out_or_refused() {
    let s = Store::new();
    let secret = "Pw-legacy-8b20";
    s.ok(
        &[],
        &[
            "smtp",
            "set",
            "--host",
            "smtp.contoso.example",
            "--port",
            "587",
            "--user",
            "lockbox",
            "--from",
            "lockbox@contoso.example",
        ],
    );
    plant_plaintext_password(&s.db, secret);
    assert!(s.holds(secret), "the planted password is in the file");
    // No keyring and no LOCKBOX_SMTP_PASSWORD: refused, with both ways out; the store is left alone.
    let err = s.fails(3, &[], &["smtp", "show"]);
    assert!(
        err.contains("plaintext")
            && err.contains("keyring")
            && err.contains("LOCKBOX_SMTP_PASSWORD"),
        "{err}"
    );
    assert!(s.holds(secret));
    // A different LOCKBOX_SMTP_PASSWORD does not let the stored one go.
    s.fails(3, &[("LOCKBOX_SMTP_PASSWORD", "other")], &["smtp", "show"]);
    assert!(s.holds(secret));
    // The same one: the stored copy is removed, its bytes gone from every file.
    s.ok(&[("LOCKBOX_SMTP_PASSWORD", secret)], &["smtp", "show"]);
    assert!(
        !s.holds(secret),
        "the password's bytes are still in the store's files"
    );
    s.ok(&[], &["smtp", "show"]);
    // And the store refuses to hold one again.
    let c = rusqlite::Connection::open(&s.db).unwrap();
    let e = c
        .execute("UPDATE smtp_settings SET password = 'x'", [])
        .unwrap_err();
    assert!(e.to_string().contains("keyring"), "{e}");
}
