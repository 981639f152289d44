//! Provider connections (tokens), SMTP and email deliveries, the local API.

use crate::clock::rfc3339;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A provider connection (its token is never shown again after issue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TokenDto {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub active: bool,
}

impl TokenDto {
    pub fn new(t: &crate::model::TokenRow, now: crate::clock::Time) -> Self {
        TokenDto {
            id: t.id.clone(),
            name: t.name.clone(),
            created_at: rfc3339(t.created_at),
            expires_at: t.expires_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
            active: t.is_active(now),
        }
    }
}

/// A newly issued token: `secret` is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IssuedTokenDto {
    pub token: TokenDto,
    pub secret: String,
}

/// SMTP settings as shown (the password is never sent back). `password_set`:
/// a login is configured; its password lives in the OS keyring (or
/// `LOCKBOX_SMTP_PASSWORD` where the email is sent), never in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SmtpDto {
    pub host: String,
    pub port: u16,
    /// "none", "starttls" or "tls".
    pub security: String,
    pub username: Option<String>,
    pub password_set: bool,
    pub from_address: String,
}

impl From<&crate::model::SmtpRow> for SmtpDto {
    fn from(s: &crate::model::SmtpRow) -> Self {
        SmtpDto {
            host: s.host.clone(),
            port: s.port,
            security: s.security.clone(),
            username: s.username.clone(),
            password_set: s.username.is_some(),
            from_address: s.from_address.clone(),
        }
    }
}

/// SMTP settings to save. `password` goes to the OS keyring; `null` keeps the saved one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct SmtpInput {
    pub host: String,
    pub port: u16,
    pub security: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from_address: String,
}

/// One approver email's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DeliveryDto {
    pub request_id: String,
    /// "pending" or "reminder".
    pub kind: String,
    /// "claimed", "sent", "failed" or "skipped".
    pub outcome: String,
    #[ts(type = "number")]
    pub attempts: i64,
    pub detail: Option<String>,
    pub next_attempt_at: Option<String>,
    pub at: String,
}

impl From<&crate::model::DeliveryRow> for DeliveryDto {
    fn from(d: &crate::model::DeliveryRow) -> Self {
        DeliveryDto {
            request_id: d.request_id.clone(),
            kind: d.kind.clone(),
            outcome: d.outcome.clone(),
            attempts: d.attempts,
            detail: d.detail.clone(),
            next_attempt_at: d.next_attempt_at.map(rfc3339),
            at: rfc3339(d.claimed_at),
        }
    }
}

/// The local provider API, as configured and as running in this app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ApiSettingsDto {
    pub enabled: bool,
    /// Address to listen on, e.g. 127.0.0.1:8787.
    pub bind: String,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    /// Where it is listening now (None when off or failed).
    pub listening_on: Option<String>,
    /// Why it is not running, if it should be.
    pub error: Option<String>,
}

/// The stored API settings from the page's: blank certificate or key paths are none.
impl From<&ApiSettingsDto> for crate::model::ApiSettings {
    fn from(s: &ApiSettingsDto) -> Self {
        crate::model::ApiSettings {
            enabled: s.enabled,
            bind: s.bind.clone(),
            tls_cert: s.tls_cert.clone().filter(|s| !s.is_empty()),
            tls_key: s.tls_key.clone().filter(|s| !s.is_empty()),
        }
    }
}
