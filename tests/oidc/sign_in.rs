//! The real OpenID provider of the sign-in tests, for Rust tests: start
//! `server.mjs` (oidc-provider on node) on a free port, and sign a person in
//! the way the desktop app will: the authorization-code flow with PKCE over
//! plain HTTP, through the provider's own login and consent pages (a cookie
//! jar; the code taken from the redirect to a loopback address), then the
//! code for tokens at the token endpoint. Included with `#[path]` by
//! `crates/lockbox-api/tests/admin_oidc.rs` and
//! `crates/lockbox-cli/tests/serve_oidc.rs`.
//!
//! Needs node and `npm ci` here (`make oidc-deps`): without them the tests
//! fail, saying so; they are never skipped.

#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{TimeZone, Utc};
use lockbox_core::testing::Display;
use reqwest::{Client, StatusCode, Url};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicU64;

/// The desktop app's client id (server.mjs also has `other-app`).
pub const CLIENT_ID: &str = "lockbox-desktop";

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The OpenID provider: a node process, stopped when dropped.
pub struct Idp {
    child: Child,
    pub issuer: String,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_idp() -> Idp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    start_idp_on(port)
}

/// The provider on `port`, with a signing key of its own (a new one each start).
pub fn start_idp_on(port: u16) -> Idp {
    launch(port, None, &[])
}

/// The provider on a free port, answering each device authorization with
/// terminal escapes and a bidi override appended to its verification URIs
/// (`OIDC_HOSTILE_DEVICE_TEXT`): what a client prints must not obey them.
pub fn start_hostile_idp() -> Idp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    launch(port, None, &[("OIDC_HOSTILE_DEVICE_TEXT", HOSTILE_SUFFIX)])
}

/// The provider on a free port, its device codes good for `seconds` only
/// (`OIDC_DEVICE_TTL`): a code nobody enters expires while the client polls.
pub fn start_idp_with_device_ttl(seconds: &str) -> Idp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    launch(port, None, &[("OIDC_DEVICE_TTL", seconds)])
}

/// What [`start_hostile_idp`]'s provider appends to a verification URI.
pub const HOSTILE_SUFFIX: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}gnp.exe";

/// The provider on a free port serving https with this certificate and key
/// (PEM files): issuer `https://127.0.0.1:PORT`.
pub fn start_idp_tls(cert: &std::path::Path, key: &std::path::Path) -> Idp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    launch(port, Some((cert, key)), &[])
}

/// tests/oidc. Its users are crates/NAME/tests/ and src-tauri/tests/: the
/// workspace root is the nearest folder above holding tests/oidc.
fn oidc_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|d| d.join("tests/oidc"))
        .find(|d| d.join("server.mjs").is_file())
        .unwrap_or_else(|| manifest.join("../../tests/oidc"))
}

fn launch(
    port: u16,
    tls: Option<(&std::path::Path, &std::path::Path)>,
    env: &[(&str, &str)],
) -> Idp {
    let dir = oidc_dir();
    assert!(
        dir.join("node_modules/oidc-provider/package.json")
            .is_file(),
        "tests/oidc/node_modules is missing: run `make oidc-deps` (npm ci in tests/oidc) first; \
         these tests need the real OpenID provider and are not skipped without it"
    );
    let node = || {
        let mut node = Command::new("node");
        node.env_remove("OIDC_TLS_CERT")
            .env_remove("OIDC_TLS_KEY")
            .env_remove("OIDC_HOSTILE_DEVICE_TEXT")
            .env_remove("OIDC_DEVICE_TTL")
            .envs(env.iter().copied());
        if let Some((cert, key)) = tls {
            node.env("OIDC_TLS_CERT", cert).env("OIDC_TLS_KEY", key);
        }
        node
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let issuer = format!("{scheme}://127.0.0.1:{port}");
    // Node 20 now and then stops while loading the provider's modules, before
    // running a line of server.mjs (no CPU used, no socket, stdin not read):
    // such a start is given up after a bound and made again, at most twice.
    for attempt in 1..=3 {
        let mut child = node()
            .arg("server.mjs")
            .arg(port.to_string())
            .current_dir(&dir)
            // The provider stops when its stdin closes: if this process dies
            // without dropping `Idp`, the provider does not stay behind.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start node (needed for the OpenID provider of these tests; install nodejs): {e}")
            });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, first) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            let _ = tx.send(line);
            // Keep reading what it says later (its first-use warnings on the
            // device pages): a closed pipe would kill it with EPIPE.
            std::io::copy(&mut stdout, &mut std::io::sink())
        });
        match first.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(line) => {
                assert_eq!(
                    line.trim(),
                    format!("listening {issuer}"),
                    "the OpenID provider did not start"
                );
                return Idp { child, issuer };
            }
            Err(_) => {
                eprintln!("the OpenID provider did not start within 30 s (attempt {attempt}); starting it again");
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
    panic!("the OpenID provider (node tests/oidc/server.mjs {port}) did not start in 3 attempts");
}

