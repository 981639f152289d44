//! The SMTP password in a real OS keyring: a private D-Bus session bus and
//! GNOME Keyring's Secret Service (unlocked with a test password), started by
//! this test and stopped at its end. `lockbox smtp set --password` saves the
//! password there (not a byte of it in the store), and `lockbox smtp test`
//! logs in with it to a real SMTP server that requires the login (aiosmtpd);
//! a plaintext password of an older store moves into the keyring.
//!
//! Needs dbus-daemon, dbus-send and gnome-keyring-daemon (.ci/install-deps
//! installs them): without them this test fails, it is never skipped.

#![allow(clippy::unwrap_used)]

mod common;

use assert_cmd::Command;
use common::{messages, start_auth_smtp, start_secret_service, SecretService};
use std::path::{Path, PathBuf};
use std::time::Duration;

const T0: &str = "2026-11-29T09:00:00Z";

fn lockbox(ss: &SecretService, db: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("lockbox")
        .unwrap()
        .env("LOCKBOX_DB", db)
        .env("LOCKBOX_NOW", T0)
        .env("USER", "root")
        .env("DBUS_SESSION_BUS_ADDRESS", &ss.bus)
        .env("HOME", &ss.home)
        .env_remove("LOCKBOX_TENANT")
        .env_remove("LOCKBOX_SMTP_PASSWORD")
        .args(args)
        .timeout(Duration::from_secs(60))
        .assert()
}

fn store_holds(db: &Path, secret: &str) -> bool {
    ["", "-wal", "-shm"].iter().any(|suffix| {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        std::fs::read(PathBuf::from(p))
            .map(|b| b.windows(secret.len()).any(|w| w == secret.as_bytes()))
            .unwrap_or(false)
    })
}

#[test]
fn the_smtp_password_lives_in_the_os_keyring_not_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let ss = start_secret_service(dir.path());
    let db = dir.path().join("lockbox.db");
    let secret = "Pw-keyring-51c9";
    let smtp = start_auth_smtp(dir.path(), "lockbox", secret);
    let port = smtp.port.to_string();
    lockbox(
        &ss,
        &db,
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
            "--password",
            secret,
            "--from",
            "lockbox@contoso.example",
        ],
    )
    .success();
    assert!(
        !store_holds(&db, secret),
        "the password is in the store's files"
    );
    // The keyring file holds it (encrypted with the keyring password), the store does not.
    let keyrings = ss.home.join("data").join("keyrings");
    assert!(
        std::fs::read_dir(&keyrings).unwrap().count() > 0,
        "GNOME Keyring wrote no keyring under {}",
        keyrings.display()
    );
    // Sending logs in with the keyring's password (no LOCKBOX_SMTP_PASSWORD here).
    lockbox(&ss, &db, &["smtp", "test", "--to", "alice@contoso.example"]).success();
    assert_eq!(messages(&smtp.maildir), 1);
    // Saving again without --password keeps the saved one.
    lockbox(
        &ss,
        &db,
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
    )
    .success();
    lockbox(&ss, &db, &["smtp", "test", "--to", "alice@contoso.example"]).success();
    assert_eq!(messages(&smtp.maildir), 2);

    // An older store's plaintext password moves into the keyring when opened.
    let legacy = "Pw-legacy-keyring-0e7d";
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(&format!(
        "DROP TRIGGER smtp_password_not_stored_insert; DROP TRIGGER smtp_password_not_stored_update;
         UPDATE smtp_settings SET password = '{legacy}'; PRAGMA user_version = 4;"
    ))
    .unwrap();
    drop(c);
    assert!(store_holds(&db, legacy));
    let second = dir.path().join("second");
    std::fs::create_dir(&second).unwrap();
    let smtp2 = start_auth_smtp(&second, "lockbox", legacy);
    let port2 = smtp2.port.to_string();
    lockbox(&ss, &db, &["smtp", "show"]).success();
    assert!(
        !store_holds(&db, legacy),
        "the legacy password's bytes are still in the store"
    );
    lockbox(
        &ss,
        &db,
        &[
            "smtp",
            "set",
            "--host",
            "127.0.0.1",
            "--port",
            &port2,
            "--security",
            "none",
            "--user",
            "lockbox",
            "--from",
            "lockbox@contoso.example",
        ],
    )
    .success();
    lockbox(&ss, &db, &["smtp", "test", "--to", "alice@contoso.example"]).success();
    assert_eq!(
        messages(&smtp2.maildir),
        1,
        "logged in with the moved password"
    );
}
