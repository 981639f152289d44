//! `lockbox login` (the OpenID Connect device flow, and with `--browser` the
//! authorization code flow with a loopback redirect), `lockbox remote` and
//! `lockbox logout` end to end: a real OpenID provider (`tests/oidc`,
//! oidc-provider on node) whose pages the test drives over HTTP as the
//! person would in a browser (and in `login_in_a_real_browser_driven_by_webdriver`
//! a real browser, WebKitGTK's MiniBrowser driven by WebDriver on a private
//! Xvfb display), a real `lockbox serve --oidc-*`, and a real OS
//! keyring (a private D-Bus session bus with GNOME Keyring's Secret Service,
//! as `keyring.rs` uses): never a fake one.
//!
//! The session's expiry is moved past by the CLI's clock (`LOCKBOX_NOW`, a
//! fixed date far after any token these tests get); the server and the
//! provider run on the real clock, where the renewed session is good. (A
//! 401 from the server's clock followed by a renewal: lockbox-api's
//! `tests/client_renewal.rs`, where the server's clock is the test's.)
//!
//! Needs node with `make oidc-deps`, and dbus-daemon, dbus-send,
//! gnome-keyring-daemon, Xvfb and WebKitWebDriver (.ci/install-deps):
//! without them these tests fail,
//! saying so; they are never skipped.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../../tests/oidc/sign_in.rs"]
mod sign_in;

use common::serve::{serve_oidc, without_lockbox_env, Serve};
use common::{start_secret_service, SecretService};
use serde_json::Value;
use sign_in::{
    browse, browser, browser_script, browser_trusting, confirm_device, private_pki,
    start_hostile_idp, start_idp, start_idp_tls, start_idp_with_device_ttl, webdriver_browser,
    CLIENT_ID, HOSTILE_SUFFIX,
};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// How every token of the provider starts: its JWT header `{"alg":"`,
/// base64url-encoded. (Not just "eyJ": a replica's base64 signatures hold
/// that by chance, about one pull in a few hundred.)
const JWT: &[u8] = b"eyJhbGciOi";

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
            .env("USER", "root");
        without_lockbox_env(&mut c);
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

fn serve(place: &Place, issuer: &str) -> Serve {
    serve_as(place, issuer, "127.0.0.1:0", CLIENT_ID)
}

