//! `lockbox login`, `logout` and `remote`: the CLI as a client of a team
//! server's admin API (`lockbox serve --oidc-issuer …`).
//!
//! - `login --server URL`: the server says where to sign in
//!   (`GET /admin/v1/sign-in`: issuer, client id); the OpenID Connect device
//!   authorization grant (RFC 8628, `openidconnect`) against that issuer,
//!   scopes `openid email offline_access`; the ID and refresh tokens go to
//!   the OS keyring (`lockbox_core::secrets`, one entry per server URL),
//!   never a file; the server URL (and `--ca`) to a small config file.
//! - `login --browser`: the authorization code flow with PKCE through the
//!   system browser and a loopback redirect (RFC 8252), in `browser.rs`.
//! - `remote COMMAND [JSON]`: `POST /admin/v1/commands/COMMAND` with the ID
//!   token; one that has expired (its `exp`, by the CLI's clock —
//!   `LOCKBOX_NOW` pins it — or a 401 from the server) is refreshed once at
//!   the issuer's token endpoint, kept, and the call made once more.
//!
//! The CLI does not verify the ID token itself: it came straight from the
//! issuer's token endpoint over TLS (OpenID Connect Core §3.1.3.7), and the
//! server verifies it on every call. It reads its `exp` (when to refresh)
//! and `email` (whom to name) only.

mod browser;

use crate::print::Out;
use base64::Engine as _;
use lockbox_core::error::chain;
use lockbox_core::secrets::{self, SIGN_IN_SERVICE};
use lockbox_core::text::one_line;
use lockbox_core::{Clock, Error, ErrorCode, Result};
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod,
    CoreDeviceAuthorizationResponse, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType, CoreTokenResponse,
};
use openidconnect::{
    AdditionalProviderMetadata, ClientId, DeviceAuthorizationUrl, IssuerUrl, OAuth2TokenResponse,
    ProviderMetadata, RefreshToken, Scope,
};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// The discovery document's device endpoint (not in `CoreProviderMetadata`).
#[derive(Clone, Debug, Deserialize, Serialize)]
struct DeviceEndpoint {
    device_authorization_endpoint: Option<DeviceAuthorizationUrl>,
}
impl AdditionalProviderMetadata for DeviceEndpoint {}
type Metadata = ProviderMetadata<
    DeviceEndpoint,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// What the keyring keeps per server (as JSON): secret, never logged.
#[derive(Serialize, Deserialize)]
struct Tokens {
    id_token: String,
    refresh_token: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens { .. }")
    }
}

/// The non-secret config file: the server last logged in to, and its CA file.
#[derive(Serialize, Deserialize, Default, Debug)]
struct Config {
    server: Option<String>,
    ca: Option<PathBuf>,
}

/// `$XDG_CONFIG_HOME/lockbox/cli.json` on Linux.
fn config_path() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "lockbox")
        .ok_or_else(|| Error::input("cannot find the user's config folder (is HOME set?)"))?;
    Ok(dirs.config_dir().join("cli.json"))
}

fn read_config() -> Result<Config> {
    let path = config_path()?;
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| Error::input(format!("{} is not valid: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(Error::input(format!("cannot read {}: {e}", path.display()))),
    }
}

fn write_config(c: &Config) -> Result<()> {
    let path = config_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::input(format!("cannot create {}: {e}", dir.display())))?;
    }
    lockbox_core::files::write_atomically(&path, |f| {
        serde_json::to_writer_pretty(&mut *f, c)
            .map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))
    })
}

