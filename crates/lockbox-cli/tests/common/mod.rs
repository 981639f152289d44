//! Helpers shared by the CLI's tests: an SMTP server that wants a login, and a
//! real OS keyring (a private D-Bus session bus with GNOME Keyring's Secret
//! Service).

#![allow(clippy::unwrap_used, dead_code)]

#[path = "../../../../tests/keyring/secret_service.rs"]
mod secret_service;
pub mod serve;
#[allow(unused_imports)] // each test binary uses some of them
pub use secret_service::{start_secret_service, wait_for, SecretService};

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

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