/// `lockbox serve` on `bind`, taking ID tokens for `client_id`.
fn serve_as(place: &Place, issuer: &str, bind: &str, client_id: &str) -> Serve {
    let mut lockbox = place.lockbox();
    lockbox.stderr(Stdio::null());
    let extra = ["--bootstrap-admin", "ana@contoso.example"];
    serve_oidc(&mut lockbox, bind, issuer, client_id, &extra).0
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
    // The tokens are in the keyring only: no file of
    // ours holds one; the config file names the server.
    assert_eq!(place.files_holding(JWT), Vec::<PathBuf>::new());
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

    // The live change feed, line by line: a change made meanwhile is heard.
    let mut follow = place
        .lockbox()
        .args(["remote", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    let next = || {
        lines
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("lockbox remote --follow printed nothing in 30 s")
    };
    assert_eq!(next(), "scope default");
    let args = r#"{"tenant":"default","name":"ben@contoso.example","role":"approver"}"#;
    let out = place.remote(None, &["add_user", args]);
    assert!(out.status.success(), "{out:?}");
    let heard: Vec<String> = (0..3).map(|_| next()).collect();
    assert_eq!(
        heard,
        [
            "requests_changed default",
            "audit_appended default",
            "settings_changed default"
        ]
    );
    follow.kill().unwrap();
    follow.wait().unwrap();

    // The audit replica: the person's tenants pulled into a store of their
    // own, each page checked against the server's signed checkpoint; run
    // again, it takes only what is new.
    let replica = place.dir.path().join("replica.db");
    let pull = || {
        let out = place
            .lockbox()
            .args(["--json", "remote", "--replica", replica.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let t = &v["tenants"][0];
        assert_eq!(
            (v["tenants"].as_array().unwrap().len(), t["tenant"].as_str()),
            (1, Some("default")),
            "{v}"
        );
        assert_eq!(
            t["checkpoint"], t["entries"],
            "the head is vouched for: {v}"
        );
        (t["added"].as_i64().unwrap(), t["entries"].as_i64().unwrap())
    };
    let (added, entries) = pull();
    assert!(added >= 3 && added == entries, "{added} of {entries}");
    let args = r#"{"tenant":"default","name":"cy@contoso.example","role":"approver"}"#;
    assert!(place.remote(None, &["add_user", args]).status.success());
    let (added, more) = pull();
    assert_eq!((added, more), (more - entries, entries + added));
    assert!(added >= 1);
    let out = place
        .lockbox()
        .args(["--db", replica.to_str().unwrap(), "audit", "verify"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the replica verifies on its own: {out:?}"
    );

    // Past the session's expiry: renewed once with its refresh token
    // (rotated), kept, and the call made with the new one.
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
    // Again: the new refresh token renews again.
    let out = place.remote(Some(LATER), &["session"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stderr).matches("renewed the sign-in").count(), 1);
    assert_eq!(place.files_holding(JWT), Vec::<PathBuf>::new());
    // Nor is a session token in a file (access `lbs_`, refresh `lbr_`).
    for prefix in [b"lbs_", b"lbr_"] {
        assert_eq!(place.files_holding(prefix), Vec::<PathBuf>::new());
    }

    // A refusal by the engine is the CLI's error and exit code.
    let out = place.remote(None, &["list_users", r#"{"tenant":"nowhere"}"#]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("not_found"), "{out:?}");

    // The same server, now for another client: it answers 401 to the kept
    // session (opened for the old client id) and refuses its refresh;
    // remote then tries the issuer's refresh token once (the provider
    // refuses it: it is another client's), then says to log in again.
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
fn a_device_code_nobody_enters_expires_and_keeps_nothing() {
    let idp = start_idp_with_device_ttl("3");
    let place = Place::new();
    let server = serve(&place, &idp.issuer);
    let login = start_login(&place, &server.base);
    let out = login.finish();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains("the code expired before it was entered: run `lockbox login` again"),
        "{err}"
    );
    assert_eq!(place.files_holding(JWT), Vec::<PathBuf>::new());
    let out = place.remote(None, &["--server", &server.base, "session"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("lockbox login --server"),
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

/// `lockbox login --browser` up to the browser: the process, and the address
/// it asked `$BROWSER` (a script noting it in a file) to open.
fn start_browser_login(place: &Place, server: &str) -> (Child, reqwest::Url) {
    start_browser_login_with(place, server, &[])
}

/// [`start_browser_login`] with more arguments to `lockbox login`.
fn start_browser_login_with(place: &Place, server: &str, extra: &[&str]) -> (Child, reqwest::Url) {
    let opened = place.dir.path().join("opened");
    let script = browser_script(place.dir.path(), &opened);
    let mut child = place
        .lockbox()
        .env("BROWSER", &script)
        .args(["login", "--browser", "--server", server])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A bound on a failure only: the address is there as soon as it is opened.
    for _ in 0..600 {
        if let Ok(s) = std::fs::read_to_string(&opened) {
            if s.ends_with('\n') {
                return (child, reqwest::Url::parse(s.trim()).unwrap());
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!("lockbox login --browser ended ({status}) opening nothing: {out:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("lockbox login --browser opened no browser in 30 s");
}

fn query(url: &reqwest::Url) -> std::collections::HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

#[test]
fn login_in_the_browser_takes_only_its_own_redirect() {
    let idp = start_idp();
    let place = Place::new();
    let server = serve(&place, &idp.issuer);
    let rt = tokio::runtime::Runtime::new().unwrap();

    let (child, authorize) = start_browser_login(&place, &server.base);
    // The provider's authorization page: PKCE (S256), a nonce, consent asked
    // (for the refresh token), a loopback IP redirect on a port of its own.
    assert!(
        authorize
            .as_str()
            .starts_with(&format!("{}/auth?", idp.issuer)),
        "{authorize}"
    );
    let q = query(&authorize);
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["prompt"], "consent");
    assert!(
        q["scope"].split(' ').any(|s| s == "offline_access"),
        "{q:?}"
    );
    assert!(q["nonce"].len() >= 16 && q["state"].len() >= 16, "{q:?}");
    let redirect = q["redirect_uri"].clone();
    let port = redirect
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.strip_suffix("/callback"))
        .unwrap_or_else(|| panic!("not a loopback IP redirect: {redirect}"));
    assert!(port.parse::<u16>().unwrap() > 0);

    // Another page sending the browser to the port (another sign-in's state,
    // or none) is turned away, and the CLI goes on waiting.
    for forged in [
        format!("{redirect}?code=forged&state=other"),
        format!("{redirect}?code=forged"),
    ] {
        let r = rt.block_on(reqwest::get(&forged)).unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::BAD_REQUEST, "{forged}");
    }

    // The person signs in and consents; the provider sends the browser back.
    let http = browser();
    let back = rt.block_on(browse(&http, authorize, "ana@contoso.example"));
    assert!(back.as_str().starts_with(&redirect), "{back}");
    let page = rt.block_on(async { http.get(back).send().await.unwrap() });
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    assert!(rt.block_on(page.text()).unwrap().contains("Signed in."));

    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = text(&out.stdout);
    assert!(
        said.contains("If no browser opened, open this address:"),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "Logged in to {} as ana@contoso.example",
            server.base
        )),
        "{said}"
    );
    assert_eq!(place.files_holding(JWT), Vec::<PathBuf>::new());

    // The kept sign-in works, and renews with the refresh token it came with.
    let out = place.remote(None, &["session"]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["user"], "ana@contoso.example", "{v}");
    let out = place.remote(Some(LATER), &["session"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stderr).matches("renewed the sign-in").count(), 1);
}

/// `lockbox login --browser` with a real browser as `$BROWSER`: WebKitGTK's
/// MiniBrowser driven by WebDriver (tests/oidc/browser.mjs) on a private X
/// display types the person's login into the provider's page, consents, and
/// is sent back to the CLI's loopback page, which says "Signed in.".
#[test]
fn login_in_a_real_browser_driven_by_webdriver() {
    let idp = start_idp();
    let place = Place::new();
    let server = serve(&place, &idp.issuer);
    let display = lockbox_core::testing::start_display();
    let script = webdriver_browser(place.dir.path(), "ben@contoso.example", &display);
    let mut child = place
        .lockbox()
        .env("BROWSER", &script)
        .args(["login", "--browser", "--server", &server.base])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let browser_log = || std::fs::read_to_string(place.dir.path().join("browser.log"));
    // A bound on a failure only (the sign-in takes a few seconds).
    for _ in 0..1200 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
        panic!(
            "lockbox login --browser still waits after 120 s; the browser said: {:?}",
            browser_log()
        );
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{out:?}\nthe browser said: {:?}",
        browser_log()
    );
    // The CLI ends as soon as the browser reached its page; the browser says
    // what it saw there a moment later (a bound on a failure only).
    let said = |log: &str| log.contains(" signed in (pages: ") || log.contains("browser.mjs: ");
    let mut log = String::new();
    for _ in 0..300 {
        log = browser_log().unwrap_or_default();
        if said(&log) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        log.contains("browser.mjs: ben@contoso.example signed in (pages: login, consent)"),
        "{log}"
    );
    assert!(
        text(&out.stdout).contains(&format!(
            "Logged in to {} as ben@contoso.example",
            server.base
        )),
        "{out:?}"
    );
    assert_eq!(place.files_holding(JWT), Vec::<PathBuf>::new());
    let out = place.remote(None, &["session"]);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["user"], "ben@contoso.example", "{v}");
}

#[test]
fn a_refused_browser_login_keeps_nothing_and_the_providers_text_is_escaped() {
    let idp = start_idp();
    let place = Place::new();
    let server = serve(&place, &idp.issuer);
    let rt = tokio::runtime::Runtime::new().unwrap();

    let (child, authorize) = start_browser_login(&place, &server.base);
    let q = query(&authorize);
    // The provider's redirect with an error, its description hostile text.
    let mut back = reqwest::Url::parse(&q["redirect_uri"]).unwrap();
    back.query_pairs_mut()
        .append_pair("error", "access_denied")
        .append_pair("error_description", &format!("no{HOSTILE_SUFFIX}"))
        .append_pair("state", &q["state"]);
    let page = rt.block_on(reqwest::get(back)).unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let html = rt.block_on(page.text()).unwrap();
    assert!(
        html.contains("did not succeed") && !html.contains("pwned"),
        "{html}"
    );

    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains("did not sign you in: access_denied: no"),
        "{err}"
    );
    for bad in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(
            !err.contains(bad),
            "U+{:04X} reached the terminal: {err:?}",
            bad as u32
        );
    }
    assert!(!place.config_home().join("lockbox/cli.json").exists());
    let out = place.remote(None, &["--server", &server.base, "session"]);
    assert!(text(&out.stderr).contains("not logged in"), "{out:?}");
}

#[test]
fn an_issuer_behind_a_private_ca_is_trusted_with_ca_and_remembered() {
    let (ca, cert, key) = private_pki();
    let place = Place::new();
    let files = |name: &str, pem: &str| {
        let path = place.dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    let (cert_file, key_file) = (files("idp.pem", &cert), files("idp.key", &key));
    let ca_file = files("ca.pem", &ca);
    let idp = start_idp_tls(&cert_file, &key_file);
    assert!(idp.issuer.starts_with("https://"), "{}", idp.issuer);
    let mut lockbox = place.lockbox();
    lockbox.stderr(Stdio::null());
    let ca_arg = ca_file.to_str().unwrap();
    let extra = [
        "--bootstrap-admin",
        "ana@contoso.example",
        "--oidc-ca",
        ca_arg,
    ];
    let (server, _out) = serve_oidc(&mut lockbox, "127.0.0.1:0", &idp.issuer, CLIENT_ID, &extra);
    let rt = tokio::runtime::Runtime::new().unwrap();

    // Without --ca the issuer's certificate is not trusted: a clear error
    // before any browser opens, nothing kept.
    let out = place
        .lockbox()
        .env("BROWSER", "/bin/false")
        .args(["login", "--browser", "--server", &server.base])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("cannot reach the OpenID provider {}", idp.issuer)),
        "{err}"
    );
    assert!(!place.config_home().join("lockbox/cli.json").exists());

    // With --ca: signed in (the browser trusts the CA as the OS would), and
    // the CA is remembered with the server for `remote`.
    let (child, authorize) = start_browser_login_with(&place, &server.base, &["--ca", ca_arg]);
    let http = browser_trusting(Some(ca.as_bytes()));
    let back = rt.block_on(browse(&http, authorize, "ana@contoso.example"));
    rt.block_on(async { http.get(back).send().await.unwrap() });
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let config = std::fs::read_to_string(place.config_home().join("lockbox/cli.json")).unwrap();
    assert!(config.contains("ca.pem"), "{config}");
    // Renewing the ID token goes to the issuer: it needs the remembered CA.
    let out = place.remote(Some(LATER), &["session"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stderr).matches("renewed the sign-in").count(), 1);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["user"], "ana@contoso.example", "{v}");
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
