//! A team server's client: how `lockbox login` / `remote` (and the desktop
//! app in connected mode) sign a person in and call the admin API.
//! No printing and no config file here: the caller shows what there is to
//! show (a device code, the address of a sign-in page) and keeps its own
//! settings.
//!
//! - Where to sign in: `GET SERVER/admin/v1/sign-in` (issuer, client id),
//!   then the issuer's discovery document (`openidconnect`).
//! - Sign-in: the device authorization grant (RFC 8628, [`device_flow`]), or
//!   the authorization code flow with PKCE through the system browser and a
//!   loopback redirect (RFC 8252, [`browser_flow`]); scopes `openid email
//!   offline_access`. Then the ID token is exchanged for a Lockbox session
//!   (`POST /admin/v1/sessions`: an access token for 15 minutes, a refresh
//!   token for 12 hours, good once). The session's tokens, the ID token and
//!   the issuer's refresh token go to the OS keyring together
//!   (`lockbox_core::secrets`, service `lockbox-sign-in`, one entry per
//!   server URL), never a file.
//! - [`call`]: `POST /admin/v1/commands/COMMAND` with the session's access
//!   token; one that has expired (by the caller's clock, or a 401 from the
//!   server) is renewed once ([`renew`]: the session's refresh token at
//!   `POST /admin/v1/sessions/refresh`; if the server refuses it, a new
//!   sign-in without the person: the issuer's refresh token for a new ID
//!   token, exchanged for a new session), kept, and the call made once more.
//! - [`sign_out`]: `DELETE /admin/v1/sessions` (the session ends on the
//!   server, when it can be reached); the caller deletes the keyring entry.
//! - [`changes::follow`]: the live change feed (`GET /admin/v1/changes`),
//!   its sign-in renewed the same way, joined again from its last id.
//!
//! The client does not verify the ID token's signature: it came straight
//! from the issuer's token endpoint over TLS (OpenID Connect Core §3.1.3.7),
//! and the server verifies it when it opens a session. It reads its `email`
//! (whom to name) and, after a browser sign-in, `nonce`. When to renew is
//! the session's `expires_at`, as the server said it.

mod browser;
pub mod changes;
mod device;
pub mod replica;

pub use browser::{browser_flow, open_in_browser};
pub use device::device_flow;

use base64::Engine as _;
use lockbox_core::dto::SignIn;
use lockbox_core::error::chain;
use lockbox_core::secrets::{self, SIGN_IN_SERVICE};
use lockbox_core::text::one_line;
use lockbox_core::{Error, ErrorCode, Result};
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType, CoreTokenResponse,
};
use openidconnect::{
    AdditionalProviderMetadata, ClientId, DeviceAuthorizationUrl, IssuerUrl, OAuth2TokenResponse,
    ProviderMetadata, RefreshToken,
};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use std::path::Path;
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
#[derive(Serialize, Deserialize, Clone)]
pub struct Tokens {
    /// The issuer's ID token (who signed in; exchanged for a session).
    pub id_token: String,
    /// The issuer's refresh token: a new ID token when the session cannot
    /// be renewed.
    pub refresh_token: Option<String>,
    /// The server's session (none in an entry kept before sessions: then
    /// the first call opens one).
    #[serde(default)]
    pub session: Option<Session>,
}

/// A Lockbox session, as `POST /admin/v1/sessions` (or `/refresh`) gave it.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct Session {
    pub access_token: String,
    /// Unix seconds by the server's clock.
    pub expires_at: i64,
    pub refresh_token: String,
    pub refresh_expires_at: i64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session { .. }")
    }
}

impl Tokens {
    /// The bearer of the admin routes: the session's access token (none yet:
    /// an empty bearer, which the server refuses, 401, and the client renews).
    fn bearer(&self) -> &str {
        self.session
            .as_ref()
            .map_or("", |s| s.access_token.as_str())
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens { .. }")
    }
}