/// The server URL as the keyring key: https, or http on a loopback address;
/// no path, query or trailing `/`.
fn server_url(s: &str) -> Result<String> {
    let url = Url::parse(s.trim())
        .map_err(|e| Error::input(format!("--server '{}': not a URL: {e}", one_line(s))))?;
    let loopback = url.host_str().is_some_and(secrets::is_loopback_host);
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(Error::input(format!(
            "--server '{}' must be an https URL (http only on a loopback address, for tests)",
            one_line(s)
        )));
    }
    if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
        return Err(Error::input(format!(
            "--server '{}': give the server's address only, like https://lockbox.example:8787",
            one_line(s)
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// One HTTP client for the server and the issuer: no redirects (nothing is
/// fetched from where a response points), `ca` trusted besides the OS roots.
fn http_client(ca: Option<&Path>) -> Result<reqwest::Client> {
    let mut http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30));
    if let Some(path) = ca {
        let pem = std::fs::read(path)
            .map_err(|e| Error::input(format!("--ca {}: {e}", path.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| Error::input(format!("--ca: not PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err(Error::input("--ca: the file holds no PEM certificate"));
        }
        for c in certs {
            http = http.add_root_certificate(c);
        }
    }
    http.build()
        .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))
}

fn unreachable(what: &str, e: &dyn std::error::Error) -> Error {
    Error::new(
        ErrorCode::StoreUnavailable,
        format!("cannot reach {what}: {}", chain(e)),
    )
}

/// The server's `{code,message}` error as the CLI's error.
async fn server_error(r: reqwest::Response) -> Error {
    let status = r.status();
    match r.json::<serde_json::Value>().await {
        Ok(v) if v["message"].is_string() => Error::new(
            serde_json::from_value(v["code"].clone()).unwrap_or(ErrorCode::Internal),
            v["message"].as_str().unwrap_or_default(),
        ),
        _ => Error::internal(format!(
            "the server answered {status} without a Lockbox error"
        )),
    }
}

/// `GET SERVER/admin/v1/sign-in`: the issuer and client id to sign in with.
async fn sign_in_info(http: &reqwest::Client, server: &str) -> Result<lockbox_api::admin::SignIn> {
    let r = http
        .get(format!("{server}/admin/v1/sign-in"))
        .send()
        .await
        .map_err(|e| unreachable(server, &e))?;
    if !r.status().is_success() {
        return Err(server_error(r).await);
    }
    r.json()
        .await
        .map_err(|e| Error::internal(format!("{server}/admin/v1/sign-in: {}", chain(&e))))
}

/// The issuer's discovery document, and the client (public: no secret).
async fn client_of(
    http: &reqwest::Client,
    info: &lockbox_api::admin::SignIn,
) -> Result<(Metadata, ClientId)> {
    let issuer = IssuerUrl::new(info.issuer.clone())
        .map_err(|e| Error::internal(format!("the server names an invalid issuer: {e}")))?;
    let meta = Metadata::discover_async(issuer, http)
        .await
        .map_err(|e| unreachable(&format!("the OpenID provider {}", info.issuer), &e))?;
    Ok((meta, ClientId::new(info.client_id.clone())))
}

/// A claim of a JWT's payload, unverified (the server verifies the token).
fn claim(jwt: &str, name: &str) -> Option<serde_json::Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get(name)
        .cloned()
}

fn tokens_of(resp: &CoreTokenResponse, old_refresh: Option<String>) -> Result<Tokens> {
    let id_token = resp
        .extra_fields()
        .id_token()
        .ok_or_else(|| {
            Error::new(
                ErrorCode::Unauthorized,
                "the OpenID provider sent no ID token (is the openid scope allowed for this client?)",
            )
        })?
        .to_string();
    Ok(Tokens {
        id_token,
        refresh_token: resp
            .refresh_token()
            .map(|r| r.secret().clone())
            .or(old_refresh),
    })
}

fn keyring_error(e: secrets::Unavailable) -> Error {
    Error::new(
        ErrorCode::StoreUnavailable,
        format!(
            "cannot use the sign-in: {e}. `lockbox login` keeps tokens only in the OS keyring \
             (the Secret Service: GNOME Keyring, KWallet), never in a file; start one and log in again"
        ),
    )
}

fn keep(server: &str, t: &Tokens) -> Result<()> {
    let json = serde_json::to_string(t)
        .map_err(|e| Error::internal(format!("cannot encode the tokens: {e}")))?;
    secrets::secret_set(SIGN_IN_SERVICE, server, &json).map_err(keyring_error)
}

fn kept(server: &str) -> Result<Tokens> {
    let json = secrets::secret_get(SIGN_IN_SERVICE, server)
        .map_err(keyring_error)?
        .ok_or_else(|| log_in_first(server, "you are not logged in to it"))?;
    serde_json::from_str(&json).map_err(|_| log_in_first(server, "its kept sign-in is damaged"))
}

fn log_in_first(server: &str, why: &str) -> Error {
    Error::new(
        ErrorCode::Unauthorized,
        format!("{why} ({server}): log in with `lockbox login --server {server}`"),
    )
}

/// `lockbox login --server URL [--ca FILE] [--browser]`.
pub fn login(server: &str, ca: Option<PathBuf>, in_browser: bool, out: &Out) -> Result<ExitCode> {
    let server = server_url(server)?;
    // No keyring, no sign-in to keep: say so before the person signs in.
    secrets::secret_get(SIGN_IN_SERVICE, &server).map_err(keyring_error)?;
    let http = http_client(ca.as_deref())?;
    let tokens = if in_browser {
        runtime()?.block_on(browser::browser_flow(&http, &server, out))?
    } else {
        runtime()?.block_on(device_flow(&http, &server, out))?
    };
    keep(&server, &tokens)?;
    write_config(&Config {
        server: Some(server.clone()),
        ca: ca.map(|p| std::path::absolute(&p).unwrap_or(p)),
    })?;
    let who = claim(&tokens.id_token, "email")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    out.value(
        &serde_json::json!({ "server": server, "email": who }),
        &format!("Logged in to {server} as {}", one_line(&who)),
    );
    Ok(ExitCode::SUCCESS)
}

async fn device_flow(http: &reqwest::Client, server: &str, out: &Out) -> Result<Tokens> {
    let info = sign_in_info(http, server).await?;
    let (meta, client_id) = client_of(http, &info).await?;
    let device_url = meta
        .additional_metadata()
        .device_authorization_endpoint
        .clone()
        .ok_or_else(|| {
            Error::input(format!(
                "the OpenID provider {} offers no device sign-in (no device_authorization_endpoint)",
                info.issuer
            ))
        })?;
    let client = CoreClient::from_provider_metadata(meta, client_id, None)
        .set_device_authorization_url(device_url);
    let details: CoreDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .request_async(http)
        .await
        .map_err(|e| refused("ask for a device code", &info.issuer, &e))?;
    // Everything here is the provider's text: one line each, no escapes.
    let uri = one_line(details.verification_uri().as_str()).into_owned();
    let code = one_line(details.user_code().secret()).into_owned();
    let prompt = match details.verification_uri_complete() {
        Some(full) => format!(
            "To sign in to {server}, open {uri}\nand enter the code {code}\n(or open {})",
            one_line(full.secret())
        ),
        None => format!("To sign in to {server}, open {uri}\nand enter the code {code}"),
    };
    if out.json {
        eprintln!("{prompt}");
    } else {
        outln!("{prompt}");
    }
    // Polls every `interval` (5 s unless the provider says), 5 s more at
    // each slow_down, until approved, denied or expired.
    let resp = client
        .exchange_device_access_token(&details)
        .map_err(|e| Error::internal(format!("the device sign-in: {e}")))?
        .request_async(http, tokio::time::sleep, None)
        .await
        .map_err(|e| refused("sign you in", &info.issuer, &e))?;
    tokens_of(&resp, None)
}

/// The provider refused or failed: its error code in words (denied,
/// expired), its own description escaped.
fn refused<E: std::error::Error>(what: &str, issuer: &str, e: &E) -> Error {
    let text = chain(e);
    let why = if text.contains("access_denied") {
        "the sign-in was denied".to_string()
    } else if text.contains("expired_token") {
        "the code expired before it was entered: run `lockbox login` again".to_string()
    } else {
        text
    };
    Error::new(
        ErrorCode::Unauthorized,
        format!(
            "the OpenID provider {issuer} could not {what}: {}",
            one_line(&why)
        ),
    )
}

/// `lockbox logout [--server URL]`.
pub fn logout(server: Option<String>, out: &Out) -> Result<ExitCode> {
    let config = read_config()?;
    let server = match server.or(config.server.clone()) {
        Some(s) => server_url(&s)?,
        None => return Err(Error::input("which server? give --server URL")),
    };
    secrets::secret_delete(SIGN_IN_SERVICE, &server).map_err(keyring_error)?;
    if config.server.as_deref() == Some(server.as_str()) {
        write_config(&Config::default())?;
    }
    out.done(&format!("Logged out of {server}"));
    Ok(ExitCode::SUCCESS)
}

/// `lockbox remote [--server URL] COMMAND [JSON_ARGS]`.
pub fn remote(
    server: Option<String>,
    ca: Option<PathBuf>,
    command: &str,
    args: Option<String>,
    clock: &dyn Clock,
    out: &Out,
) -> Result<ExitCode> {
    let config = read_config()?;
    let server = match server.as_deref().or(config.server.as_deref()) {
        Some(s) => server_url(s)?,
        None => {
            return Err(Error::new(
                ErrorCode::Unauthorized,
                "no team server: log in with `lockbox login --server URL`",
            ))
        }
    };
    let ca = ca.or_else(|| {
        (config.server.as_deref() == Some(server.as_str()))
            .then_some(config.ca)
            .flatten()
    });
    let body: serde_json::Value = match args.as_deref().map(str::trim) {
        None | Some("") => serde_json::json!({}),
        Some(a) => serde_json::from_str(a)
            .map_err(|e| Error::input(format!("JSON_ARGS is not JSON: {e}")))?,
    };
    if command.is_empty()
        || !command
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(Error::input(format!(
            "'{}' is not a command name (like list_users)",
            one_line(command)
        )));
    }
    let tokens = kept(&server)?;
    let http = http_client(ca.as_deref())?;
    let now = clock.now().timestamp();
    let v = runtime()?.block_on(call(&http, &server, command, &body, tokens, now))?;
    let text = serde_json::to_string_pretty(&v).unwrap_or_default();
    out.value(&v, &text);
    Ok(ExitCode::SUCCESS)
}

/// The call, refreshing the sign-in once if it has expired (by `exp`, or a 401).
async fn call(
    http: &reqwest::Client,
    server: &str,
    command: &str,
    body: &serde_json::Value,
    mut tokens: Tokens,
    now: i64,
) -> Result<serde_json::Value> {
    let expired = claim(&tokens.id_token, "exp")
        .and_then(|e| e.as_i64())
        .is_none_or(|exp| exp <= now);
    let mut refreshed = false;
    if expired {
        tokens = refresh(http, server, tokens).await?;
        refreshed = true;
    }
    loop {
        let r = http
            .post(format!("{server}/admin/v1/commands/{command}"))
            .bearer_auth(&tokens.id_token)
            .json(body)
            .send()
            .await
            .map_err(|e| unreachable(server, &e))?;
        if r.status() == StatusCode::UNAUTHORIZED && !refreshed {
            tokens = refresh(http, server, tokens).await?;
            refreshed = true;
            continue;
        }
        if r.status() == StatusCode::UNAUTHORIZED {
            let e = server_error(r).await;
            return Err(log_in_first(
                server,
                &format!("the server refused the sign-in: {}", e.message),
            ));
        }
        if !r.status().is_success() {
            return Err(server_error(r).await);
        }
        return r
            .json()
            .await
            .map_err(|e| Error::internal(format!("the server's answer is not JSON: {e}")));
    }
}

/// New tokens for old at the issuer's token endpoint, kept in the keyring.
async fn refresh(http: &reqwest::Client, server: &str, tokens: Tokens) -> Result<Tokens> {
    let Some(refresh_token) = tokens.refresh_token.clone() else {
        return Err(log_in_first(
            server,
            "the sign-in has expired and cannot be renewed",
        ));
    };
    let info = sign_in_info(http, server).await?;
    let (meta, client_id) = client_of(http, &info).await?;
    let client = CoreClient::from_provider_metadata(meta, client_id, None);
    let rt = RefreshToken::new(refresh_token);
    let resp = client
        .exchange_refresh_token(&rt)
        .map_err(|e| Error::internal(format!("the refresh: {e}")))?
        .request_async(http)
        .await
        .map_err(|e| {
            log_in_first(
                server,
                &format!(
                    "the sign-in has expired and the OpenID provider did not renew it ({})",
                    one_line(&chain(&e))
                ),
            )
        })?;
    let new = tokens_of(&resp, tokens.refresh_token)?;
    keep(server, &new)?;
    eprintln!("lockbox: renewed the sign-in to {server}");
    Ok(new)
}
