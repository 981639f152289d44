//! Helpers shared by the CLI's tests: an SMTP server that wants a login, and a
//! real OS keyring (a private D-Bus session bus with GNOME Keyring's Secret
//! Service).

#![allow(clippy::unwrap_used, dead_code)]

pub mod serve;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// aiosmtpd that accepts mail only after AUTH with `user`/`password` (plain
/// connection on 127.0.0.1), delivering into a Maildir.
pub struct AuthSmtp {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
}

impl Drop for AuthSmtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const AUTH_SERVER: &str = r#"
import sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword
port, maildir, user, password = sys.argv[1:5]
def check(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == user.encode() and data.password == password.encode()
    return AuthResult(success=ok)
c = Controller(Mailbox(maildir), hostname="127.0.0.1", port=int(port), authenticator=check,
               auth_required=True, auth_require_tls=False)
c.start()
print("ready", flush=True)
while True:
    time.sleep(60)
"#;

pub use lockbox_core::testing::real_clock;

/// The project's Python (`make py-deps`): `LOCKBOX_PYTHON`, else the
/// workspace's `.venv/bin/python3`.
pub fn python() -> std::path::PathBuf {
    std::env::var_os("LOCKBOX_PYTHON")
        .filter(|p| !p.is_empty())
        .map(Into::into)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python3"))
}

pub fn start_auth_smtp(dir: &Path, user: &str, password: &str) -> AuthSmtp {
    let ok = real_clock(python())
        .args(["-c", "import aiosmtpd"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{} cannot import aiosmtpd: run `make py-deps` (installs tests/python/requirements.txt into .venv)",
        python().display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let maildir = dir.join("mail");
    let child = real_clock(python())
        .args(["-c", AUTH_SERVER, &port.to_string()])
        .arg(&maildir)
        .args([user, password])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = AuthSmtp {
        child,
        port,
        maildir,
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("aiosmtpd did not start on port {port}");
}

pub fn messages(maildir: &Path) -> usize {
    std::fs::read_dir(maildir.join("new"))
        .map(|d| d.count())
        .unwrap_or(0)
}

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