/// The server URL as the keyring key: https, or http on a loopback address;
/// no path, query or trailing `/`.
pub fn server_url(s: &str) -> Result<String> {
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
pub fn http_client(ca: Option<&Path>) -> Result<reqwest::Client> {
    http_client_with(ca, |b| b.timeout(Duration::from_secs(30)))
}

/// [`http_client`] with other `timeouts` (a stream has no total timeout).
fn http_client_with(
    ca: Option<&Path>,
    timeouts: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
) -> Result<reqwest::Client> {
    let mut http = timeouts(reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()));
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

/// `what` did not answer: the error with its causes.
pub fn unreachable(what: &str, e: &dyn std::error::Error) -> Error {
    Error::new(
        ErrorCode::StoreUnavailable,
        format!("cannot reach {what}: {}", chain(e)),
    )
}

/// The server's `{code,message}` error as the CLI's error.
pub async fn server_error(r: reqwest::Response) -> Error {
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
pub(crate) async fn sign_in_info(http: &reqwest::Client, server: &str) -> Result<SignIn> {
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
pub(crate) async fn client_of(
    http: &reqwest::Client,
    info: &SignIn,
) -> Result<(Metadata, ClientId)> {
    let issuer = IssuerUrl::new(info.issuer.clone())
        .map_err(|e| Error::internal(format!("the server names an invalid issuer: {e}")))?;
    let meta = Metadata::discover_async(issuer, http)
        .await
        .map_err(|e| unreachable(&format!("the OpenID provider {}", info.issuer), &e))?;
    Ok((meta, ClientId::new(info.client_id.clone())))
}

/// A claim of a JWT's payload, unverified (the server verifies the token).
pub fn claim(jwt: &str, name: &str) -> Option<serde_json::Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get(name)
        .cloned()
}

pub(crate) fn tokens_of(resp: &CoreTokenResponse, old_refresh: Option<String>) -> Result<Tokens> {
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
        session: None,
    })
}

/// The OS keyring is not usable: say so, and that nothing goes to a file.
pub fn keyring_error(e: secrets::Unavailable) -> Error {
    Error::new(
        ErrorCode::StoreUnavailable,
        format!(
            "cannot use the sign-in: {e}. `lockbox login` keeps tokens only in the OS keyring \
             (the Secret Service: GNOME Keyring, KWallet), never in a file; start one and log in again"
        ),
    )
}

/// Keep `t` as the sign-in to `server` in the OS keyring.
pub fn keep(server: &str, t: &Tokens) -> Result<()> {
    let json = serde_json::to_string(t)
        .map_err(|e| Error::internal(format!("cannot encode the tokens: {e}")))?;
    secrets::secret_set(SIGN_IN_SERVICE, server, &json).map_err(keyring_error)
}

/// The kept sign-in to `server`.
pub fn kept(server: &str) -> Result<Tokens> {
    let json = secrets::secret_get(SIGN_IN_SERVICE, server)
        .map_err(keyring_error)?
        .ok_or_else(|| log_in_first(server, "you are not logged in to it"))?;
    serde_json::from_str(&json).map_err(|_| log_in_first(server, "its kept sign-in is damaged"))
}

