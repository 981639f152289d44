//! `lockbox login` (the OpenID Connect device flow), `lockbox remote` and
//! `lockbox logout` end to end: a real OpenID provider (`tests/oidc`,
//! oidc-provider on node) whose device pages the test drives over HTTP as the
//! person would in a browser, a real `lockbox serve --oidc-*`, and a real OS
//! keyring (a private D-Bus session bus with GNOME Keyring's Secret Service,
//! as `keyring.rs` uses): never a fake one.
//!
//! The ID token's expiry is moved past by the CLI's clock (`LOCKBOX_NOW`, a
//! fixed date far after any token these tests get); the server and the
//! provider run on the real clock, where the refreshed token is good.
//!
//! Needs node with `make oidc-deps`, and dbus-daemon, dbus-send and
//! gnome-keyring-daemon (.ci/install-deps): without them these tests fail,
//! saying so; they are never skipped.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../../tests/oidc/sign_in.rs"]
mod sign_in;

use common::{start_secret_service, SecretService};
use serde_json::Value;
use sign_in::{confirm_device, start_hostile_idp, start_idp, CLIENT_ID, HOSTILE_SUFFIX};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Far after the hour any ID token of these tests is good for.
const LATER: &str = "2100-01-01T00:00:00Z";

/// The place one test's CLI runs in: a home and config folder of its own, the
/// keyring's bus, a store for `lockbox serve`.
struct Place {
    dir: tempfile::TempDir,
    ss: SecretService,
}

impl Place {
    fn new() -> Place {
        let dir = tempfile::tempdir().unwrap();
        let ss = start_secret_service(dir.path());
        Place { dir, ss }
    }

    fn config_home(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn lockbox(&self) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("lockbox"));
        c.env("LOCKBOX_DB", self.dir.path().join("lockbox.db"))
            .env("HOME", &self.ss.home)
            .env("XDG_CONFIG_HOME", self.config_home())
            .env("DBUS_SESSION_BUS_ADDRESS", &self.ss.bus)
            .env("USER", "root")
            .env_remove("LOCKBOX_NOW")
            .env_remove("LOCKBOX_SERVER")
            .env_remove("LOCKBOX_TENANT")
            .env_remove("LOCKBOX_API_BIND")
            .env_remove("LOCKBOX_OIDC_ISSUER")
            .env_remove("LOCKBOX_OIDC_CLIENT_ID")
            .env_remove("LOCKBOX_OIDC_CA")
            .env_remove("LOCKBOX_BOOTSTRAP_ADMIN")
            .env_remove("LOCKBOX_LOG_FORMAT");
        c
    }

    /// `lockbox remote [ARGS]`, with `LOCKBOX_NOW` if `now` is given.
    fn remote(&self, now: Option<&str>, args: &[&str]) -> Output {
        let mut c = self.lockbox();
        if let Some(n) = now {
            c.env("LOCKBOX_NOW", n);
        }
        c.arg("remote").args(args).output().unwrap()
    }

    /// Does any file under the test's folder hold `needle`, but for GNOME
    /// Keyring's own (encrypted) keyring files?
    fn files_holding(&self, needle: &[u8]) -> Vec<PathBuf> {
        fn walk(p: &Path, needle: &[u8], skip: &Path, found: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(p).unwrap().flatten() {
                let path = e.path();
                if path.starts_with(skip) {
                    continue;
                }
                let t = e.file_type().unwrap();
                if t.is_dir() {
                    walk(&path, needle, skip, found);
                } else if t.is_file() {
                    let b = std::fs::read(&path).unwrap_or_default();
                    if b.windows(needle.len()).any(|w| w == needle) {
                        found.push(path);
                    }
                }
            }
        }
        let mut found = Vec::new();
        let keyrings = self.ss.home.join("data").join("keyrings");
        walk(self.dir.path(), needle, &keyrings, &mut found);
        found
    }
}

/// A running `lockbox serve --oidc-*`, killed when dropped.
struct Serve {
    child: Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(place: &Place, issuer: &str) -> Serve {
    serve_as(place, issuer, "127.0.0.1:0", CLIENT_ID)
}

/// `lockbox serve` on `bind`, taking ID tokens for `client_id`.
fn serve_as(place: &Place, issuer: &str, bind: &str, client_id: &str) -> Serve {
    let mut child = place
        .lockbox()
        .args(["serve", "--bind", bind, "--oidc-issuer", issuer])
        .args(["--oidc-client-id", client_id])
        .args(["--bootstrap-admin", "ana@contoso.example"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("lockbox serve did not start: {first:?}"))
        .to_string();
    Serve {
        child,
        base: format!("http://{addr}"),
    }
}

/// `lockbox login --server URL` up to its prompt: the process, the lines it
/// printed until the code, and the code.
struct Login {
    child: Child,
    prompt: String,
    code: String,
}

fn start_login(place: &Place, server: &str) -> Login {
    let mut child = place
        .lockbox()
        .args(["login", "--server", server])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut prompt = String::new();
    let code_re = regex::Regex::new(r"enter the code (\S+)").unwrap();
    let code = loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("lockbox login printed no code: {prompt:?} {err}");
        }
        prompt.push_str(&line);
        if let Some(c) = code_re.captures(&line) {
            break c[1].to_string();
        }
    };
    child.stdout = Some(out.into_inner());
    Login {
        child,
        prompt,
        code,
    }
}

