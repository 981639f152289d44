//! Audit export as CSV or JSON Lines (the same rows the admin center shows).
//! CSV cells that a spreadsheet would take for a formula (`= + - @`, tab, CR)
//! start with `'` (and a cell starting with `'` gets one more), so opening an
//! export never evaluates what a provider wrote; `text::csv_cell_decode`
//! gives the value back.

use crate::dto::AuditEntryDto;
use crate::store::AuditQuery;
use crate::text::csv_cell;
use crate::{Engine, Error, Result};
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
}

pub const CSV_HEADER: [&str; 11] = [
    "seq",
    "at",
    "recorded_at",
    "tenant",
    "actor_kind",
    "actor",
    "operation",
    "request_id",
    "details",
    "prev_hash",
    "hash",
];

/// Write every entry of `tenant` matching `q`, oldest first. Returns the row count.
pub fn export_audit(
    engine: &mut Engine,
    tenant: &str,
    q: &AuditQuery,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64> {
    let io = |e: std::io::Error| Error::input(format!("cannot write the export: {e}"));
    let n = match format {
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(CSV_HEADER)
                .map_err(|e| Error::input(format!("cannot write the export: {e}")))?;
            let n = engine.for_each_audit(tenant, q, |e| {
                let seq = e.seq.to_string();
                let at = crate::clock::rfc3339(e.at);
                let rec = crate::clock::rfc3339(e.recorded_at);
                // Every cell goes through `csv_cell`: a value a provider sent
                // (an engineer named `=HYPERLINK(…)`) is never a formula.
                let cells = [
                    seq.as_str(),
                    &at,
                    &rec,
                    &e.tenant,
                    e.actor_kind.as_str(),
                    &e.actor,
                    &e.operation,
                    e.request_id.as_deref().unwrap_or(""),
                    &e.details,
                    &e.prev_hash,
                    &e.hash,
                ];
                w.write_record(cells.iter().map(|c| csv_cell(c).into_owned()))
                    .map_err(|e| Error::input(format!("cannot write the export: {e}")))
            })?;
            w.flush().map_err(io)?;
            n
        }
        ExportFormat::Jsonl => {
            let mut w = std::io::BufWriter::new(&mut *out);
            let n = engine.for_each_audit(tenant, q, |e| {
                serde_json::to_writer(&mut w, &AuditEntryDto::from(e))?;
                w.write_all(b"\n").map_err(io)
            })?;
            w.flush().map_err(io)?;
            n
        }
    };
    Ok(n)
}
