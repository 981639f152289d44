//! Who signs in to the admin API: a person with an OpenID Connect ID token,
//! checked the way Kubernetes checks one when `POST /admin/v1/sessions`
//! exchanges it for a Lockbox session (`crate::sessions`; the admin routes
//! then take the session's access token, not the ID token):
//!
//! - the signature, with the issuer's JWKS (from its discovery document,
//!   `ISSUER/.well-known/openid-configuration`, fetched once and cached; a
//!   token signed with a key id the cached set lacks makes it fetch the set
//!   again, once);
//! - `iss` is the configured issuer, `aud` contains the configured client id
//!   (and names no other, untrusted, audience);
//! - `exp` has not passed **by the engine's clock** (the `Clock` the engine
//!   runs on: the tests move it; no wall clock decides);
//! - an `email` claim with `email_verified: true`. The person's Lockbox user
//!   name is that email, lower-cased (`Principal::verified_oidc`).
//!
//! The checks are `openidconnect`'s `CoreIdTokenVerifier` (RS256 only, its
//! default), with its time function set to the engine's clock.

use lockbox_core::error::chain;
use lockbox_core::{Clock, Error, ErrorCode, Principal, Result};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreProviderMetadata,
};
use openidconnect::{
    ClaimsVerificationError, ClientId, IssuerUrl, JsonWebKeySetUrl, Nonce,
    SignatureVerificationError,
};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, RwLock};

/// What `lockbox serve --oidc-issuer … --oidc-client-id …` configures.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The issuer, exactly as its ID tokens' `iss` says it (https, or http on
    /// a loopback address for tests and local development).
    pub issuer: String,
    /// The client id the desktop app signs in as; ID tokens must name it in `aud`.
    pub client_id: String,
    /// PEM certificates to trust for the issuer's TLS besides the OS roots.
    pub ca_pem: Option<Vec<u8>>,
}

/// Why a bearer token was refused, or the issuer could not be asked.
#[derive(Debug)]
pub enum VerifyError {
    /// Not a valid ID token for this server: answered 401.
    Invalid(String),
    /// The issuer's discovery document or key set could not be fetched.
    Unreachable(String),
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::Invalid(m) | VerifyError::Unreachable(m) => f.write_str(m),
        }
    }
}

/// The issuer's keys as last fetched, and how many fetches made them.
struct Keys {
    jwks_uri: JsonWebKeySetUrl,
    set: CoreJsonWebKeySet,
    generation: u64,
}

/// Verifies ID tokens of one issuer for one client.
pub struct OidcVerifier {
    issuer: IssuerUrl,
    client_id: ClientId,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    keys: RwLock<Option<Keys>>,
    /// One discovery or key-set fetch at a time.
    fetching: Mutex<()>,
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id.as_str())
            .finish_non_exhaustive()
    }
}