/// Sign `login` in at the provider as client `client_id` (authorization code
/// + PKCE, the provider's own login and consent pages); the ID token.
pub async fn sign_in(issuer: &str, client_id: &str, login: &str) -> String {
    sign_in_trusting(issuer, client_id, login, None).await
}

/// [`sign_in`] at an https issuer whose certificate `ca_pem` signed.
pub async fn sign_in_trusting(
    issuer: &str,
    client_id: &str,
    login: &str,
    ca_pem: Option<&[u8]>,
) -> String {
    let http = browser_trusting(ca_pem);
    // PKCE (S256): any 43 to 128 unreserved characters; unique is enough here.
    let verifier = format!(
        "lockbox-test-verifier-{}-{}-0123456789abcdef",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    // RFC 8252: a native app's loopback redirect, on whatever port it listens.
    let redirect = "http://127.0.0.1:49152/callback";
    let base = Url::parse(issuer).unwrap();
    let mut url = base.join("/auth").unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email")
        .append_pair("redirect_uri", redirect)
        .append_pair("state", "st-1")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let next = browse(&http, url, login).await;
    assert!(next.as_str().starts_with(redirect), "redirected to {next}");
    let q: std::collections::HashMap<_, _> = next.query_pairs().into_owned().collect();
    assert_eq!(q.get("state").map(String::as_str), Some("st-1"));
    let code = q
        .get("code")
        .unwrap_or_else(|| panic!("no code in the redirect: {next}"))
        .clone();
    let token: Value = http
        .post(base.join("/token").unwrap())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("client_id", client_id),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no id_token: {token}"))
        .to_string()
}

/// Go from `authorize` (an authorization request) through the provider's
/// pages as `login` would in a browser: its login and consent forms, posted
/// with `http`'s cookie jar, redirects followed while they stay at the
/// provider. Returns where the provider sends the browser at the end (the
/// app's redirect URI with the code or the error), without going there.
pub async fn browse(http: &Client, authorize: Url, login: &str) -> Url {
    let mut resp = http.get(authorize.clone()).send().await.unwrap();
    for _ in 0..12 {
        let status = resp.status();
        if status.is_redirection() {
            let location = resp.headers()["location"].to_str().unwrap().to_string();
            let next = resp.url().join(&location).unwrap();
            if next.origin() != authorize.origin() {
                return next;
            }
            resp = http.get(next).send().await.unwrap();
            continue;
        }
        assert_eq!(
            status,
            StatusCode::OK,
            "sign-in page: {}",
            resp.text().await.unwrap()
        );
        let page_url = resp.url().clone();
        let html = resp.text().await.unwrap();
        resp = answer_form(http, &page_url, &html, login).await;
    }
    panic!("the sign-in did not end with a redirect to the app");
}

/// Post the provider's login form (as `login`, any password) or its
/// consent form, whichever `html` (at `page_url`) is.
async fn answer_form(http: &Client, page_url: &Url, html: &str, login: &str) -> reqwest::Response {
    let action = regex::Regex::new(r#"<form[^>]*action="([^"]+)""#).unwrap();
    let target = page_url
        .join(
            &action
                .captures(html)
                .unwrap_or_else(|| panic!("no form: {html}"))[1],
        )
        .unwrap();
    let form: Vec<(&str, &str)> = if html.contains(r#"name="login""#) {
        vec![("prompt", "login"), ("login", login), ("password", "any")]
    } else {
        assert!(
            html.contains(r#"value="consent""#),
            "neither login nor consent: {html}"
        );
        vec![("prompt", "consent")]
    };
    http.post(target).form(&form).send().await.unwrap()
}

/// A `$BROWSER` for a client under test: a script in `dir` that notes each
/// address it is asked to open, a line each, in `opened`.
pub fn browser_script(dir: &std::path::Path, opened: &std::path::Path) -> PathBuf {
    let script = dir.join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
            opened.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    script
}

/// A `$BROWSER` that is a real browser driven by WebDriver: `browser.mjs`
/// (WebKitGTK's MiniBrowser under WebKitWebDriver, on `display`) signs
/// `login` in at the provider's own pages and ends at the client's loopback
/// page. What it says goes to `dir/browser.log`. It runs on the real clock,
/// as a person's browser does, whatever the test's clock is.
pub fn webdriver_browser(dir: &std::path::Path, login: &str, display: &Display) -> PathBuf {
    let oidc = oidc_dir();
    assert!(
        oidc.join("node_modules/selenium-webdriver/package.json")
            .is_file(),
        "tests/oidc/node_modules has no selenium-webdriver: run `make oidc-deps` first; \
         this test needs a real browser and is not skipped without it"
    );
    let script = dir.join("webdriver-browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nunset LD_PRELOAD FAKETIME DONT_FAKE_MONOTONIC\n\
             DISPLAY='{display}' exec node '{js}' '{login}' \"$1\" >> '{log}' 2>&1\n",
            display = display.name,
            js = oidc.join("browser.mjs").display(),
            log = dir.join("browser.log").display(),
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    script
}

/// A client as a browser is to the provider: a cookie jar, redirects seen.
pub fn browser() -> Client {
    browser_trusting(None)
}

/// [`browser`], trusting the certificates of `ca_pem` too.
pub fn browser_trusting(ca_pem: Option<&[u8]>) -> Client {
    let mut http = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = ca_pem {
        http = http.add_root_certificate(reqwest::Certificate::from_pem(pem).unwrap());
    }
    http.build().unwrap()
}

/// (CA certificate PEM, server certificate PEM, server key PEM): a private
/// CA and a certificate it signed for 127.0.0.1.
pub fn private_pki() -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Lockbox test IdP CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// Confirm (or, with `approve` false, abort) the device sign-in whose user
/// code is `user_code`, as `login` would in a browser: the provider's own
/// device pages (code input, confirmation), then its login and consent
/// pages, over HTTP with a cookie jar. Returns once the provider says the
/// sign-in succeeded (or was aborted).
pub async fn confirm_device(issuer: &str, user_code: &str, login: &str, approve: bool) {
    let http = browser();
    let base = Url::parse(issuer).unwrap();
    let xsrf = regex::Regex::new(r#"name="xsrf" value="([^"]+)""#).unwrap();
    // The code input page, then the confirmation page for that code.
    let page = http
        .get(base.join("/device").unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = xsrf
        .captures(&page)
        .unwrap_or_else(|| panic!("no xsrf: {page}"))[1]
        .to_string();
    let page = http
        .post(base.join("/device").unwrap())
        .form(&[("xsrf", token.as_str()), ("user_code", user_code)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("op.deviceConfirmForm"),
        "no confirmation page: {page}"
    );
    let token = xsrf.captures(&page).unwrap()[1].to_string();
    let choice = if approve { "confirm" } else { "abort" };
    let mut resp = http
        .post(base.join("/device").unwrap())
        .form(&[
            ("xsrf", token.as_str()),
            ("user_code", user_code),
            (choice, "yes"),
        ])
        .send()
        .await
        .unwrap();
    for _ in 0..12 {
        let status = resp.status();
        if status.is_redirection() {
            let location = resp.headers()["location"].to_str().unwrap().to_string();
            let next = resp.url().join(&location).unwrap();
            resp = http.get(next).send().await.unwrap();
            continue;
        }
        let page_url = resp.url().clone();
        let html = resp.text().await.unwrap();
        if !approve {
            assert!(
                html.contains("The Sign-in request was interrupted"),
                "not aborted: {status} {html}"
            );
            return;
        }
        if html.contains("Sign-in Success") {
            return;
        }
        assert_eq!(status, StatusCode::OK, "device sign-in page: {html}");
        resp = answer_form(&http, &page_url, &html, login).await;
    }
    panic!("the device sign-in did not end with the provider's success page");
}

/// A claim of a JWT, unverified (the test reads its own token's times).
pub fn claim(jwt: &str, name: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()[name].clone()
}

pub fn time_of(jwt: &str, name: &str) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(claim(jwt, name).as_i64().unwrap(), 0)
        .unwrap()
}
