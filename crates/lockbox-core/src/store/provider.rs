//! Provider-facing data: API tokens, signed receipts, SMTP settings, email
//! delivery bookkeeping, and store-wide app settings.

use super::db::{p, Row};
use super::Tx;
use crate::clock::{from_millis, to_millis, Time};
use crate::model::{DeliveryRow, Operation, ReceiptRow, SmtpRow, TokenRow};
use crate::Result;

/// App setting: the id of the receipt key the store signs with (recorded,
/// with an audit entry, when the key is created, first seen or rotated).
pub const RECEIPT_KEY_ID: &str = "receipts.key_id";

fn map_token(r: &Row<'_>) -> Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0)?,
        tenant: r.get(1)?,
        name: r.get(2)?,
        created_at: from_millis(r.get(3)?),
        expires_at: r.get::<Option<i64>>(4)?.map(from_millis),
        revoked_at: r.get::<Option<i64>>(5)?.map(from_millis),
    })
}

pub(super) fn map_receipt(r: &Row<'_>) -> Result<ReceiptRow> {
    Ok(ReceiptRow {
        seq: r.get(0)?,
        request_id: r.get(1)?,
        tenant: r.get(2)?,
        decision: r.get(3)?,
        body: r.get(4)?,
        signature: r.get(5)?,
        created_at: from_millis(r.get(6)?),
    })
}

const TOKEN_COLS: &str = "id, tenant, name, created_at, expires_at, revoked_at";
pub(super) const RECEIPT_COLS: &str =
    "seq, request_id, tenant, decision, body, signature, created_at";