impl Login {
    /// Wait for it to end (it polls the provider every 5 s): its output.
    fn finish(self) -> Output {
        let mut out = self.child.wait_with_output().unwrap();
        let mut all = self.prompt.into_bytes();
        all.append(&mut out.stdout);
        out.stdout = all;
        out
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn login_keeps_the_tokens_in_the_keyring_and_remote_renews_them_once() {
    let idp = start_idp();
    let place = Place::new();
    let server = serve(&place, &idp.issuer);
    let rt = tokio::runtime::Runtime::new().unwrap();

    let login = start_login(&place, &server.base);
    assert!(
        login
            .prompt
            .contains(&format!("open {}/device", idp.issuer)),
        "{}",
        login.prompt
    );
    rt.block_on(confirm_device(
        &idp.issuer,
        &login.code,
        "ana@contoso.example",
        true,
    ));
    let out = login.finish();
    assert!(out.status.success(), "{out:?}");
    assert!(
        text(&out.stdout).contains(&format!(
            "Logged in to {} as ana@contoso.example",
            server.base
        )),
        "{out:?}"
    );
    // The tokens (JWTs start "eyJ") are in the keyring only: no file of
    // ours holds one; the config file names the server.
    assert_eq!(place.files_holding(b"eyJ"), Vec::<PathBuf>::new());
    let config = std::fs::read_to_string(place.config_home().join("lockbox/cli.json")).unwrap();
    assert!(config.contains(&server.base), "{config}");

    // The signed-in person, as the server sees them; the token is fresh.
    let out = place.remote(None, &["session"]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["user"].as_str(), v["role"].as_str()),
        (Some("ana@contoso.example"), Some("admin")),
        "{v}"
    );
    assert!(!text(&out.stderr).contains("renewed"), "{out:?}");

    // Past the ID token's exp: renewed once with the refresh token, kept,
    // and the call made with the new one.
    let args = r#"{"tenant":"default"}"#;
    let out = place.remote(Some(LATER), &["--server", &server.base, "list_users", args]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stderr).matches("renewed the sign-in").count(), 1);
    let users: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "ana@contoso.example"),
        "{users}"
    );
    // Again: the renewed refresh token (oidc-provider rotates them) renews again.
    let out = place.remote(Some(LATER), &["session"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stderr).matches("renewed the sign-in").count(), 1);
    assert_eq!(place.files_holding(b"eyJ"), Vec::<PathBuf>::new());

    // A refusal by the engine is the CLI's error and exit code.
    let out = place.remote(None, &["list_users", r#"{"tenant":"nowhere"}"#]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("not_found"), "{out:?}");

    // The same server, now for another client: it answers 401 to the kept
    // token; remote tries the refresh once (the provider refuses it: the
    // refresh token is another client's), then says to log in again.
    let bind = server.base.trim_start_matches("http://").to_string();
    drop(server);
    let server = serve_as(&place, &idp.issuer, &bind, "other-app");
    let out = place.remote(None, &["session"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains("the OpenID provider did not renew it"),
        "{err}"
    );
    assert!(err.contains("lockbox login --server"), "{err}");

    // Logged out: the tokens are gone, and remote says to log in.
    let out = place
        .lockbox()
        .args(["logout", "--server", &server.base])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = place.remote(None, &["--server", &server.base, "session"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains(&format!("lockbox login --server {}", server.base)),
        "{out:?}"
    );
}

#[test]
fn a_denied_login_keeps_nothing_and_the_providers_text_is_escaped() {
    let idp = start_hostile_idp();
    let place = Place::new();
    let server = serve(&place, &idp.issuer);
    let rt = tokio::runtime::Runtime::new().unwrap();

    let login = start_login(&place, &server.base);
    // The hostile URI's visible text is shown, its escapes and bidi
    // override are not passed to the terminal.
    assert!(
        login.prompt.contains("/device ]0;pwned"),
        "{:?}",
        login.prompt
    );
    for bad in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(
            !login.prompt.contains(bad),
            "U+{:04X} reached the terminal: {:?}",
            bad as u32,
            login.prompt
        );
    }
    assert!(HOSTILE_SUFFIX.contains('\u{1b}'));
    rt.block_on(confirm_device(
        &idp.issuer,
        &login.code,
        "ana@contoso.example",
        false,
    ));
    let out = login.finish();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("the sign-in was denied"),
        "{out:?}"
    );
    // Nothing kept: no tokens, no server in the config.
    assert!(!place.config_home().join("lockbox/cli.json").exists());
    let out = place.remote(None, &["--server", &server.base, "session"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("not logged in"), "{out:?}");
}

#[test]
fn without_a_keyring_login_and_remote_fail_and_write_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    // A session bus address where no bus listens: no Secret Service.
    let no_bus = format!("unix:path={}", dir.path().join("no-bus").display());
    for args in [
        &["login", "--server", "http://127.0.0.1:9"][..],
        &["remote", "--server", "http://127.0.0.1:9", "session"][..],
    ] {
        let out = Command::new(assert_cmd::cargo::cargo_bin("lockbox"))
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", &config)
            .env("DBUS_SESSION_BUS_ADDRESS", &no_bus)
            .env_remove("LOCKBOX_SERVER")
            .env_remove("LOCKBOX_NOW")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}: {out:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("no usable OS keyring") && err.contains("never in a file"),
            "{args:?}: {err}"
        );
        assert!(!text(&out.stdout).contains("enter the code"), "{out:?}");
    }
    assert!(!config.exists(), "a config file was written");
}
