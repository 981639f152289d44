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
use common::{messages, start_auth_smtp};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

const T0: &str = "2026-11-29T09:00:00Z";

/// A session bus with an unlocked Secret Service, private to the test.
struct SecretService {
    bus: String,
    home: PathBuf,
    children: Vec<Child>,
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // Our own children, by handle: the keyring first, then its bus.
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn need(tool: &str) {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is missing: the keyring test needs dbus-daemon, dbus-send and \
         gnome-keyring-daemon (apt-get install dbus gnome-keyring; .ci/install-deps does)"
    );
}

fn start_secret_service(dir: &Path) -> SecretService {
    for tool in ["dbus-daemon", "dbus-send", "gnome-keyring-daemon"] {
        need(tool);
    }
    let socket = dir.join("bus");
    let bus = format!("unix:path={}", socket.display());
    let home = dir.join("home");
    let runtime = dir.join("run");
    for d in [&home, &runtime] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    }
    let mut ss = SecretService {
        bus: bus.clone(),
        home: home.clone(),
        children: Vec::new(),
    };
    ss.children.push(
        common::real_clock("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={bus}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the session bus", || socket.exists());
    let mut keyring = common::real_clock("gnome-keyring-daemon")
        .args(["--foreground", "--unlock", "--components=secrets"])
        .env("DBUS_SESSION_BUS_ADDRESS", &bus)
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The login keyring is created (or unlocked) with this password; EOF ends it.
    keyring
        .stdin
        .take()
        .unwrap()
        .write_all(b"lockbox-test-keyring")
        .unwrap();
    ss.children.push(keyring);
    wait_for("org.freedesktop.secrets on the bus", || {
        common::real_clock("dbus-send")
            .args([
                &format!("--bus={bus}"),
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
            .unwrap_or(false)
    });
    ss
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..100 {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not come up within 10 s");
}

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