impl OidcVerifier {
    /// Check the configuration; nothing is fetched yet ([`discover`](Self::discover)).
    /// `clock` is the engine's.
    pub fn new(cfg: &OidcConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        // Exactly as configured: `iss` must match it byte for byte (some
        // issuers end in `/`, most do not).
        let issuer = IssuerUrl::new(cfg.issuer.clone())
            .map_err(|e| Error::input(format!("--oidc-issuer '{}': {e}", cfg.issuer)))?;
        let url = issuer.url();
        let loopback = match url.host() {
            Some(openidconnect::url::Host::Ipv4(a)) => a.is_loopback(),
            Some(openidconnect::url::Host::Ipv6(a)) => a.is_loopback(),
            Some(openidconnect::url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(Error::input(format!(
                "--oidc-issuer '{}' must be an https URL (http only on a loopback address, for tests)",
                cfg.issuer
            )));
        }
        if cfg.client_id.trim().is_empty() {
            return Err(Error::input("--oidc-client-id must not be empty"));
        }
        crate::install_crypto_provider();
        let mut http = reqwest::Client::builder()
            // No redirects: the discovery document and the key set are
            // fetched from exactly the URLs the issuer names (no SSRF hop).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10));
        if let Some(pem) = &cfg.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::input(format!("--oidc-ca: not PEM certificates: {e}")))?;
            if certs.is_empty() {
                return Err(Error::input("--oidc-ca: the file holds no PEM certificate"));
            }
            for c in certs {
                http = http.add_root_certificate(c);
            }
        }
        let http = http
            .build()
            .map_err(|e| Error::internal(format!("cannot build the OpenID client: {e}")))?;
        Ok(OidcVerifier {
            issuer,
            client_id: ClientId::new(cfg.client_id.trim().to_string()),
            http,
            clock,
            keys: RwLock::new(None),
            fetching: Mutex::new(()),
        })
    }

    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    /// The client id ID tokens must name in `aud` (the one people sign in as).
    pub fn client_id(&self) -> &str {
        self.client_id.as_str()
    }

    /// What a Lockbox session must have been opened under to be good here.
    pub fn signed_in_at(&self) -> lockbox_core::sessions::SignedInAt<'_> {
        lockbox_core::sessions::SignedInAt {
            issuer: self.issuer(),
            client_id: self.client_id(),
        }
    }

    /// How many times the issuer's key set has been fetched.
    pub async fn key_set_fetches(&self) -> u64 {
        self.keys.read().await.as_ref().map_or(0, |k| k.generation)
    }

    /// Fetch the discovery document and the key set now (`lockbox serve`
    /// does at start, to say early when the issuer cannot be reached; a
    /// failure here is tried again on the first call).
    pub async fn discover(&self) -> std::result::Result<(), VerifyError> {
        self.refetch(None).await
    }

    /// The person `token` (an ID token) names, if every check passes.
    pub async fn verify(&self, token: &str) -> std::result::Result<Principal, VerifyError> {
        self.verify_until(token).await.map(|(p, _)| p)
    }

    /// [`verify`](Self::verify), with the token's `exp`: a call that lasts
    /// (the change feed) ends when the engine's clock reaches it.
    pub async fn verify_until(
        &self,
        token: &str,
    ) -> std::result::Result<(Principal, lockbox_core::Time), VerifyError> {
        let token = CoreIdToken::from_str(token).map_err(|_| {
            VerifyError::Invalid("the bearer token is not an ID token (a JWT)".into())
        })?;
        if self.keys.read().await.is_none() {
            self.refetch(None).await?;
        }
        let (generation, first) = {
            let keys = self.keys.read().await;
            let keys = keys.as_ref().ok_or_else(|| {
                VerifyError::Unreachable("the issuer's keys are not known yet".into())
            })?;
            (keys.generation, self.check(&token, &keys.set))
        };
        match first {
            // A key the cached set lacks: the issuer may have rotated. Fetch
            // the set once (unless another call just did) and check again.
            Err(VerifyError::Invalid(_)) if self.unknown_key(&token, generation).await => {
                self.refetch(Some(generation)).await?;
                let keys = self.keys.read().await;
                let keys = keys.as_ref().ok_or_else(|| {
                    VerifyError::Unreachable("the issuer's keys are not known yet".into())
                })?;
                self.check(&token, &keys.set)
            }
            other => other,
        }
    }

    /// Is `token` signed with a key id that the key set of `generation` lacks?
    async fn unknown_key(&self, token: &CoreIdToken, generation: u64) -> bool {
        let keys = self.keys.read().await;
        let Some(keys) = keys.as_ref().filter(|k| k.generation == generation) else {
            return false;
        };
        let verifier = self.verifier(keys.set.clone());
        matches!(
            token.claims(&verifier, no_nonce),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey
            ))
        )
    }

    fn verifier(&self, set: CoreJsonWebKeySet) -> CoreIdTokenVerifier<'static> {
        let clock = self.clock.clone();
        CoreIdTokenVerifier::new_public_client(self.client_id.clone(), self.issuer.clone(), set)
            .set_time_fn(move || clock.now())
    }

    fn check(
        &self,
        token: &CoreIdToken,
        set: &CoreJsonWebKeySet,
    ) -> std::result::Result<(Principal, lockbox_core::Time), VerifyError> {
        let verifier = self.verifier(set.clone());
        let claims = token
            .claims(&verifier, no_nonce)
            .map_err(|e| VerifyError::Invalid(format!("the ID token is not valid here: {e}")))?;
        let email = claims.email().ok_or_else(|| {
            VerifyError::Invalid("the ID token has no email claim (ask for the email scope)".into())
        })?;
        if claims.email_verified() != Some(true) {
            return Err(VerifyError::Invalid(format!(
                "the issuer has not verified the email '{}' (email_verified is not true)",
                email.as_str()
            )));
        }
        Principal::verified_oidc(
            claims.issuer().as_str(),
            claims.subject().as_str(),
            email.as_str(),
        )
        .map(|p| (p, claims.expiration()))
        .map_err(|e| VerifyError::Invalid(e.message))
    }

    /// Fetch the discovery document (the first time) and the key set, unless
    /// the keys changed since `seen` (another call fetched them meanwhile).
    async fn refetch(&self, seen: Option<u64>) -> std::result::Result<(), VerifyError> {
        let _one = self.fetching.lock().await;
        let (jwks_uri, generation) = {
            let keys = self.keys.read().await;
            match (keys.as_ref(), seen) {
                (Some(k), Some(seen)) if k.generation != seen => return Ok(()),
                (Some(_), None) => return Ok(()),
                (Some(k), _) => (Some(k.jwks_uri.clone()), k.generation),
                (None, _) => (None, 0),
            }
        };
        let jwks_uri = match jwks_uri {
            Some(u) => u,
            None => {
                let meta = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
                    .await
                    .map_err(|e| {
                        VerifyError::Unreachable(format!(
                            "cannot read the OpenID configuration of {}: {}",
                            self.issuer.as_str(),
                            chain(&e)
                        ))
                    })?;
                meta.jwks_uri().clone()
            }
        };
        let set = CoreJsonWebKeySet::fetch_async(&jwks_uri, &self.http)
            .await
            .map_err(|e| {
                VerifyError::Unreachable(format!(
                    "cannot read the key set {} of {}: {}",
                    jwks_uri.as_str(),
                    self.issuer.as_str(),
                    chain(&e)
                ))
            })?;
        *self.keys.write().await = Some(Keys {
            jwks_uri,
            set,
            generation: generation + 1,
        });
        Ok(())
    }
}

/// ID tokens sent as bearers carry the nonce of a sign-in long over; the
/// server did not send it and has nothing to compare it with.
fn no_nonce(_: Option<&Nonce>) -> std::result::Result<(), String> {
    Ok(())
}

impl From<VerifyError> for crate::error::ApiError {
    fn from(e: VerifyError) -> Self {
        use axum::http::StatusCode;
        match e {
            VerifyError::Invalid(m) => {
                Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, m)
            }
            VerifyError::Unreachable(m) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Internal, m)
            }
        }
    }
}
