//! The engine's one error type. Every error carries a stable [`ErrorCode`]
//! that crosses every boundary (CLI exit codes, IPC, HTTP) as `{code, message}`.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Closed set of error codes. The string form (snake_case) is the wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Bad input: a malformed duration, an empty field, an unknown setting.
    InvalidInput,
    /// No such request, user or tenant.
    NotFound,
    /// Something with that identity exists already.
    AlreadyExists,
    /// The event is not allowed in the request's current state.
    InvalidTransition,
    /// The actor lacks the role for this action.
    NotPermitted,
    /// Someone tried to approve a request they filed.
    SelfApproval,
    /// The actor has already decided this request.
    AlreadyDecided,
    /// The request's decision deadline has passed.
    RequestExpired,
    /// The requested duration is longer than the tenant allows.
    DurationTooLong,
    /// Access is not allowed now.
    AccessDenied,
    /// No valid credentials (HTTP API).
    Unauthorized,
    /// Too many calls for one token (HTTP API).
    RateLimited,
    /// The store cannot be opened or used (unreadable, corrupt, locked too long).
    StoreUnavailable,
    /// The store was written by a newer Lockbox.
    SchemaTooNew,
    /// The store is open read-only (a copy, a backup, a read-only share): the
    /// use case would write to it. Nothing was changed.
    ReadOnly,
    /// An unexpected internal failure.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::NotPermitted => "not_permitted",
            ErrorCode::SelfApproval => "self_approval",
            ErrorCode::AlreadyDecided => "already_decided",
            ErrorCode::RequestExpired => "request_expired",
            ErrorCode::DurationTooLong => "duration_too_long",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::StoreUnavailable => "store_unavailable",
            ErrorCode::SchemaTooNew => "schema_too_new",
            ErrorCode::ReadOnly => "read_only",
            ErrorCode::Internal => "internal",
        }
    }

    /// Broad class of the error, used for CLI exit codes and HTTP statuses.
    pub fn class(self) -> ErrorClass {
        match self {
            ErrorCode::InvalidInput => ErrorClass::Input,
            ErrorCode::NotFound
            | ErrorCode::AlreadyExists
            | ErrorCode::InvalidTransition
            | ErrorCode::NotPermitted
            | ErrorCode::SelfApproval
            | ErrorCode::AlreadyDecided
            | ErrorCode::RequestExpired
            | ErrorCode::DurationTooLong
            | ErrorCode::AccessDenied
            | ErrorCode::Unauthorized
            | ErrorCode::RateLimited => ErrorClass::Rule,
            ErrorCode::StoreUnavailable
            | ErrorCode::SchemaTooNew
            | ErrorCode::ReadOnly
            | ErrorCode::Internal => ErrorClass::Store,
        }
    }
}

/// What kind of failure: refused by the rules, bad input, or an unusable store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    Rule,
    Input,
    Store,
}

/// An engine error: a stable code plus a human message naming the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ErrorDto))]
#[error("{message}")]
#[ts(rename = "ErrorDto")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn not_permitted(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotPermitted, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

/// `e` and its sources, each after a `: ` (what a library error's own
/// message leaves out: "error sending request: connection refused").
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        s.push_str(": ");
        s.push_str(&c.to_string());
        source = c.source();
    }
    s
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::internal(format!("JSON error: {e}"))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorCode::StoreUnavailable, format!("I/O error: {e}"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn chain_names_every_source() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request")]
        struct Sending(#[source] std::io::Error);
        let e = Sending(std::io::Error::other("connection refused"));
        assert_eq!(
            super::chain(&e),
            "error sending request: connection refused"
        );
        assert_eq!(super::chain(&e.0), "connection refused");
    }
}
