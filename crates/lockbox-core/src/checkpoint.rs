//! Signed checkpoints of the audit chains, in the spirit of Certificate
//! Transparency's signed tree heads: the engine signs `(store id, tenant,
//! entries, head hash, time)` with the store's receipt key at every decision
//! receipt and at least hourly while entries arrive. Kept in the store and
//! exported (`lockbox audit checkpoint`), a checkpoint held elsewhere makes
//! truncating the newest entries, or rewriting any entry it covers, evident:
//! `lockbox audit verify --checkpoint FILE` fails if the tenant's chain is
//! shorter than the checkpoint or has another hash at its position.
//! Decision receipts (which name their tenant's chain head) count as
//! checkpoints too. Verifying one needs only the public key.
//!
//! Checkpoint file format (one or more, concatenated; any changed byte fails):
//! ```text
//! LOCKBOX-CHECKPOINT-V1
//! {"at":"…","entries":N,"head_hash":"…","key_id":"…","store_id":"…","tenant":"…"}
//! {base64 Ed25519 signature over "LOCKBOX-CHECKPOINT-V1\n" + body}
//! ```

use crate::clock::{rfc3339, Time};
use crate::{Error, Result};
use ed25519_dalek::VerifyingKey;
use serde::Serialize;

pub const HEADER: &str = "LOCKBOX-CHECKPOINT-V1";

/// A new checkpoint is signed when a tenant's chain has grown and its last
/// checkpoint is at least this old.
pub const EVERY: chrono::Duration = chrono::Duration::hours(1);

/// The canonical body (fields in sorted order, as `serde_json` writes a map).
pub fn body(
    store_id: &str,
    tenant: &str,
    entries: i64,
    head_hash: &str,
    at: Time,
    key_id: &str,
) -> String {
    #[derive(Serialize)]
    struct Body<'a> {
        at: String,
        entries: i64,
        head_hash: &'a str,
        key_id: &'a str,
        store_id: &'a str,
        tenant: &'a str,
    }
    // Serializing strings and numbers cannot fail.
    serde_json::to_string(&Body {
        at: rfc3339(at),
        entries,
        head_hash,
        key_id,
        store_id,
        tenant,
    })
    .unwrap_or_default()
}

/// The file text of one checkpoint.
pub fn text(body: &str, signature: &str) -> String {
    format!("{HEADER}\n{body}\n{signature}\n")
}

/// What a signed document read from a checkpoint file vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// 1-based line of the document's header in the file.
    pub line: usize,
    /// `checkpoint` or `receipt`.
    pub kind: &'static str,
    pub tenant: String,
    /// The chain position it vouches for (its length then).
    pub entries: i64,
    pub head_hash: String,
    /// When it was signed.
    pub at: String,
    pub key_id: String,
    header: &'static str,
    body: String,
    signature: String,
}

impl Claim {
    /// Is it signed by `key`?
    pub fn signed_by(&self, key: &VerifyingKey) -> bool {
        crate::receipts::signature_ok(self.header, &self.body, &self.signature, key)
    }
}

