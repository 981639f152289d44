//! Errors over HTTP: the engine's `{code, message}` with a status per code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lockbox_core::{Error, ErrorCode};
use utoipa::IntoResponses;

pub struct ApiError {
    pub status: StatusCode,
    pub error: Error,
    /// For a 429 (or a 503 that says so): when to try again (whole seconds, at least 1).
    pub retry_after: Option<std::time::Duration>,
}

pub fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
        // Well-formed, but against this tenant's current policy.
        ErrorCode::DurationTooLong => StatusCode::CONFLICT,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::AlreadyExists
        | ErrorCode::InvalidTransition
        | ErrorCode::AlreadyDecided
        | ErrorCode::RequestExpired => StatusCode::CONFLICT,
        ErrorCode::NotPermitted | ErrorCode::SelfApproval | ErrorCode::AccessDenied => {
            StatusCode::FORBIDDEN
        }
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::StoreUnavailable | ErrorCode::SchemaTooNew | ErrorCode::ReadOnly => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError {
            status: status_for(error.code),
            error,
            retry_after: None,
        }
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error: Error::new(code, message),
            retry_after: None,
        }
    }

    pub fn retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.error.code.as_str(), "{}", self.error.message);
        }
        let mut resp = (self.status, Json(self.error)).into_response();
        // Always on a 429; on a 503 when the refusal says when to try again.
        let busy = self.status == StatusCode::SERVICE_UNAVAILABLE && self.retry_after.is_some();
        if self.status == StatusCode::TOO_MANY_REQUESTS || busy {
            let wait = self
                .retry_after
                .map_or(1, |w| w.as_secs_f64().ceil().max(1.0) as u64);
            resp.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(wait));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

// The error responses the `#[utoipa::path]`s in `routes` share: each route lists its
// success response, the sets below that apply to it, and only what is its own (a 409,
// a more specific description). They exist for the OpenAPI document and are never
// built; every body is `{code, message}`. Variant comments are plain `//` on purpose:
// a doc comment would become the response's description.

/// Every route: the bearer token and the rate limits.
#[derive(IntoResponses)]
pub enum AuthErrors {
    // No, malformed, unknown or revoked token.
    #[response(status = 401)]
    Unauthorized(Error),
    // Over the token's rate limit, or too many calls without a valid token
    // from this client (with `Retry-After`).
    #[response(status = 429)]
    RateLimited(Error),
}

/// Routes on one request (`/v1/requests/{id}...`): it must exist in the token's
/// tenant. A request of another tenant is not found either (the same answer,
/// so a token cannot learn which ids exist elsewhere).
#[derive(IntoResponses)]
pub enum RequestErrors {
    #[response(status = 404)]
    NotFound(Error),
}

/// Routes that take a JSON body (`ApiJson`).
#[derive(IntoResponses)]
pub enum BodyErrors {
    #[response(status = 400, description = "Malformed JSON")]
    Malformed(Error),
    // Larger than `MAX_BODY`.
    #[response(status = 413)]
    TooLarge(Error),
    // No `Content-Type: application/json`.
    #[response(status = 415)]
    UnsupportedMediaType(Error),
    // Well-formed JSON that does not fit the body's schema or a field's limits.
    #[response(status = 422)]
    Invalid(Error),
}
