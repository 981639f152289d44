//! Stored records the engine's use cases take and return: notices, tokens,
//! receipts, SMTP settings, deliveries (re-exported from [`crate::store`],
//! which reads and writes them).

use super::Request;
use crate::clock::Time;

/// A notice not yet handled by some channel, with its request.
#[derive(Debug, Clone)]
pub struct NoticeRow {
    pub id: i64,
    pub kind: String,
    pub created_at: Time,
    pub request: Request,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub created_at: Time,
    pub expires_at: Option<Time>,
    pub revoked_at: Option<Time>,
}

/// One issued pair of a team server's session tokens (`crate::sessions`);
/// the tokens themselves are stored only as hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    /// The sign-in this pair belongs to: every refresh adds a row to it.
    pub family: String,
    /// The verified ID token's `iss`, `sub` and `email` at sign-in.
    pub issuer: String,
    pub subject: String,
    pub email: String,
    /// The client id the ID token was for (the server's `--oidc-client-id`).
    pub client_id: String,
    pub created_at: Time,
    pub access_expires_at: Time,
    pub refresh_expires_at: Time,
    /// When this row's refresh token was used (it is then spent).
    pub rotated_at: Option<Time>,
    pub revoked_at: Option<Time>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRow {
    pub seq: i64,
    pub request_id: String,
    pub tenant: String,
    pub decision: String,
    pub body: String,
    pub signature: String,
    pub created_at: Time,
}

/// A tenant's SMTP server. `password` is never stored: reads give `None`;
/// given to `Engine::set_smtp` it goes to the OS keyring; at send time it is
/// filled in from there (or `LOCKBOX_SMTP_PASSWORD`).
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpRow {
    pub host: String,
    pub port: u16,
    pub security: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from_address: String,
}

impl std::fmt::Debug for SmtpRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpRow")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("from_address", &self.from_address)
            .finish()
    }
}

/// One channel's handling of one notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub notice_id: i64,
    pub tenant: String,
    pub request_id: String,
    pub kind: String,
    pub outcome: String,
    pub attempts: i64,
    pub detail: Option<String>,
    pub next_attempt_at: Option<Time>,
    pub claimed_at: Time,
}
