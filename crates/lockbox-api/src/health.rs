//! Liveness and readiness for process supervisors and load balancers
//! (systemd, a container's HEALTHCHECK, a balancer's probe).
//!
//! Both are unauthenticated (a probe holds no provider token) and outside the
//! per-token and per-client rate limits (a balancer probing from one address
//! must never be told 429 and take a healthy instance out):
//!
//! - `GET /healthz`: the process answers HTTP; no store access at all.
//! - `GET /readyz`: the store can be read *now* ([`Engine::check_store`], one
//!   read transaction). Probes that arrive while a check is running share
//!   the next result instead of each reading the store, so a flood of
//!   unauthenticated probes costs at most one store read at a time.
//!
//! [`Engine::check_store`]: lockbox_core::Engine::check_store

use crate::error::{ApiError, ApiResult};
use crate::ApiState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use lockbox_core::{Error, ErrorCode, Result};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use utoipa::ToSchema;

/// The answer of a probe that passed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
}

fn ok() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Single-flight readiness checks: one store read at a time, shared by every
/// probe that arrived before it started.
#[derive(Debug, Default)]
pub struct ReadyCheck {
    /// One check at a time.
    gate: tokio::sync::Mutex<()>,
    /// How many checks have started.
    started: AtomicU64,
    /// The newest finished check: its number and result.
    last: Mutex<Option<(u64, Result<()>)>>,
}

impl ReadyCheck {
    /// The result of a check that started after this call did.
    async fn check(&self, state: &ApiState) -> Result<()> {
        let arrived = self.started.load(Ordering::SeqCst);
        let _one = self.gate.lock().await;
        if let Some((n, r)) = &*self.last.lock().unwrap_or_else(|p| p.into_inner()) {
            if *n > arrived {
                return r.clone();
            }
        }
        let n = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let r = state.run(|e| e.check_store()).await;
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((n, r.clone()));
        r
    }
}

#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, body = Health, description = "The process is alive (no store access)")))]
pub async fn healthz() -> Json<Health> {
    ok()
}

#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Health, description = "The store can be read now"),
        (status = 503, body = Error, description = "The store cannot be read now (store_unavailable)")))]
pub async fn readyz(State(s): State<ApiState>) -> ApiResult<Json<Health>> {
    match s.ready.check(&s).await {
        Ok(()) => Ok(ok()),
        Err(e) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::StoreUnavailable,
            format!("not ready: the store cannot be read: {}", e.message),
        )),
    }
}
