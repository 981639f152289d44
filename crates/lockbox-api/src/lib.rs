//! Lockbox provider intake API: a local HTTP API (axum) through which the
//! provider's ticketing and access-broker systems file requests, check access,
//! log actions and fetch signed receipts. Bound to 127.0.0.1:8787 by default;
//! a non-loopback address requires TLS.

pub mod admin;
pub mod auth;
pub mod error;
pub mod feed;
pub mod health;
pub mod oidc;
pub mod routes;
pub mod sessions;
mod text_fields;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use error::ApiError;
use lockbox_core::runtime::EngineHandle;
use lockbox_core::{Engine, Error, ErrorCode, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use text_fields::TextFields;
use utoipa::OpenApi;

/// Where the API listens unless told otherwise (the engine's default, one constant).
pub const DEFAULT_BIND: &str = lockbox_core::engine::DEFAULT_API_BIND;
/// Largest accepted request body.
pub const MAX_BODY: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Lockbox provider API", version = "1", description = "File Customer Lockbox requests, check access, log actions under a grant, and fetch signed decision receipts. Customer decisions are not available over this API."),
    paths(health::healthz, health::readyz, routes::file_request, routes::get_request, routes::provider_approve, routes::cancel,
          routes::check_access, routes::log_action, routes::receipt, routes::public_key),
    components(schemas(routes::FileRequestBody, routes::ProviderApprovalBody, routes::CancelBody, routes::ActionBody,
                       routes::PublicKey, health::Health, lockbox_core::Error, lockbox_core::ErrorCode,
                       lockbox_core::dto::RequestDto, lockbox_core::dto::AccessDto)),
    modifiers(&BearerAuth, &TextFields)
)]
pub struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Shared state of the API: the engine handle (shared with the rest of the
/// process: its change signal wakes the host's loops) and the rate limiters.
#[derive(Clone)]
pub struct ApiState {
    pub engine: EngineHandle,
    pub limiter: Arc<auth::Limiter>,
    /// `/readyz`: one store read at a time, shared by concurrent probes.
    pub ready: Arc<health::ReadyCheck>,
    /// The admin API's sign-in (`--oidc-issuer`): without it the admin
    /// routes are not served.
    pub oidc: Option<Arc<oidc::OidcVerifier>>,
    /// The admin API's open change feeds (`GET /admin/v1/changes`).
    pub feeds: Arc<feed::Feeds>,
}

impl ApiState {
    /// `rate_per_sec` calls per second per token with a burst of `burst`, and
    /// the default budget of failed authentications per client.
    pub fn new(engine: EngineHandle, rate_per_sec: u32, burst: u32) -> Self {
        Self::with_limits(
            engine,
            auth::Limits::per_token(rate_per_sec, burst),
            auth::LimiterClock::monotonic(),
        )
    }

    /// With every limit given, and the limiters' clock (tests move a manual one).
    pub fn with_limits(
        engine: EngineHandle,
        limits: auth::Limits,
        clock: auth::LimiterClock,
    ) -> Self {
        ApiState {
            engine,
            limiter: Arc::new(auth::Limiter::new(limits, clock)),
            ready: Arc::default(),
            oidc: None,
            feeds: Arc::new(feed::Feeds::new(
                feed::DEFAULT_MAX_FEEDS,
                feed::FEEDS_PER_PERSON,
            )),
        }
    }

    /// At most `max` change feeds open at once, `per_person` of them one
    /// person's (`lockbox serve --feed-connections`).
    pub fn with_feed_limits(mut self, max: usize, per_person: usize) -> Self {
        self.feeds = Arc::new(feed::Feeds::new(max, per_person));
        self
    }

    /// Serve the admin API too, for people `verifier` signs in.
    pub fn with_oidc(mut self, verifier: oidc::OidcVerifier) -> Self {
        self.oidc = Some(Arc::new(verifier));
        self
    }

    /// Run `f` with the engine on a blocking thread.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.engine.run(f).await
    }

    /// Like [`run`](Self::run), then signal a change.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.engine.write(f).await
    }
}

/// The OpenAPI document: the provider API, and the admin API when this
/// server signs people in (`issuer`).
pub fn openapi(issuer: Option<&str>) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    if let Some(issuer) = issuer {
        utoipa::Modify::modify(&admin::AdminPaths { issuer }, &mut doc);
    }
    doc
}

