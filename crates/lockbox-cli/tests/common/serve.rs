//! A real `lockbox serve` with OpenID Connect sign-in (`--oidc-issuer`,
//! `--oidc-client-id`), for the tests of a team server's admin API
//! (`serve_oidc.rs`) and of its CLI client (`login_device.rs`).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};

/// `c` without the `LOCKBOX_*` variables that would change what the CLI
/// does: a test sets those it means.
pub fn without_lockbox_env(c: &mut Command) -> &mut Command {
    c.env_remove("LOCKBOX_NOW")
        .env_remove("LOCKBOX_SERVER")
        .env_remove("LOCKBOX_TENANT")
        .env_remove("LOCKBOX_API_BIND")
        .env_remove("LOCKBOX_OIDC_ISSUER")
        .env_remove("LOCKBOX_OIDC_CLIENT_ID")
        .env_remove("LOCKBOX_OIDC_CA")
        .env_remove("LOCKBOX_BOOTSTRAP_ADMIN")
        .env_remove("LOCKBOX_LOG_FORMAT")
}

/// A running `lockbox serve`, killed when dropped; its base URL.
pub struct Serve {
    child: Child,
    pub base: String,
}

impl Serve {
    /// Send it signal `name` (`TERM`, `INT`) with kill(1).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(ok.success(), "kill -{name} failed");
    }

    /// Its exit status, waiting at most `bound`; `None` if it still runs.
    pub fn exit_within(&mut self, bound: std::time::Duration) -> Option<std::process::ExitStatus> {
        let step = std::time::Duration::from_millis(100);
        for _ in 0..(bound.as_millis() / step.as_millis()).max(1) {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(step);
        }
        self.child.try_wait().unwrap()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `lockbox` (the CLI with its store and environment) as `serve
/// --bind BIND --oidc-issuer ISSUER --oidc-client-id CLIENT_ID EXTRA…`, and
/// wait for its first line, which says where it listens. The rest of its
/// output is the reader returned. If it ends before that line, its stderr
/// (when piped) is the panic's message.
pub fn serve_oidc(
    lockbox: &mut Command,
    bind: &str,
    issuer: &str,
    client_id: &str,
    extra: &[&str],
) -> (Serve, BufReader<ChildStdout>) {
    let mut child = lockbox
        .args(["serve", "--bind", bind, "--oidc-issuer", issuer])
        .args(["--oidc-client-id", client_id])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    if out.read_line(&mut first).unwrap() == 0 {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            e.read_to_string(&mut err).unwrap();
        }
        panic!("lockbox serve did not start: {err}");
    }
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    let serve = Serve {
        child,
        base: format!("http://{addr}"),
    };
    (serve, out)
}