/// Read every checkpoint and decision receipt in `text` (concatenated
/// three-line documents; blank lines between them are allowed).
pub fn parse(text: &str) -> Result<Vec<Claim>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let line = i + 1;
        let bad = |why: &str| Error::input(format!("line {line}: {why}"));
        let (kind, header) = match lines[i] {
            HEADER => ("checkpoint", HEADER),
            crate::receipts::HEADER => ("receipt", crate::receipts::HEADER),
            other => {
                return Err(bad(&format!(
                    "expected {HEADER} or {} but found '{}'",
                    crate::receipts::HEADER,
                    crate::text::one_line(other)
                )))
            }
        };
        let (Some(body), Some(sig)) = (lines.get(i + 1), lines.get(i + 2)) else {
            return Err(bad(
                "the document is cut short (header, body and signature lines)",
            ));
        };
        let v: serde_json::Value =
            serde_json::from_str(body).map_err(|e| bad(&format!("the body is not JSON: {e}")))?;
        let s = |x: &serde_json::Value| x.as_str().map(str::to_string);
        let (tenant, entries, head, at) = match kind {
            "checkpoint" => (
                s(&v["tenant"]),
                v["entries"].as_i64(),
                s(&v["head_hash"]),
                s(&v["at"]),
            ),
            _ => (
                s(&v["tenant"]),
                v["audit_head"]["seq"].as_i64(),
                s(&v["audit_head"]["hash"]),
                s(&v["issued_at"]).or_else(|| s(&v["decided_at"])),
            ),
        };
        let (Some(tenant), Some(entries), Some(head_hash), Some(key_id)) =
            (tenant, entries, head, s(&v["key_id"]))
        else {
            return Err(bad(&format!(
                "this {kind} does not name a tenant, chain position, head hash and key"
            )));
        };
        out.push(Claim {
            line,
            kind,
            tenant,
            entries,
            head_hash,
            at: at.unwrap_or_default(),
            key_id,
            header,
            body: body.to_string(),
            signature: sig.trim().to_string(),
        });
        i += 3;
    }
    if out.is_empty() {
        return Err(Error::input("the file holds no checkpoint or receipt"));
    }
    Ok(out)
}

/// How one claim compares with a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimCheck {
    pub claim: Claim,
    /// `None`: the log holds what the claim vouches for.
    pub problem: Option<String>,
}

/// Sign a checkpoint of `tenant`'s chain at `(entries, head_hash)` and keep
/// it, in the caller's write transaction.
pub(crate) fn sign_in(
    tx: &crate::store::Tx<'_>,
    signer: &crate::receipts::Signer,
    tenant: &str,
    (entries, head_hash): (i64, &str),
    now: Time,
) -> Result<crate::store::CheckpointRow> {
    let store_id = tx.store_id()?;
    let key_id = signer.key_id();
    let body = body(&store_id, tenant, entries, head_hash, now, &key_id);
    let signature = signer.sign_under(HEADER, &body)?;
    let row = crate::store::CheckpointRow {
        tenant: tenant.to_string(),
        entries,
        head_hash: head_hash.to_string(),
        at: now,
        key_id,
        body,
        signature,
    };
    tx.insert_checkpoint(&row)?;
    Ok(row)
}

