//! Audit export as CSV or JSON Lines, and the check of such a file on its
//! own ([`verify_export`]: no store needed).
//!
//! Both formats carry the same columns ([`COLUMNS`]), and with them
//! everything that is hashed, exactly: `tenant_seq`, the times as integer
//! milliseconds (`at_ms`, `recorded_at_ms`; `at` and `recorded_at` are
//! their RFC 3339 renderings for people), and `details` as the stored JSON
//! *text*, byte for byte (a JSON string in JSON Lines, not an object), so
//! that a verifier needs no JSON re-serialization rules to get the hashed
//! bytes back. `docs/audit-format.md` specifies the format.
//!
//! CSV cells that a spreadsheet would take for a formula (`= + - @`, tab,
//! CR) start with `'` (and a cell starting with `'` gets one more), so
//! opening an export never evaluates what a provider wrote;
//! `text::csv_cell_decode` gives the value back.

use crate::audit::AuditEntry;
use crate::clock::{rfc3339, to_millis};
use crate::store::AuditQuery;
use crate::text::csv_cell;
use crate::{Engine, Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            "jsonl" | "json-lines" => Ok(ExportFormat::Jsonl),
            _ => Err(Error::input(format!(
                "'{s}' is not an export format: use csv or jsonl"
            ))),
        }
    }

    /// The format a file name says (`.csv`, `.jsonl`), if it says one.
    pub fn from_path(p: &std::path::Path) -> Option<Self> {
        match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(ExportFormat::Csv),
            "jsonl" => Some(ExportFormat::Jsonl),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }
}

/// The columns of an export, in order: the CSV header, and the keys of
/// each JSON Lines object.
pub const COLUMNS: [&str; 14] = [
    "seq",
    "tenant_seq",
    "at",
    "at_ms",
    "recorded_at",
    "recorded_at_ms",
    "tenant",
    "actor_kind",
    "actor",
    "operation",
    "request_id",
    "details",
    "prev_hash",
    "hash",
];

/// The CSV header (the same as [`COLUMNS`]).
pub const CSV_HEADER: [&str; 14] = COLUMNS;

/// One exported entry (a JSON Lines object; CSV cells in the same order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRow {
    /// Position in the store (all tenants); not hashed.
    pub seq: i64,
    pub tenant_seq: i64,
    /// `at_ms` in RFC 3339 (not hashed; a verifier checks it against `at_ms`).
    pub at: String,
    pub at_ms: i64,
    pub recorded_at: String,
    pub recorded_at_ms: i64,
    pub tenant: String,
    pub actor_kind: String,
    pub actor: String,
    pub operation: String,
    /// `null` when the entry is about no request; the key must be present.
    #[serde(deserialize_with = "present_option")]
    pub request_id: Option<String>,
    /// The hashed JSON text, exactly as stored.
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// An `Option` field that must be present (`null` for none): serde would
/// take a missing `Option` field for `None`.
fn present_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    Option::deserialize(d)
}

impl From<&AuditEntry> for ExportRow {
    fn from(e: &AuditEntry) -> Self {
        ExportRow {
            seq: e.seq,
            tenant_seq: e.tenant_seq,
            at: rfc3339(e.at),
            at_ms: to_millis(e.at),
            recorded_at: rfc3339(e.recorded_at),
            recorded_at_ms: to_millis(e.recorded_at),
            tenant: e.tenant.clone(),
            actor_kind: e.actor_kind.as_str().to_string(),
            actor: e.actor.clone(),
            operation: e.operation.clone(),
            request_id: e.request_id.clone(),
            details: e.details.clone(),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        }
    }
}

fn write_error(e: impl std::fmt::Display) -> Error {
    Error::input(format!("cannot write the export: {e}"))
}

/// Writes entries, one at a time, in either format.
pub struct ExportWriter<'w> {
    inner: Inner<'w>,
    rows: u64,
}

enum Inner<'w> {
    Csv(csv::Writer<&'w mut (dyn Write + Send)>),
    Jsonl(std::io::BufWriter<&'w mut (dyn Write + Send)>),
}

impl<'w> ExportWriter<'w> {
    /// Starts an export (the CSV header is written here).
    pub fn new(format: ExportFormat, out: &'w mut (dyn Write + Send)) -> Result<Self> {
        let inner = match format {
            ExportFormat::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(out);
                w.write_record(COLUMNS).map_err(write_error)?;
                Inner::Csv(w)
            }
            ExportFormat::Jsonl => Inner::Jsonl(std::io::BufWriter::new(out)),
        };
        Ok(ExportWriter { inner, rows: 0 })
    }

    pub fn write(&mut self, e: &AuditEntry) -> Result<()> {
        let row = ExportRow::from(e);
        match &mut self.inner {
            Inner::Csv(w) => {
                let ints = [
                    row.seq.to_string(),
                    row.tenant_seq.to_string(),
                    row.at_ms.to_string(),
                    row.recorded_at_ms.to_string(),
                ];
                // Every cell goes through `csv_cell`: a value a provider sent
                // (an engineer named `=HYPERLINK(…)`) is never a formula.
                let cells: [&str; 14] = [
                    &ints[0],
                    &ints[1],
                    &row.at,
                    &ints[2],
                    &row.recorded_at,
                    &ints[3],
                    &row.tenant,
                    &row.actor_kind,
                    &row.actor,
                    &row.operation,
                    row.request_id.as_deref().unwrap_or(""),
                    &row.details,
                    &row.prev_hash,
                    &row.hash,
                ];
                w.write_record(cells.iter().map(|c| csv_cell(c).into_owned()))
                    .map_err(write_error)?;
            }
            Inner::Jsonl(w) => {
                serde_json::to_writer(&mut *w, &row)?;
                w.write_all(b"\n").map_err(write_error)?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Flushes; returns the number of entries written.
    pub fn finish(self) -> Result<u64> {
        match self.inner {
            Inner::Csv(mut w) => w.flush().map_err(write_error)?,
            Inner::Jsonl(mut w) => w.flush().map_err(write_error)?,
        }
        Ok(self.rows)
    }
}

/// Does `q` select by time alone (or not at all)? Such an export is a
/// contiguous part of the chain; any other filter picks single entries,
/// which link to nothing.
pub fn is_time_window(q: &AuditQuery) -> bool {
    let none = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    none(&q.request_id)
        && none(&q.actor)
        && none(&q.operation)
        && none(&q.text)
        && q.before_seq.is_none()
}

/// Write every entry of `tenant` matching `q`, oldest first. Returns the
/// row count. A time window (`since`/`until` alone) is exported as a
/// contiguous part of the chain: from its oldest to its newest entry,
/// with the entries written late in between ([`Engine::for_each_audit_span`]),
/// so that it verifies on its own.
pub fn export_audit(
    engine: &mut Engine,
    tenant: &str,
    q: &AuditQuery,
    format: ExportFormat,
    out: &mut (dyn Write + Send),
) -> Result<u64> {
    let mut w = ExportWriter::new(format, out)?;
    if is_time_window(q) && (q.since.is_some() || q.until.is_some()) {
        engine.for_each_audit_span(tenant, q, |e| w.write(e))?;
    } else {
        engine.for_each_audit(tenant, q, |e| w.write(e))?;
    }
    w.finish()
}

mod verify;
pub use verify::*;

#[cfg(test)]
mod tests;