/// Not signed in (or no longer): say how to sign in.
pub fn log_in_first(server: &str, why: &str) -> Error {
    Error::new(
        ErrorCode::Unauthorized,
        format!("{why} ({server}): log in with `lockbox login --server {server}`"),
    )
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

/// What [`call`] got: the command's result, and whether the sign-in was
/// renewed (and kept) on the way.
#[derive(Debug)]
pub struct Called {
    pub value: serde_json::Value,
    pub renewed: bool,
}

/// `POST SERVER/admin/v1/commands/COMMAND` with `body`, as the person of
/// `tokens`; the sign-in is renewed once if it has expired (by `exp` at
/// `now`, Unix seconds, or a 401).
pub async fn call(
    http: &reqwest::Client,
    server: &str,
    command: &str,
    body: &serde_json::Value,
    mut tokens: Tokens,
    now: i64,
) -> Result<Called> {
    let mut renewed = renew_if_expired(http, server, &mut tokens, now).await?;
    let url = format!("{server}/admin/v1/commands/{command}");
    let r = send_signed(http, server, &mut tokens, &mut renewed, |id| {
        http.post(&url).bearer_auth(id).json(body)
    })
    .await?;
    let value = r
        .json()
        .await
        .map_err(|e| Error::internal(format!("the server's answer is not JSON: {e}")))?;
    Ok(Called { value, renewed })
}

/// Renew `tokens` if their session's access token expires at or before
/// `now` (Unix seconds by the caller's clock), or there is no session;
/// whether it did.
pub(crate) async fn renew_if_expired(
    http: &reqwest::Client,
    server: &str,
    tokens: &mut Tokens,
    now: i64,
) -> Result<bool> {
    let expired = tokens.session.as_ref().is_none_or(|s| s.expires_at <= now);
    if expired {
        *tokens = renew(http, server, tokens).await?;
    }
    Ok(expired)
}

/// Send the request `build` makes with the session's access token. A 401
/// renews the sign-in and sends it again, unless it was `renewed` already
/// (then: log in again); any other failure is the server's `{code, message}`.
pub(crate) async fn send_signed(
    http: &reqwest::Client,
    server: &str,
    tokens: &mut Tokens,
    renewed: &mut bool,
    build: impl Fn(&str) -> reqwest::RequestBuilder,
) -> Result<reqwest::Response> {
    loop {
        let r = build(tokens.bearer())
            .send()
            .await
            .map_err(|e| unreachable(server, &e))?;
        if r.status() == StatusCode::UNAUTHORIZED && !*renewed {
            *tokens = renew(http, server, tokens).await?;
            *renewed = true;
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
        return Ok(r);
    }
}

/// `POST /admin/v1/sessions`'s and `/refresh`'s answer (more fields are
/// sent; these are kept).
#[derive(Deserialize)]
struct Issued {
    access_token: String,
    expires_at: i64,
    refresh_token: String,
    refresh_expires_at: i64,
}

/// Read a session from the server's answer `r` (a 401 is `Ok(None)`).
async fn session_of(server: &str, r: reqwest::Response) -> Result<Option<Session>> {
    if r.status() == StatusCode::UNAUTHORIZED {
        return Ok(None);
    }
    if !r.status().is_success() {
        return Err(server_error(r).await);
    }
    let i: Issued = r.json().await.map_err(|e| {
        Error::internal(format!(
            "{server}: the session is not as expected: {}",
            chain(&e)
        ))
    })?;
    Ok(Some(Session {
        access_token: i.access_token,
        expires_at: i.expires_at,
        refresh_token: i.refresh_token,
        refresh_expires_at: i.refresh_expires_at,
    }))
}

/// Exchange `tokens`' ID token for a Lockbox session
/// (`POST SERVER/admin/v1/sessions`); the tokens with it (not kept yet).
/// The sign-in flows end with this.
pub async fn open_session(
    http: &reqwest::Client,
    server: &str,
    mut tokens: Tokens,
) -> Result<Tokens> {
    let r = http
        .post(format!("{server}/admin/v1/sessions"))
        .bearer_auth(&tokens.id_token)
        .send()
        .await
        .map_err(|e| unreachable(server, &e))?;
    if r.status() == StatusCode::UNAUTHORIZED {
        let e = server_error(r).await;
        return Err(log_in_first(
            server,
            &format!("the server refused the sign-in: {}", e.message),
        ));
    }
    tokens.session = session_of(server, r).await?;
    Ok(tokens)
}

/// One renewal at a time in this process: calls that find their session
/// expired together renew it once (a refresh token is good once; a second
/// use would end the session).
static RENEWING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// New tokens for old, kept in the keyring: if another call of this process
/// (or another process) has renewed the kept sign-in meanwhile, that one;
/// else the session's refresh token at `POST /admin/v1/sessions/refresh`;
/// if the server refuses it (spent, expired, ended), a new session for a
/// new ID token from the issuer's refresh token (a sign-in without the
/// person); if that fails too, log in again.
pub async fn renew(http: &reqwest::Client, server: &str, tokens: &Tokens) -> Result<Tokens> {
    let _one = RENEWING.lock().await;
    // Signed out meanwhile (no entry): not signed in again behind the
    // person's back.
    let now_kept = kept(server)?;
    if now_kept.session.is_some() && now_kept.session != tokens.session {
        return Ok(now_kept);
    }
    if let Some(s) = &tokens.session {
        let r = http
            .post(format!("{server}/admin/v1/sessions/refresh"))
            .json(&serde_json::json!({ "refresh_token": s.refresh_token }))
            .send()
            .await
            .map_err(|e| unreachable(server, &e))?;
        if let Some(session) = session_of(server, r).await? {
            let new = Tokens {
                session: Some(session),
                ..tokens.clone()
            };
            keep(server, &new)?;
            return Ok(new);
        }
    }
    // The session is gone: sign in again without the person.
    let fresh = match tokens.refresh_token {
        Some(_) => refresh(http, server, tokens).await?,
        None => Tokens {
            session: None,
            ..tokens.clone()
        },
    };
    let new = open_session(http, server, fresh).await?;
    keep(server, &new)?;
    Ok(new)
}

/// Sign out of `server`: end the session of `tokens` (the kept ones) there
/// (`DELETE /admin/v1/sessions` with its refresh token). Best effort: the
/// caller deletes the keyring entry either way; whether the server said so.
pub async fn sign_out(http: &reqwest::Client, server: &str, tokens: &Tokens) -> bool {
    let Some(s) = &tokens.session else {
        return false;
    };
    let r = http
        .delete(format!("{server}/admin/v1/sessions"))
        .bearer_auth(&s.refresh_token)
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    matches!(r, Ok(r) if r.status().is_success())
}

/// A new ID token for old at the issuer's token endpoint (not kept: a
/// session is opened for it next).
async fn refresh(http: &reqwest::Client, server: &str, tokens: &Tokens) -> Result<Tokens> {
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
    tokens_of(&resp, tokens.refresh_token.clone())
}
