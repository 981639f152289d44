//! Provider-facing data: decision receipts and the local API's settings.

use super::write::receipt_body;
use super::{load, Engine};
use crate::identity::Principal;
use crate::machine::AuditRecord;
use crate::model::*;
use crate::{Error, ErrorCode, Result};
use serde_json::json;
use std::path::Path;

impl Engine {
    /// The receipts of a request, oldest first, as receipt file texts.
    /// An expired request's receipt is derived here, from what its expiry
    /// fixed for good (the terminal request and its `expired` audit entry, the
    /// chain's head after it) and signed now: Ed25519 is deterministic, so it
    /// is the same receipt, byte for byte, every time it is asked for.
    pub fn receipts(
        &mut self,
        tenant: &str,
        id: &str,
    ) -> Result<Vec<(crate::store::ReceiptRow, String)>> {
        let signer = &self.signer;
        let path = self.store.path().map(Path::to_path_buf);
        self.store.read(|tx| {
            let req = load(tx, tenant, id)?;
            let mut rows = tx.receipts(tenant, id)?;
            if rows.is_empty() && req.state == State::Expired {
                if let Some((seq, hash, at)) = tx.audit_entry_of(id, Operation::Expired.as_str())? {
                    let (decision, body) =
                        receipt_body(signer, &req, false, (seq, Some(&hash)), at)?;
                    if !signer.can_sign() {
                        let key = path.as_deref().map(crate::receipts::key_path_for);
                        return Err(Error::new(
                            ErrorCode::ReadOnly,
                            format!(
                                "request {id} expired; its receipt is derived and signed when asked \
                                 for, which needs the store's receipt signing key ({}), and this \
                                 read-only opening has none. Ask for it where the store's key is, \
                                 or see the expiry in the audit log (`lockbox audit list --request {id}`).",
                                key.map_or_else(|| "none".into(), |k| k.display().to_string())
                            ),
                        ));
                    }
                    let (_, signature) = signer.sign(&body)?;
                    rows.push(crate::store::ReceiptRow {
                        seq: 0,
                        request_id: req.id.clone(),
                        tenant: req.tenant.clone(),
                        decision: decision.to_string(),
                        body,
                        signature,
                        created_at: at,
                    });
                }
            }
            Ok(rows
                .into_iter()
                .map(|r| {
                    let text = crate::receipts::receipt_text(&r.body, &r.signature);
                    (r, text)
                })
                .collect())
        })
    }
}

pub const DEFAULT_API_BIND: &str = "127.0.0.1:8787";

impl Engine {
    pub fn api_settings(&mut self) -> Result<ApiSettings> {
        self.store.read(|tx| {
            Ok(ApiSettings {
                enabled: tx.app_setting("api.enabled")?.is_none_or(|v| v == "on"),
                bind: tx
                    .app_setting("api.bind")?
                    .unwrap_or_else(|| DEFAULT_API_BIND.to_string()),
                tls_cert: tx.app_setting("api.tls_cert")?,
                tls_key: tx.app_setting("api.tls_key")?,
            })
        })
    }

    /// Change the API settings (an admin of `tenant`); audited in that tenant.
    pub fn set_api_settings(
        &mut self,
        tenant: &str,
        by: &Principal,
        s: &ApiSettings,
    ) -> Result<ApiSettings> {
        let addr: std::net::SocketAddr = s.bind.trim().parse().map_err(|_| {
            Error::input(format!(
                "'{}' is not an address like 127.0.0.1:8787",
                s.bind
            ))
        })?;
        if s.tls_cert.is_some() != s.tls_key.is_some() {
            return Err(Error::input(
                "give both a TLS certificate and a TLS key, or neither",
            ));
        }
        if !addr.ip().is_loopback() && s.tls_cert.is_none() {
            return Err(Error::input(format!(
                "{addr} is not a loopback address: serving it requires TLS (certificate and key)"
            )));
        }
        let now = self.now();
        let old = self.api_settings()?;
        self.with_admin_tx(tenant, by, "change the API settings", |tx| {
            tx.put_app_setting("api.enabled", Some(if s.enabled { "on" } else { "off" }))?;
            tx.put_app_setting("api.bind", Some(&addr.to_string()))?;
            tx.put_app_setting("api.tls_cert", s.tls_cert.as_deref())?;
            tx.put_app_setting("api.tls_key", s.tls_key.as_deref())?;
            let rec = AuditRecord {
                operation: Operation::SettingsChanged,
                actor: by.actor(),
                at: now,
                request_id: None,
                details: by.with_authn(json!({ "changes": [{ "key": "api", "old": format!("{} {}", if old.enabled { "on" } else { "off" }, old.bind),
                                              "new": format!("{} {}", if s.enabled { "on" } else { "off" }, addr) }] })),
            };
            tx.append_audit(tenant, &[&rec], now)?;
            Ok(())
        })?;
        self.api_settings()
    }
}
