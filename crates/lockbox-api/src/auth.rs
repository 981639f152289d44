//! Bearer-token authentication and a per-token rate limit (token bucket).

use crate::error::ApiError;
use crate::ApiState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use lockbox_core::ErrorCode;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// The provider connection a call acts for.
#[derive(Debug, Clone)]
pub struct Provider {
    pub tenant: String,
    pub token_id: String,
    pub connection: String,
}

#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_sec: u32, burst: u32) -> Self {
        RateLimiter {
            per_sec: per_sec.max(1) as f64,
            burst: burst.max(1) as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token from `key`'s bucket; false when empty.
    pub fn allow(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (level, last) = b.entry(key.to_string()).or_insert((self.burst, now));
        *level = (*level + now.duration_since(*last).as_secs_f64() * self.per_sec).min(self.burst);
        *last = now;
        if *level >= 1.0 {
            *level -= 1.0;
            true
        } else {
            false
        }
    }
}

impl FromRequestParts<ApiState> for Provider {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized =
            |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, m);
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| unauthorized("missing Authorization: Bearer <token>"))?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| unauthorized("the Authorization header must be 'Bearer <token>'"))?
            .to_string();
        let token = state
            .run(move |e| e.authenticate(&secret))
            .await?
            .ok_or_else(|| unauthorized("unknown, expired or revoked token"))?;
        if !state.limiter.allow(&token.id) {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                "too many calls for this token; slow down",
            ));
        }
        Ok(Provider {
            tenant: token.tenant,
            token_id: token.id,
            connection: token.name,
        })
    }
}
