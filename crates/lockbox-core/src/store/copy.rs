//! Moving a store between backends (`lockbox store copy`): every row of every
//! table, the audit chains included, copied as stored (the same bytes, so the
//! same hashes), into a store that holds nothing yet; then both are verified
//! and their chains' heads compared.

use super::db::{p, Tx, P};
use super::{Store, StoreLocation};
use crate::audit::{ChainHead, VerifyOutcome};
use crate::{Error, ErrorCode, Result};
use std::collections::BTreeMap;

/// The tables in an order that satisfies their references, each with its
/// columns (the same on both backends) and the key it is copied in order of.
pub(super) const TABLES: &[(&str, &str, &str)] = &[
    ("tenants", "id, name, created_at", "id"),
    (
        "settings",
        "tenant, lockbox_enabled, request_lifetime_s, max_access_duration_s, approvals_required, \
         provider_approvals_required, reminder_lead_s",
        "tenant",
    ),
    (
        "users",
        "tenant, name, role, email, created_at",
        "tenant, name",
    ),
    (
        "requests",
        "id, tenant, state, case_number, workload, resource, reason, requester, \
         requested_duration_s, granted_duration_s, created_at, expires_at, approved_at, \
         access_ends_at, closed_at, approvals_required, provider_approvals_required, \
         lockbox_required, deadline_at",
        "id",
    ),
    (
        "decisions",
        "request_id, idx, level, actor, decision, comment, duration_s, at",
        "request_id, idx",
    ),
    (
        "audit_log",
        "seq, at, recorded_at, tenant, actor_kind, actor, operation, request_id, details, \
         prev_hash, hash, late, tenant_seq, v1_hash",
        "seq",
    ),
    ("notices", "id, tenant, request_id, kind, created_at", "id"),
    (
        "notice_deliveries",
        "notice_id, channel, claimed_at, outcome, detail, attempts, next_attempt_at",
        "notice_id, channel",
    ),
    (
        "api_tokens",
        "id, tenant, name, token_hash, created_at, expires_at, revoked_at",
        "id",
    ),
    (
        "receipts",
        "seq, request_id, tenant, decision, body, signature, created_at",
        "seq",
    ),
    (
        "smtp_settings",
        "tenant, host, port, security, username, from_address",
        "tenant",
    ),
    ("app_settings", "key, value", "key"),
    (
        "audit_checkpoints",
        "id, tenant, entries, head_hash, at, key_id, body, signature",
        "id",
    ),
];

/// The columns of `table` as [`TABLES`] lists them.
pub(super) fn columns(table: &str) -> &'static str {
    TABLES
        .iter()
        .find(|(t, _, _)| *t == table)
        .map_or("", |(_, cols, _)| cols)
}

/// Tables whose key a PostgreSQL sequence gives (moved past the copied rows).
const IDENTITIES: &[(&str, &str)] = &[
    ("notices", "id"),
    ("receipts", "seq"),
    ("audit_checkpoints", "id"),
];

/// What a copy did and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Rows copied per table, in copy order.
    pub rows: Vec<(String, u64)>,
    /// The source's chains, verified before copying.
    pub source: VerifyOutcome,
    /// The copy's chains, verified after.
    pub copy: VerifyOutcome,
}

impl CopyReport {
    /// Did both verify, with the same heads (entries and hash) in every tenant?
    pub fn identical(&self) -> bool {
        self.source.first_bad.is_none()
            && self.copy.first_bad.is_none()
            && self.copy.first_disagreement.is_none()
            && self.source.heads == self.copy.heads
    }

    pub fn heads(&self) -> &BTreeMap<String, ChainHead> {
        &self.copy.heads
    }
}

/// Copy the store at `from` into the new or empty store at `to`.
///
/// Refused, with nothing written, when `to` holds any tenant, request or
/// audit entry (a copy never merges), when they are the same store, or when
/// the source does not verify (a damaged log is examined where it is, not
/// carried elsewhere). The copy is one transaction: all of it or nothing.
/// Synchronous: not for a thread that drives async tasks.
pub fn copy(from: &StoreLocation, to: &StoreLocation) -> Result<CopyReport> {
    if from == to {
        return Err(Error::input("--from and --to name the same store"));
    }
    let mut src = Store::open_location(from)?;
    let source = src.verify_audit()?;
    if let Some((seq, why)) = &source.first_bad {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!(
                "the source store {} does not verify (entry {seq}: {why}); nothing was copied",
                from.display()
            ),
        ));
    }
    let mut dst = Store::open_location(to)?;
    let to_name = to.display();
    let rows = src.read_here(|s| {
        dst.write_here(|d| {
            for t in ["tenants", "requests", "audit_log"] {
                let n: i64 = d.one(&format!("SELECT COUNT(*) FROM {t}"), p![], |r| r.get(0))?;
                if n > 0 {
                    return Err(Error::input(format!(
                        "the destination {to_name} is not empty ({t} has {n} rows); a copy goes \
                         into a new store, nothing was copied"
                    )));
                }
            }
            let mut rows = Vec::new();
            for (table, cols, key) in TABLES {
                rows.push((table.to_string(), copy_table(s, d, table, cols, key)?));
            }
            if !d.is_sqlite() {
                for (table, col) in IDENTITIES {
                    d.one(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{table}', '{col}'), \
                             COALESCE((SELECT MAX({col}) FROM {table}), 0) + 1, false)"
                        ),
                        p![],
                        |_| Ok(()),
                    )?;
                }
            }
            Ok(rows)
        })
    })?;
    let copy = dst.verify_audit()?;
    Ok(CopyReport { rows, source, copy })
}

fn copy_table(s: &Tx<'_>, d: &Tx<'_>, table: &str, cols: &str, key: &str) -> Result<u64> {
    let n = cols.split(',').count();
    let marks: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
    let insert = if table == "app_settings" {
        // The new store's own id is replaced by the source's (its keyring entries' name).
        format!(
            "INSERT INTO {table} ({cols}) VALUES ({}) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            marks.join(", ")
        )
    } else {
        format!("INSERT INTO {table} ({cols}) VALUES ({})", marks.join(", "))
    };
    s.each(
        &format!("SELECT {cols} FROM {table} ORDER BY {key}"),
        p![],
        |r| {
            let row: Vec<P<'static>> = (0..n).map(|i| r.get(i)).collect::<Result<_>>()?;
            d.exec(&insert, &row)?;
            Ok(true)
        },
    )
}