impl Tx<'_> {
    pub fn insert_token(&self, t: &TokenRow, hash: &str) -> Result<()> {
        self.exec(
            "INSERT INTO api_tokens (id, tenant, name, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            p![t.id, t.tenant, t.name, hash, to_millis(t.created_at), t.expires_at.map(to_millis)],
        )?;
        Ok(())
    }

    pub fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        self.opt(
            &format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = ?1"),
            p![hash],
            map_token,
        )
    }

    pub fn token_by_name(&self, tenant: &str, name: &str) -> Result<Option<TokenRow>> {
        self.opt(
            &format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE tenant = ?1 AND name = ?2"),
            p![tenant, name],
            map_token,
        )
    }

    pub fn tokens(&self, tenant: &str) -> Result<Vec<TokenRow>> {
        self.rows(
            &format!(
                "SELECT {TOKEN_COLS} FROM api_tokens WHERE tenant = ?1 ORDER BY created_at, id"
            ),
            p![tenant],
            map_token,
        )
    }

    pub fn revoke_token(&self, id: &str, now: Time) -> Result<bool> {
        Ok(self.exec(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            p![id, to_millis(now)],
        )? > 0)
    }

    pub fn insert_receipt(&self, r: &ReceiptRow) -> Result<()> {
        self.put(
            "INSERT INTO receipts (request_id, tenant, decision, body, signature, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            p![r.request_id, r.tenant, r.decision, r.body, r.signature, to_millis(r.created_at)],
            None,
        )
    }

    pub fn receipts(&self, tenant: &str, request_id: &str) -> Result<Vec<ReceiptRow>> {
        self.rows(
            &format!("SELECT {RECEIPT_COLS} FROM receipts WHERE tenant = ?1 AND request_id = ?2 ORDER BY seq"),
            p![tenant, request_id],
            map_receipt,
        )
    }

    pub fn smtp(&self, tenant: &str) -> Result<Option<SmtpRow>> {
        self.opt(
            "SELECT host, port, security, username, from_address FROM smtp_settings WHERE tenant = ?1",
            p![tenant],
            |r| {
                Ok(SmtpRow {
                    host: r.get(0)?,
                    port: r.get(1)?,
                    security: r.get(2)?,
                    username: r.get(3)?,
                    password: None,
                    from_address: r.get(4)?,
                })
            },
        )
    }

    pub fn put_smtp(&self, tenant: &str, s: Option<&SmtpRow>) -> Result<()> {
        match s {
            None => {
                self.exec("DELETE FROM smtp_settings WHERE tenant = ?1", p![tenant])?;
            }
            Some(s) => {
                self.exec(
                    "INSERT INTO smtp_settings (tenant, host, port, security, username, from_address)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (tenant) DO UPDATE SET host = excluded.host, port = excluded.port,
                        security = excluded.security, username = excluded.username,
                        from_address = excluded.from_address",
                    p![tenant, s.host, s.port, s.security, s.username, s.from_address],
                )?;
            }
        }
        Ok(())
    }

    /// SMTP passwords that builds before schema 5 stored in plaintext: (tenant, password).
    pub fn plaintext_smtp_passwords(&self) -> Result<Vec<(String, String)>> {
        self.rows(
            "SELECT tenant, password FROM smtp_settings WHERE password IS NOT NULL ORDER BY tenant",
            p![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    pub fn clear_smtp_password(&self, tenant: &str) -> Result<()> {
        self.exec(
            "UPDATE smtp_settings SET password = NULL WHERE tenant = ?1",
            p![tenant],
        )?;
        Ok(())
    }

    /// This store's id (names its keyring entries); written by migration 5.
    pub fn store_id(&self) -> Result<String> {
        if let Some(id) = self.remembered_store_id() {
            return Ok(id);
        }
        let id = self.app_setting("store.id")?.ok_or_else(|| {
            crate::Error::internal("the store has no store.id (migration 5 did not run)")
        })?;
        self.remember_store_id(&id);
        Ok(id)
    }

    /// Re-claim failed deliveries of `channel` whose retry time has come; returns their notice ids.
    pub fn reclaim_due_retries(&self, channel: &str, now: Time) -> Result<Vec<i64>> {
        self.rows(
            "UPDATE notice_deliveries SET outcome = 'claimed', attempts = attempts + 1, claimed_at = ?2, next_attempt_at = NULL
             WHERE channel = ?1 AND outcome = 'failed' AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?2
             RETURNING notice_id",
            p![channel, to_millis(now)],
            |r| r.get(0),
        )
    }

    /// Re-claim deliveries of `channel` claimed at or before `stale_before`
    /// and never ended: their claimer died (a SIGKILL mid-send) or stalled
    /// past the lease. Returns their notice ids.
    pub fn reclaim_stale_claims(
        &self,
        channel: &str,
        stale_before: Time,
        now: Time,
    ) -> Result<Vec<i64>> {
        self.rows(
            "UPDATE notice_deliveries SET claimed_at = ?3, attempts = attempts + 1
             WHERE channel = ?1 AND outcome = 'claimed' AND claimed_at <= ?2
             RETURNING notice_id",
            p![channel, to_millis(stale_before), to_millis(now)],
            |r| r.get(0),
        )
    }

    /// Record a delivery attempt's end: sent, or failed with an optional retry time.
    pub fn end_attempt(
        &self,
        notice_id: i64,
        channel: &str,
        sent: bool,
        detail: Option<&str>,
        retry_at: Option<Time>,
    ) -> Result<()> {
        self.exec(
            self.pick(
                "UPDATE notice_deliveries SET outcome = ?3, detail = ?4, next_attempt_at = ?5,
                    attempts = MAX(attempts, 1) WHERE notice_id = ?1 AND channel = ?2",
                "UPDATE notice_deliveries SET outcome = ?3, detail = ?4, next_attempt_at = ?5,
                    attempts = GREATEST(attempts, 1) WHERE notice_id = ?1 AND channel = ?2",
            ),
            p![
                notice_id,
                channel,
                if sent { "sent" } else { "failed" },
                detail,
                retry_at.map(to_millis)
            ],
        )?;
        Ok(())
    }

    pub fn delivery_attempts(&self, notice_id: i64, channel: &str) -> Result<i64> {
        Ok(self
            .opt(
                "SELECT attempts FROM notice_deliveries WHERE notice_id = ?1 AND channel = ?2",
                p![notice_id, channel],
                |r| r.get(0),
            )?
            .unwrap_or(0))
    }

    /// The notice with its request, by id.
    pub fn notice(&self, notice_id: i64) -> Result<Option<super::NoticeRow>> {
        let row: Option<(String, i64, String, String)> = self.opt(
            "SELECT kind, created_at, tenant, request_id FROM notices WHERE id = ?1",
            p![notice_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        let Some((kind, created, tenant, request_id)) = row else {
            return Ok(None);
        };
        Ok(self
            .request(&tenant, &request_id)?
            .map(|request| super::NoticeRow {
                id: notice_id,
                kind,
                created_at: from_millis(created),
                request,
            }))
    }

    /// Deliveries of `channel` for `tenant`, newest first.
    pub fn deliveries(&self, tenant: &str, channel: &str, limit: u32) -> Result<Vec<DeliveryRow>> {
        self.rows(
            "SELECT d.notice_id, n.tenant, n.request_id, n.kind, d.outcome, d.attempts, d.detail, d.next_attempt_at, d.claimed_at
             FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id
             WHERE n.tenant = ?1 AND d.channel = ?2 ORDER BY d.notice_id DESC LIMIT ?3",
            p![tenant, channel, limit],
            |r| {
            Ok(DeliveryRow {
                notice_id: r.get(0)?,
                tenant: r.get(1)?,
                request_id: r.get(2)?,
                kind: r.get(3)?,
                outcome: r.get(4)?,
                attempts: r.get(5)?,
                detail: r.get(6)?,
                next_attempt_at: r.get::<Option<i64>>(7)?.map(from_millis),
                claimed_at: from_millis(r.get(8)?),
            })
            },
        )
    }

    /// Why this store is known to have signed with a receipt key (a recorded
    /// key, a stored receipt, an expired request whose receipt is derived), if it has.
    pub fn receipt_key_history(&self) -> Result<Option<String>> {
        if let Some(id) = self.app_setting(RECEIPT_KEY_ID)? {
            return Ok(Some(format!("key id {id} is recorded in its audit log")));
        }
        let n: i64 = self.one("SELECT count(*) FROM receipts", p![], |r| r.get(0))?;
        if n > 0 {
            return Ok(Some(format!("it holds {n} signed receipt(s)")));
        }
        let expired: bool = self.one(
            "SELECT EXISTS (SELECT 1 FROM requests WHERE state = 'expired')",
            p![],
            |r| r.get(0),
        )?;
        Ok(expired.then(|| "it has expired requests, whose receipts it signs".to_string()))
    }

    /// The public key (base64) of receipt key `key_id`, as the audit log
    /// recorded its creation or rotation (entries are written in every
    /// tenant that existed then). Read newest first through
    /// `audit_by_operation` (tenant, operation, seq): a few index entries,
    /// never a scan of the log.
    pub fn recorded_public_key(&self, key_id: &str) -> Result<Option<String>> {
        let sql = "SELECT seq, details FROM audit_log WHERE tenant = ?1 AND operation = ?2
             ORDER BY seq DESC";
        let mut best: Option<(i64, String)> = None;
        for t in self.tenants()? {
            for op in [Operation::ReceiptKeyCreated, Operation::ReceiptKeyRotated] {
                self.each(sql, p![t.id, op.as_str()], |r| {
                    let seq: i64 = r.get(0)?;
                    if best.as_ref().is_some_and(|b| b.0 >= seq) {
                        return Ok(false);
                    }
                    let details: serde_json::Value =
                        serde_json::from_str(&r.get::<String>(1)?).unwrap_or_default();
                    if details["key_id"].as_str() == Some(key_id) {
                        if let Some(pk) = details["public_key"].as_str() {
                            best = Some((seq, pk.to_string()));
                        }
                        return Ok(false);
                    }
                    Ok(true)
                })?;
            }
            if best.is_some() {
                break;
            }
        }
        Ok(best.map(|b| b.1))
    }

    pub fn app_setting(&self, key: &str) -> Result<Option<String>> {
        self.opt(
            "SELECT value FROM app_settings WHERE key = ?1",
            p![key],
            |r| r.get(0),
        )
    }

    pub fn put_app_setting(&self, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => self.exec(
                "INSERT INTO app_settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                p![key, v],
            )?,
            None => self.exec("DELETE FROM app_settings WHERE key = ?1", p![key])?,
        };
        Ok(())
    }
}
