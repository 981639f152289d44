//! Provider connections: bearer tokens for the HTTP API. A token is shown
//! once; only its SHA-256 is stored. A token acts for its tenant only.

use crate::clock::Time;
use crate::machine::AuditRecord;
use crate::model::TokenRow;
use crate::model::{limits, required, Operation};
use crate::{Engine, Error, ErrorCode, Principal, Result};
use serde_json::json;
use sha2::{Digest, Sha256};

pub const TOKEN_PREFIX: &str = "lbx_";
/// The longest lifetime a token may be issued with: ten years.
pub const MAX_TOKEN_LIFETIME_S: i64 = 3650 * 86_400;

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl TokenRow {
    pub fn is_active(&self, now: Time) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

impl Engine {
    /// Issue a token for a provider connection (admins). Returns the row and the secret, shown once.
    pub fn issue_token(
        &mut self,
        tenant: &str,
        by: &Principal,
        name: &str,
        lifetime_s: Option<i64>,
    ) -> Result<(TokenRow, String)> {
        let name = required("connection name", name, limits::NAME)?;
        if let Some(l) = lifetime_s {
            if l <= 0 {
                return Err(Error::input("a token's lifetime must be positive"));
            }
            if l > MAX_TOKEN_LIFETIME_S {
                return Err(Error::input(format!(
                    "a token's lifetime must be at most {}",
                    crate::duration::format_duration(MAX_TOKEN_LIFETIME_S)
                )));
            }
        }
        let mut raw = [0u8; 32];
        getrandom::getrandom(&mut raw)
            .map_err(|e| Error::internal(format!("no randomness: {e}")))?;
        let secret = format!("{TOKEN_PREFIX}{}", hex::encode(raw));
        let now = self.now();
        let row = TokenRow {
            id: uuid::Uuid::now_v7().to_string(),
            tenant: tenant.to_string(),
            name: name.clone(),
            created_at: now,
            expires_at: lifetime_s.map(|l| now + chrono::Duration::seconds(l)),
            revoked_at: None,
        };
        self.with_admin_tx(tenant, by, "issue a provider token", |tx| {
            if tx.token_by_name(tenant, &name)?.is_some() {
                return Err(Error::new(ErrorCode::AlreadyExists, format!("a provider connection named '{name}' exists already")));
            }
            tx.insert_token(&row, &hash_token(&secret))?;
            let rec = AuditRecord {
                operation: Operation::TokenIssued,
                actor: by.actor(),
                at: now,
                request_id: None,
                details: by.with_authn(json!({ "connection": name, "token_id": row.id, "expires_at": row.expires_at.map(crate::clock::rfc3339) })),
            };
            tx.append_audit(tenant, &[&rec], now)?;
            Ok(())
        })?;
        Ok((row, secret))
    }

    pub fn tokens(&mut self, tenant: &str) -> Result<Vec<TokenRow>> {
        self.store().read(|tx| {
            crate::engine::ensure_tenant(tx, tenant)?;
            tx.tokens(tenant)
        })
    }

    /// Revoke a provider connection's token by name (admins).
    pub fn revoke_token(&mut self, tenant: &str, by: &Principal, name: &str) -> Result<TokenRow> {
        let now = self.now();
        self.with_admin_tx(tenant, by, "revoke a provider token", |tx| {
            let t = tx.token_by_name(tenant, name)?.ok_or_else(|| {
                Error::not_found(format!(
                    "no provider connection '{name}' in tenant '{tenant}'"
                ))
            })?;
            if !tx.revoke_token(&t.id, now)? {
                return Err(Error::new(
                    ErrorCode::InvalidTransition,
                    format!("the token of '{name}' is already revoked"),
                ));
            }
            let rec = AuditRecord {
                operation: Operation::TokenRevoked,
                actor: by.actor(),
                at: now,
                request_id: None,
                details: by.with_authn(json!({ "connection": name, "token_id": t.id })),
            };
            tx.append_audit(tenant, &[&rec], now)?;
            Ok(TokenRow {
                revoked_at: Some(now),
                ..t
            })
        })
    }

    /// The active token with this secret, or `None`.
    pub fn authenticate(&mut self, secret: &str) -> Result<Option<TokenRow>> {
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 200 {
            return Ok(None);
        }
        let now = self.now();
        let row = self
            .store()
            .read(|tx| tx.token_by_hash(&hash_token(secret)))?;
        Ok(row.filter(|t| t.is_active(now)))
    }
}