async fn openapi_json(
    axum::extract::State(s): axum::extract::State<ApiState>,
) -> Json<utoipa::openapi::OpenApi> {
    Json(openapi(s.oidc.as_ref().map(|o| o.issuer())))
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such endpoint (customer decisions are not available over the API)",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::InvalidInput,
        "method not allowed on this endpoint",
    )
}

pub fn router(state: ApiState) -> Router {
    let admin = state.oidc.is_some();
    let router = Router::new();
    let router = if admin {
        router
            .route("/admin/v1/commands/{name}", post(admin::command))
            .route("/admin/v1/changes", get(feed::changes))
            .route(
                "/admin/v1/sessions",
                post(sessions::open).delete(sessions::end),
            )
            .route("/admin/v1/sessions/refresh", post(sessions::refresh))
    } else {
        router
    };
    router
        .route("/admin/v1/sign-in", get(admin::sign_in))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/v1/openapi.json", get(openapi_json))
        .route("/v1/requests", post(routes::file_request))
        .route("/v1/requests/{id}", get(routes::get_request))
        .route(
            "/v1/requests/{id}/provider-approval",
            post(routes::provider_approve),
        )
        .route("/v1/requests/{id}/cancel", post(routes::cancel))
        .route("/v1/requests/{id}/access", get(routes::check_access))
        .route("/v1/requests/{id}/actions", post(routes::log_action))
        .route("/v1/requests/{id}/receipt", get(routes::receipt))
        .route("/v1/public-key", get(routes::public_key))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Install rustls' process-wide crypto provider: `ring`, the one provider the
/// workspace builds with (lettre uses it too; aws-lc-rs is not in the build).
/// rustls panics when it has to pick a default itself and cannot, so every
/// process that may serve or speak TLS calls this at start (`lockbox`, the
/// desktop app, tests); [`bind`] calls it too. Idempotent.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only if another thread installed one meanwhile: fine either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub bind: SocketAddr,
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl ServeConfig {
    /// Refuse a non-loopback address without TLS.
    pub fn check(&self) -> Result<()> {
        if !self.bind.ip().is_loopback() && self.tls.is_none() {
            return Err(Error::input(format!(
                "refusing to serve the API on {} without TLS: give --tls-cert and --tls-key (or bind 127.0.0.1)",
                self.bind
            )));
        }
        Ok(())
    }
}

/// Bind the listener (so callers learn the port, e.g. with :0) and return a future that serves.
pub async fn bind(
    state: ApiState,
    cfg: ServeConfig,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    bind_with_shutdown(state, cfg, std::future::pending()).await
}

/// [`bind`], serving until `shutdown` completes; then a graceful shutdown: the
/// listener is closed (no new connections), idle keep-alive connections are
/// closed, change feeds end (`feed::Feeds::stop`: an open event stream is a
/// response in flight that would never finish), and the task ends once every
/// request in flight has been answered.
pub async fn bind_with_shutdown(
    state: ApiState,
    cfg: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    cfg.check()?;
    let feeds = state.feeds.clone();
    let shutdown = async move {
        shutdown.await;
        feeds.stop();
    };
    // With the client's address: calls without a valid token are limited per client.
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let io = |e: std::io::Error| Error::input(format!("cannot listen on {}: {e}", cfg.bind));
    match &cfg.tls {
        None => {
            let listener = tokio::net::TcpListener::bind(cfg.bind).await.map_err(io)?;
            let addr = listener.local_addr().map_err(io)?;
            let h = tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!("API server stopped: {e}");
                }
            });
            Ok((addr, h))
        }
        Some((cert, key)) => {
            install_crypto_provider();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| Error::input(format!("cannot load TLS certificate/key: {e}")))?;
            let listener = std::net::TcpListener::bind(cfg.bind).map_err(io)?;
            let addr = listener.local_addr().map_err(io)?;
            let handle = axum_server::Handle::new();
            let server = axum_server::from_tcp_rustls(listener, tls).handle(handle.clone());
            tokio::spawn(async move {
                shutdown.await;
                // No deadline: in-flight requests finish (a supervisor's stop
                // timeout, e.g. systemd's TimeoutStopSec, bounds it).
                handle.graceful_shutdown(None);
            });
            let h = tokio::spawn(async move {
                if let Err(e) = server.serve(app).await {
                    tracing::error!("API server stopped: {e}");
                }
            });
            Ok((addr, h))
        }
    }
}