impl crate::Engine {
    /// Sign a checkpoint of every tenant chain that has grown since its last
    /// checkpoint, if that is [`EVERY`] old or older (or there is none):
    /// at every open of a writable store and every scheduler tick, so at
    /// least hourly while entries arrive. Returns how many were signed.
    pub fn sign_due_checkpoints(&mut self) -> Result<usize> {
        if self.is_read_only() {
            return Ok(0);
        }
        let now = self.now();
        let due = |tx: &crate::store::Tx<'_>| -> Result<Vec<(String, i64, String)>> {
            let mut out = Vec::new();
            for (tenant, entries, newest) in tx.checkpoint_states()? {
                let due = match newest {
                    None => true,
                    Some((n, at)) => entries != n && (now - at >= EVERY || now < at),
                };
                if due {
                    let (entries, head) = tx.audit_head(&tenant)?;
                    if let Some(head) = head {
                        out.push((tenant, entries, head));
                    }
                }
            }
            Ok(out)
        };
        // Read first: most calls find nothing due and take no write lock.
        if self.store().read(due)?.is_empty() {
            return Ok(0);
        }
        let (store, signer) = self.store_and_signer();
        store.write(|tx| {
            let due = due(tx)?;
            for (tenant, entries, head) in &due {
                sign_in(tx, signer, tenant, (*entries, head), now)?;
            }
            Ok(due.len())
        })
    }

    /// A checkpoint of each chain's head now (`tenant`, or all), as file
    /// text: a new one where the chain grew since its newest checkpoint,
    /// else the newest.
    ///
    /// On a store open read-only: the newest checkpoints it holds.
    pub fn checkpoint_now(&mut self, tenant: Option<&str>) -> Result<String> {
        if self.is_read_only() {
            let rows = self.store().read(|tx| tx.checkpoints(tenant, 1))?;
            if rows.is_empty() {
                return Err(Error::new(
                    crate::ErrorCode::ReadOnly,
                    "this store is open read-only and holds no checkpoint to show; a new one \
                     cannot be signed here",
                ));
            }
            return Ok(rows.iter().map(|r| text(&r.body, &r.signature)).collect());
        }
        let now = self.now();
        let (store, signer) = self.store_and_signer();
        store.write(|tx| {
            let mut out = String::new();
            let heads = tx.audit_heads()?;
            if let Some(t) = tenant {
                if !heads.iter().any(|(x, _, _)| x == t) {
                    return Err(Error::new(
                        crate::ErrorCode::NotFound,
                        format!("tenant '{}' has no audit entries", crate::text::one_line(t)),
                    ));
                }
            }
            for (t, entries, head) in heads {
                if tenant.is_some_and(|x| x != t) {
                    continue;
                }
                let row = match tx.checkpoints(Some(&t), 1)?.pop() {
                    Some(c) if c.entries == entries && c.head_hash == head => c,
                    _ => sign_in(tx, signer, &t, (entries, &head), now)?,
                };
                out.push_str(&text(&row.body, &row.signature));
            }
            Ok(out)
        })
    }

    /// Compare what each checkpoint or receipt in `file_text` vouches for
    /// with this store's log. Signatures are checked with `public_key` if
    /// given, else with every key the store has recorded.
    pub fn check_claims(
        &mut self,
        file_text: &str,
        public_key: Option<&VerifyingKey>,
    ) -> Result<Vec<ClaimCheck>> {
        let claims = parse(file_text)?;
        let own = self.public_key();
        self.store().read(|tx| {
            let keys: Vec<VerifyingKey> = match public_key {
                Some(k) => vec![*k],
                None => tx
                    .recorded_public_keys()?
                    .into_iter()
                    .chain([own])
                    .filter_map(|k| crate::receipts::parse_public_key(&k).ok())
                    .collect(),
            };
            let mut out = Vec::new();
            for claim in claims {
                let problem = check_one(tx, &claim, &keys, public_key.is_some())?;
                out.push(ClaimCheck { claim, problem });
            }
            Ok(out)
        })
    }
}

fn short(h: &str) -> &str {
    h.get(..16).unwrap_or(h)
}

fn check_one(
    tx: &crate::store::Tx<'_>,
    c: &Claim,
    keys: &[VerifyingKey],
    given_key: bool,
) -> Result<Option<String>> {
    let what = format!("the {} signed {}", c.kind, c.at);
    if !keys.iter().any(|k| c.signed_by(k)) {
        return Ok(Some(format!(
            "{what} does not verify with {} (it names key {})",
            if given_key {
                "the given public key"
            } else {
                "any receipt key this store has recorded"
            },
            crate::text::one_line(&c.key_id)
        )));
    }
    let tenant = crate::text::one_line(&c.tenant);
    let here = tx.audit_hash_at(&c.tenant, c.entries)?;
    if here.as_deref() == Some(c.head_hash.as_str()) {
        return Ok(None);
    }
    // A receipt signed before migration 7 names the old global chain.
    if c.kind == "receipt" && tx.audit_v1_hash_at(c.entries)?.as_deref() == Some(&c.head_hash) {
        return Ok(None);
    }
    let (len, _) = tx.audit_head(&c.tenant)?;
    Ok(Some(match here {
        Some(h) => format!(
            "entry {} of tenant '{tenant}' has hash {}…, but {what} vouches for {}…: the log was \
             rewritten at or before that entry",
            c.entries,
            short(&h),
            short(&c.head_hash)
        ),
        None if len < c.entries => format!(
            "tenant '{tenant}' has {len} entries, but {what} vouches for {}: entries {}..{} are \
             missing (the log was truncated)",
            c.entries,
            len + 1,
            c.entries
        ),
        None => format!(
            "tenant '{tenant}' has no entry at position {} although it has {len}: the log was rewritten",
            c.entries
        ),
    }))
}
