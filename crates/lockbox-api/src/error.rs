//! Errors over HTTP: the engine's `{code, message}` with a status per code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lockbox_core::{Error, ErrorCode};

pub struct ApiError {
    pub status: StatusCode,
    pub error: Error,
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
        ErrorCode::StoreUnavailable | ErrorCode::SchemaTooNew => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        ApiError {
            status: status_for(error.code),
            error,
        }
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            error: Error::new(code, message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.error.code.as_str(), "{}", self.error.message);
        }
        let mut resp = (self.status, Json(self.error)).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            resp.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
