//! A real OS keyring for tests: a private D-Bus session bus with GNOME
//! Keyring's Secret Service, unlocked, gone when dropped. Included by
//! `#[path]` into `crates/lockbox-cli/tests/common` and `src-tauri/tests`
//! (as `tests/oidc/sign_in.rs` is). Needs dbus-daemon, dbus-send and
//! gnome-keyring-daemon (.ci/install-deps): without them a test fails,
//! saying so; it is never skipped.

#![allow(clippy::unwrap_used, dead_code)]

use lockbox_core::testing::real_clock;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// A session bus with an unlocked Secret Service, private to the test.
pub struct SecretService {
    pub bus: String,
    pub home: PathBuf,
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
        "{tool} is missing: the keyring tests need dbus-daemon, dbus-send and \
         gnome-keyring-daemon (apt-get install dbus gnome-keyring; .ci/install-deps does)"
    );
}

pub fn start_secret_service(dir: &Path) -> SecretService {
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
        real_clock("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={bus}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("the session bus", || socket.exists());
    let mut keyring = real_clock("gnome-keyring-daemon")
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
        real_clock("dbus-send")
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

pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..100 {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not come up within 10 s");
}
